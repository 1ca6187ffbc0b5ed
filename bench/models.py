"""`python -m bench.models [--quick]`: one model file (465 MB of random bytes by default) from a loopback file server,
downloaded by the worker's model store, by a plain streaming download (requests, iter_content with the same chunk
size, written to the same disk) and by that plain download with a sha256 of the bytes (the least any verified download
does), interleaved round by round, each download in a fresh process (its CPU time and peak RSS growth measured); the
same again from a server throttled to a network's rate (`--network-mb-s`, 100 MB/s: about what a worker gets from
Hugging Face's CDN); then a second job that needs the file, and two jobs at once (two worker processes, and two
threads of one), counted in the bytes the server sent. Figures: bench/results/models.json and models.md.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Optional

import psutil
import requests

log = logging.getLogger("bench.models")

ROOT = pathlib.Path(__file__).resolve().parents[1]
ROUNDS = {"full": 9, "quick": 3}
NETWORK_ROUNDS = {"full": 3, "quick": 1}
NETWORK_MB_S = 100.0
SIZE_MB = 465  # the random SD1.5 checkpoint's size
KINDS = ("plain", "plain_sha256", "worker")
FOLDER, NAME = "checkpoints", "bench.safetensors"
TARGET_RATIO, TARGET_RSS_MB = 0.9, 64.0


def child_env() -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "src"), str(ROOT / "tests")]))


# ---------------------------------------------------------------- the children: one download each, in a fresh process


def _child(kind: str, url: str, where: str) -> dict[str, Any]:
    from adapters.model_download import CHUNK_BYTES
    from bench.rss import RssSampler

    if kind in ("plain", "plain_sha256"):
        session = requests.Session()

        def run() -> dict[str, Any]:
            done, hasher = 0, hashlib.sha256() if kind == "plain_sha256" else None
            with session.get(url, stream=True, timeout=60) as response, open(where, "wb") as out:
                response.raise_for_status()
                for chunk in response.iter_content(CHUNK_BYTES):
                    out.write(chunk)
                    if hasher is not None:
                        hasher.update(chunk)
                    done += len(chunk)
            return {"bytes": done}
    else:
        from adapters.http_model_store import HttpModelStore
        from domain.budget import Budget
        from domain.inputs.model_requests import ModelRequest

        store = HttpModelStore(where, max_bytes=10**11, fetch_timeout_s=60, allow_private=True)
        request = ModelRequest(url, FOLDER, NAME)

        def one() -> dict[str, Any]:
            ready = store.ensure(request, Budget(), lambda done, total: None)
            return {"bytes": ready.size_bytes, "outcome": ready.outcome, "moved": ready.bytes_moved}

        def run() -> dict[str, Any]:
            if kind == "worker":
                return one()
            answers: list = []  # "pair": two jobs of one worker at once
            threads = [threading.Thread(target=lambda: answers.append(one())) for _ in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return {"outcomes": sorted(a["outcome"] for a in answers), "moved": sum(a["moved"] for a in answers)}

    sampler = RssSampler().start()
    sampler.begin()
    cpu = time.process_time()
    started = time.perf_counter()
    answer = run()
    answer["seconds"] = time.perf_counter() - started
    answer["cpu_s"] = time.process_time() - cpu
    answer["rss_growth_mb"] = round(sampler.end(), 2)
    sampler.stop()
    return answer


def child(kind: str, url: str, where: str) -> dict[str, Any]:
    """One download in a fresh process (after a sync, so that no earlier round's dirty pages are written meanwhile)."""
    os.sync()
    done = subprocess.run([sys.executable, "-m", "bench.models", "--child", kind, url, where], cwd=ROOT,
                          env=child_env(), capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} download failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the run


class FileServerProcess:
    """tests/file_server.py serving one file in a process of its own; `sent()` reads its counters."""

    def __init__(self, path: pathlib.Path, throttle_bps: Optional[int] = None) -> None:
        throttle = [str(throttle_bps)] if throttle_bps else []
        self._process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "file_server.py"), str(path), *throttle],
                                         env=child_env(), stdout=subprocess.PIPE, text=True)
        self.url = self._process.stdout.readline().strip()  # type: ignore[union-attr]
        self._path = "/" + path.name

    def sent(self) -> tuple[int, int, float]:
        """(GET requests, body bytes) the server has answered for the file so far, and its CPU seconds."""
        stats = requests.get(self.url.rsplit("/", 1)[0] + "/__stats", timeout=30).json()[self._path]
        times = psutil.Process(self._process.pid).cpu_times()
        return stats["gets"], stats["bytes_sent"], times.user + times.system

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(30)


