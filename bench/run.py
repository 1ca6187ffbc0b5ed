"""`python -m bench.run [--quick] [--write-docs]`: worker, floor and polling on the same jobs, interleaved job by job."""
from __future__ import annotations

import argparse
import contextlib
import datetime
import itertools
import json
import logging
import os
import pathlib
import platform
import random
import sys
import tempfile
from typing import Any

import requests

from bench import servers
from bench.cold import measure_cold
from bench.docs import write_docs
from bench.processes import ClientProcess
from bench.report import render
from bench.startup import measure_startup
from bench.stats import cold_jobs, spreads, summarize
from bench.workflows import SCENARIOS, build_job, save_prefixes

log = logging.getLogger("bench")

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLIENTS = ("worker", "floor", "polling")
SINKS = ("base64", "s3")
# a small round costs about 0.3 s (base64) to 0.5 s (S3), mostly the polling client's 250 ms wait: rounds are
# cheap, and a median of the worker's few milliseconds needs a few hundred of them to settle within a few %
JOBS = {"full": {"small": 300, "big4": 8}, "quick": {"small": 150, "big4": 2}}
STARTUP_REPEATS = {"full": 10, "quick": 3}
OWN_VARIABLES = ("BUCKET_", "OUTPUT_SINK", "COMFY_", "RUNPOD_WEBHOOK")


def client_env(host: str, sink_env: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(OWN_VARIABLES)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH")]))
    return env | {"COMFY_HOST": host, "OUTPUT_SINK": "base64"} | sink_env


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as cpuinfo:
            names = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
        model = names[0] if names else model
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def run_scenario(scenario: str, sink: str, jobs: int, host: str, env: dict, variants, session, log_dir) -> list[dict]:
    """Three fresh client processes; job i goes to them in the order rotated by i (A B C, B C A, C A B, ...)."""
    clients = {name: ClientProcess(name, env, str(ROOT), log_dir) for name in CLIENTS}
    records = []
    try:
        for index in range(jobs):
            for name in CLIENTS[index % 3:] + CLIENTS[:index % 3]:
                variant = next(variants)
                job = build_job(scenario, variant, f"bench_{variant:08d}")
                job["job_id"] = f"bench-{scenario}-{sink}-{name}-{index}"
                answer = clients[name].ask(job)
                execution_s = servers.execution_seconds(session, host, save_prefixes(job["workflow"]))
                problems = answer["problems"] + ([] if execution_s is not None else ["no execution time in /history"])
                records.append({"scenario": scenario, "sink": sink, "client": name, "index": index,
                                "job_id": job["job_id"], "wall_s": answer["wall_s"], "cpu_s": answer["cpu_s"],
                                "execution_s": execution_s,
                                "overhead_s": None if execution_s is None else answer["wall_s"] - execution_s,
                                "peak_rss_delta_mb": answer["peak_rss_delta_mb"], "problems": problems})
                if problems:
                    log.warning("%s: %s", job["job_id"], "; ".join(problems))
    finally:
        for client in clients.values():
            client.close()
    return records


def warm_up(scenario: str, host: str, variants, session) -> None:
    """One prompt straight to ComfyUI first, so no client pays for ComfyUI's own first run."""
    job = build_job(scenario, next(variants), f"bench_warmup_{random.randrange(1 << 30):09d}")
    session.post(f"http://{host}/prompt", json={"prompt": job["workflow"]}).raise_for_status()
    servers.wait_idle(session, host)


def run(args: argparse.Namespace) -> int:
    mode = "quick" if args.quick else "full"
    jobs = {s: args.jobs or JOBS[mode][s] for s in args.scenarios}
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    variants = itertools.count(random.randrange(1 << 24) * 1000)
    session = requests.Session()
    records: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as log_dir, \
            servers.comfy(os.environ.get("COMFY_HOST"), client_env("", {}), str(ROOT)) as (host, label):
        for scenario in args.scenarios:
            warm_up(scenario, host, variants, session)
            for sink in args.sinks:
                log.info("%s / %s: %d jobs per client", scenario, sink, jobs[scenario])
                with servers.store(sink == "s3", dict(os.environ)) as sink_env:
                    env = client_env(host, sink_env)
                    records += run_scenario(scenario, sink, jobs[scenario], host, env, variants, session,
                                            pathlib.Path(log_dir))
        repeats = args.startup_repeats or STARTUP_REPEATS[mode]
        log.info("start-up: %d fresh processes of each kind", repeats)
        startup = measure_startup(repeats, client_env(host, {}), str(ROOT))
        log.info("first jobs: %d fresh processes of each kind", repeats)
        cold_fresh = measure_cold(CLIENTS, repeats, client_env(host, {}), str(ROOT), variants, pathlib.Path(log_dir))
    report: dict[str, Any] = {"comfy": label, "machine": machine(),
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "results": summarize(records), "spread": spreads(records), "startup": startup,
              "cold": cold_jobs(records), "cold_fresh": cold_fresh,
              "failures": [{"job_id": r["job_id"], "problems": r["problems"]} for r in records if r["problems"]]}
    if cold_fresh["failed"]:
        report["failures"].append({"job_id": "cold_fresh", "problems": [f"{cold_fresh['failed']} first jobs failed"]})
    latest = out / "latest.json"
    if latest.exists():  # the stream benchmark's figures (bench.stream) stay until it runs again
        report |= {k: v for k, v in json.loads(latest.read_text()).items() if k == "stream"}
    latest.write_text(json.dumps(report, indent=2) + "\n")
    table = render(report)
    (out / "latest.md").write_text(table)
    print(table)
    return 1 if report["failures"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer jobs (make bench-quick)")
    parser.add_argument("--scenarios", type=lambda s: s.split(","), default=list(SCENARIOS))
    parser.add_argument("--sinks", type=lambda s: s.split(","), default=list(SINKS))
    parser.add_argument("--jobs", type=int, help="jobs per client in every scenario (overrides the mode)")
    parser.add_argument("--startup-repeats", type=int, help="fresh processes of each kind for start-up and first jobs")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for latest.json / latest.md")
    parser.add_argument("--write-docs", action="store_true", help="only fill docs/performance.md from latest.json")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's access log, one line per S3 request
    if args.write_docs:
        write_docs(pathlib.Path(args.out) / "latest.json", ROOT / "docs" / "performance.md")
        return 0
    unknown = set(args.scenarios) - set(SCENARIOS) | set(args.sinks) - set(SINKS)
    if unknown:
        parser.error(f"unknown scenario or sink: {', '.join(sorted(unknown))}")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
