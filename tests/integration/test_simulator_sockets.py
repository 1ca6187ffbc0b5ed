"""ComfyUI's websocket teardown race: an old socket's late teardown unregisters a socket reopened with its id."""
import time
import uuid

import pytest
import requests
import websocket

from frame_recorder import FrameRecorder


def chain(prefix: str) -> dict:
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 16, "batch_size": 1, "color": 7}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}}}


def queue(sim, prefix: str, client_id: str) -> str:
    answer = requests.post(f"{sim.base_url}/prompt", json={"prompt": chain(prefix), "client_id": client_id},
                           timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["prompt_id"]


def connect(sim, client_id: str) -> FrameRecorder:
    recorder = FrameRecorder(sim.host, client_id)
    assert recorder.wait_count(1)
    return recorder


def wait_unregistered(sim, client_id: str, timeout: float = 20.0) -> None:
    give_up = time.monotonic() + timeout
    while client_id in sim.client_ids():
        assert time.monotonic() < give_up, "the old socket's teardown never ran"
        time.sleep(0.02)


def assert_deaf(sim, deaf: FrameRecorder, client_id: str) -> None:
    """A prompt of `client_id` runs to its end (seen by an observer's later prompt) and `deaf` hears none of it."""
    prompt_id = queue(sim, "deaf", client_id)
    observer_id = str(uuid.uuid4())
    observer = connect(sim, observer_id)
    assert observer.wait_final(queue(sim, "observer", observer_id))
    assert sim.history(prompt_id)["status"]["status_str"] == "success"
    assert deaf.labels() == ["status(qr=0)"]
    assert not deaf.closed.is_set()


def test_without_knobs_a_reopened_socket_hears_everything(comfy_sim):
    client_id = str(uuid.uuid4())
    old = connect(comfy_sim, client_id)
    old.close()
    wait_unregistered(comfy_sim, client_id)
    new = connect(comfy_sim, client_id)
    prompt_id = queue(comfy_sim, "heard", client_id)
    assert new.wait_final(prompt_id)
    assert new.labels()[-3:] == ["execution_success", "status(qr=0)", "executing(None)"]


def test_late_teardown_unregisters_the_socket_reopened_meanwhile(comfy_sim):
    comfy_sim.faults.late_teardown_s = 2.0
    client_id = str(uuid.uuid4())
    old = connect(comfy_sim, client_id)
    old.close()
    new = connect(comfy_sim, client_id)
    assert client_id in comfy_sim.client_ids()
    wait_unregistered(comfy_sim, client_id)
    assert_deaf(comfy_sim, new, client_id)


def test_frozen_socket_gets_nothing_answers_no_ping_and_stays_open(comfy_sim):
    client_id = str(uuid.uuid4())
    frozen = websocket.create_connection(f"ws://{comfy_sim.host}/ws?clientId={client_id}", timeout=10)
    assert frozen.recv()
    assert comfy_sim.faults.freeze_socket(client_id)
    frozen.ping(b"alive?")
    queue(comfy_sim, "frozen", client_id)
    comfy_sim.wait_idle()
    frozen.settimeout(1.0)
    with pytest.raises(websocket.WebSocketTimeoutException):
        frozen.recv()
    assert client_id in comfy_sim.client_ids()
    assert comfy_sim.faults.freeze_socket("nobody") is False
    frozen.close(timeout=0.5)


def test_noticing_a_frozen_socket_late_makes_its_successor_deaf(comfy_sim):
    client_id = str(uuid.uuid4())
    old = connect(comfy_sim, client_id)
    assert comfy_sim.faults.freeze_socket(client_id)
    old.close()
    new = connect(comfy_sim, client_id)
    assert comfy_sim.faults.notice_frozen() == 1
    wait_unregistered(comfy_sim, client_id)
    assert_deaf(comfy_sim, new, client_id)


def test_frozen_socket_noticed_after_a_delay(comfy_sim):
    client_id = str(uuid.uuid4())
    old = connect(comfy_sim, client_id)
    assert comfy_sim.faults.freeze_socket(client_id, notice_after_s=0.3)
    assert old.closed.wait(20)
    wait_unregistered(comfy_sim, client_id)
    assert comfy_sim.faults.notice_frozen() == 0
