"""Replays the recorded ComfyUI 0.8 transcripts against the simulator and compares what comes back.

Covered transcripts (each has at least one test below): empty_image_single, batch_4, big_2048, big_2048_solid,
preview_image, save_image_websocket, save_image_websocket_metadata, misc_outputs, execution_error, animated_webp,
upload_invert, no_client_id, cached_rerun, client_prompt_id, validation_error (and its variants),
missing_model_validation, interrupt, interrupt_global, interrupt_pending_by_id, queue_delete_pending,
queue_two_prompts_other_client, concurrent_same_client_two_prompts, reconnect_mid_run, server_restart_mid_run,
ws_drop_before_final, free_and_system, long_progress, http_probes, audio, video_webm_mp4.
Not covered: measurements (timings only).
"""
import collections
import io
import json
import pathlib
import socket
import struct
import time

import pytest
import requests
import websocket
from PIL import Image

from frame_recorder import FrameRecorder, label, recorded_labels, wait_reachable

TRANSCRIPTS = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "comfyui" / "transcripts"
SLOW_BLUR = {"ImageBlur": 0.1}


COVERED = {
    "empty_image_single", "batch_4", "big_2048", "big_2048_solid", "preview_image", "save_image_websocket",
    "save_image_websocket_metadata", "misc_outputs", "execution_error", "animated_webp", "upload_invert",
    "no_client_id", "cached_rerun", "client_prompt_id", "validation_error", "missing_model_validation", "interrupt",
    "interrupt_global", "interrupt_pending_by_id", "queue_delete_pending", "queue_two_prompts_other_client",
    "concurrent_same_client_two_prompts", "reconnect_mid_run", "server_restart_mid_run", "ws_drop_before_final",
    "free_and_system", "long_progress", "http_probes", "audio", "video_webm_mp4"}
NOT_COVERED = {
    "measurements": "latencies and throughput only; no tests assert timings",
}


def test_every_transcript_is_accounted_for():
    assert {p.stem for p in TRANSCRIPTS.glob("*.json")} == COVERED | set(NOT_COVERED)


def load(name: str) -> dict:
    return json.loads((TRANSCRIPTS / f"{name}.json").read_text())


def strip_nodes(labels: list) -> list:
    return [lab.split("(")[0] if lab.startswith(("executing(", "executed(")) else lab for lab in labels]


def assert_same_frames(actual: list, expected: list, outputs: int = 1) -> None:
    """Same labels in the same order; with several independent outputs ComfyUI's node order varies (fact 11)."""
    if outputs > 1:
        assert strip_nodes(actual) == strip_nodes(expected)
        assert collections.Counter(actual) == collections.Counter(expected)
    else:
        assert actual == expected


def post(sim, body, **kwargs) -> requests.Response:
    return requests.post(f"{sim.base_url}/prompt", json=body, timeout=30, **kwargs)


def run_and_record(sim, transcript: dict, request: dict | None = None) -> tuple:
    sent = [m["sent"] for m in transcript.get("ws_sent", [])]
    recorder = FrameRecorder(sim.host, transcript["client_id"], first_message=sent[0] if sent else None)
    assert recorder.wait_count(1 + len(sent))
    response = post(sim, request or transcript["request"])
    prompt_id = response.json()["prompt_id"]
    assert recorder.wait_final(prompt_id), recorder.labels()
    return recorder, response, prompt_id


def assert_history_like(sim, prompt_id: str, recorded: dict) -> dict:
    body = requests.get(f"{sim.base_url}/history/{prompt_id}", timeout=10)
    assert body.headers["Content-Type"] == "application/json; charset=utf-8"
    entry, want = body.json()[prompt_id], next(iter(recorded.values()))
    assert list(entry) == list(want) == ["prompt", "outputs", "status", "meta"]
    assert entry["prompt"][2] == want["prompt"][2]
    assert sorted(entry["prompt"][4]) == sorted(want["prompt"][4])
    assert list(entry["prompt"][3]) == list(want["prompt"][3])
    assert {k: sorted(v) for k, v in entry["outputs"].items()} == {k: sorted(v) for k, v in want["outputs"].items()}
    for node, files in entry["outputs"].items():
        for key, items in files.items():
            assert len(items) == len(want["outputs"][node][key])
    assert {k: v for k, v in entry["status"].items() if k != "messages"} == \
        {k: v for k, v in want["status"].items() if k != "messages"}
    assert [m[0] for m in entry["status"]["messages"]] == [m[0] for m in want["status"]["messages"]]
    assert [sorted(m[1]) for m in entry["status"]["messages"]] == [sorted(m[1]) for m in want["status"]["messages"]]
    assert entry["meta"].keys() == want["meta"].keys()
    return entry


