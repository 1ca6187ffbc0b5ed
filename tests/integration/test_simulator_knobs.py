"""The simulator's newer fault knobs (FIN/RST drops, lost final frame, restarts, silent port, /view and
/upload faults, injected frames, foreign prompts), each seen from real HTTP and websocket clients."""
import http.client
import json
import uuid

import pytest
import requests
import websocket

from comfyui_sim import junk
from frame_recorder import wait_reachable
from integration.test_simulator_faults import chain, connect, queue, wait_history
from loopback import SilentPort


def test_drop_before_final_cuts_the_socket_after_the_last_status_frame(comfy_sim):
    comfy_sim.faults.drop_socket_before_final = True
    client_id = str(uuid.uuid4())
    recorder = connect(comfy_sim, client_id)
    prompt_id = queue(comfy_sim, chain("before_final"), client_id)
    assert recorder.closed.wait(10)
    assert isinstance(recorder.error, websocket.WebSocketConnectionClosedException)
    assert recorder.labels()[-2:] == ["execution_success", "status(qr=0)"]
    assert wait_history(comfy_sim, prompt_id)["status"]["status_str"] == "success"


@pytest.mark.parametrize("reset,error", [(False, websocket.WebSocketConnectionClosedException),
                                         (True, ConnectionResetError)])
def test_drops_end_with_a_fin_or_a_reset(comfy_sim, reset, error):
    comfy_sim.faults.drop_socket_after_frames = 3
    comfy_sim.faults.drop_with_reset = reset
    client_id = str(uuid.uuid4())
    recorder = connect(comfy_sim, client_id)
    queue(comfy_sim, chain(f"drop_{reset}"), client_id)
    assert recorder.closed.wait(10)
    assert isinstance(recorder.error, error), repr(recorder.error)
    assert len(recorder.frames) == 3


@pytest.mark.parametrize("keep", [False, True])
def test_restart_keeps_finished_history_only_when_asked(comfy_sim, keep):
    done = queue(comfy_sim, chain(f"kept_{keep}"))
    wait_history(comfy_sim, done)
    comfy_sim.faults.node_delay_s = 0.5
    recorder = connect(comfy_sim)
    lost = queue(comfy_sim, chain(f"lost_{keep}"), recorder.frames[0]["data"]["sid"])
    assert recorder.wait_label("executing(1)")
    comfy_sim.restart(down_s=0.1, keep_history=keep)
    wait_reachable(comfy_sim)
    history = requests.get(f"{comfy_sim.base_url}/history", timeout=10).json()
    assert (done in history) is keep
    assert lost not in history
    assert requests.get(f"{comfy_sim.base_url}/queue", timeout=10).json() == {"queue_running": [], "queue_pending": []}


