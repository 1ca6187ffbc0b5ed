"""The use case with the real ComfyUI adapters against the simulator on loopback, faults included."""
import base64
import io
import threading

import pytest
import requests
from PIL import Image

from domain.budget import Budget
from domain.errors import Cancelled, ComfyUnreachable, ExecutionFailed, JobTimedOut, PromptLost, WorkflowRejected
from integration.sim_job import job, later, queue_holds, run, services, wait_until

EMPTY_SAVE = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 48, "batch_size": 1, "color": 255}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "it_empty"}},
}


def slow_chain(prefix):
    """Three executing nodes, so node delays make a run last a while."""
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 1}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": prefix}},
    }


def picture(entry):
    return Image.open(io.BytesIO(base64.b64decode(entry["data"])))


def test_success_returns_the_saved_image(comfy_sim):
    response = run(services(comfy_sim), job(EMPTY_SAVE))
    [entry] = response["images"]
    assert picture(entry).size == (64, 48)
    assert (entry["node_id"], entry["type"], entry["content_type"]) == ("2", "base64", "image/png")
    assert set(response["timings_ms"]) >= {"wait_ready", "upload_inputs", "queue_wait", "execute", "deliver", "total"}


def test_uploaded_input_is_used_by_the_workflow(comfy_sim):
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "PNG")
    image = {"name": "it in.png", "image": base64.b64encode(buffer.getvalue()).decode()}
    workflow = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "it in.png"}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "it_inverted"}},
    }
    svc = services(comfy_sim)
    run(svc, job(workflow, images=[image]))
    response = run(svc, job(workflow, images=[image]))  # the same name again: overwritten, not renamed
    assert picture(response["images"][0]).convert("RGB").getpixel((0, 0)) == (245, 235, 225)


def test_outputs_are_delivered_while_the_workflow_still_runs(comfy_sim):
    comfy_sim.faults.node_delay_s = {"ImageBlur": 1.0}
    workflow = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 7}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "it_first"}},
        "3": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 1, "sigma": 1.0}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "it_second"}},
    }
    the_job = job(workflow)
    finished_when_stored = {}

    def on_output(stored):
        finished_when_stored[stored.ref.node_id] = bool(comfy_sim.history(the_job.prompt.id))

    response = run(services(comfy_sim), the_job, on_output=on_output)
    assert [e["node_id"] for e in response["images"]] == ["2", "4"]
    assert finished_when_stored["2"] is False  # node 2's file was delivered before the prompt ended


def test_validation_400_becomes_workflow_rejected(comfy_sim):
    bad = {**EMPTY_SAVE, "1": {"class_type": "EmptyImage", "inputs": {"width": 0, "height": 8, "batch_size": 1, "color": 0}}}
    with pytest.raises(WorkflowRejected) as caught:
        run(services(comfy_sim), job(bad))
    assert caught.value.summary().startswith("workflow_invalid: node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1")


def test_execution_error_names_the_failing_node(comfy_sim):
    workflow = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 1122867}},
        "2": {"class_type": "ImageToMask", "inputs": {"image": ["1", 0], "channel": "alpha"}},
        "3": {"class_type": "MaskPreview", "inputs": {"mask": ["2", 0]}},
    }
    with pytest.raises(ExecutionFailed, match=r"node 2 \(ImageToMask\): IndexError"):
        run(services(comfy_sim), job(workflow))


def test_fully_cached_rerun_returns_the_old_outputs_once(comfy_sim):
    svc = services(comfy_sim)
    first = run(svc, job(EMPTY_SAVE))
    second = run(svc, job(EMPTY_SAVE))
    assert [e["filename"] for e in second["images"]] == [e["filename"] for e in first["images"]]


