"""Per-file locks shared by threads and processes: `fcntl.flock` on lock files that are never deleted.

A flock lock belongs to an open file description, so two threads that each open the lock file exclude each other
as two processes do. Over NFS, Linux turns flock into the server's byte-range locks (NLM or NFSv4), which workers on
other machines see too; a file system without working locks across machines shares downloads only within one."""

from __future__ import annotations

import contextlib
import fcntl
import os
from typing import Callable, Iterator, Optional

from domain.budget import Budget

LOCK_POLL_S = 0.05


def _open(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)


@contextlib.contextmanager
def exclusive(
    path: str, budget: Budget, doing: str, while_waiting: Optional[Callable[[], None]] = None
) -> Iterator[None]:
    """Hold the lock alone, waiting for it as long as the budget allows (`Cancelled` / `JobTimedOut`)."""
    fd = _open(path)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if while_waiting is not None:
                    while_waiting()
                budget.sleep(LOCK_POLL_S, doing)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def shared(path: str) -> Iterator[None]:
    """Hold the lock with others; waits only while an eviction holds it alone (a few file deletions)."""
    fd = _open(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def if_free(*paths: str) -> Iterator[bool]:
    """Every lock held alone at once, without waiting: True when all were free (held until exit), else False."""
    fds: list[int] = []
    try:
        for path in paths:
            fd = _open(path)
            fds.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        yield True
    finally:
        for fd in fds:
            os.close(fd)
