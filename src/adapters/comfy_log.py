"""Reads the end of ComfyUI's log file, to tell why its process stopped (a start that failed says why there)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from domain.errors import clip

TAIL_BYTES = 16 * 1024
TAIL_LINES = 20
LINE_CHARS = 300
# Lines that tell a start ComfyUI gave up on, each with how many lines of explanation follow it:
#   ASSETS_STARTUP_FAILED: <kind> (index main.py stop_startup, after 0.35: the asset database, on by default, could not
#     be opened; in_use: another ComfyUI holds its lock), then its message;
#   "Database is locked." (0.17.0 to 0.35, main.py setup_database, 0.33 :522-547), then two lines;
#   "Port ... is already in use" (0.33 server.py:1437).
_FATAL_STARTS = (("ASSETS_STARTUP_FAILED:", 6), ("Database is locked.", 2), ("Failed to initialize database:", 1))
_FATAL_ANYWHERE = ("is already in use on address",)


@dataclass(frozen=True)
class LogTail:
    """The log's last lines (each clipped), and the reason a failed start gave, when one of them tells it."""

    lines: tuple[str, ...]
    reason: Optional[str] = None


class ComfyLog:
    """ComfyUI's output as a file (`COMFY_LOG_FILE`, which the start script writes); nothing when it has none."""

    def __init__(self, path: Optional[str]) -> None:
        self.path = path

    def tail(self) -> LogTail:
        """The last `TAIL_LINES` lines of the file's last `TAIL_BYTES` bytes; empty when it cannot be read."""
        if not self.path:
            return LogTail(())
        try:
            with open(self.path, "rb") as handle:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - TAIL_BYTES))
                text = handle.read(TAIL_BYTES).decode("utf-8", errors="replace")
        except OSError:
            return LogTail(())
        lines = [line.rstrip() for line in text.splitlines()[-TAIL_LINES:] if line.strip()]
        return LogTail(tuple(clip(line, LINE_CHARS) for line in lines), _reason(lines))


def _reason(lines: list[str]) -> Optional[str]:
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        for start, following in _FATAL_STARTS:
            if start in line:
                told = [line[line.index(start) :], *(part.strip() for part in lines[index + 1 : index + 1 + following])]
                return clip(" ".join(told), 2 * LINE_CHARS)
        if any(marker in line for marker in _FATAL_ANYWHERE):
            return clip(line, LINE_CHARS)
    return None