def test_socket_dropped_mid_run_is_reopened(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.2
    comfy_sim.faults.drop_socket_after_frames = 6
    response = run(services(comfy_sim), job(slow_chain("it_drop")))
    assert len(response["images"]) == 1


def test_final_frame_lost_after_execution_success(comfy_sim):
    comfy_sim.faults.drop_socket_after_success = True
    response = run(services(comfy_sim, reconnect_attempts=0), job(EMPTY_SAVE))
    assert len(response["images"]) == 1


def test_three_second_refusal_mid_run_is_ridden_out(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.5
    response = run(services(comfy_sim), job(slow_chain("it_blackout")), during=later(0.3, lambda: comfy_sim.blackout(3.0)))
    assert len(response["images"]) == 1


def test_restart_that_forgets_the_prompt_ends_with_prompt_lost(comfy_sim):
    comfy_sim.faults.node_delay_s = 1.0
    with pytest.raises(PromptLost, match="restarted"):
        run(services(comfy_sim), job(slow_chain("it_restart")), during=later(0.3, lambda: comfy_sim.restart(down_s=0.5)))


def test_restart_between_jobs_is_waited_for(comfy_sim):
    svc = services(comfy_sim)
    run(svc, job(EMPTY_SAVE))
    comfy_sim.restart(down_s=1.5)
    response = run(svc, job(slow_chain("it_after_restart")))
    assert len(response["images"]) == 1


def test_comfy_gone_for_good_is_unreachable_not_a_hang(comfy_sim):
    svc = services(comfy_sim, reconnect_attempts=2, reconnect_delay_s=0.1)
    svc.comfy.wait_until_ready(Budget())
    comfy_sim.stop()
    with pytest.raises(ComfyUnreachable):
        run(svc, job(EMPTY_SAVE), timeout_s=20)


def test_deadline_interrupts_the_prompt_and_frees_the_queue(comfy_sim):
    comfy_sim.faults.node_delay_s = 1.0
    the_job = job(slow_chain("it_deadline"))
    with pytest.raises(JobTimedOut):
        run(services(comfy_sim), the_job, timeout_s=0.5)
    assert wait_until(lambda: bool(comfy_sim.history(the_job.prompt.id)))
    messages = [m[0] for m in comfy_sim.history(the_job.prompt.id)["status"]["messages"]]
    assert "execution_interrupted" in messages
    assert not queue_holds(comfy_sim, the_job.prompt.id)


def test_stop_while_waiting_cancels_the_prompt(comfy_sim):
    comfy_sim.faults.node_delay_s = 1.0
    budget = Budget(stop=threading.Event())
    the_job = job(slow_chain("it_stop"))
    with pytest.raises(Cancelled):
        run(services(comfy_sim), the_job, budget=budget, during=later(0.3, budget.stop.set))
    assert wait_until(lambda: not queue_holds(comfy_sim, the_job.prompt.id))


def test_prompt_deleted_from_the_queue_by_someone_else_does_not_hang(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.5
    svc = services(comfy_sim, silence_check_s=0.5)
    blocker = job(slow_chain("it_blocker"))
    svc.comfy.queue_prompt(blocker.prompt, Budget())
    ours = job(slow_chain("it_deleted"))

    def delete_ours():
        wait_until(lambda: queue_holds(comfy_sim, ours.prompt.id), 10)
        requests.post(comfy_sim.base_url + "/queue", json={"delete": [ours.prompt.id]}, timeout=5).raise_for_status()

    with pytest.raises(PromptLost, match="deleted from its queue"):
        run(svc, ours, during=delete_ours)


def test_inband_images_of_save_image_websocket_are_returned(comfy_sim):
    workflow = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 8, "batch_size": 2, "color": 65280}},
        "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}},
    }
    response = run(services(comfy_sim), job(workflow))
    assert [e["filename"] for e in response["images"]] == ["websocket_2_00001_.png", "websocket_2_00002_.png"]
    assert picture(response["images"][0]).size == (16, 8)


def test_output_format_converts_still_images(comfy_sim):
    response = run(services(comfy_sim), job(EMPTY_SAVE, output_format={"format": "jpeg", "quality": 80}))
    [entry] = response["images"]
    assert entry["filename"].endswith(".jpg") and entry["content_type"] == "image/jpeg"
    assert picture(entry).format == "JPEG"
    assert entry["size_bytes"] == len(base64.b64decode(entry["data"]))


def test_validate_only_checks_without_queueing(comfy_sim):
    svc = services(comfy_sim)
    assert run(svc, job(EMPTY_SAVE, validate_only=True)) == {"status": "valid", "nodes": 2, "workflow_api": EMPTY_SAVE}
    bad = {**EMPTY_SAVE, "1": {"class_type": "EmptyImage", "inputs": {"width": 0, "height": 8, "batch_size": 1, "color": 0}}}
    with pytest.raises(WorkflowRejected, match="node 1 \\(EmptyImage\\) input 'width'"):
        run(svc, job(bad, validate_only=True))
    missing = {**EMPTY_SAVE, "9": {"class_type": "NoSuchNode", "inputs": {}}}
    with pytest.raises(WorkflowRejected) as caught:
        run(svc, job(missing, validate_only=True))
    assert caught.value.code == "node_missing"
    assert not comfy_sim.state.history


def test_missing_model_names_the_file_and_the_closest_ones(comfy_sim):
    comfy_sim.models["checkpoints"] = ["sd_xl_base_1.0.safetensors", "v1-5-pruned.safetensors"]
    workflow = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base.safetensors"}},
                "2": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
                "3": {"class_type": "VAEDecode", "inputs": {"samples": ["2", 0], "vae": ["1", 2]}},
                "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "x"}}}
    for validate in (True, False):
        with pytest.raises(WorkflowRejected) as caught:
            run(services(comfy_sim), job(workflow, validate_only=validate))
        assert caught.value.code == "model_missing"
        assert "sd_xl_base_1.0.safetensors" in caught.value.summary()
