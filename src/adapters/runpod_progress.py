"""Sends a running job's progress to RunPod with the SDK's fire-and-forget `progress_update`."""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

from domain.model import Progress


class RunpodProgressReporter:
    """A `ProgressCallback` that sends at most one update per interval, and every node change."""

    def __init__(self, job: dict, *, min_interval_s: float = 1.0, send: Optional[Callable[[dict, Any], None]] = None) -> None:
        if send is None:
            from runpod.serverless import progress_update as send
        self._job = job
        self._send = send
        self._min_interval_s = min_interval_s
        self._last_sent = float("-inf")
        self._last_node: Optional[str] = None

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        if progress.node_id == self._last_node and now - self._last_sent < self._min_interval_s:
            return
        self._last_sent, self._last_node = now, progress.node_id
        self._send(self._job, {"node": progress.node_id, "value": progress.value, "max": progress.max})