def assert_views_like(sim, entry: dict, views: list) -> None:
    seen: collections.Counter[tuple[str, str]] = collections.Counter()
    for view in views:
        index = seen[(view["node"], view["key"])]
        seen[(view["node"], view["key"])] += 1
        params = entry["outputs"][view["node"]][view["key"]][index]
        got = requests.get(f"{sim.base_url}/view", params=params, timeout=30)
        assert got.status_code == view["status"]
        assert got.headers["Content-Type"] == view["content_type"]
        assert got.headers["Content-Disposition"] == f'filename="{params["filename"]}"'
        magic = bytes.fromhex(view["magic_hex"])
        if view["content_type"] == "application/octet-stream":
            assert got.content[8:10] == magic[8:10]
        else:
            assert got.content[:4] == magic[:4]


SINGLE = ["empty_image_single", "batch_4", "big_2048", "big_2048_solid", "preview_image", "save_image_websocket",
          "save_image_websocket_metadata", "misc_outputs", "execution_error", "animated_webp", "upload_invert",
          "audio", "video_webm_mp4"]


@pytest.mark.parametrize("name", SINGLE)
def test_single_prompt_frames_history_and_views(comfy_sim, name):
    transcript = load(name)
    if "upload" in transcript:
        png = io.BytesIO()
        Image.new("RGB", (40, 30), (10, 200, 90)).save(png, format="PNG")
        upload = transcript["upload"]
        got = requests.post(f"{comfy_sim.base_url}/upload/image", data=upload["fields"],
                            files={"image": (upload["filename_sent"], png.getvalue(), "image/png")}, timeout=10)
        assert got.status_code == 200 and got.json() == upload["response"]["json"]
    recorder, response, prompt_id = run_and_record(comfy_sim, transcript)
    assert response.status_code == transcript["post_prompt"]["status"]
    assert response.headers["Content-Type"] == transcript["post_prompt"]["content_type"]
    assert list(response.json()) == list(transcript["post_prompt"]["json"])
    outputs = len(next(iter(transcript["history"]["json"].values()))["prompt"][4])
    assert_same_frames(recorder.labels(), recorded_labels(transcript["frames"]), outputs)
    entry = assert_history_like(comfy_sim, prompt_id, transcript["history"]["json"])
    assert_views_like(comfy_sim, entry, transcript["views"])
    recorder.close()


def test_binary_frames_carry_png_and_metadata(comfy_sim):
    plain, _, _ = run_and_record(comfy_sim, load("save_image_websocket"))
    assert [f[:8].hex() for f in plain.frames if isinstance(f, bytes)] == ["0000000100000002"] * 2
    transcript = load("save_image_websocket_metadata")
    meta, _, prompt_id = run_and_record(comfy_sim, transcript)
    binaries = [f for f in meta.frames if isinstance(f, bytes)]
    wanted = next(f["frame"] for f in transcript["frames"] if f["frame"].get("binary"))
    size = int.from_bytes(binaries[0][4:8], "big")
    assert size == wanted["metadata_length"]
    assert json.loads(binaries[0][8:8 + size]) == {**wanted["metadata"], "prompt_id": prompt_id}
    assert binaries[0][8 + size:8 + size + 8] == bytes.fromhex(wanted["image_magic_hex"])
    feature_reply = next(f for f in meta.frames if isinstance(f, dict) and f["type"] == "feature_flags")
    assert feature_reply == transcript["frames"][1]["frame"]
    assert comfy_sim.received_ws_messages == [transcript["ws_sent"][0]["sent"]]


def test_misc_outputs_text_frame_and_outputs(comfy_sim):
    transcript = load("misc_outputs")
    recorder, _, prompt_id = run_and_record(comfy_sim, transcript)
    text = next(f for f in recorder.frames if isinstance(f, bytes))
    wanted = next(f["frame"] for f in transcript["frames"] if f["frame"].get("binary"))
    assert text[:8].hex() == wanted["first8_hex"] and text[9:].decode() == wanted["text"]
    assert comfy_sim.history(prompt_id)["outputs"]["3"] == {"text": ["96"]}


def test_execution_error_frame_fields(comfy_sim):
    transcript = load("execution_error")
    recorder, _, _ = run_and_record(comfy_sim, transcript)
    error = next(f["data"] for f in recorder.frames if isinstance(f, dict) and f["type"] == "execution_error")
    want = next(f["frame"]["data"] for f in transcript["frames"] if f["frame"]["type"] == "execution_error")
    assert list(error) == list(want)
    assert {k: error[k] for k in ("node_id", "node_type", "executed", "exception_message", "exception_type")} == \
        {k: want[k] for k in ("node_id", "node_type", "executed", "exception_message", "exception_type")}
    assert error["current_inputs"].keys() == want["current_inputs"].keys()
    assert error["current_inputs"]["channel"] == ["alpha"] and isinstance(error["traceback"], list)


