"""The RunPod stand-in's job-take as the SDK's own loop calls it (single and batched) and its round-trip latency."""
import time

import pytest
import requests

from runpod_standin import RunpodStandIn

ECHO = "runpod_standin.echo_worker"


def answered(standin: RunpodStandIn, jobs, worker) -> None:
    def check():
        assert worker.process.poll() is None, f"worker exited:\n{worker.output()}"
        return all(standin.book.jobs[job.id].status in ("COMPLETED", "FAILED") for job in jobs)
    standin.wait_for(check, timeout_s=60, what="answer to every job")


@pytest.mark.parametrize("concurrency", [2, 3])
def test_a_batched_take_hands_out_n_jobs_and_every_one_is_answered(production_worker, concurrency):
    with RunpodStandIn(take_latency_s=0, result_latency_s=0) as standin:
        jobs = [standin.submit({"n": n, "sleep_s": 0.5}) for n in range(2 * concurrency)]
        worker = production_worker(standin, {"ECHO_CONCURRENCY": str(concurrency)}, module=ECHO)
        answered(standin, jobs, worker)
        takes = list(standin.book.takes)
    assert all(standin.book.jobs[job.id].status == "COMPLETED" for job in jobs), worker.output()
    for n, job in enumerate(jobs):
        assert job.output == {"echo": {"n": n, "sleep_s": 0.5}, "job_id": job.id}
    # rp_job._job_get_url: with N free slots the SDK asks job-take-batch for batch_size=N, and gets a list
    first = next(take for take in takes if take.get("handed_out"))
    assert (first["route"], first["batch_size"], len(first["handed_out"])) == (
        "job-take-batch", str(concurrency), concurrency)
    handed = [job_id for take in takes for job_id in take.get("handed_out", [])]
    assert sorted(handed) == sorted(job.id for job in jobs)
    assert all(take["worker_id"] == worker.pod_id for take in takes)


def test_with_one_slot_the_sdk_takes_one_job_at_a_time_from_the_single_take(production_worker):
    with RunpodStandIn(take_latency_s=0, result_latency_s=0) as standin:
        jobs = [standin.submit({"n": n}) for n in range(3)]
        worker = production_worker(standin, {"ECHO_CONCURRENCY": "1"}, module=ECHO)
        answered(standin, jobs, worker)
        takes = list(standin.book.takes)
    assert [job.output["echo"]["n"] for job in jobs] == [0, 1, 2], worker.output()
    assert {take["route"] for take in takes} == {"job-take"}
    assert [len(take["handed_out"]) for take in takes if take["handed_out"]] == [1, 1, 1]


def test_the_take_and_the_result_post_cost_the_configured_round_trip():
    latency = 0.4
    with RunpodStandIn(take_latency_s=latency, result_latency_s=latency, take_wait_s=0) as standin:
        root = f"{standin.api_base}/{standin.endpoint_id}"
        headers = {"Authorization": standin.ai_key}
        job = standin.submit({"n": 1})

        started = time.monotonic()
        taken = requests.get(f"{root}/job-take/w1?gpu=x&job_in_progress=0", headers=headers, timeout=10)
        take_s = time.monotonic() - started
        assert taken.json() == {"id": job.id, "input": {"n": 1}}

        started = time.monotonic()
        posted = requests.post(f"{root}/job-done/w1/{job.id}?gpu=x&isStream=false", data='{"output": 1}',
                               headers=headers, timeout=10)
        post_s = time.monotonic() - started
        assert posted.ok and standin.book.jobs[job.id].status == "COMPLETED"

        started = time.monotonic()
        empty = requests.get(f"{root}/job-take-batch/w1?gpu=x&batch_size=2&job_in_progress=0", headers=headers,
                             timeout=10)
        empty_s = time.monotonic() - started
        assert empty.status_code == 204
    # lower bounds only: the stand-in sleeps at least this long, however loaded the machine is
    assert min(take_s, post_s, empty_s) >= latency


def test_the_round_trips_default_to_150_ms():
    standin = RunpodStandIn()
    assert (standin.take_latency_s, standin.result_latency_s) == (0.15, 0.15)
