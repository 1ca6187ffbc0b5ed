"""The loop every client shares: a job per stdin line, measured and checked, a JSON line per answer."""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Callable

from bench.rss import RssSampler
from bench.verify import problems_with

RunJob = Callable[[dict[str, Any]], list[dict[str, Any]]]


class JobFailed(Exception):
    """The client got an error instead of outputs."""


def protocol_channel():
    """Our stdout for JSON lines only; anything else that writes to fd 1 lands on stderr."""
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return channel


def serve(run_job: RunJob, channel, on_exit: Callable[[], None] = lambda: None) -> None:
    """Answers jobs until stdin closes. Timing covers `run_job` only; checking the answer comes after."""
    sampler = RssSampler().start()
    _send(channel, {"ready": True})
    try:
        for line in sys.stdin:
            if line.strip():
                _send(channel, _measure(run_job, json.loads(line), sampler))
    finally:
        sampler.stop()
        on_exit()


def _measure(run_job: RunJob, job: dict[str, Any], sampler: RssSampler) -> dict[str, Any]:
    sampler.begin()
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        images, error = run_job(job), None
    except Exception as exc:  # a failed job is a measurement too: report it, keep serving
        images, error = [], f"{type(exc).__name__}: {exc}"
    wall_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    rss_mb = sampler.end()
    problems = [error] if error else problems_with(images, job["expect"])
    del images
    return {"job_id": job["job_id"], "wall_s": wall_s, "cpu_s": cpu_s, "peak_rss_delta_mb": rss_mb,
            "problems": problems}


def _send(channel, message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()