def make_file(path: pathlib.Path, size: int) -> None:
    with open(path, "wb") as out:
        left = size
        while left:
            out.write(os.urandom(min(left, 1 << 20)))
            left -= min(left, 1 << 20)


def measured(server: FileServerProcess, kind: str, where: str) -> dict[str, Any]:
    before = server.sent()
    answer = child(kind, server.url, where)
    after = server.sent()
    answer["server_gets"], answer["server_bytes"] = after[0] - before[0], after[1] - before[1]
    answer["server_cpu_s"] = after[2] - before[2]
    return answer


def rounds_of(server: FileServerProcess, work: pathlib.Path, rounds: int, label: str,
              keep_last: bool = False) -> list[dict[str, Any]]:
    """`rounds` rounds of the three kinds, in an order that turns each round; with `keep_last` the last round's
    worker folder stays (it serves the second job)."""
    records = []
    for index in range(rounds):
        record: dict[str, Any] = {}
        for kind in KINDS[index % len(KINDS):] + KINDS[:index % len(KINDS)]:
            where = work / (f"{label}-{kind}-{index}.bin" if kind != "worker" else f"{label}-root-{index}")
            record[kind] = measured(server, kind, str(where))
            if not (keep_last and kind == "worker" and index == rounds - 1):
                shutil.rmtree(where) if where.is_dir() else where.unlink()
        record["ratio"] = record["plain"]["seconds"] / record["worker"]["seconds"]  # rate worker / plain
        record["floor_ratio"] = record["plain"]["seconds"] / record["plain_sha256"]["seconds"]
        record["load"] = os.getloadavg()[0]
        log.info("%s round %d: plain %.3f s (cpu %.3f), plain+sha256 %.3f s (cpu %.3f), worker %.3f s (cpu %.3f), "
                 "rate ratio %.3f, worker RSS +%.1f MB, load %.2f", label, index, record["plain"]["seconds"],
                 record["plain"]["cpu_s"], record["plain_sha256"]["seconds"], record["plain_sha256"]["cpu_s"],
                 record["worker"]["seconds"], record["worker"]["cpu_s"], record["ratio"],
                 record["worker"]["rss_growth_mb"], record["load"])
        records.append(record)
    return records


def run(args: argparse.Namespace) -> dict[str, Any]:
    mode = "quick" if args.quick else "full"
    rounds = args.rounds or ROUNDS[mode]
    network_rounds = NETWORK_ROUNDS[mode] if args.network_rounds is None else args.network_rounds
    size = int(args.size_mb * (1 << 20))
    with tempfile.TemporaryDirectory(prefix="bench-models-", dir=args.work) as work_dir:
        work = pathlib.Path(work_dir)
        source = work / "model.bin"
        make_file(source, size)
        server = FileServerProcess(source)
        try:
            records = rounds_of(server, work, rounds, "loopback", keep_last=True)
            second = measured(server, "worker", str(work / f"loopback-root-{rounds - 1}"))
            two_processes = _two_at_once(server, str(work / "root-pair-processes"))
            two_threads = measured(server, "pair", str(work / "root-pair-threads"))
        finally:
            server.close()
        network: list[dict[str, Any]] = []
        if network_rounds:
            throttled = FileServerProcess(source, int(args.network_mb_s * 1e6))
            try:
                network = rounds_of(throttled, work, network_rounds, "network")
            finally:
                throttled.close()
    result = report(mode, size, records, second, two_processes, two_threads)
    result["network"] = network_report(network, args.network_mb_s, size) if network else None
    if network:
        ratio = result["network"]["rate_ratio_median"]
        result["targets"].insert(1, {"target": f"download rate worker/plain at {args.network_mb_s:g} MB/s (median)",
                                     "value": ratio, "bound": f"≥ {TARGET_RATIO}", "met": ratio >= TARGET_RATIO})
    return result


