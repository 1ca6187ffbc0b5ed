"""`python -m bench.stream [--quick]`: a saturated stream of jobs through the RunPod stand-in and the SDK's loop.

For each stream (small: one 512² PNG in base64; big4: four 2048² PNGs to S3) and each MAX_CONCURRENCY, a fresh
worker process (`python -m entrypoints.runpod_handler`, RunPod's production loop) takes every job from the
RunPod stand-in, against the simulator with a fixed execution time per prompt. ComfyUI's idle time between
prompts comes from the simulator's own `/history` timestamps; throughput and submission-to-result latency from
the stand-in's job records. The figures go into the "stream" key of `latest.json` (the rest is kept).
"""
from __future__ import annotations

import argparse
import datetime
import itertools
import json
import logging
import os
import pathlib
import random
import statistics
import sys
from typing import Any, Optional

import requests

from bench import servers
from bench.verify import problems_with
from bench.workflows import build_job, save_prefixes, saved_under

log = logging.getLogger("bench.stream")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the RunPod stand-in and its worker process live with the tests
from runpod_standin import RunpodStandIn  # noqa: E402
from runpod_standin.worker_process import ProductionWorker  # noqa: E402

STREAMS = {"small": "base64", "big4": "s3"}
JOBS = {"full": {"small": 60, "big4": 30}, "quick": {"small": 12, "big4": 6}}
CONCURRENCIES = (1, 2, 3)
PROMPT_S = 1.0


def quantile(values: list[float], q: int) -> Optional[float]:
    """The q-th percentile (inclusive method); the value itself for a single sample."""
    if not values:
        return None
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def executions(session: requests.Session, host: str, prefixes: dict[str, str]) -> dict[str, tuple[float, float]]:
    """job id -> (execution_start, execution_success) in seconds, from `/history`'s status messages (ms)."""
    return spans(session.get(f"http://{host}/history", timeout=60).json(), prefixes)


def spans(history: dict[str, Any], prefixes: dict[str, str]) -> dict[str, tuple[float, float]]:
    """job id -> (execution_start, execution_success) of the `/history` entry that saved under its prefixes."""
    found = {}
    for entry in history.values():
        job_ids = {prefixes[name] for name in saved_under(entry["prompt"][2]) if name in prefixes}
        stamps = {kind: data.get("timestamp") for kind, data in entry["status"]["messages"]}
        if len(job_ids) == 1 and stamps.get("execution_start") and stamps.get("execution_success"):
            found[job_ids.pop()] = (stamps["execution_start"] / 1000.0, stamps["execution_success"] / 1000.0)
    return found


def figures(busy: list[tuple[float, float]], latencies: list[float], makespan_s: float) -> dict[str, Any]:
    """Idle gaps between consecutive prompts, throughput and latency percentiles of one run."""
    busy = sorted(busy)
    gaps = [max(0.0, later[0] - earlier[1]) for earlier, later in itertools.pairwise(busy)]
    span = busy[-1][1] - busy[0][0] if busy else 0.0
    return {
        "jobs": len(latencies),
        "execution_s_median": _round(statistics.median(end - start for start, end in busy) if busy else None),
        "idle_s_mean": _round(statistics.fmean(gaps) if gaps else None),
        "idle_s_median": _round(statistics.median(gaps) if gaps else None),
        "idle_fraction": _round(sum(gaps) / span if span else None),
        "throughput_jobs_per_min": _round(len(latencies) / makespan_s * 60 if makespan_s else None),
        "latency_s_p50": _round(quantile(latencies, 50)),
        "latency_s_p95": _round(quantile(latencies, 95)),
    }


def fix_prompt_time(sim: servers.SimulatorProcess, stream: str, variants, session: requests.Session) -> float:
    """Set the simulator's `prompt_time_s` to PROMPT_S; return a prompt's own work, measured first without it
    (a warm-up prompt, then a timed one). A prompt whose own work takes longer keeps its own time."""
    sim.set_faults(prompt_time_s=0.0)
    real = []
    for _ in range(2):
        job = build_job(stream, next(variants), f"stream_own_work_{random.randrange(1 << 30):09d}")
        session.post(f"http://{sim.host}/prompt", json={"prompt": job["workflow"]}).raise_for_status()
        servers.wait_idle(session, sim.host)
        span = executions(session, sim.host, dict.fromkeys(save_prefixes(job["workflow"]), "own work"))
        real.append(span["own work"][1] - span["own work"][0])
    sim.set_faults(prompt_time_s=PROMPT_S)
    log.info("%s: a prompt's own work %.3f s; every prompt lasts at least %.1f s", stream, real[-1], PROMPT_S)
    return real[-1]


