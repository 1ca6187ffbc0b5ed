"""Binary websocket frames: a big-endian u32 event type, then the event's payload (PROTOCOL.md fact 8)."""

import json
import struct
from typing import Union

PREVIEW_IMAGE = 1
TEXT = 3
PREVIEW_IMAGE_WITH_METADATA = 4
FORMAT_JPEG, FORMAT_PNG = 1, 2


def preview_image(png: bytes, image_format: int = FORMAT_PNG) -> bytes:
    """Event 1: u32 image format (2 = PNG, 1 = JPEG) and the image bytes (save_image_websocket.json)."""
    return struct.pack(">II", PREVIEW_IMAGE, image_format) + png


def preview_image_with_metadata(png: bytes, metadata: dict) -> bytes:
    """Event 4: u32 JSON length, the JSON, the image bytes (save_image_websocket_metadata.json)."""
    blob = json.dumps(metadata).encode("utf-8")
    return struct.pack(">II", PREVIEW_IMAGE_WITH_METADATA, len(blob)) + blob + png


def text(node_id: str, message: str) -> bytes:
    """Event 3: u32 node id length, the node id, UTF-8 text (misc_outputs.json, GetImageSize)."""
    node = str(node_id).encode("utf-8")
    return struct.pack(">II", TEXT, len(node)) + node + message.encode("utf-8")


def event_type(frame: Union[bytes, bytearray]) -> int:
    return struct.unpack(">I", frame[:4])[0]
