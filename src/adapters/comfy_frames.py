"""Decodes ComfyUI websocket frames (JSON text and binary) into domain events."""

from __future__ import annotations

import json
import logging
import struct
from typing import Any, Callable, Optional

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
    decode = _TEXT_FRAMES.get(kind)
    if decode is None:
        return None
    prompt_id = data.get("prompt_id")
    if not isinstance(prompt_id, str) and kind not in _WITHOUT_PROMPT:
        return None
    return decode(kind, data, prompt_id)


def _status(kind: str, data: dict, prompt_id: Any) -> Event:
    info = (data.get("status") or {}).get("exec_info") or {}
    return QueueStatus(queue_remaining=_int(info.get("queue_remaining")))


def _executing(kind: str, data: dict, prompt_id: Any) -> Optional[Event]:
    node = data.get("node")
    if not isinstance(prompt_id, str):
        return None if node is None else NodeStarted(prompt_id=None, node_id=str(node))  # after a reconnect (fact 7)
    return PromptFinished(prompt_id) if node is None else NodeStarted(prompt_id, str(node))


def _progress(kind: str, data: dict, prompt_id: str) -> Event:
    return StepProgress(prompt_id, _str(data.get("node")), _int(data.get("value")), _int(data.get("max")))


def _executed(kind: str, data: dict, prompt_id: str) -> Event:
    files, texts = node_outputs(str(data.get("node")), data.get("output"))
    return NodeExecuted(prompt_id, str(data.get("node")), files, texts)


def _ended(kind: str, data: dict, prompt_id: str) -> Event:
    return PromptEnded(prompt_id, outcome_from_frame(kind, data), _timestamp(data))


def _started(kind: str, data: dict, prompt_id: str) -> Event:
    return ExecutionStarted(prompt_id, _timestamp(data))


def _cached(kind: str, data: dict, prompt_id: str) -> Event:
    return NodesCached(prompt_id, tuple(str(n) for n in data.get("nodes") or ()))


# The one table of the JSON frames the worker reads (PROTOCOL.md), each with its decoder; other types are skipped.
_TEXT_FRAMES: dict[str, Callable[[str, dict, Any], Optional[Event]]] = {
    "status": _status,
    "executing": _executing,
    "progress": _progress,
    "executed": _executed,
    "execution_start": _started,
    "execution_cached": _cached,
    **{kind: _ended for kind in TERMINAL_FRAMES},
}
_WITHOUT_PROMPT = frozenset({"status", "executing"})  # the frames that may come without a prompt_id


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