def test_no_client_id_gets_only_broadcasts(comfy_sim):
    transcript = load("no_client_id")
    observer = FrameRecorder(comfy_sim.host, transcript["client_id"])
    assert observer.wait_count(1)
    response = post(comfy_sim, {"prompt": transcript["request"]["prompt"]})
    prompt_id = response.json()["prompt_id"]
    expected = recorded_labels(transcript["frames"])
    observer.wait_count(len(expected))
    time.sleep(0.2)
    assert observer.labels() == expected
    entry = assert_history_like(comfy_sim, prompt_id, transcript["history"]["json"])
    assert list(entry["prompt"][3]) == ["create_time"]


def test_cached_rerun_resends_old_outputs(comfy_sim):
    transcript = load("cached_rerun")
    first, second = transcript["runs"]
    recorder = FrameRecorder(comfy_sim.host, first["client_id"])
    assert recorder.wait_count(1)
    ids = []
    for run in (first, second):
        ids.append(post(comfy_sim, run["request"]).json()["prompt_id"])
        assert recorder.wait_final(ids[-1])
    expected = recorded_labels(first["frames"]) + recorded_labels(second["frames"])
    assert_same_frames(recorder.labels()[1:], expected, outputs=2)
    cached = [f["data"]["nodes"] for f in recorder.frames if isinstance(f, dict) and f["type"] == "execution_cached"]
    assert cached == [[], ["1", "2", "3", "4"]]
    assert comfy_sim.history(ids[0])["outputs"] == comfy_sim.history(ids[1])["outputs"]
    assert len(comfy_sim.output_files()) == 2


def test_client_chosen_prompt_id_twice(comfy_sim):
    transcript = load("client_prompt_id")
    recorder = FrameRecorder(comfy_sim.host, transcript["client_id"])
    assert recorder.wait_count(1)
    first = post(comfy_sim, transcript["request"]).json()
    assert first["prompt_id"] == transcript["chosen_prompt_id"]
    assert recorder.wait_final(first["prompt_id"])
    second = post(comfy_sim, transcript["request"]).json()
    assert second["prompt_id"] == first["prompt_id"] and second["number"] == first["number"] + 1
    assert recorder.wait_count(len(recorded_labels(transcript["frames"])))
    assert recorder.labels() == recorded_labels(transcript["frames"])
    assert comfy_sim.history(first["prompt_id"])["prompt"][0] == second["number"]


def validation_cases() -> list:
    main = load("validation_error")
    cases = [("validation_error", main["request"], main["post_prompt"])]
    cases += [(name, v["request"], v["post_prompt"]) for name, v in main["variants"].items()]
    models = load("missing_model_validation")
    cases += [(f"missing_model_{name}", c["request"], c["post_prompt"]) for name, c in models["cases"].items()]
    return cases


def normalized(body: dict) -> dict:
    def clean(error: dict) -> dict:
        extra = {k: v for k, v in error.get("extra_info", {}).items() if k != "traceback"}
        return {**error, "extra_info": extra}
    node_errors = {node: {**entry, "errors": sorted((clean(e) for e in entry["errors"]), key=json.dumps)}
                   for node, entry in body.get("node_errors", {}).items()}
    return {**body, "node_errors": node_errors}


@pytest.mark.parametrize("name,request_body,recorded", validation_cases(), ids=[c[0] for c in validation_cases()])
def test_validation_answers(comfy_sim, name, request_body, recorded):
    recorder = FrameRecorder(comfy_sim.host, request_body.get("client_id") if isinstance(request_body, dict) else None)
    assert recorder.wait_count(1)
    if isinstance(request_body, str):
        response = requests.post(f"{comfy_sim.base_url}/prompt", data=request_body, timeout=10)
    else:
        response = post(comfy_sim, request_body)
    assert response.status_code == recorded["status"]
    assert response.headers["Content-Type"] == recorded["content_type"]
    if "json" not in recorded:
        assert response.text == recorded["text"]
    elif recorded["status"] == 400:
        assert normalized(response.json()) == normalized(recorded["json"])
    else:
        prompt_id = response.json()["prompt_id"]
        assert recorder.wait_final(prompt_id)
        sequence = load("missing_model_validation")["frames"]
        assert recorder.labels() == recorded_labels(sequence)
        text = comfy_sim.history(prompt_id)["outputs"]["2"]["text"][0]
        assert text.startswith("<comfy.sd.VAE object at 0x")
    if recorded["status"] != 200:
        time.sleep(0.1)
        assert recorder.labels() == ["status(qr=0)"]


