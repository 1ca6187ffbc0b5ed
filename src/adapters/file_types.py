"""File extensions and media types of output bytes: from the file name, else from the bytes' magic number."""

from __future__ import annotations

import mimetypes
import re
from pathlib import PurePosixPath
from typing import Optional

DEFAULT_EXTENSION = ".png"
# What ComfyUI's save nodes write that Python's own table may lack (its answer depends on the machine's mime.types);
# .opus as ComfyUI's /view answered it (audio.json)
MEDIA_TYPES = {
    ".webp": "image/webp",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".webm": "video/webm",
    ".mp4": "video/mp4",
    ".mkv": "video/x-matroska",
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".js": "text/javascript",
}
# Media types a browser may run or render with script (ComfyUI 0.28.0+ folder_paths.DANGEROUS_CONTENT_TYPES, and any
# XML dialect): never served inline
DANGEROUS_MEDIA_TYPES = frozenset(
    {
        "text/html",
        "text/html-sandboxed",
        "application/xhtml+xml",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "application/ecmascript",
        "text/css",
        "image/svg+xml",
        "application/xml",
        "text/xml",
        "message/rfc822",
    }
)


def media_type_for(filename: str) -> Optional[str]:
    """The media type a file's extension says, or None when it says none."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if not suffix:
        return None
    return MEDIA_TYPES.get(suffix) or mimetypes.guess_type("x" + suffix)[0]


def is_dangerous(media_type: str) -> bool:
    """Whether a browser may run script from a file of this type shown inline (HTML, JavaScript, CSS, SVG, XML)."""
    media = media_type.split(";", 1)[0].strip().lower()
    return media in DANGEROUS_MEDIA_TYPES or media.endswith("+xml") or media.endswith("/xml")


_SAFE_EXTENSION = re.compile(r"\.[A-Za-z0-9]{1,10}")


def extension_for(filename: str, data: bytes) -> str:
    """A lowercase extension with its dot: the filename's own, else the bytes' type, else `.png`."""
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix
    if _SAFE_EXTENSION.fullmatch(suffix):
        return suffix.lower()
    return sniff_extension(data) or DEFAULT_EXTENSION


def sniff_extension(data: bytes) -> Optional[str]:
    """The extension whose magic number starts `data`, or None."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ".png"
    if head.startswith(b"\xff\xd8\xff"):
        return ".jpg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return ".gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return ".webp"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return ".wav"
    if head[4:8] == b"ftyp":
        return ".mov" if head[8:12] == b"qt  " else ".mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm" if b"webm" in head else ".mkv"
    if head.startswith(b"fLaC"):
        return ".flac"
    if head.startswith(b"OggS"):
        return ".ogg"
    if head.startswith(b"ID3") or _is_mpeg_audio_frame(head):
        return ".mp3"
    return None


def _is_mpeg_audio_frame(head: bytes) -> bool:
    # MPEG audio frame header: 11 sync bits, then a non-zero layer (layer 00 is AAC ADTS).
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 != 0
