"""Peak resident memory of this process, sampled in a thread (getrusage's maxrss cannot be reset per job)."""
from __future__ import annotations

import os
import threading
from typing import Callable

SAMPLE_INTERVAL_S = 0.002
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _statm_reader() -> Callable[[], int]:
    handle = open("/proc/self/statm", "rb", buffering=0)  # noqa: SIM115 (read again at every sample)
    lock = threading.Lock()  # the sampling thread and end() share the handle: a seek between them cuts a read

    def read() -> int:
        with lock:
            handle.seek(0)
            return int(handle.read(64).split()[1]) * _PAGE
    return read


def _psutil_reader() -> Callable[[], int]:
    import psutil
    process = psutil.Process()
    return lambda: process.memory_info().rss


class RssSampler:
    """`start()` takes the baseline; `begin()` / `end()` around a job give its peak RSS growth over that baseline."""

    def __init__(self) -> None:
        try:
            self._read = _statm_reader()
        except OSError:
            self._read = _psutil_reader()
        self._lock = threading.Lock()
        self._peak = 0
        self._stop = threading.Event()
        self.baseline = 0

    def start(self) -> RssSampler:
        self.baseline = self._read()
        threading.Thread(target=self._run, name="rss-sampler", daemon=True).start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            self._sample()

    def _sample(self) -> None:
        value = self._read()
        with self._lock:
            self._peak = max(self._peak, value)

    def begin(self) -> None:
        with self._lock:
            self._peak = 0
        self._sample()

    def end(self) -> float:
        """The job's peak RSS minus the process's baseline, in MB."""
        self._sample()
        with self._lock:
            return max(0, self._peak - self.baseline) / 2**20

    def stop(self) -> None:
        self._stop.set()
