"""Progress a caller can draw as one bar, made from the prompt's projection: at most twice a second, plus node
changes; before the prompt, the download of the job's model files."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from domain.execution.events import NodesCached, NodeStarted, PromptEnded, QueueStatus, StepProgress
from domain.execution.projection import PromptProjection
from domain.workflow.links import nodes_to_run


@dataclass(frozen=True)
class DownloadStatus:
    """A model file downloading before the prompt is queued: `folder/name`, files done of the job's, its bytes."""

    model: str
    models_done: int
    models_total: int
    bytes_done: int
    bytes_total: Optional[int]


@dataclass(frozen=True)
class Progress:
    """Where the prompt is: the node running (and its class), nodes done of those to run, the running node's steps,
    a percent that never goes down, seconds since the job began, and its place in ComfyUI's queue while it waits
    behind other prompts. While the job's model files download (before the prompt), `download` says where that is
    and the rest is zero."""

    node: Optional[str]
    node_class: Optional[str]
    nodes_done: int
    nodes_total: int
    step: int
    steps: int
    percent: float
    elapsed_s: float
    queue_position: Optional[int] = None
    download: Optional[DownloadStatus] = None

    @property
    def stage(self) -> str:
        return "run" if self.download is None else "download"


ProgressListener = Callable[[Progress], None]


class DownloadProgress:
    """Hands the listener `Progress` with a `DownloadStatus` while model files download: at once when a file starts
    and when it is whole, at most every `min_interval_s` in between."""

    def __init__(
        self,
        listener: Optional[ProgressListener],
        count: int,
        *,
        clock: Callable[[], float],
        started_at: float,
        min_interval_s: float = 0.5,
    ) -> None:
        self._listener, self._count, self._clock = listener, count, clock
        self._started_at, self._min_interval_s = started_at, min_interval_s
        self._last_sent = float("-inf")

    def listener_for(self, index: int, model: str) -> Callable[[int, Optional[int]], None]:
        """What the store calls with (bytes done, bytes in all when known) while it makes file `index` available."""
        first = [True]

        def told(done: int, total: Optional[int]) -> None:
            now = self._clock()
            whole = total is not None and done >= total
            if self._listener is None or not (first[0] or whole or now - self._last_sent >= self._min_interval_s):
                return
            first[0] = False
            self._last_sent = now
            status = DownloadStatus(model, index, self._count, done, total)
            try:
                self._listener(_downloading(status, round(now - self._started_at, 2)))
            except Exception:  # progress is best effort: a failed update never fails the job
                pass

        return told


def _downloading(status: DownloadStatus, elapsed_s: float) -> Progress:
    return Progress(None, None, 0, 0, 0, 0, 0.0, elapsed_s, download=status)


class ProgressTracker:
    """Subscribes to a prompt's projection and hands `Progress` to the listener: at once on a node change, a queue
    move or the end, at most every `min_interval_s` for steps."""

    def __init__(
        self,
        workflow: Mapping[str, Any],
        listener: Optional[ProgressListener],
        *,
        min_interval_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        started_at: Optional[float] = None,
    ) -> None:
        self._classes = {str(k): str(v.get("class_type")) for k, v in workflow.items() if isinstance(v, Mapping)}
        self._to_run = nodes_to_run(workflow)
        self._listener = listener
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._started_at = clock() if started_at is None else started_at
        self._percent = 0.0
        self._last_sent = float("-inf")
        self._queue_position: Optional[int] = None
        self._prompt: Optional[PromptProjection] = None
        self._sent_node: Optional[str] = None  # a step of another node is a node change, sent at once

    def watch(self, prompt: PromptProjection) -> None:
        self._prompt = prompt
        prompt.subscribe(self._queue_moved, QueueStatus)
        prompt.subscribe(lambda _: self._emit(force=True), NodesCached, NodeStarted)
        prompt.subscribe(lambda _: self._emit(force=prompt.node != self._sent_node), StepProgress)
        prompt.subscribe(self._finished, PromptEnded)

    def _queue_moved(self, event: QueueStatus) -> None:
        prompt = self._prompt
        if prompt is None or prompt.started or event.queue_remaining <= 1:
            return
        position = event.queue_remaining - 1
        if position != self._queue_position:
            self._queue_position = position
            self._emit(force=True)

    def _finished(self, _: Any) -> None:
        self._percent = 100.0
        self._emit(force=True)

    def snapshot(self) -> Progress:
        prompt = self._prompt
        done = set(prompt.done) if prompt is not None else set()
        node = prompt.node if prompt is not None else None
        step, steps = (prompt.step, prompt.steps) if prompt is not None else (0, 0)
        total = max(len(self._to_run | done), 1)
        fraction = step / steps if steps and node not in done else 0.0
        self._percent = max(self._percent, min(100.0, 100.0 * (len(done) + fraction) / total))
        return Progress(
            node=node,
            node_class=self._classes.get(node or ""),
            nodes_done=len(done),
            nodes_total=total,
            step=step,
            steps=steps,
            percent=round(self._percent, 1),
            elapsed_s=round(self._clock() - self._started_at, 2),
            queue_position=None if prompt is not None and prompt.started else self._queue_position,
        )

    def _emit(self, *, force: bool) -> None:
        if self._listener is None:
            return
        now = self._clock()
        if not force and now - self._last_sent < self._min_interval_s:
            return
        self._last_sent = now
        progress = self.snapshot()
        self._sent_node = progress.node
        try:
            self._listener(progress)
        except Exception:  # progress is best effort: a failed update never fails the job
            pass