def frame_data(recorder: FrameRecorder, kind: str) -> dict:
    return next(f["data"] for f in recorder.frames if isinstance(f, dict) and f["type"] == kind)


def test_interrupt_by_prompt_id_names_the_next_node(comfy_sim):
    transcript = load("interrupt")
    comfy_sim.faults.node_delay_s = SLOW_BLUR
    recorder = FrameRecorder(comfy_sim.host, transcript["client_id"])
    assert recorder.wait_count(1)
    prompt_id = post(comfy_sim, transcript["request"]).json()["prompt_id"]
    assert recorder.wait_label("executing(4)")
    answer = requests.post(f"{comfy_sim.base_url}/interrupt", json={"prompt_id": prompt_id}, timeout=10)
    assert (answer.status_code, answer.text) == (200, "")
    assert recorder.wait_final(prompt_id)
    assert recorder.labels() == recorded_labels(transcript["frames"])
    want = next(f["frame"]["data"] for f in transcript["frames"] if f["frame"]["type"] == "execution_interrupted")
    got = frame_data(recorder, "execution_interrupted")
    assert list(got) == list(want) and got["node_id"] == "5" and sorted(got["executed"]) == sorted(want["executed"])
    assert_history_like(comfy_sim, prompt_id, transcript["history"]["json"])
    assert requests.get(f"{comfy_sim.base_url}/queue", timeout=10).json() == transcript["queue_after"]["json"]


def two_clients(sim, variant: dict) -> tuple:
    a, b = FrameRecorder(sim.host, variant["client_A"]), FrameRecorder(sim.host, variant["client_B"])
    assert a.wait_count(1) and b.wait_count(1)
    return a, b


def test_global_interrupt_without_body_spares_the_pending_prompt(comfy_sim):
    variant = load("interrupt_global")["variants"]["no_body_with_pending_other"]
    comfy_sim.faults.node_delay_s = SLOW_BLUR
    a, b = two_clients(comfy_sim, variant)
    id_a = post(comfy_sim, variant["post_A"]["body_sent"]).json()["prompt_id"]
    assert a.wait_label("executing(3)")
    id_b = post(comfy_sim, variant["post_B"]["body_sent"]).json()["prompt_id"]
    assert requests.post(f"{comfy_sim.base_url}/interrupt", timeout=10).status_code == 200
    assert b.wait_final(id_b) and a.wait_final(id_a)
    a.wait_count(len(recorded_labels(variant["frames_A"])))
    assert a.labels() == recorded_labels(variant["frames_A"])
    assert b.labels() == recorded_labels(variant["frames_B"])
    assert frame_data(a, "execution_interrupted")["node_id"] == "4"
    assert comfy_sim.history(id_a)["status"]["status_str"] == "error"
    assert comfy_sim.history(id_b)["status"]["status_str"] == "success"


@pytest.mark.parametrize("variant_name", ["empty_json_body", "idle_interrupt_then_prompt"])
def test_global_interrupt_variants(comfy_sim, variant_name):
    variant = load("interrupt_global")["variants"][variant_name]
    comfy_sim.faults.node_delay_s = SLOW_BLUR
    recorder = FrameRecorder(comfy_sim.host, variant["client_id"])
    assert recorder.wait_count(1)
    if variant_name == "idle_interrupt_then_prompt":
        assert requests.post(f"{comfy_sim.base_url}/interrupt", timeout=10).status_code == 200
    prompt_id = post(comfy_sim, variant["post_prompt"]["body_sent"]).json()["prompt_id"]
    if variant_name == "empty_json_body":
        assert recorder.wait_label("executing(3)")
        assert requests.post(f"{comfy_sim.base_url}/interrupt", json={}, timeout=10).status_code == 200
    assert recorder.wait_final(prompt_id)
    assert recorder.labels() == recorded_labels(variant["frames"])


