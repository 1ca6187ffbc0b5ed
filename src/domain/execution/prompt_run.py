"""One prompt's events routed to progress, timings and delivery, and what the frames tell of its outputs."""

from __future__ import annotations

import logging
import time
from typing import Optional

from domain.execution.events import (
    Event,
    ExecutionStarted,
    InbandImage,
    NodeExecuted,
    NodesCached,
    NodeStarted,
    PromptEnded,
    QueueStatus,
    StepProgress,
)
from domain.execution.follow import Ending
from domain.execution.progress import ProgressTracker
from domain.execution.prompt_line import QueueTurn
from domain.execution.timings import JobTimings
from domain.model import Job, OutputRef, PromptHistory, TextOutput
from domain.outputs.delivery import Delivery

log = logging.getLogger(__name__)

# Nodes whose images come over the websocket as binary frames, not through /view (PROTOCOL.md fact 8).
INBAND_OUTPUT_CLASSES = frozenset({"SaveImageWebsocket"})


class PromptRun:
    """Routes one prompt's events to progress, timings and delivery."""

    def __init__(
        self,
        job: Job,
        delivery: Delivery,
        tracker: ProgressTracker,
        timings: JobTimings,
        turn: Optional[QueueTurn] = None,
    ) -> None:
        self._job, self._delivery, self._tracker, self._timings = job, delivery, tracker, timings
        self._turn = turn
        workflow = job.prompt.workflow
        self._inband_nodes = {str(k) for k, v in workflow.items() if v.get("class_type") in INBAND_OUTPUT_CLASSES}
        self._started = False
        self._node: Optional[str] = None
        self._node_since = 0.0
        self._files: list[OutputRef] = []
        self._announced: list[OutputRef] = []  # files of an `executed` frame, fetched once ComfyUI moves on
        self._texts: list[TextOutput] = []
        self._cached: Optional[set[str]] = None  # known once the `execution_cached` frame came
        self._stamps: dict[str, Optional[int]] = {}

    def on_event(self, event: Event) -> None:
        if not isinstance(event, (NodeExecuted, QueueStatus)):
            self._deliver_announced()
        if isinstance(event, QueueStatus):
            if not self._started and self._turn is not None:
                self._turn.queue_changed()
            if not self._started and event.queue_remaining > 1:
                self._tracker.queued_behind(event.queue_remaining - 1)
        elif isinstance(event, (ExecutionStarted, NodesCached)):
            self._start()
            if isinstance(event, ExecutionStarted):
                self._stamps["started"] = event.timestamp_ms
            if isinstance(event, NodesCached):
                self._cached = (self._cached or set()) | set(event.node_ids)
                self._tracker.cached(event.node_ids)
        elif isinstance(event, NodeStarted):
            self._start()
            self._node_changed(event.node_id)
            self._tracker.node_started(event.node_id)
        elif isinstance(event, StepProgress):
            self._tracker.step(event.node_id, event.value, event.max)
        elif isinstance(event, NodeExecuted):
            self._files.extend(event.files)
            texts = [TextOutput(event.node_id, text) for text in event.texts]
            self._texts.extend(texts)
            self._delivery.add_texts(texts)
            self._announced.extend(event.files)
        elif isinstance(event, InbandImage):
            node = event.node_id or self._node
            if node in self._inband_nodes and event.prompt_id in (None, self._job.prompt.id):
                self._delivery.submit_inband(node, event.data, event.image_format)
        elif isinstance(event, PromptEnded):
            if self._turn is not None:
                self._turn.ended()
            self._stamps["ended"] = event.timestamp_ms
            self._node_changed(None)
            self._tracker.finished()

    def files(self) -> list[OutputRef]:
        """The files output nodes announced so far."""
        return list(self._files)

    def cached_nodes(self) -> Optional[set[str]]:
        """The nodes ComfyUI served from its cache (their files are an earlier prompt's); None when the frame
        saying so was not heard."""
        return None if self._cached is None else set(self._cached)

    def texts(self) -> list[TextOutput]:
        """The texts output nodes showed so far."""
        return list(self._texts)

    def _deliver_announced(self) -> None:
        """Fetch what `executed` frames announced once the next frame shows ComfyUI busy elsewhere: the next
        node's `executing`, or the prompt's end. A /view answered while ComfyUI still saves slows both."""
        for ref in self._announced:
            self._delivery.submit(ref)
        self._announced.clear()

    def history_from_frames(self, ending: Ending) -> Optional[PromptHistory]:
        """What `/history` would say, when one unbroken socket carried every frame of the prompt.

        Frames come in order over one connection, and ComfyUI sends `executed` for every output node, cached
        ones included (PROTOCOL.md facts 1-3): `/history` is needed only when frames may have been missed
        (a reconnect, or an ending learnt by asking), or when no output was announced at all.
        """
        if not ending.whole_stream or not (self._files or self._texts):
            return None
        return PromptHistory(
            outcome=ending.outcome,
            files=tuple(self._files),
            texts=tuple(self._texts),
            started_ms=self._stamps.get("started"),
            ended_ms=self._stamps.get("ended"),
        )

    def _start(self) -> None:
        if not self._started:
            self._started = True
            self._timings.execution_started()
            if self._turn is not None:
                self._turn.started()

    def _node_changed(self, node_id: Optional[str]) -> None:
        now = time.monotonic()
        if self._node is not None and node_id != self._node:
            log.debug("node %s ran for %.0f ms", self._node, (now - self._node_since) * 1000)
        self._node, self._node_since = node_id, now