def run_stream(stream: str, jobs: int, concurrency: int, sim: servers.SimulatorProcess, sink_env: dict,
               variants, session: requests.Session) -> dict[str, Any]:
    """One saturated stream: every job queued at once on an idle worker, then taken as the SDK takes them."""
    with RunpodStandIn() as standin:
        env = {"COMFY_HOST": sim.host, "MAX_CONCURRENCY": str(concurrency), "OUTPUT_SINK": "base64", **sink_env}
        worker = ProductionWorker(standin, env, pod_id=f"bench-{stream}-{concurrency}")
        try:
            standin.wait_for(lambda: _alive(worker) and standin.book.takes, timeout_s=120, what="worker's first take")
            built = [build_job(stream, variant, f"stream_{variant:08d}") for variant in itertools.islice(variants, jobs)]
            submitted = [standin.submit({"workflow": job["workflow"]}) for job in built]
            standin.wait_for(lambda: _alive(worker) and all(j.finished_at for j in submitted),
                             timeout_s=60 + 20 * jobs, what=f"end of the {stream} stream")
        except AssertionError as exc:
            raise RuntimeError(f"{exc}\n{worker.output()[-3000:]}") from None
        finally:
            worker.stop()
    prefixes = {prefix: job.id for job, built_job in zip(submitted, built, strict=True) for prefix in save_prefixes(built_job["workflow"])}
    busy = executions(session, sim.host, prefixes)
    spans = [(job.submitted_at, job.finished_at) for job in submitted if job.finished_at is not None]
    assert len(spans) == len(submitted), "every job of the stream ended"  # what the wait above waited for
    latencies = [end - start for start, end in spans]
    makespan = max(end for _, end in spans) - min(start for start, _ in spans)
    result = {"stream": stream, "sink": STREAMS[stream], "concurrency": concurrency,
              **figures(list(busy.values()), latencies, makespan)}
    origin = min((start for start, _ in busy.values()), default=0.0)
    result["timeline"] = [[_round(start - origin), _round(end - origin)] for start, end in sorted(busy.values())]
    result["failures"] = _check(submitted, built, busy)
    log.info("%s x%d at concurrency %d: %s", stream, jobs, concurrency,
             {k: v for k, v in result.items() if k not in ("timeline", "failures")})
    return result


def _alive(worker: ProductionWorker) -> bool:
    assert worker.process.poll() is None, f"worker exited:\n{worker.output()[-3000:]}"
    return True


def _check(submitted, built, busy) -> list[dict[str, Any]]:
    failures = []
    session = requests.Session()
    for job, built_job in zip(submitted, built, strict=True):
        output = job.output if isinstance(job.output, dict) else {}
        problems = [f"{job.status}: {job.error}"] if job.status != "COMPLETED" else []
        problems = problems or problems_with(output.get("images", []), built_job["expect"], session)
        if job.id not in busy:
            problems.append("no execution in /history")
        if problems:
            failures.append({"job_id": job.id, "problems": problems})
    return failures


def run(quick: bool, streams: list[str], concurrencies: list[int], jobs: Optional[int]) -> dict[str, Any]:
    mode = "quick" if quick else "full"
    variants = itertools.count(random.randrange(1 << 24) * 1000)
    session = requests.Session()
    results = []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMFY_", "BUCKET_"))}
    for stream in streams:
        with servers.simulator(env, str(ROOT)) as sim:
            own_work = fix_prompt_time(sim, stream, variants, session)
            for concurrency in concurrencies:
                with servers.store(STREAMS[stream] == "s3", env) as sink_env:
                    result = run_stream(stream, jobs or JOBS[mode][stream], concurrency, sim, sink_env, variants,
                                        session)
                result["own_work_s"] = _round(own_work)
                results.append(result)
    standin = RunpodStandIn()  # not started: its default round trips, as every run used them
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "mode": mode,
            "prompt_s": PROMPT_S, "take_latency_s": standin.take_latency_s,
            "result_latency_s": standin.result_latency_s, "runs": results}


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 4)


def main(argv: Optional[list[str]] = None) -> int:
    from bench.report import render_stream
    from bench.timeline import write_timeline

    parser = argparse.ArgumentParser(prog="python -m bench.stream", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter streams (make bench-quick)")
    parser.add_argument("--streams", type=lambda s: s.split(","), default=list(STREAMS))
    parser.add_argument("--concurrency", type=lambda s: [int(n) for n in s.split(",")], default=list(CONCURRENCIES))
    parser.add_argument("--jobs", type=int, help="jobs per stream (overrides the mode)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder of latest.json")
    parser.add_argument("--timeline", default=str(ROOT / "docs" / "stream-timeline.svg"),
                        help="the busy/idle SVG ('' for none)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    unknown = set(args.streams) - set(STREAMS)
    if unknown:
        parser.error(f"unknown stream: {', '.join(sorted(unknown))}")
    stream = run(args.quick, args.streams, args.concurrency, args.jobs)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    latest = out / "latest.json"
    report = json.loads(latest.read_text()) if latest.exists() else {}
    report["stream"] = stream
    latest.write_text(json.dumps(report, indent=2) + "\n")
    table = render_stream(stream)
    (out / "stream.md").write_text(table)
    print(table)
    if args.timeline:
        write_timeline(stream, pathlib.Path(args.timeline))
    failed = sum(len(r["failures"]) for r in stream["runs"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