def test_interrupt_naming_a_pending_or_unknown_prompt_does_nothing(comfy_sim):
    transcript = load("interrupt_pending_by_id")
    comfy_sim.faults.node_delay_s = SLOW_BLUR
    a, b = two_clients(comfy_sim, transcript)
    id_a = post(comfy_sim, transcript["post_A"]["body_sent"]).json()["prompt_id"]
    assert a.wait_label("executing(3)")
    id_b = post(comfy_sim, transcript["post_B"]["body_sent"]).json()["prompt_id"]
    for target in (id_b, "00000000-0000-0000-0000-000000000000"):
        answer = requests.post(f"{comfy_sim.base_url}/interrupt", json={"prompt_id": target}, timeout=10)
        assert (answer.status_code, answer.text) == (200, "")
    assert a.wait_final(id_a) and b.wait_final(id_b)
    a.wait_count(len(recorded_labels(transcript["frames_A"])))
    assert a.labels() == recorded_labels(transcript["frames_A"])
    assert b.labels() == recorded_labels(transcript["frames_B"])


def test_queue_delete_of_the_pending_prompt(comfy_sim):
    transcript = load("queue_delete_pending")
    comfy_sim.faults.node_delay_s = SLOW_BLUR
    a, b = two_clients(comfy_sim, transcript)
    url = comfy_sim.base_url
    id_a = post(comfy_sim, transcript["post_A"]["body_sent"]).json()["prompt_id"]
    assert a.wait_label("executing(3)")
    id_b = post(comfy_sim, transcript["post_B"]["body_sent"]).json()["prompt_id"]
    queue = requests.get(f"{url}/queue", timeout=10).json()
    assert [item[1] for item in queue["queue_running"]] == [id_a]
    assert [item[1] for item in queue["queue_pending"]] == [id_b] and len(queue["queue_pending"][0]) == 5
    for target in (id_b, id_a, "00000000-0000-0000-0000-000000000000"):
        answer = requests.post(f"{url}/queue", json={"delete": [target]}, timeout=10)
        assert (answer.status_code, answer.text) == (200, "")
    assert requests.get(f"{url}/queue", timeout=10).json()["queue_pending"] == []
    assert a.wait_final(id_a)
    b.wait_count(len(recorded_labels(transcript["frames_B"])))
    time.sleep(0.2)
    assert a.labels() == recorded_labels(transcript["frames_A"])
    assert b.labels() == recorded_labels(transcript["frames_B"])
    assert requests.get(f"{url}/history/{id_b}", timeout=10).json() == {}


