"""Soak: N sequential small jobs through ONE handler instance: fds and threads do not grow, RSS grows by at
most 10 MB, every job succeeds. 200 jobs in the normal suite; `make soak` (SOAK_JOBS=1000, -m soak) runs 1000."""
import gc
import os

import pytest

from faults.harness import Worker, open_fds, worker_threads
from faults.workflows import chain

RSS_GROWTH_LIMIT = 10 * 1024 * 1024
WARM_UP_JOBS = 10


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def soak(sim, jobs: int) -> None:
    worker = Worker(sim.host)
    workflow = chain("soak", 3)
    for _ in range(WARM_UP_JOBS):  # first-job imports, pools and caches are not growth
        assert "images" in worker.run({"workflow": workflow})
    gc.collect()
    fds, threads, rss = len(open_fds()), len(worker_threads()), rss_bytes()
    failures = []
    for index in range(jobs):
        workflow["1"]["inputs"]["color"] = index  # a fresh prompt each time, not a cached re-run
        response = worker.run({"workflow": workflow}, job_id=f"soak-{index}")
        if "images" not in response or len(response["images"]) != 1:
            failures.append(response)
    gc.collect()
    grown = rss_bytes() - rss
    print(f"\nsoak: {jobs} jobs, {len(failures)} failed; fds {fds} -> {len(open_fds())}; "
          f"threads {threads} -> {len(worker_threads())}; RSS {rss / 2**20:.1f} MB -> "
          f"{(rss + grown) / 2**20:.1f} MB ({grown / 2**20:+.1f} MB)")
    worker.close()
    assert not failures, failures[:3]
    assert len(open_fds()) <= fds
    assert len(worker_threads()) <= threads
    assert grown <= RSS_GROWTH_LIMIT


@pytest.mark.faults
def test_soak_200_jobs(comfy_sim):
    soak(comfy_sim, 200)


@pytest.mark.soak
@pytest.mark.skipif(not os.environ.get("SOAK_JOBS"), reason="opt-in: make soak (SOAK_JOBS=1000)")
def test_soak_long(comfy_sim):
    soak(comfy_sim, int(os.environ["SOAK_JOBS"]))
