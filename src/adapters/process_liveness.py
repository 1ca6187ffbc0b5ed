"""Tells whether ComfyUI's process, named by its PID file, is still alive."""
from __future__ import annotations

import os
from typing import Optional


class ProcessLiveness:
    """`alive()` is True or False when the PID file names a process, None when nothing is known."""

    def __init__(self, pid_file: Optional[str]) -> None:
        self._pid_file = pid_file

    def alive(self) -> Optional[bool]:
        pid = self._pid()
        if pid is None:
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not _is_zombie(pid)

    def describe(self) -> str:
        return f"pid {self._pid()} from {self._pid_file}"

    def _pid(self) -> Optional[int]:
        if not self._pid_file:
            return None
        try:
            with open(self._pid_file, encoding="ascii") as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None


def _is_zombie(pid: int) -> bool:
    """An exited child not yet reaped by its parent still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