def test_a_silent_port_accepts_connections_and_never_answers():
    with SilentPort() as silent:
        host = silent.host
        with pytest.raises(requests.ReadTimeout):
            requests.get(f"http://{silent.host}/system_stats", timeout=(2, 0.5))
        with pytest.raises(websocket.WebSocketTimeoutException):
            websocket.create_connection(f"ws://{silent.host}/ws?clientId=x", timeout=0.5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{host}/system_stats", timeout=2)


def test_view_truncate_declares_the_full_length_and_sends_less(comfy_sim):
    prompt_id = queue(comfy_sim, chain("truncated"))
    image = wait_history(comfy_sim, prompt_id)["outputs"]["3"]["images"][0]
    comfy_sim.faults.view_truncate = {image["filename"]: 10}
    connection = http.client.HTTPConnection(*comfy_sim.host.split(":"), timeout=10)
    connection.request("GET", f"/view?filename={image['filename']}&type=output&subfolder=")
    response = connection.getresponse()
    assert response.status == 200 and int(response.getheader("Content-Length")) > 10
    with pytest.raises(http.client.IncompleteRead) as cut:
        response.read()
    assert len(cut.value.partial) == 10
    connection.close()
    comfy_sim.faults.reset()
    whole = requests.get(f"{comfy_sim.base_url}/view", params=image, timeout=10)
    assert len(whole.content) == int(whole.headers["Content-Length"]) > 10


@pytest.mark.parametrize("status", [404, 500])
def test_view_status_answers_404_or_500(comfy_sim, status):
    prompt_id = queue(comfy_sim, chain(f"view_{status}"))
    image = wait_history(comfy_sim, prompt_id)["outputs"]["3"]["images"][0]
    comfy_sim.faults.view_status = {image["filename"]: status}
    assert requests.get(f"{comfy_sim.base_url}/view", params=image, timeout=10).status_code == status


def test_upload_status_fails_uploads_until_reset(comfy_sim):
    files = {"image": ("in.png", b"\x89PNG fake", "image/png")}
    comfy_sim.faults.upload_status = 500
    failed = requests.post(f"{comfy_sim.base_url}/upload/image", files=files, data={"overwrite": "true"}, timeout=10)
    assert failed.status_code == 500 and "Server got itself in trouble" in failed.text
    comfy_sim.faults.reset()
    stored = requests.post(f"{comfy_sim.base_url}/upload/image", files=files, data={"overwrite": "true"}, timeout=10)
    assert stored.status_code == 200 and stored.json()["name"] == "in.png"


def raw_frames_until_final(ws, prompt_id: str) -> list:
    """Every frame as received (text unparsed, so malformed JSON is kept), up to our prompt's final frame."""
    frames = []
    final = json.dumps({"type": "executing", "data": {"node": None, "prompt_id": prompt_id}})
    while final not in frames:
        frames.append(ws.recv())
    return frames


def test_injected_frames_precede_each_frame_addressed_to_the_client(comfy_sim):
    noise = junk.everything()
    comfy_sim.faults.inject_frames = noise
    client_id = str(uuid.uuid4())
    ws = websocket.create_connection(f"ws://{comfy_sim.host}/ws?clientId={client_id}", timeout=20)
    watcher = connect(comfy_sim)
    prompt_id = queue(comfy_sim, chain("noisy"), client_id)
    frames = raw_frames_until_final(ws, prompt_id)
    ws.close()
    ours = [i for i, f in enumerate(frames) if isinstance(f, str) and prompt_id in f]
    assert len(ours) >= 5
    for index in ours:
        assert frames[index - len(noise):index] == noise
    assert sum(1 for f in frames if f == noise[0]) == len(ours)
    assert watcher.wait_count(3) and watcher.error is None  # broadcasts carry no noise: the recorder parsed all
    watcher.close()


def test_foreign_prompts_are_queued_ahead_for_another_client(comfy_sim):
    comfy_sim.faults.node_delay_s = 0.2
    foreign = comfy_sim.queue_foreign(chain("foreign"), count=2)
    ours = queue(comfy_sim, chain("ours"))
    queue_now = requests.get(f"{comfy_sim.base_url}/queue", timeout=10).json()
    listed = [item[1] for item in queue_now["queue_running"] + sorted(queue_now["queue_pending"])]
    assert listed == [*foreign, ours]
    assert all(item[3]["client_id"] == "other-client" for item in queue_now["queue_pending"] if item[1] in foreign)
    wait_history(comfy_sim, ours)
    assert all(comfy_sim.history(p)["status"]["completed"] for p in foreign)


def test_prompt_time_pads_a_successful_prompt_to_at_least_that_long(comfy_sim):
    comfy_sim.faults.prompt_time_s = 0.6
    recorder = connect(comfy_sim)
    prompt_id = queue(comfy_sim, chain("prompt_time"), recorder.frames[0]["data"]["sid"])
    entry = wait_history(comfy_sim, prompt_id)
    stamps = {kind: data["timestamp"] for kind, data in entry["status"]["messages"]}
    assert stamps["execution_success"] - stamps["execution_start"] >= 600
    assert recorder.wait_label("execution_success")
    labels = recorder.labels()
    assert labels.index("executed(3)") < labels.index("execution_success")


def test_prompt_time_leaves_an_interrupted_prompt_unpadded_and_resets_to_off(comfy_sim):
    comfy_sim.faults.prompt_time_s = 60.0
    comfy_sim.faults.node_delay_s = 0.3
    recorder = connect(comfy_sim)
    prompt_id = queue(comfy_sim, chain("prompt_time_interrupted"), recorder.frames[0]["data"]["sid"])
    assert recorder.wait_label("executing(1)")
    assert requests.post(f"{comfy_sim.base_url}/interrupt", json={"prompt_id": prompt_id}, timeout=10).ok
    assert wait_history(comfy_sim, prompt_id, timeout=20)["status"]["status_str"] == "error"
    comfy_sim.faults.reset()
    assert comfy_sim.faults.prompt_time_s == 0.0
