"""The worker in RunPod's production loop (job-take, progress, result, stop, ping) against the RunPod stand-in."""
import json

import pytest
import requests

from runpod_standin import RunpodStandIn
from runpod_standin.worker_process import ROOT

SAMPLE = json.loads((ROOT / "test_input.json").read_text())["input"]


def tiled_workflow(size: int = 512) -> dict:
    """Two tiled VAE nodes: ComfyUI reports progress for each tile (long_progress_pixel_space_tiled.json)."""
    tiles = {"tile_size": 256, "overlap": 64, "temporal_size": 64, "temporal_overlap": 8}
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": size, "height": size, "batch_size": 1, "color": 255}},
        "2": {"class_type": "VAELoader", "inputs": {"vae_name": "pixel_space"}},
        "3": {"class_type": "VAEEncodeTiled", "inputs": {"pixels": ["1", 0], "vae": ["2", 0], **tiles}},
        "4": {"class_type": "VAEDecodeTiled", "inputs": {"samples": ["3", 0], "vae": ["2", 0], **tiles}},
        "5": {"class_type": "SaveImage", "inputs": {"images": ["4", 0], "filename_prefix": "prod_tiled"}},
    }


def invert_chain(length: int) -> dict:
    workflow = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}}
    for index in range(2, length + 2):
        workflow[str(index)] = {"class_type": "ImageInvert", "inputs": {"image": [str(index - 1), 0]}}
    workflow[str(length + 2)] = {"class_type": "SaveImage",
                                 "inputs": {"images": [str(length + 1), 0], "filename_prefix": "prod_chain"}}
    return workflow


def finished(standin: RunpodStandIn, job_id: str, worker):
    def check():
        assert worker.process.poll() is None, f"worker exited:\n{worker.output()}"
        job = standin.book.jobs[job_id]
        return job if job.status in ("COMPLETED", "FAILED", "CANCELLED") else None
    return standin.wait_for(check, what=f"final status of {job_id}")


def test_result_progress_and_ping_reach_runpod(comfy_sim, runpod_standin, production_worker):
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    job = finished(runpod_standin, runpod_standin.submit({"workflow": tiled_workflow()}).id, worker)
    assert job.status == "COMPLETED", worker.output()
    assert [(i["node_id"], i["type"]) for i in job.output["images"]] == [("5", "base64")]
    nodes = [update["node"] for update in job.progress]
    assert {"3", "4"} <= set(nodes), job.progress
    assert all(0 <= update["step"] <= update["steps"] and 0 <= update["percent"] <= 100 for update in job.progress)
    # the SDK posts each update from its own thread, so they may arrive out of order: order them by time
    in_order = [u["percent"] for u in sorted(job.progress, key=lambda u: (u["elapsed_s"], u["percent"]))]
    assert in_order == sorted(in_order)
    assert all(take["worker_id"] == worker.pod_id and take["job_in_progress"] in ("0", "1")
               for take in runpod_standin.book.takes)
    runpod_standin.wait_for(lambda: runpod_standin.book.pings, what="heartbeat ping")
    assert {"runpod_version"} <= set(runpod_standin.book.pings[0])


def test_a_second_job_follows_on_the_same_worker(comfy_sim, runpod_standin, production_worker):
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    first, second = runpod_standin.submit(SAMPLE), runpod_standin.submit({"workflow": invert_chain(2)})
    assert finished(runpod_standin, first.id, worker).status == "COMPLETED", worker.output()
    assert finished(runpod_standin, second.id, worker).status == "COMPLETED", worker.output()
    assert first.worker_id == second.worker_id == worker.pod_id
    assert len(first.output["images"]) == 3 and len(second.output["images"]) == 1


def running_prompt(comfy_sim):
    running = requests.get(f"{comfy_sim.base_url}/queue", timeout=10).json()["queue_running"]
    return running[0][1] if running else None


