"""Decodes ComfyUI websocket frames (JSON text and binary) into domain events."""

from __future__ import annotations

import json
import logging
import struct
from typing import Any, Optional

from adapters.comfy_messages import TERMINAL_FRAMES, node_outputs, outcome_from_frame
from domain.execution.events import (
    Event,
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

log = logging.getLogger(__name__)

# PROTOCOL.md fact 8: binary frames start with a big-endian u32 event type.
PREVIEW_IMAGE = 1  # 3 is TEXT (a node's streamed text), which the worker does not act on
PREVIEW_IMAGE_WITH_METADATA = 4
_IMAGE_FORMATS = {1: "jpeg", 2: "png"}


def decode_text(message: str) -> Optional[Event]:
    """A JSON frame as an event, or None for frames the worker does not act on."""
    try:
        frame = json.loads(message)
    except ValueError:
        log.debug("skipping a websocket frame that is not JSON")
        return None
    if not isinstance(frame, dict) or not isinstance(frame.get("data"), dict):
        return None
    kind, data = str(frame.get("type")), frame["data"]
    prompt_id = data.get("prompt_id")
    if kind == "status":
        info = (data.get("status") or {}).get("exec_info") or {}
        return QueueStatus(queue_remaining=_int(info.get("queue_remaining")))
    if not isinstance(prompt_id, str):
        if kind == "executing" and data.get("node") is not None:
            return NodeStarted(prompt_id=None, node_id=str(data["node"]))  # sent after a reconnect (fact 7)
        return None
    if kind == "executing":
        node = data.get("node")
        return PromptFinished(prompt_id) if node is None else NodeStarted(prompt_id, str(node))
    if kind == "progress":
        return StepProgress(prompt_id, _str(data.get("node")), _int(data.get("value")), _int(data.get("max")))
    if kind == "executed":
        files, texts = node_outputs(str(data.get("node")), data.get("output"))
        return NodeExecuted(prompt_id, str(data.get("node")), files, texts)
    if kind in TERMINAL_FRAMES:
        return PromptEnded(prompt_id, outcome_from_frame(kind, data), _timestamp(data))
    if kind == "execution_start":
        return ExecutionStarted(prompt_id, _timestamp(data))
    if kind == "execution_cached":
        return NodesCached(prompt_id, tuple(str(n) for n in data.get("nodes") or ()))
    return None


def decode_binary(payload: bytes) -> Optional[Event]:
    """An image frame (type 1, or type 4 with its metadata) as an `InbandImage`; None for others."""
    if len(payload) < 8:
        return None
    (event_type,) = struct.unpack(">I", payload[:4])
    if event_type == PREVIEW_IMAGE:
        (image_type,) = struct.unpack(">I", payload[4:8])
        return InbandImage(data=payload[8:], image_format=_IMAGE_FORMATS.get(image_type, "png"))
    if event_type == PREVIEW_IMAGE_WITH_METADATA:
        (length,) = struct.unpack(">I", payload[4:8])
        try:
            meta = json.loads(payload[8 : 8 + length])
        except ValueError:
            return None
        if not isinstance(meta, dict):
            return None
        image_type = str(meta.get("image_type") or "image/png")
        return InbandImage(
            data=payload[8 + length :],
            image_format="jpeg" if "jpeg" in image_type else "png",
            prompt_id=_str(meta.get("prompt_id")),
            node_id=_str(meta.get("node_id")),
        )
    return None  # type 3 text frames are broadcast to every socket: not ours to use


def _timestamp(data: dict) -> Optional[int]:
    stamp = data.get("timestamp")
    return int(stamp) if isinstance(stamp, (int, float)) else None


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _str(value: Any) -> Optional[str]:
    return None if value is None else str(value)
