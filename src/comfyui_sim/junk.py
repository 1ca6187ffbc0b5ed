"""Frames a test injects into a client's stream (`Faults.inject_frames`): noise a worker must skip."""

import json

from . import binary
from .nodes_sim import jpeg_preview

FOREIGN_PROMPT = "00000000-0000-4000-8000-0000000f0e19"


def malformed_json() -> str:
    return '{"type": "executing", "data": {"node": "1", "prompt_id": '


def not_an_object() -> str:
    return json.dumps(["executing", {"node": None}])


def unknown_type(prompt_id: str = FOREIGN_PROMPT) -> str:
    return json.dumps({"type": "sim_unknown_event", "data": {"prompt_id": prompt_id, "node": "1"}})


def foreign_prompt_frames(prompt_id: str = FOREIGN_PROMPT) -> list:
    """Another prompt's outcome and final frame, and an output it announces."""
    output = {"images": [{"filename": "foreign_00001_.png", "subfolder": "", "type": "output"}]}
    return [
        json.dumps(
            {"type": "executed", "data": {"node": "9", "display_node": "9", "output": output, "prompt_id": prompt_id}}
        ),
        json.dumps(
            {
                "type": "execution_error",
                "data": {
                    "prompt_id": prompt_id,
                    "node_id": "9",
                    "node_type": "SaveImage",
                    "exception_type": "RuntimeError",
                    "exception_message": "not ours",
                    "traceback": [],
                },
            }
        ),
        json.dumps({"type": "executing", "data": {"node": None, "prompt_id": prompt_id}}),
    ]


def foreign_binary(prompt_id: str = FOREIGN_PROMPT) -> list:
    """Another prompt's preview images: type 1 (no owner named) and type 4 naming that prompt."""
    import random

    jpeg = jpeg_preview(random.Random(7))
    return [
        binary.preview_image(jpeg, binary.FORMAT_JPEG),
        binary.preview_image_with_metadata(
            jpeg,
            {
                "node_id": "9",
                "prompt_id": prompt_id,
                "display_node_id": "9",
                "parent_node_id": None,
                "real_node_id": "9",
                "image_type": "image/jpeg",
            },
        ),
    ]


def broadcast_text() -> bytes:
    """A type 3 text frame, as ComfyUI broadcasts to every socket (misc_outputs.json)."""
    return binary.text("9", "someone else's text")


def everything(prompt_id: str = FOREIGN_PROMPT) -> list:
    return [
        malformed_json(),
        not_an_object(),
        unknown_type(prompt_id),
        *foreign_prompt_frames(prompt_id),
        *foreign_binary(prompt_id),
        broadcast_text(),
        b"\x00\x00",
    ]