def test_cancel_stops_the_prompt_in_comfyui(comfy_sim, runpod_standin, production_worker):
    comfy_sim.faults.node_delay_s = {"ImageInvert": 0.5}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    headers = {"Authorization": f"Bearer {runpod_standin.api_key}"}
    endpoint = f"{runpod_standin.api_base}/{runpod_standin.endpoint_id}"
    job_id = requests.post(f"{endpoint}/run", json={"input": {"workflow": invert_chain(40)}},
                           headers=headers, timeout=10).json()["id"]
    prompt_id = runpod_standin.wait_for(lambda: running_prompt(comfy_sim), what="running prompt in ComfyUI")
    answer = requests.post(f"{endpoint}/cancel/{job_id}", headers=headers, timeout=10).json()
    assert answer == {"id": job_id, "status": "CANCELLED"}

    def interrupted():
        entry = requests.get(f"{comfy_sim.base_url}/history/{prompt_id}", timeout=10).json().get(prompt_id)
        return entry and [m[0] for m in entry["status"]["messages"]]
    messages = runpod_standin.wait_for(interrupted, what="history entry of the cancelled prompt")
    assert "execution_interrupted" in messages, worker.output()
    comfy_sim.faults.node_delay_s = 0.0
    after = runpod_standin.submit({"workflow": invert_chain(1)})
    assert finished(runpod_standin, after.id, worker).status == "COMPLETED", worker.output()
    assert runpod_standin.book.jobs[job_id].status == "CANCELLED"


def test_refresh_worker_asks_runpod_to_stop_the_pod(comfy_sim, runpod_standin, production_worker):
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "REFRESH_WORKER": "true"})
    job = finished(runpod_standin, runpod_standin.submit({"workflow": invert_chain(1)}).id, worker)
    assert job.status == "COMPLETED" and job.stop_pod
    assert "refresh_worker" not in job.output
    assert worker.pod_id in runpod_standin.book.retired_workers


@pytest.fixture
def small_limit_standin():
    with RunpodStandIn(max_result_bytes=64 * 1024) as standin:
        yield standin


def big_output_workflow() -> dict:
    noise = {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": 3, "strength": 1.0}}
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 512, "height": 512, "batch_size": 1, "color": 0}},
            "2": noise, "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "big"}}}


def test_runpod_refuses_a_result_over_its_size_limit(comfy_sim, small_limit_standin, production_worker):
    worker = production_worker(small_limit_standin, {"COMFY_HOST": comfy_sim.host})
    job = small_limit_standin.submit({"workflow": big_output_workflow()})
    refused = small_limit_standin.wait_for(lambda: small_limit_standin.book.refused_results, what="refused result")
    assert refused[0]["job_id"] == job.id and refused[0]["bytes"] > 64 * 1024
    assert job.status == "IN_PROGRESS", worker.output()


def test_a_result_over_the_limit_ends_the_job_with_a_clear_error(comfy_sim, small_limit_standin, production_worker):
    worker = production_worker(small_limit_standin, {"COMFY_HOST": comfy_sim.host,
                                                     "MAX_RESPONSE_BYTES": str(60 * 1024)})
    job = small_limit_standin.submit({"workflow": big_output_workflow()})
    assert small_limit_standin.wait_for(
        lambda: job.status in ("COMPLETED", "FAILED") or small_limit_standin.book.refused_results, what="an answer")
    assert not small_limit_standin.book.refused_results, "the worker sent a result RunPod refuses"
    assert job.status == "FAILED", worker.output()
    # rp_job.run_job: the handler's `error` string becomes the result's `error`, the other keys its `output`
    assert isinstance(job.error, str) and job.error.startswith("response_too_large: "), job.error
    assert job.output["error_code"] == "response_too_large", job.output


def saves_then_fails() -> dict:
    """Node 3 saves an image; then ImageToMask of the RGB image's alpha raises IndexError (node 4)."""
    return {**invert_chain(1), "4": {"class_type": "ImageToMask", "inputs": {"image": ["1", 0], "channel": "alpha"}},
            "5": {"class_type": "MaskPreview", "inputs": {"mask": ["4", 0]}}}


def test_a_node_failing_after_another_saved_is_completed_with_the_output_and_the_error(
        comfy_sim, runpod_standin, production_worker):
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    partial = finished(runpod_standin, runpod_standin.submit({"workflow": saves_then_fails()}).id, worker)
    assert partial.status == "COMPLETED", worker.output()
    assert len(partial.output["images"]) == 1 and partial.output["error_code"] == "execution_failed"
    assert partial.output["errors"][-1].startswith("execution_failed: node 4 (ImageToMask): IndexError")


