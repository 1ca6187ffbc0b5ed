"""File extensions for output bytes: from the file name, else from the bytes' magic number."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Optional

DEFAULT_EXTENSION = ".png"

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
