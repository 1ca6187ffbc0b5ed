"""Each fault knob and outage of the ComfyUI simulator does what it says, seen from real HTTP/websocket clients."""
import os
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
import requests
import websocket

from comfyui_sim import ComfySimulator
from frame_recorder import FrameRecorder, wait_reachable

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def chain(prefix: str = "fault") -> dict:
    """Three executing nodes; the colour follows the prefix so that different prefixes share no cached node."""
    color = sum(ord(c) * 131 ** i for i, c in enumerate(prefix)) % 0xFFFFFF
    return {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": color}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": prefix}},
    }


def queue(sim, prompt: dict, client_id: str | None = None) -> str:
    body: dict[str, Any] = {"prompt": prompt, **({"client_id": client_id} if client_id else {})}
    response = requests.post(f"{sim.base_url}/prompt", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["prompt_id"]


def connect(sim, client_id: str | None = None) -> FrameRecorder:
    recorder = FrameRecorder(sim.host, client_id or str(uuid.uuid4()))
    assert recorder.wait_count(1)
    return recorder


def wait_history(sim, prompt_id: str, timeout: float = 20.0) -> dict:
    give_up = time.monotonic() + timeout
    while time.monotonic() < give_up:
        entry = sim.history(prompt_id)
        if entry:
            return entry
        time.sleep(0.02)
    raise AssertionError(f"no history for {prompt_id}")


def test_drop_socket_after_frames_cuts_each_new_socket_without_close_frame(comfy_sim):
    comfy_sim.faults.drop_socket_after_frames = 3
    client_id = str(uuid.uuid4())
    first = connect(comfy_sim, client_id)
    prompt_id = queue(comfy_sim, chain(), client_id)
    assert first.closed.wait(10)
    assert isinstance(first.error, websocket.WebSocketConnectionClosedException)
    assert first.labels() == ["status(qr=0)", "status(qr=1)", "status(qr=1)"]
    wait_history(comfy_sim, prompt_id)
    second_id = str(uuid.uuid4())
    second = connect(comfy_sim, second_id)
    queue(comfy_sim, chain("second"), second_id)
    assert second.closed.wait(10) and len(second.frames) == 3
    comfy_sim.faults.reset()
    third = connect(comfy_sim, client_id)
    other = queue(comfy_sim, chain("after_reset"), client_id)
    assert third.wait_final(other) and not third.closed.is_set()


def test_drop_socket_after_success_loses_the_final_frame(comfy_sim):
    comfy_sim.faults.drop_socket_after_success = True
    client_id = str(uuid.uuid4())
    recorder = connect(comfy_sim, client_id)
    prompt_id = queue(comfy_sim, chain(), client_id)
    assert recorder.closed.wait(10)
    assert isinstance(recorder.error, websocket.WebSocketConnectionClosedException)
    assert recorder.labels()[-1] == "execution_success"
    assert wait_history(comfy_sim, prompt_id)["status"]["status_str"] == "success"
    comfy_sim.faults.reset()
    again = connect(comfy_sim, client_id)
    observer_id = str(uuid.uuid4())
    observer = connect(comfy_sim, observer_id)
    assert observer.wait_final(queue(comfy_sim, chain("observer"), observer_id))
    assert again.wait_count(4)
    assert again.labels() == ["status(qr=0)", "status(qr=1)", "status(qr=1)", "status(qr=0)"]


@pytest.mark.parametrize("delay,interrupted_at", [(0.4, "2"), ({"ImageInvert": 0.4}, "3")])
def test_node_delay_lets_an_interrupt_land_between_nodes(comfy_sim, delay, interrupted_at):
    comfy_sim.faults.node_delay_s = delay
    client_id = str(uuid.uuid4())
    recorder = connect(comfy_sim, client_id)
    prompt_id = queue(comfy_sim, chain(), client_id)
    assert recorder.wait_label(f"executing({int(interrupted_at) - 1})")
    assert requests.post(f"{comfy_sim.base_url}/interrupt", json={"prompt_id": prompt_id}, timeout=10).ok
    assert recorder.wait_final(prompt_id)
    labels = recorder.labels()
    assert labels[-4:] == [f"executing({interrupted_at})", "execution_interrupted", "status(qr=0)", "executing(None)"]
    frame = next(f["data"] for f in recorder.frames if isinstance(f, dict) and f["type"] == "execution_interrupted")
    assert frame["node_id"] == interrupted_at and frame["node_type"] == chain()[interrupted_at]["class_type"]
    entry = comfy_sim.history(prompt_id)
    assert (entry["status"]["status_str"], entry["status"]["completed"], entry["outputs"]) == ("error", False, {})


def test_view_status_overrides_one_filename(comfy_sim):
    prompt_id = queue(comfy_sim, chain("viewed"))
    image = wait_history(comfy_sim, prompt_id)["outputs"]["3"]["images"][0]
    comfy_sim.faults.view_status = {image["filename"]: 503}
    assert requests.get(f"{comfy_sim.base_url}/view", params=image, timeout=10).status_code == 503
    example = {"filename": "example.png", "type": "input"}
    assert requests.get(f"{comfy_sim.base_url}/view", params=example, timeout=10).status_code == 200
    comfy_sim.faults.reset()
    assert requests.get(f"{comfy_sim.base_url}/view", params=image, timeout=10).status_code == 200


def test_frames_before_post_response(comfy_sim):
    comfy_sim.faults.frames_before_post_response = True
    client_id = str(uuid.uuid4())
    recorder = connect(comfy_sim, client_id)
    prompt_id = queue(comfy_sim, chain(), client_id)
    assert comfy_sim.history(prompt_id)["status"]["completed"] is True
    assert recorder.wait_final(prompt_id)


def test_blackout_refuses_then_comes_back_with_state(comfy_sim):
    done = queue(comfy_sim, chain("before"))
    wait_history(comfy_sim, done)
    comfy_sim.faults.node_delay_s = 0.3
    client_id = str(uuid.uuid4())
    recorder = connect(comfy_sim, client_id)
    running = queue(comfy_sim, chain("during"), client_id)
    assert recorder.wait_label("executing(1)")
    host = comfy_sim.host
    comfy_sim.blackout(1.0)
    assert recorder.closed.wait(5) and isinstance(recorder.error, websocket.WebSocketConnectionClosedException)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{comfy_sim.base_url}/prompt", timeout=5)
    with pytest.raises(ConnectionRefusedError):
        websocket.create_connection(f"ws://{host}/ws?clientId={client_id}", timeout=5)
    wait_reachable(comfy_sim)
    assert comfy_sim.host == host
    assert requests.get(f"{comfy_sim.base_url}/history/{done}", timeout=10).json()[done]["status"]["completed"]
    assert wait_history(comfy_sim, running)["status"]["status_str"] == "success"


def test_restart_forgets_history_queue_numbers_and_the_running_prompt(comfy_sim):
    done = queue(comfy_sim, chain("before"))
    wait_history(comfy_sim, done)
    comfy_sim.faults.node_delay_s = 0.5
    recorder = connect(comfy_sim)
    lost = queue(comfy_sim, chain("lost"), recorder.frames[0]["data"]["sid"])
    assert recorder.wait_label("executing(1)")
    comfy_sim.restart(down_s=0.2)
    assert recorder.closed.wait(5)
    give_up = time.monotonic() + 10
    while time.monotonic() < give_up:
        try:
            history = requests.get(f"{comfy_sim.base_url}/history", timeout=1).json()
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    assert history == {}
    assert requests.get(f"{comfy_sim.base_url}/queue", timeout=10).json() == {"queue_running": [], "queue_pending": []}
    comfy_sim.faults.reset()
    fresh = requests.post(f"{comfy_sim.base_url}/prompt", json={"prompt": chain("after")}, timeout=10).json()
    assert fresh["number"] == 0
    wait_history(comfy_sim, fresh["prompt_id"])
    time.sleep(0.6)
    assert comfy_sim.history(lost) == {} and comfy_sim.history(done) == {}
    assert "output/before_00001_.png" in comfy_sim.output_files()


def test_queue_delete_leaves_the_owner_with_status_frames_only(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.3
    owner_a, owner_b = connect(comfy_sim), connect(comfy_sim)
    slow = queue(comfy_sim, chain("slow"), owner_a.frames[0]["data"]["sid"])
    assert owner_a.wait_label("executing(1)")
    pending = queue(comfy_sim, chain("pending"), owner_b.frames[0]["data"]["sid"])
    assert requests.post(f"{comfy_sim.base_url}/queue", json={"delete": [pending]}, timeout=10).status_code == 200
    assert owner_a.wait_final(slow)
    # queue_delete_pending.json: deleting the only pending prompt broadcasts status twice, then the slow one ends
    expected = ["status(qr=0)", "status(qr=1)", "status(qr=1)", "status(qr=2)", "status(qr=1)", "status(qr=1)",
                "status(qr=0)"]
    assert owner_b.wait_count(len(expected)), owner_b.labels()
    assert owner_b.labels() == expected
    assert owner_a.labels()[-1] == "executing(None)"
    assert comfy_sim.history(pending) == {}


def test_feature_flags_are_recorded_and_answered(comfy_sim):
    flags = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
    recorder = FrameRecorder(comfy_sim.host, str(uuid.uuid4()), first_message=flags)
    assert recorder.wait_label("feature_flags")
    assert comfy_sim.received_ws_messages == [flags]


def test_generated_sid_context_manager_and_idempotent_stop():
    with ComfySimulator() as sim:
        recorder = FrameRecorder(sim.host)
        assert recorder.wait_count(1)
        assert len(recorder.frames[0]["data"]["sid"]) == 32
        root = sim.dirs.root
    sim.stop()
    assert not os.path.exists(root)


def test_command_line_serves_until_sigterm():
    env = {**os.environ, "PYTHONPATH": TESTS}
    with subprocess.Popen([sys.executable, "-m", "comfyui_sim", "--host", "127.0.0.1", "--port", "0"],
                          stdout=subprocess.PIPE, text=True, env=env) as process:
        try:
            line = process.stdout.readline().strip()
            assert line.startswith("ComfyUI simulator listening on http://127.0.0.1:")
            url = line.rsplit(" ", 1)[1]
            assert requests.get(f"{url}/system_stats", timeout=10).json()["system"]["comfyui_version"] == "0.8.0"
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