def test_with_partial_results_off_that_job_is_failed(comfy_sim, runpod_standin, production_worker):
    strict = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "PARTIAL_RESULTS": "false"})
    failed = finished(runpod_standin, runpod_standin.submit({"workflow": saves_then_fails()}).id, strict)
    assert failed.status == "FAILED" and failed.error.startswith("execution_failed: node 4"), strict.output()
    # the SDK sends the rest of the answer as the result's output; a caller is shown (and counts on) `error` only
    assert failed.output["error_code"] == "execution_failed" and failed.output["data"]["node_id"] == "4"
    assert "output" not in failed.public_view() and failed.public_view()["error"] == failed.error


def test_a_streaming_worker_that_must_be_replaced_still_is(comfy_sim, runpod_standin, production_worker):
    """The SDK's generator path reads `refresh_worker` from the start config only, never from the items."""
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "STREAM_OUTPUTS": "true",
                                                "REFRESH_WORKER": "true"})
    job = finished(runpod_standin, runpod_standin.submit({"workflow": invert_chain(1)}).id, worker)
    assert job.status == "COMPLETED" and job.stop_pod, worker.output()
    assert worker.pod_id in runpod_standin.book.retired_workers
    items = [item["output"] for item in job.stream]
    assert [list(item) for item in items[:-1]] == [["images"]]
    assert all("refresh_worker" not in item for item in items) and "timings_ms" in items[-1]


def test_a_warm_worker_leaves_comfyuis_folders_as_they_were(comfy_sim, runpod_standin, production_worker):
    folders = {"COMFY_INPUT_DIR": comfy_sim.dirs.input, "COMFY_OUTPUT_DIR": comfy_sim.dirs.output,
               "COMFY_TEMP_DIR": comfy_sim.dirs.temp}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, **folders})
    before = comfy_sim.dirs.written_files() + comfy_sim.dirs.input_files()
    jobs = [runpod_standin.submit(SAMPLE) for _ in range(3)]
    done = [finished(runpod_standin, job.id, worker) for job in jobs]
    assert [job.status for job in done] == ["COMPLETED"] * 3, worker.output()
    assert all(entry["subfolder"].startswith("job-") for job in done for entry in job.output["images"])
    assert comfy_sim.dirs.written_files() + comfy_sim.dirs.input_files() == before


def refused_by_comfyui() -> dict:
    """ComfyUI answers HTTP 400: node 1's width is below its minimum."""
    workflow = invert_chain(1)
    workflow["1"]["inputs"]["width"] = 0
    return workflow


def test_a_failed_streaming_job_is_failed_with_its_error_line(comfy_sim, runpod_standin, production_worker):
    """rp_job.handle_job: a streamed item that is a dict with an `error` ends the job FAILED with that string, so
    the last item of a failed STREAM_OUTPUTS job (its error answer) fails it on RunPod, as without streaming."""
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "STREAM_OUTPUTS": "true"})
    refused = finished(runpod_standin, runpod_standin.submit({"workflow": refused_by_comfyui()}).id, worker)
    assert refused.status == "FAILED", worker.output()
    assert refused.error.startswith("workflow_invalid: node 1 (EmptyImage) input 'width': "), refused.error
    assert refused.stream == [] and refused.output is None  # nothing streamed; the error line alone is kept


def test_a_streaming_job_failing_after_an_output_is_failed_and_its_output_was_streamed(
        comfy_sim, runpod_standin, production_worker):
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "STREAM_OUTPUTS": "true",
                                                "PARTIAL_RESULTS": "false"})
    failed = finished(runpod_standin, runpod_standin.submit({"workflow": saves_then_fails()}).id, worker)
    assert failed.status == "FAILED", worker.output()
    assert failed.error.startswith("execution_failed: node 4 (ImageToMask): IndexError"), failed.error
    assert [list(item["output"]) for item in failed.stream] == [["images"]]
    assert failed.stream[0]["output"]["images"][0]["node_id"] == "3"
