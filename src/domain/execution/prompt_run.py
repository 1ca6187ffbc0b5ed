"""What one prompt's events drive besides progress: delivery of the outputs as they are announced, the job's
timings and its turn in the worker's queue line; each subscribes to the prompt's projection by event type."""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping, Optional

from domain.execution.events import (
    ExecutionStarted,
    InbandImage,
    NodeExecuted,
    NodesCached,
    NodeStarted,
    PromptEnded,
    PromptFinished,
    PromptStarted,
    QueueStatus,
    StepProgress,
)
from domain.execution.projection import PromptProjection
from domain.execution.prompt_line import QueueTurn
from domain.execution.timings import JobTimings
from domain.model import OutputRef, TextOutput
from domain.outputs.delivery import Delivery

log = logging.getLogger(__name__)

# Nodes whose images come over the websocket as binary frames, not through /view (PROTOCOL.md fact 8).
INBAND_OUTPUT_CLASSES = frozenset({"SaveImageWebsocket"})
# The frames that show ComfyUI busy past the node that announced outputs: the next node, or the prompt's end.
_MOVED_ON = (ExecutionStarted, NodesCached, NodeStarted, StepProgress, InbandImage, PromptEnded, PromptFinished)


class AnnouncedOutputs:
    """Delivers what `executed` frames announce once ComfyUI has moved on (a /view answered while ComfyUI still
    saves slows both), and the in-band images of `SaveImageWebsocket` nodes, attributed to their node."""

    def __init__(self, prompt: PromptProjection, delivery: Delivery, workflow: Mapping[str, Any]) -> None:
        self._prompt, self._delivery = prompt, delivery
        self._inband_nodes = {
            str(k)
            for k, v in workflow.items()
            if isinstance(v, Mapping) and v.get("class_type") in INBAND_OUTPUT_CLASSES
        }
        self._announced: list[OutputRef] = []
        prompt.subscribe(self._executed, NodeExecuted)
        prompt.subscribe(self._moved_on, *_MOVED_ON)
        prompt.subscribe(self._inband, InbandImage)

    def _executed(self, event: NodeExecuted) -> None:
        self._delivery.add_texts([TextOutput(event.node_id, text) for text in event.texts])
        self._announced.extend(event.files)

    def _moved_on(self, _: Any) -> None:
        for ref in self._announced:
            self._delivery.submit(ref)
        self._announced.clear()

    def _inband(self, event: InbandImage) -> None:
        node = event.node_id or self._prompt.node
        if node in self._inband_nodes and event.prompt_id in (None, self._prompt.prompt_id):
            self._delivery.submit_inband(node, event.data, event.image_format)


class RunClock:
    """The job's timings and its turn in the worker's queue line, told when the prompt starts and ends; node
    durations go to the debug log."""

    def __init__(self, prompt: PromptProjection, timings: JobTimings, turn: Optional[QueueTurn] = None) -> None:
        self._prompt, self._timings, self._turn = prompt, timings, turn
        self._node: Optional[str] = None
        self._node_since = 0.0
        prompt.subscribe(self._started, PromptStarted)
        prompt.subscribe(self._queue_moved, QueueStatus)
        prompt.subscribe(self._node_changed, NodeStarted, PromptEnded)
        prompt.subscribe(self._ended, PromptEnded)

    def _started(self, _: Any) -> None:
        self._timings.execution_started()
        if self._turn is not None:
            self._turn.started()

    def _queue_moved(self, _: Any) -> None:
        if not self._prompt.started and self._turn is not None:
            self._turn.queue_changed()

    def _ended(self, _: Any) -> None:
        if self._turn is not None:
            self._turn.ended()

    def _node_changed(self, event: Any) -> None:
        node = event.node_id if isinstance(event, NodeStarted) else None
        now = time.monotonic()
        if self._node is not None and node != self._node:
            log.debug("node %s ran for %.0f ms", self._node, (now - self._node_since) * 1000)
        self._node, self._node_since = node, now
