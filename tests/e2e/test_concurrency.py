"""MAX_CONCURRENCY through RunPod's production loop (stand-in): jobs in flight together, each seeing only its own."""
import base64
import io

import pytest
from PIL import Image

from e2e.test_production_loop import finished


def solid(color: int, prefix: str, delay_nodes: int = 2) -> dict:
    """A `color` image through `delay_nodes` pairs of ImageInvert (slowed by the test), then saved."""
    workflow = {"1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 16, "batch_size": 1,
                                                            "color": color}}}
    for index in range(2, 2 + 2 * delay_nodes):
        workflow[str(index)] = {"class_type": "ImageInvert", "inputs": {"image": [str(index - 1), 0]}}
    last = str(1 + 2 * delay_nodes)
    workflow["99"] = {"class_type": "SaveImage", "inputs": {"images": [last, 0], "filename_prefix": prefix}}
    return workflow


def pixel(entry: dict) -> tuple:
    rgb = Image.open(io.BytesIO(base64.b64decode(entry["data"]))).convert("RGB").getpixel((0, 0))
    assert isinstance(rgb, tuple), rgb
    return rgb


def close_to(rgb: tuple, color: int) -> bool:
    """The simulator's float image math moves a channel by a few levels; the colors used differ by 16 or more."""
    return all(abs(got - want) <= 6 for got, want in zip(rgb, ((color >> 16) & 255, (color >> 8) & 255, color & 255),
                                                        strict=True))


def overlapped(jobs) -> bool:
    """Whether every job started before any of them finished."""
    return max(job.started_at for job in jobs) < min(job.finished_at for job in jobs)


@pytest.mark.parametrize("concurrency", [2, 3])
def test_jobs_run_together_and_each_gets_its_own_output(comfy_sim, runpod_standin, production_worker, concurrency):
    comfy_sim.faults.node_delay_s = {"ImageInvert": 0.3}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host,
                                                "MAX_CONCURRENCY": str(concurrency)})
    colors = [0x102030 * (n + 1) for n in range(concurrency)]
    submitted = [runpod_standin.submit({"workflow": solid(color, f"conc{concurrency}_{n}")})
                 for n, color in enumerate(colors)]
    jobs = [finished(runpod_standin, job.id, worker) for job in submitted]
    assert [job.status for job in jobs] == ["COMPLETED"] * concurrency, worker.output()
    for job, color in zip(jobs, colors, strict=True):
        assert close_to(pixel(job.output["images"][0]), color)
    assert overlapped(jobs), "the jobs did not run together"


def test_with_the_default_one_job_runs_at_a_time(comfy_sim, runpod_standin, production_worker):
    comfy_sim.faults.node_delay_s = {"ImageInvert": 0.2}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    submitted = [runpod_standin.submit({"workflow": solid(n, f"conc1_{n}")}) for n in range(2)]
    jobs = [finished(runpod_standin, job.id, worker) for job in submitted]
    assert not overlapped(jobs)


def test_a_cancel_of_one_job_in_flight_leaves_the_other_to_finish(comfy_sim, runpod_standin, production_worker):
    comfy_sim.faults.node_delay_s = {"ImageInvert": 0.5}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "MAX_CONCURRENCY": "2"})
    first = runpod_standin.submit({"workflow": solid(0x111111, "cancel_first", delay_nodes=3)})
    second = runpod_standin.submit({"workflow": solid(0x222222, "cancel_second", delay_nodes=3)})
    runpod_standin.wait_for(lambda: first.status == "IN_PROGRESS" and second.status == "IN_PROGRESS",
                            what="both jobs in progress")
    runpod_standin.book.cancel(second.id)
    done = finished(runpod_standin, first.id, worker)
    assert done.status == "COMPLETED", worker.output()
    assert close_to(pixel(done.output["images"][0]), 0x111111)
    assert runpod_standin.book.jobs[second.id].status == "CANCELLED"