def network_report(records: list[dict], mb_s: float, size: int) -> dict[str, Any]:
    return {
        "server_mb_s": mb_s, "rounds": len(records),
        "rate_ratio_median": _round(statistics.median(r["ratio"] for r in records)),
        "floor_ratio_median": _round(statistics.median(r["floor_ratio"] for r in records)),
        "plain_mb_s_median": _round(statistics.median(size / r["plain"]["seconds"] / 1e6 for r in records)),
        "worker_mb_s_median": _round(statistics.median(size / r["worker"]["seconds"] / 1e6 for r in records)),
        "per_round": [_row(r) for r in records],
    }


def _row(r: dict) -> dict[str, Any]:
    return {"plain_s": _round(r["plain"]["seconds"]), "plain_sha256_s": _round(r["plain_sha256"]["seconds"]),
            "worker_s": _round(r["worker"]["seconds"]), "ratio": _round(r["ratio"]),
            "floor_ratio": _round(r["floor_ratio"]), "plain_cpu_s": _round(r["plain"]["cpu_s"]),
            "plain_sha256_cpu_s": _round(r["plain_sha256"]["cpu_s"]), "worker_cpu_s": _round(r["worker"]["cpu_s"]),
            "plain_server_cpu_s": _round(r["plain"]["server_cpu_s"]),
            "worker_server_cpu_s": _round(r["worker"]["server_cpu_s"]),
            "worker_rss_growth_mb": r["worker"]["rss_growth_mb"], "plain_rss_growth_mb": r["plain"]["rss_growth_mb"],
            "load": _round(r["load"])}


def _two_at_once(server: FileServerProcess, root: str) -> dict[str, Any]:
    """Two worker processes asking for the file at the same moment, on one download folder."""
    before = server.sent()
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(child("worker", server.url, root))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = server.sent()
    return {"outcomes": sorted(a["outcome"] for a in answers), "moved": sum(a["moved"] for a in answers),
            "server_gets": after[0] - before[0], "server_bytes": after[1] - before[1]}


def report(mode: str, size: int, records: list[dict], second: dict, two_processes: dict,
           two_threads: dict) -> dict[str, Any]:
    from bench.run import machine

    ratios = [r["ratio"] for r in records]
    worker_rss = max(r["worker"]["rss_growth_mb"] for r in records)
    plain_rss = max(r["plain"]["rss_growth_mb"] for r in records)
    mb_s = lambda seconds: size / seconds / 1e6  # noqa: E731
    targets = [
        ("download rate worker/plain (median of rounds)", statistics.median(ratios), f"≥ {TARGET_RATIO}",
         statistics.median(ratios) >= TARGET_RATIO),
        ("worker's peak RSS growth (MB, largest round)", worker_rss, f"≤ {TARGET_RSS_MB:g}", worker_rss <= TARGET_RSS_MB),
        ("second job: bytes the server sent", second["server_bytes"], "= 0",
         second["server_bytes"] == 0 and second["outcome"] == "cached"),
        ("two worker processes at once: bytes the server sent", two_processes["server_bytes"], f"= {size}",
         two_processes["server_bytes"] == size and two_processes["server_gets"] == 1),
        ("two jobs of one worker at once: bytes the server sent", two_threads["server_bytes"], f"= {size}",
         two_threads["server_bytes"] == size and two_threads["server_gets"] == 1),
    ]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "mode": mode,
        "machine": machine(), "size_bytes": size, "rounds": len(records),
        "rate_ratio_median": _round(statistics.median(ratios)), "rate_ratio_min": _round(min(ratios)),
        "rate_ratio_max": _round(max(ratios)),
        "plain_mb_s_median": _round(statistics.median(mb_s(r["plain"]["seconds"]) for r in records)),
        "worker_mb_s_median": _round(statistics.median(mb_s(r["worker"]["seconds"]) for r in records)),
        "worker_rss_growth_mb_max": worker_rss, "plain_rss_growth_mb_max": plain_rss,
        "second_job": second, "two_processes": two_processes, "two_threads": two_threads,
        "cpu_ratio_median": _round(statistics.median(r["worker"]["cpu_s"] / r["plain"]["cpu_s"] for r in records)),
        "floor_ratio_median": _round(statistics.median(r["floor_ratio"] for r in records)),
        "worker_vs_floor_median": _round(statistics.median(r["plain_sha256"]["seconds"] / r["worker"]["seconds"]
                                                           for r in records)),
        "cpus": os.cpu_count(),
        "load_average_median": _round(statistics.median(r["load"] for r in records)),
        "per_round": [_row(r) for r in records],
        "targets": [{"target": name, "value": value, "bound": bound, "met": met} for name, value, bound, met in targets],
    }


