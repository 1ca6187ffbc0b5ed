"""The ComfyUI HTTP adapter and websocket monitor against the simulator on loopback, faults included."""
import io
import threading
import time
import uuid

import pytest
import requests
from PIL import Image

from adapters.comfy_http_api import ComfyHttpApi
from adapters.comfy_view_source import ComfyViewImageSource
from adapters.comfy_websocket_monitor import ComfyWebsocketMonitor, SocketPolicy
from domain.errors import ComfyUnreachable, ExecutionInterrupted, JobTimedOut, PromptLost, WorkflowRejected
from domain.model import InputImage, Prompt

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


def adapters(sim, **policy):
    api = ComfyHttpApi(sim.base_url, ready_interval_s=0.02, ready_max_retries=250)
    settings = dict(reconnect_attempts=20, reconnect_delay_s=0.25, poll_s=0.05, final_frame_grace_s=0.5)
    settings.update(policy)
    monitor = ComfyWebsocketMonitor(sim.host, prompt_state=api.prompt_state, policy=SocketPolicy(**settings))
    return api, monitor


def run(api, monitor, workflow, *, timeout_s=30.0, during=None, should_stop=lambda: False):
    prompt = Prompt(id=str(uuid.uuid4()), client_id=str(uuid.uuid4()), workflow=workflow)
    api.wait_until_ready()
    progress = []
    with monitor.watch(prompt.client_id) as execution:
        prompt_id = api.queue_prompt(prompt)
        assert prompt_id == prompt.id
        if during:
            threading.Thread(target=during, daemon=True).start()
        outcome = execution.wait(prompt_id, deadline=time.monotonic() + timeout_s,
                                 on_progress=progress.append, should_stop=should_stop)
    return outcome, prompt_id


def later(delay_s, action):
    return lambda: (time.sleep(delay_s), action())


def test_success_then_outputs_from_history(comfy_sim):
    api, monitor = adapters(comfy_sim)
    outcome, prompt_id = run(api, monitor, EMPTY_SAVE)
    assert outcome.status == "success"
    [ref] = api.outputs(prompt_id)
    assert (ref.node_id, ref.kind, ref.type) == ("2", "images", "output")
    blob = ComfyViewImageSource(comfy_sim.base_url).fetch(ref)
    assert Image.open(io.BytesIO(blob.data)).size == (64, 48)


def test_uploaded_input_is_used_by_the_workflow(comfy_sim):
    api, monitor = adapters(comfy_sim)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, "PNG")
    api.wait_until_ready()
    api.upload_image(InputImage("it in.png", buffer.getvalue()))
    api.upload_image(InputImage("it in.png", buffer.getvalue()))
    workflow = {
        "1": {"class_type": "LoadImage", "inputs": {"image": "it in.png"}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "it_inverted"}},
    }
    outcome, prompt_id = run(api, monitor, workflow)
    assert outcome.status == "success"
    blob = ComfyViewImageSource(comfy_sim.base_url).fetch(api.outputs(prompt_id)[0])
    assert Image.open(io.BytesIO(blob.data)).convert("RGB").getpixel((0, 0)) == (245, 235, 225)


def test_validation_400_becomes_workflow_rejected(comfy_sim):
    api, monitor = adapters(comfy_sim)
    bad = {**EMPTY_SAVE, "1": {"class_type": "EmptyImage", "inputs": {"width": 0, "height": 8, "batch_size": 1, "color": 0}}}
    with pytest.raises(WorkflowRejected) as caught:
        run(api, monitor, bad)
    assert caught.value.summary().startswith("workflow_invalid: node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1")
    assert caught.value.data["node_errors"]["1"]["class_type"] == "EmptyImage"


def test_execution_error_names_the_failing_node(comfy_sim):
    api, monitor = adapters(comfy_sim)
    workflow = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 1122867}},
        "2": {"class_type": "ImageToMask", "inputs": {"image": ["1", 0], "channel": "alpha"}},
        "3": {"class_type": "MaskPreview", "inputs": {"mask": ["2", 0]}},
    }
    outcome, _ = run(api, monitor, workflow)
    assert (outcome.status, outcome.node_id, outcome.node_type) == ("error", "2", "ImageToMask")
    assert outcome.exception_type == "IndexError"