def test_other_clients_prompt_is_seen_only_as_status(comfy_sim):
    transcript = load("queue_two_prompts_other_client")
    slow = transcript["queue_while_both"]["json"]["queue_running"][0][2]
    warm = {"1": slow["1"], "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
    post(comfy_sim, {"prompt": warm})
    comfy_sim.wait_idle()
    comfy_sim.faults.node_delay_s = {"ImageAddNoise": 0.3}
    a, b = two_clients(comfy_sim, transcript)
    id_b = post(comfy_sim, {"prompt": slow, "client_id": transcript["client_B"]}).json()["prompt_id"]
    assert b.wait_label("executing(2)")
    fast = transcript["queue_while_both"]["json"]["queue_pending"][0][2]
    id_a = post(comfy_sim, {"prompt": fast, "client_id": transcript["client_A"]}).json()["prompt_id"]
    assert a.wait_final(id_a) and b.wait_final(id_b)
    b.wait_count(len(recorded_labels(transcript["frames_B"])))
    assert a.labels() == recorded_labels(transcript["frames_A"])
    assert b.labels() == recorded_labels(transcript["frames_B"])
    assert frame_data(b, "execution_cached")["nodes"] == ["1"]


@pytest.mark.parametrize("variant_name,slow_node", [("two_different_prompts", "EmptyImage"),
                                                    ("identical_prompt_twice", "ImageAddNoise")])
def test_one_client_two_prompts_in_flight(comfy_sim, variant_name, slow_node):
    variant = load("concurrent_same_client_two_prompts")["variants"][variant_name]
    comfy_sim.faults.node_delay_s = {slow_node: 0.3}
    recorder = FrameRecorder(comfy_sim.host, variant["client_id"])
    assert recorder.wait_count(1)
    id_1 = post(comfy_sim, variant["post_P1"]["body_sent"]).json()["prompt_id"]
    expected = recorded_labels(variant["frames"])
    assert recorder.wait_label(expected[expected.index("status(qr=2)") - 1])
    id_2 = post(comfy_sim, variant["post_P2"]["body_sent"]).json()["prompt_id"]
    assert recorder.wait_final(id_1) and recorder.wait_final(id_2)
    assert recorder.labels() == expected


def test_reconnect_with_the_same_client_id_mid_run(comfy_sim):
    transcript = load("reconnect_mid_run")
    comfy_sim.faults.node_delay_s = SLOW_BLUR
    first = websocket.create_connection(f"ws://{comfy_sim.host}/ws?clientId={transcript['client_id']}", timeout=10)
    first.recv()
    prompt = json.loads((TRANSCRIPTS.parent / "workflows" / "reconnect_mid_run.json").read_text())
    prompt_id = post(comfy_sim, {"prompt": prompt, "client_id": transcript["client_id"]}).json()["prompt_id"]
    while label(json.loads(first.recv())) != "executing(3)":
        pass
    first.close()
    second = FrameRecorder(comfy_sim.host, transcript["client_id"])
    assert second.wait_final(prompt_id)
    assert second.labels() == recorded_labels(transcript["frames_socket2"])
    assert second.frames[0]["data"]["sid"] == transcript["client_id"]
    assert second.frames[1] == transcript["frames_socket2"][1]["frame"]
    assert comfy_sim.history(prompt_id)["status"]["status_str"] == "success"


def test_server_restart_mid_run_forgets_everything(comfy_sim):
    transcript = load("server_restart_mid_run")
    comfy_sim.faults.node_delay_s = SLOW_BLUR
    client, observer = FrameRecorder(comfy_sim.host, transcript["client_id"]), \
        FrameRecorder(comfy_sim.host, transcript["observer_client_id"])
    assert client.wait_count(1) and observer.wait_count(1)
    prompt_id = post(comfy_sim, transcript["request"]).json()["prompt_id"]
    assert client.wait_label("executing(4)")
    comfy_sim.restart(down_s=0.5)
    assert client.closed.wait(5) and observer.closed.wait(5)
    assert isinstance(client.error, websocket.WebSocketConnectionClosedException)
    assert isinstance(observer.error, websocket.WebSocketConnectionClosedException)
    assert client.labels() == recorded_labels(transcript["frames_A"])
    assert observer.labels() == recorded_labels(transcript["frames_observer"])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{comfy_sim.base_url}/system_stats", timeout=5)
    with pytest.raises(ConnectionRefusedError):
        websocket.create_connection(f"ws://{comfy_sim.host}/ws?clientId={transcript['client_id']}", timeout=5)
    wait_reachable(comfy_sim)
    for step in transcript["http_after_restart"]:
        path = step["path"].replace(transcript["prompt_id"], prompt_id)
        assert requests.get(comfy_sim.base_url + path, timeout=10).json() == step["json"]
    again = FrameRecorder(comfy_sim.host, transcript["client_id"])
    assert again.wait_count(1)
    fresh = post(comfy_sim, transcript["fresh_prompt_after_restart"]["post"]["body_sent"]).json()
    assert fresh["number"] == 0
    assert again.wait_final(fresh["prompt_id"])
    assert again.labels() == recorded_labels(transcript["frames_after_reconnect"])


@pytest.mark.parametrize("style", ["close_handshake", "abrupt_rst", "control"])
def test_socket_closed_right_after_success_misses_the_final_frame(comfy_sim, style):
    transcript = load("ws_drop_before_final")
    variant = transcript["control"] if style == "control" else transcript["variants"][style]
    client_id = variant.get("client_id") or variant["post_prompt"]["body_sent"]["client_id"]
    if style == "control":
        recorder = FrameRecorder(comfy_sim.host, client_id)
        assert recorder.wait_count(1)
        prompt_id = post(comfy_sim, variant["post_prompt"]["body_sent"]).json()["prompt_id"]
        assert recorder.wait_final(prompt_id)
        assert recorder.labels() == recorded_labels(variant["frames"])
        return
    first = websocket.create_connection(f"ws://{comfy_sim.host}/ws?clientId={client_id}", timeout=10)
    seen = [json.loads(first.recv())]
    prompt_id = post(comfy_sim, variant["post_prompt"]["body_sent"]).json()["prompt_id"]
    while seen[-1]["type"] != "execution_success":
        seen.append(json.loads(first.recv()))
    if style == "abrupt_rst":
        first.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        first.sock.close()
    else:
        first.close()
    assert [label(f) for f in seen] == recorded_labels(variant["frames_socket1"])
    comfy_sim.wait_idle()
    second = FrameRecorder(comfy_sim.host, client_id)
    assert second.wait_count(1)
    time.sleep(0.3)
    assert second.labels() == recorded_labels(variant["frames_socket2"])
    assert comfy_sim.history(prompt_id)["status"]["status_str"] == "success"


def test_free_history_and_queue_endpoints(comfy_sim):
    transcript = load("free_and_system")
    url, steps = comfy_sim.base_url, {s["step"]: s for s in transcript["steps"]}
    recorder = FrameRecorder(comfy_sim.host, transcript["client_id"])
    assert recorder.wait_count(1)
    assert requests.get(f"{url}/queue", timeout=10).json() == steps["GET /queue (idle)"]["json"]
    ids = []
    for index, run in enumerate(transcript["runs"]):
        if run["label"] == "P3_rerun_after_free":
            for body in ({"unload_models": True, "free_memory": True}, {}, {"unload_models": True}):
                answer = requests.post(f"{url}/free", json=body, timeout=10)
                assert (answer.status_code, answer.text, answer.headers.get("Content-Type")) == (200, "", None)
        ids.append(post(comfy_sim, run["post_prompt"]["body_sent"]).json()["prompt_id"])
        assert recorder.wait_final(ids[-1])
        if index == 2:
            assert list(requests.get(f"{url}/history", params={"max_items": 2}, timeout=10).json()) == ids[1:3]
            assert list(requests.get(f"{url}/history", params={"max_items": 2, "offset": 0},
                                     timeout=10).json()) == ids[:2]
            assert requests.get(f"{url}/history", params={"max_items": 0}, timeout=10).json() == {}
    no_body = requests.post(f"{url}/free", timeout=10)
    assert (no_body.status_code, no_body.text) == (500, steps["POST /free (no body)"]["text"])
    stats = requests.get(f"{url}/system_stats", timeout=10).json()
    recorded_stats = steps["GET /system_stats"]["json"]
    assert list(stats) == list(recorded_stats) and list(stats["system"]) == list(recorded_stats["system"])
    assert list(stats["devices"][0]) == list(recorded_stats["devices"][0])
    for body in ({"delete": [ids[0]]}, {"delete": ["00000000-0000-0000-0000-000000000000"]}):
        assert requests.post(f"{url}/history", json=body, timeout=10).status_code == 200
    assert requests.get(f"{url}/history/{ids[0]}", timeout=10).json() == {}
    assert list(requests.get(f"{url}/history", timeout=10).json()) == ids[1:]
    assert requests.post(f"{url}/history", json={"clear": True}, timeout=10).status_code == 200
    assert requests.get(f"{url}/history", timeout=10).json() == {}
    assert requests.post(f"{url}/history", timeout=10).status_code == 500
    assert requests.post(f"{url}/queue", json={"clear": True}, timeout=10).status_code == 200
    assert requests.get(f"{url}/prompt", timeout=10).json() == steps["GET /prompt (idle, end)"]["json"]
    expected = recorded_labels(transcript["frames"])
    recorder.wait_count(len(expected))
    assert recorder.labels() == expected


@pytest.mark.parametrize("variant_name", ["pixel_space_vae_tiled", "save_image_websocket_batch16"])
def test_long_progress_frames(comfy_sim, variant_name):
    variant = load("long_progress")["variants"][variant_name]
    body = variant["post_prompt"]["body_sent"]
    recorder = FrameRecorder(comfy_sim.host, body["client_id"])
    assert recorder.wait_count(1)
    prompt_id = post(comfy_sim, body).json()["prompt_id"]
    assert recorder.wait_final(prompt_id)
    assert recorder.labels() == recorded_labels(variant["frames"])
    counts = collections.Counter(f["data"]["node"] for f in recorder.frames
                                 if isinstance(f, dict) and f["type"] == "progress")
    assert counts == collections.Counter(variant.get("progress_counts") or {"3": 16})


def test_http_probes(comfy_sim):
    probes, url = load("http_probes"), comfy_sim.base_url
    for key, path in (("queue_idle", "/queue"), ("prompt_get", "/prompt"), ("features", "/features"),
                      ("object_info_SaveImage", "/object_info/SaveImage"),
                      ("object_info_EmptyImage", "/object_info/EmptyImage"),
                      ("object_info_unknown", "/object_info/NoSuchNode"), ("history_unknown_id", "/history/nope")):
        got = requests.get(url + path, timeout=10)
        assert (got.status_code, got.headers["Content-Type"]) == (probes[key]["status"], probes[key]["content_type"])
        assert got.json() == probes[key]["json"], key
    stats = requests.get(f"{url}/system_stats", timeout=10).json()
    assert list(stats["system"]) == list(probes["system_stats"]["json"]["system"])
    for name, probe in probes["view_probes"].items():
        if "url" in probe:
            got = requests.get(probe["url"].replace("http://127.0.0.1:8188", url), timeout=10)
        else:
            got = requests.get(f"{url}/view", params=probe["params"], timeout=10)
        assert got.status_code == probe["status"], name
        if probe["status"] == 200:
            assert got.headers["Content-Type"] == probe["content_type"]
        else:
            assert got.content == b""


def test_upload_probes(comfy_sim):
    probes = load("http_probes")["upload_probes"]
    blobs = {"plain": b"first", "plain_again_same_bytes": b"first", "same_name_other_bytes": b"second"}
    for name, probe in probes.items():
        image = io.BytesIO()
        Image.new("RGB", (8, 8), (len(blobs.get(name, name)), 0, 0)).save(image, format="PNG")
        content = blobs.get(name, image.getvalue())
        got = requests.post(f"{comfy_sim.base_url}/upload/image", data=probe["fields"],
                            files={"image": (probe["filename_sent"], content, "image/png")}, timeout=10)
        assert got.status_code == probe["status"], name
        if probe["status"] == 200:
            assert got.json() == json.loads(probe["body"]), name
        else:
            assert got.text == probe["body"], name
    root = pathlib.Path(comfy_sim.dirs.root)
    assert (root / "input" / "probe_inside.png").is_file()
    assert not (root / "input" / "sub" / "probe_inside.png").exists()
    assert (root / "input" / "probe_plain (1).png").read_bytes() == b"second"
    assert (root / "temp" / "probe_temp.png").is_file()
    assert not (root / "probe_escape.png").exists() and not (root.parent / "probe_escape.png").exists()


def test_partial_cache_reruns_only_changed_nodes(comfy_sim):
    run = load("cached_rerun")["runs"][0]
    recorder = FrameRecorder(comfy_sim.host, run["client_id"])
    assert recorder.wait_count(1)
    first = post(comfy_sim, run["request"]).json()["prompt_id"]
    assert recorder.wait_final(first)
    changed = json.loads(json.dumps(run["request"]))
    changed["prompt"]["3"]["inputs"]["filename_prefix"] = "rec_cached_renamed"
    before = len(recorder.frames)
    second = post(comfy_sim, changed).json()["prompt_id"]
    assert recorder.wait_final(second)
    cached = [f["data"]["nodes"] for f in recorder.frames[before:] if isinstance(f, dict)
              and f["type"] == "execution_cached"]
    assert cached == [["1", "2", "4"]]
    assert [label(f) for f in recorder.frames[before:]] == [
        "status(qr=1)", "status(qr=1)", "execution_start", "execution_cached", "progress_state", "executing(3)",
        "executed(3)", "progress_state", "executed(4)", "progress_state", "execution_success", "status(qr=0)",
        "executing(None)"]
    assert comfy_sim.history(second)["outputs"]["4"] == comfy_sim.history(first)["outputs"]["4"]
    assert "output/rec_cached_renamed_00001_.png" in comfy_sim.output_files()
    assert len(comfy_sim.output_files()) == 3


def test_model_routes_and_api_prefix(comfy_sim):
    for path, recorded in load("missing_model_validation")["model_routes"].items():
        got = requests.get(comfy_sim.base_url + path, timeout=10)
        assert got.status_code == recorded["status"], path
        if path == "/experiment/models":
            assert [m["name"] for m in got.json()] == [m["name"] for m in recorded["json"]]
        elif recorded["status"] == 200:
            assert got.json() == recorded["json"], path
    everything = requests.get(f"{comfy_sim.base_url}/api/object_info", timeout=10).json()
    assert {"EmptyImage", "LoadImage", "SaveImage", "SaveImageWebsocket", "PreviewAny"} <= set(everything)
    assert everything["LoadImage"]["input"]["required"]["image"] == [["example.png"], {"image_upload": True}]
    queued = requests.post(f"{comfy_sim.base_url}/api/prompt", json={"prompt": {}}, timeout=10)
    assert queued.status_code == 400 and queued.json()["error"]["type"] == "prompt_no_outputs"


def test_prompt_with_one_bad_output_runs_the_good_one(comfy_sim):
    prompt = json.loads((TRANSCRIPTS.parent / "workflows" / "empty_image_single.json").read_text())
    prompt["9"] = {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}
    answer = post(comfy_sim, {"prompt": prompt})
    assert answer.status_code == 200
    assert answer.json()["node_errors"]["9"]["errors"][0]["type"] == "required_input_missing"
    comfy_sim.wait_idle()
    entry = comfy_sim.history(answer.json()["prompt_id"])
    assert entry["prompt"][4] == ["2"] and list(entry["outputs"]) == ["2"]


def test_loader_object_info_as_recorded(comfy_sim):
    for name, recorded in load("missing_model_validation")["object_info"].items():
        got = requests.get(f"{comfy_sim.base_url}/object_info/{name}", timeout=10).json()[name]
        want = recorded["json"][name]
        for key in ("input", "input_order", "output", "output_name", "name", "display_name", "category",
                    "output_node", "python_module"):
            assert got[key] == want[key], (name, key)