def _table(rows: list[dict]) -> list[str]:
    lines = [
        "| round | plain s | plain + sha256 s | worker s | rate worker/plain | rate (plain + sha256)/plain "
        "| plain CPU s (+ server) | plain + sha256 CPU s | worker CPU s (+ server) | worker peak RSS growth MB "
        "| load average |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for index, r in enumerate(rows):
        lines.append(f"| {index} | {r['plain_s']:.3f} | {r['plain_sha256_s']:.3f} | {r['worker_s']:.3f} | "
                     f"{r['ratio']:.3f} | {r['floor_ratio']:.3f} | {r['plain_cpu_s']:.3f} "
                     f"(+{r['plain_server_cpu_s']:.3f}) | {r['plain_sha256_cpu_s']:.3f} | {r['worker_cpu_s']:.3f} "
                     f"(+{r['worker_server_cpu_s']:.3f}) | {r['worker_rss_growth_mb']:.1f} | {r['load']:.2f} |")
    return lines


def render(result: dict[str, Any]) -> str:
    lines = [
        f"Model download benchmark ({result['mode']}), {result['date']}: {result['size_bytes']:,} random bytes from a "
        f"file server on loopback (sendfile), {result['rounds']} rounds of three downloads, each in a fresh process: "
        "a plain streaming download, the same with a sha256 of its bytes (the least a verified download does), and "
        f"the worker's model store; {result['machine']}.",
        "",
        *_table(result["per_round"]),
        "",
        f"Median rates: plain {result['plain_mb_s_median']:.0f} MB/s, worker {result['worker_mb_s_median']:.0f} MB/s; "
        f"rate (plain + sha256)/plain {result['floor_ratio_median']:.2f}, worker/(plain + sha256) "
        f"{result['worker_vs_floor_median']:.2f}; CPU time worker/plain {result['cpu_ratio_median']:.2f} (the sha256, "
        f"on a thread of its own); median load average {result['load_average_median']:.2f} on {result['cpus']} CPUs. "
        "The file server runs on the same CPUs: a download cannot take less than (client CPU + server CPU) / CPUs, "
        "whatever overlaps.",
    ]
    network = result.get("network")
    if network:
        lines += ["", f"From the same server throttled to {network['server_mb_s']:g} MB/s (a network's rate), "
                      f"{network['rounds']} round(s):", "", *_table(network["per_round"]), "",
                  f"Median rates: plain {network['plain_mb_s_median']:.0f} MB/s, worker "
                  f"{network['worker_mb_s_median']:.0f} MB/s."]
    lines += ["", "| target | measured | bound | met |", "| --- | --- | --- | --- |"]
    for t in result["targets"]:
        value = f"{t['value']:.3f}" if isinstance(t["value"], float) else f"{t['value']:,}"
        lines.append(f"| {t['target']} | {value} | {t['bound']} | {'yes' if t['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 4)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.models", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{ROUNDS['quick']} rounds instead of {ROUNDS['full']}")
    parser.add_argument("--rounds", type=int, help="rounds (overrides the mode)")
    parser.add_argument("--size-mb", type=float, default=SIZE_MB, help="the file's size in MiB")
    parser.add_argument("--network-mb-s", type=float, default=NETWORK_MB_S,
                        help=f"the throttled server's rate (default {NETWORK_MB_S:g} MB/s)")
    parser.add_argument("--network-rounds", type=int, default=None,
                        help=f"rounds from the throttled server (default {NETWORK_ROUNDS['full']}, quick "
                             f"{NETWORK_ROUNDS['quick']}; 0: none)")
    parser.add_argument("--work", default=None, help="folder for the file and the downloads (a temporary one inside)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for models.json / models.md")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    result = run(args)
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "models.json").write_text(json.dumps(result, indent=2) + "\n")
    table = render(result)
    (out / "models.md").write_text(table)
    print(table)
    correctness = [t for t in result["targets"] if "bytes the server sent" in t["target"]]
    return 0 if all(t["met"] for t in correctness) else 1


if __name__ == "__main__":
    sys.exit(main())
