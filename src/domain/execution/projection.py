"""The one reading of a prompt's events: each is applied once to what is known of the prompt, then handed to the
handlers subscribed to its type."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any, Callable, Optional

from domain.execution.events import (
    ExecutionStarted,
    NodeExecuted,
    NodesCached,
    NodeStarted,
    PromptEnded,
    PromptStarted,
    QueueStatus,
    StepProgress,
)
from domain.model import Outcome, OutputRef, PromptHistory, TextOutput

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]


class PromptProjection:
    """What the events so far tell of one prompt: whether it started, the node running and its steps, the nodes
    done or served from the cache, the files and texts its output nodes announced, how it ended.

    Delivery, progress, timings and the queue turn subscribe to event types (`subscribe`); the follower applies
    the events about the prompt and reads what it needs for its recovery rules. `PromptStarted` is handed out
    once, before the first event that shows the prompt running.
    """

    def __init__(self, prompt_id: str) -> None:
        self.prompt_id = prompt_id
        self.started = False
        self.node: Optional[str] = None
        self.step, self.steps = 0, 0
        self.done: set[str] = set()
        self.cached: Optional[frozenset[str]] = None  # None until `execution_cached` was heard
        self.files: list[OutputRef] = []
        self.texts: list[TextOutput] = []
        self.queue_remaining: Optional[int] = None
        self.outcome: Optional[Outcome] = None
        self.started_ms: Optional[int] = None
        self.ended_ms: Optional[int] = None
        self._handlers: dict[type, list[Handler]] = defaultdict(list)

    def subscribe(self, handler: Handler, *event_types: type) -> None:
        for event_type in event_types:
            self._handlers[event_type].append(handler)

    def close(self) -> None:
        """The prompt is over: its subscribers are let go (each holds this projection, so each pair is a cycle that
        would keep a finished job's outputs, through delivery, until the cycle collector runs)."""
        self._handlers.clear()

    def apply(self, event: Any) -> None:
        was_started = self.started
        update = _UPDATES.get(type(event))
        if update is not None:
            update(self, event)
        if self.started and not was_started:
            self._hand_out(PromptStarted(self.prompt_id))
        self._hand_out(event)

    def history(self) -> PromptHistory:
        """What `/history` would say of the prompt, from its frames alone (when one socket carried them all)."""
        return PromptHistory(
            outcome=self.outcome or Outcome("error", message="the prompt did not say how it ended"),
            files=tuple(self.files),
            texts=tuple(self.texts),
            started_ms=self.started_ms,
            ended_ms=self.ended_ms,
            cached_nodes=None if self.cached is None else tuple(sorted(self.cached)),
        )

    def _hand_out(self, event: Any) -> None:
        for handler in self._handlers.get(type(event), ()):
            handler(event)

    def _queue_status(self, event: QueueStatus) -> None:
        self.queue_remaining = event.queue_remaining

    def _execution_started(self, event: ExecutionStarted) -> None:
        self.started = True
        self.started_ms = event.timestamp_ms

    def _nodes_cached(self, event: NodesCached) -> None:
        self.started = True
        self.cached = (self.cached or frozenset()) | frozenset(event.node_ids)
        self.done.update(event.node_ids)

    def _node_started(self, event: NodeStarted) -> None:
        self.started = True
        self._move_to(event.node_id)

    def _step_progress(self, event: StepProgress) -> None:
        self.started = True
        if event.node_id is not None and event.node_id != self.node:
            self._move_to(event.node_id)
        self.step, self.steps = event.value, event.max

    def _node_executed(self, event: NodeExecuted) -> None:
        self.files.extend(event.files)
        self.texts.extend(TextOutput(event.node_id, text) for text in event.texts)

    def _prompt_ended(self, event: PromptEnded) -> None:
        self.outcome = event.outcome
        self.ended_ms = event.timestamp_ms
        if self.node is not None:
            self.done.add(self.node)  # the last node ran; it stays `node`, where the prompt ended

    def _move_to(self, node_id: Optional[str]) -> None:
        if self.node is not None and self.node != node_id:
            self.done.add(self.node)
        self.node, self.step, self.steps = node_id, 0, 0


# what each event changes, by its type: functions of the class, so that a projection holds no bound method of its
# own (a cycle that would keep a finished job's outputs, through its subscribers, until the cycle collector runs)
_UPDATES: dict[type, Callable[[PromptProjection, Any], None]] = {
    QueueStatus: PromptProjection._queue_status,
    ExecutionStarted: PromptProjection._execution_started,
    NodesCached: PromptProjection._nodes_cached,
    NodeStarted: PromptProjection._node_started,
    StepProgress: PromptProjection._step_progress,
    NodeExecuted: PromptProjection._node_executed,
    PromptEnded: PromptProjection._prompt_ended,
}