def test_fully_cached_rerun_finishes_with_the_old_outputs(comfy_sim):
    api, monitor = adapters(comfy_sim)
    first, first_id = run(api, monitor, EMPTY_SAVE)
    second, second_id = run(api, monitor, EMPTY_SAVE)
    assert first.status == second.status == "success"
    assert [r.filename for r in api.outputs(second_id)] == [r.filename for r in api.outputs(first_id)]


def test_socket_dropped_mid_run_is_reopened(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.2
    comfy_sim.faults.drop_socket_after_frames = 6
    api, monitor = adapters(comfy_sim)
    outcome, prompt_id = run(api, monitor, slow_chain("it_drop"))
    assert outcome.status == "success"
    assert api.outputs(prompt_id)


def test_final_frame_lost_after_execution_success(comfy_sim):
    comfy_sim.faults.drop_socket_after_success = True
    api, monitor = adapters(comfy_sim, reconnect_attempts=0)
    outcome, prompt_id = run(api, monitor, EMPTY_SAVE)
    assert outcome.status == "success"
    assert api.outputs(prompt_id)


def test_three_second_refusal_mid_run_is_ridden_out(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.5
    api, monitor = adapters(comfy_sim)
    outcome, prompt_id = run(api, monitor, slow_chain("it_blackout"), during=later(0.3, lambda: comfy_sim.blackout(3.0)))
    assert outcome.status == "success"
    assert api.outputs(prompt_id)


def test_restart_that_forgets_the_prompt_ends_with_prompt_lost(comfy_sim):
    comfy_sim.faults.node_delay_s = 1.0
    api, monitor = adapters(comfy_sim)
    with pytest.raises(PromptLost, match="restarted"):
        run(api, monitor, slow_chain("it_restart"), during=later(0.3, lambda: comfy_sim.restart(down_s=0.5)))


def test_comfy_gone_for_good_is_unreachable_not_a_hang(comfy_sim):
    api, monitor = adapters(comfy_sim, reconnect_attempts=2, reconnect_delay_s=0.1)
    api.wait_until_ready()
    comfy_sim.stop()
    with pytest.raises(ComfyUnreachable):
        with monitor.watch(str(uuid.uuid4())):
            pass


def test_deadline_then_cancel_interrupts_the_running_prompt(comfy_sim):
    comfy_sim.faults.node_delay_s = 1.0
    api, monitor = adapters(comfy_sim)
    prompt = Prompt(id=str(uuid.uuid4()), client_id=str(uuid.uuid4()), workflow=slow_chain("it_deadline"))
    with monitor.watch(prompt.client_id) as execution:
        api.queue_prompt(prompt)
        with pytest.raises(JobTimedOut):
            execution.wait(prompt.id, deadline=time.monotonic() + 0.3, on_progress=print, should_stop=lambda: False)
    api.cancel(prompt.id)
    give_up = time.monotonic() + 20
    while not comfy_sim.history(prompt.id) and time.monotonic() < give_up:
        time.sleep(0.05)
    messages = [m[0] for m in comfy_sim.history(prompt.id)["status"]["messages"]]
    assert "execution_interrupted" in messages


def test_stop_request_ends_the_wait(comfy_sim):
    comfy_sim.faults.node_delay_s = 1.0
    api, monitor = adapters(comfy_sim)
    stop = threading.Event()
    with pytest.raises(ExecutionInterrupted):
        run(api, monitor, slow_chain("it_stop"), during=later(0.2, stop.set), should_stop=stop.is_set)


def test_prompt_deleted_from_the_queue_by_someone_else_does_not_hang(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.5
    api, monitor = adapters(comfy_sim, silence_check_s=0.5)
    api.wait_until_ready()
    blocker = Prompt(id=str(uuid.uuid4()), client_id=str(uuid.uuid4()), workflow=slow_chain("it_blocker"))
    api.queue_prompt(blocker)
    ours = Prompt(id=str(uuid.uuid4()), client_id=str(uuid.uuid4()), workflow=slow_chain("it_deleted"))
    with monitor.watch(ours.client_id) as execution:
        api.queue_prompt(ours)
        requests.post(comfy_sim.base_url + "/queue", json={"delete": [ours.id]}, timeout=5).raise_for_status()
        with pytest.raises(PromptLost, match="deleted from its queue"):
            execution.wait(ours.id, deadline=time.monotonic() + 30, on_progress=print, should_stop=lambda: False)
