"""Tells whether ComfyUI's process, named by its PID file, is still alive."""

from __future__ import annotations

import os
from typing import Optional

# worker-comfyui 5.8.3+ starts ComfyUI with its PID written here; used when COMFY_PID_FILE is unset.
DEFAULT_PID_FILE = "/tmp/comfyui.pid"


class ProcessLiveness:
    """`alive()` is True or False when the PID file names a process, None when nothing is known.

    The file is read at every probe, so a PID file that ComfyUI writes after the worker started
    (or rewrites when it restarts) is picked up; while it does not exist, nothing is known.
    """

    def __init__(self, pid_file: Optional[str] = None, *, default_pid_file: str = DEFAULT_PID_FILE) -> None:
        self.pid_file = pid_file or default_pid_file

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
        """For messages: which process, from which file, or why none is known."""
        pid = self._pid()
        if pid is None:
            return f"no readable PID in {self.pid_file}"
        return f"pid {pid} from {self.pid_file}"

    def _pid(self) -> Optional[int]:
        try:
            with open(self.pid_file, encoding="ascii") as handle:
                pid = int(handle.read().strip())
        except (OSError, ValueError, UnicodeDecodeError):
            return None
        # kill(0) or kill(-n) would probe a whole process group: only a positive pid names ComfyUI.
        return pid if pid > 0 else None


def _is_zombie(pid: int) -> bool:
    """An exited child not yet reaped by its parent still answers kill(pid, 0)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False
