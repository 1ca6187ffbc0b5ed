"""Recorded ComfyUI frames (transcripts) decoded into domain events."""
import json
import pathlib
import struct

import pytest

from adapters.comfy_frames import decode_binary, decode_text
from domain.execution.events import (
    ExecutionStarted,
    InbandImage,
    NodeExecuted,
    NodesCached,
    NodeStarted,
    PromptEnded,
    PromptFinished,
    QueueStatus,
    StepProgress,
)

TRANSCRIPTS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "comfyui" / "transcripts"


def recorded(name):
    data = json.loads((TRANSCRIPTS / f"{name}.json").read_text())
    return data, [decode_text(json.dumps(f["frame"])) for f in data["frames"] if "frame" in f]


def test_one_prompt_reads_as_start_nodes_output_success_final():
    data, events = recorded("empty_image_single")
    pid = data["prompt_id"]
    kinds = [type(e).__name__ for e in events if e is not None]
    assert kinds[0] == "QueueStatus"
    assert kinds.index("ExecutionStarted") < kinds.index("NodesCached") < kinds.index("NodeStarted")
    assert kinds[-1] == "PromptFinished" and "PromptEnded" in kinds
    executed = [e for e in events if isinstance(e, NodeExecuted)]
    assert executed[0].prompt_id == pid and executed[0].files[0].filename.endswith(".png")
    ended = [e for e in events if isinstance(e, PromptEnded)]
    assert ended[0].outcome.status == "success"


def test_progress_frames_carry_node_and_steps():
    data = json.loads((TRANSCRIPTS / "long_progress.json").read_text())["variants"]["pixel_space_vae_tiled"]
    events = [decode_text(json.dumps(f["frame"])) for f in data["frames"] if "frame" in f]
    steps = [e for e in events if isinstance(e, StepProgress)]
    assert len(steps) > 100
    assert all(e.node_id and 1 <= e.value <= e.max for e in steps)


def test_execution_error_frame_keeps_node_and_exception():
    _, events = recorded("execution_error")
    [ended] = [e for e in events if isinstance(e, PromptEnded)]
    assert (ended.outcome.status, ended.outcome.node_type, ended.outcome.exception_type) == ("error", "ImageToMask", "IndexError")


def test_misc_outputs_give_latents_and_text():
    _, events = recorded("misc_outputs")
    executed = {e.node_id: e for e in events if isinstance(e, NodeExecuted)}
    kinds = {ref.output_key for e in executed.values() for ref in e.files}
    assert "latents" in kinds
    assert any(e.texts for e in executed.values())


def test_reconnect_executing_frame_has_no_prompt_id():
    event = decode_text(json.dumps({"type": "executing", "data": {"node": "3"}}))
    assert event == NodeStarted(prompt_id=None, node_id="3")


@pytest.mark.parametrize("message", ["not json", "[]", json.dumps({"type": "x"}), json.dumps({"type": "x", "data": []}),
                                     json.dumps({"type": "unknown_kind", "data": {"prompt_id": "p"}})])
def test_malformed_and_unknown_frames_are_skipped(message):
    assert decode_text(message) is None


def test_status_frame_counts_the_queue():
    assert decode_text(json.dumps({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 3}}}})) == QueueStatus(3)


def test_type_1_preview_image_frame():
    png = b"\x89PNG\r\n\x1a\n rest"
    event = decode_binary(struct.pack(">II", 1, 2) + png)
    assert event == InbandImage(data=png, image_format="png")
    assert decode_binary(struct.pack(">II", 1, 1) + b"\xff\xd8\xff").image_format == "jpeg"


def test_type_4_image_frame_names_node_and_prompt():
    data, _ = recorded("save_image_websocket_metadata")
    meta = next(f["frame"]["metadata"] for f in data["frames"] if f["frame"].get("event_type") == 4)
    header = json.dumps(meta).encode()
    event = decode_binary(struct.pack(">II", 4, len(header)) + header + b"\x89PNG")
    assert (event.node_id, event.prompt_id, event.data, event.image_format) == ("2", data["prompt_id"], b"\x89PNG", "png")


def test_text_frames_and_short_or_broken_binary_frames_are_ignored():
    assert decode_binary(struct.pack(">I", 3) + struct.pack(">I", 1) + b"5" + b"hello") is None
    assert decode_binary(b"\x00\x00") is None
    assert decode_binary(struct.pack(">II", 4, 50) + b"{not json") is None


def test_cached_and_started_events():
    assert decode_text(json.dumps({"type": "execution_cached", "data": {"nodes": ["1", 2], "prompt_id": "p"}})) == \
        NodesCached("p", ("1", "2"))
    assert decode_text(json.dumps({"type": "execution_start", "data": {"prompt_id": "p"}})) == ExecutionStarted("p")
    assert decode_text(json.dumps({"type": "executing", "data": {"node": None, "prompt_id": "p"}})) == PromptFinished("p")


def test_newer_frames_fields_change_nothing_the_worker_reads():
    # after 0.35 (index comfy_execution/progress.py): a node entry may carry `activity` ("loading"), with an extra
    # progress_state each time it changes; subgraph ids ("12:5") are opaque strings in every version; 0.25.0+ with
    # --enable-assets (and the index's preview_id) adds ids to output entries
    state = {"type": "progress_state", "data": {"prompt_id": "p", "nodes": {"12:5": {
        "value": 0, "max": 1, "state": "running", "node_id": "12:5", "prompt_id": "p", "display_node_id": "12:5",
        "parent_node_id": None, "real_node_id": "12:5", "activity": "loading"}}}}
    assert decode_text(json.dumps(state)) is None
    executed = {"type": "executed", "data": {"node": "12:5", "display_node": "12:5", "prompt_id": "p", "output": {
        "images": [{"filename": "a.png", "subfolder": "", "type": "output", "id": "u-1", "preview_id": "u-2",
                    "metadata": {"kind": "image", "width": 8, "height": 8}}]}}}
    event = decode_text(json.dumps(executed))
    assert isinstance(event, NodeExecuted) and event.node_id == "12:5"
    assert [(ref.filename, ref.subfolder, ref.folder_type) for ref in event.files] == [("a.png", "", "output")]
    progress = decode_text(json.dumps({"type": "progress", "data": {"value": 1, "max": 2, "prompt_id": "p",
                                                                    "node": "12:5"}}))
    assert isinstance(progress, StepProgress) and progress.node_id == "12:5"
