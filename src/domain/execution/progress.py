"""Turns execution events into progress a caller can draw as one bar, at most twice a second plus node changes."""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional

from domain.workflow.links import is_link

ProgressSink = Callable[[dict], None]


def nodes_to_run(workflow: Mapping[str, Any]) -> set[str]:
    """The nodes ComfyUI runs for the prompt's outputs: every node a final (unconsumed) node depends on."""
    consumed = {str(v[0]) for node in workflow.values() for v in (node.get("inputs") or {}).values() if is_link(v)}
    pending = [node_id for node_id in workflow if node_id not in consumed]
    seen: set[str] = set()
    while pending:
        node_id = pending.pop()
        if node_id in seen or node_id not in workflow:
            continue
        seen.add(node_id)
        pending.extend(str(v[0]) for v in (workflow[node_id].get("inputs") or {}).values() if is_link(v))
    return seen


class ProgressTracker:
    """Keeps `nodes_done / nodes_total`, the running node's steps and a percent that never goes down."""

    def __init__(
        self,
        workflow: Mapping[str, Any],
        send: Optional[ProgressSink],
        *,
        min_interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._classes = {str(k): str(v.get("class_type")) for k, v in workflow.items()}
        self._to_run = nodes_to_run(workflow)
        self._send = send
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._started_at = clock()
        self._done: set[str] = set()
        self._node: Optional[str] = None
        self._step, self._steps = 0, 0
        self._percent = 0.0
        self._last_sent = float("-inf")
        self.queue_position: Optional[int] = None

    def queued_behind(self, position: int) -> None:
        if position != self.queue_position:
            self.queue_position = position
            self._emit(force=True)

    def cached(self, node_ids: tuple[str, ...]) -> None:
        self._done.update(node_ids)
        self.queue_position = None
        self._emit(force=True)

    def node_started(self, node_id: str) -> None:
        if self._node is not None and self._node != node_id:
            self._done.add(self._node)
        self._node, self._step, self._steps = node_id, 0, 0
        self.queue_position = None
        self._emit(force=True)

    def step(self, node_id: Optional[str], value: int, maximum: int) -> None:
        if node_id is not None and node_id != self._node:
            self.node_started(node_id)
        self._step, self._steps = value, maximum
        self._emit(force=False)

    def finished(self) -> None:
        if self._node is not None:
            self._done.add(self._node)
        self._percent = 100.0
        self._emit(force=True)

    def snapshot(self) -> dict:
        total = max(len(self._to_run | self._done), 1)
        done = len(self._done)
        fraction = self._step / self._steps if self._steps and self._node not in self._done else 0.0
        self._percent = max(self._percent, min(100.0, 100.0 * (done + fraction) / total))
        update: dict[str, Any] = {
            "node": self._node,
            "node_class": self._classes.get(self._node or ""),
            "nodes_done": done,
            "nodes_total": total,
            "step": self._step,
            "steps": self._steps,
            "percent": round(self._percent, 1),
            "elapsed_s": round(self._clock() - self._started_at, 2),
        }
        if self.queue_position is not None:
            update["queue_position"] = self.queue_position
        return update

    def _emit(self, *, force: bool) -> None:
        if self._send is None:
            return
        now = self._clock()
        if not force and now - self._last_sent < self._min_interval_s:
            return
        self._last_sent = now
        try:
            self._send(self.snapshot())
        except Exception:  # progress is best effort: a failed update never fails the job
            pass