def test_a_job_that_replaces_the_worker_waits_for_the_other_and_no_new_job_is_taken(
        comfy_sim, runpod_standin, production_worker):
    comfy_sim.faults.node_delay_s = {"ImageInvert": 0.3}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "MAX_CONCURRENCY": "2",
                                                "REFRESH_WORKER": "true"})
    quick = runpod_standin.submit({"workflow": solid(1, "retire_quick", delay_nodes=1)})
    slow = runpod_standin.submit({"workflow": solid(2, "retire_slow", delay_nodes=4)})
    late = runpod_standin.submit({"workflow": solid(3, "retire_late", delay_nodes=1)})
    jobs = [finished(runpod_standin, job.id, worker) for job in (quick, slow)]
    assert [job.status for job in jobs] == ["COMPLETED", "COMPLETED"], worker.output()
    assert jobs[0].finished_at >= jobs[1].finished_at - 0.5, "the retiring job answered before the other ended"
    assert worker.pod_id in runpod_standin.book.retired_workers
    assert runpod_standin.book.jobs[late.id].status == "IN_QUEUE"


def loads_input(prefix: str) -> dict:
    """input.png, slowly inverted twice (so that both jobs are in flight at once), saved."""
    return {"1": {"class_type": "LoadImage", "inputs": {"image": "input.png"}},
            "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
            "3": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}},
            "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": prefix}}}


def png_of(color: tuple) -> str:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def test_two_jobs_in_flight_that_both_send_input_png_each_get_their_own(comfy_sim, runpod_standin, production_worker):
    comfy_sim.faults.node_delay_s = {"ImageInvert": 0.4}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "MAX_CONCURRENCY": "2"})
    colors = [(200, 10, 10), (10, 10, 200)]
    submitted = [runpod_standin.submit({"workflow": loads_input(f"same_name_{n}"),
                                        "images": [{"name": "input.png", "image": png_of(color)}]})
                 for n, color in enumerate(colors)]
    jobs = [finished(runpod_standin, job.id, worker) for job in submitted]
    assert [job.status for job in jobs] == ["COMPLETED"] * 2, worker.output()
    for job, color in zip(jobs, colors, strict=True):
        assert close_to(pixel(job.output["images"][0]), (color[0] << 16) | (color[1] << 8) | color[2])
    assert overlapped(jobs)


def test_a_deadline_of_one_job_in_flight_interrupts_only_it_and_the_job_behind_it_keeps_its_time(
        comfy_sim, runpod_standin, production_worker):
    """JOB_TIMEOUT_S=3 for both: the stalling job times out; the other, queued behind it in ComfyUI, does not
    count that wait as its own, and completes although its whole stay is longer than 3 s."""
    comfy_sim.faults.node_delay_s = {"ImageInvert": 0.6}
    stalling = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 1}},
                "2": {"class_type": "SimStall", "inputs": {"image": ["1", 0]}},
                "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "deadline_a"}}}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "MAX_CONCURRENCY": "2",
                                                "JOB_TIMEOUT_S": "3"})
    first = runpod_standin.submit({"workflow": stalling})
    runpod_standin.wait_for(lambda: comfy_sim.state.running, what="the stalling prompt running")
    # four 0.6 s nodes of its own after waiting behind the first until its deadline: over 3 s in all, unless the
    # worker took it more than 2.6 s after the first started
    second = runpod_standin.submit({"workflow": solid(0x333333, "deadline_b", delay_nodes=2)})
    timed_out, done = finished(runpod_standin, first.id, worker), finished(runpod_standin, second.id, worker)
    assert timed_out.status == "FAILED" and timed_out.error.startswith("timed_out"), worker.output()
    assert done.status == "COMPLETED", (done.error, worker.output())
    assert close_to(pixel(done.output["images"][0]), 0x333333)
    assert done.finished_at - done.started_at > 3, "the second job's stay was not longer than its deadline"
