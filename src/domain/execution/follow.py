"""Follows one prompt through its events: the recovery rules for lost sockets, deaf sockets, silence and stalls."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

from domain.budget import Budget
from domain.errors import ComfyError, ComfyProcessDied, ComfyUnreachable, PromptLost, Stalled
from domain.execution.events import Event, InbandImage, PromptEnded, PromptFinished, QueueStatus, SocketLost
from domain.execution.projection import PromptProjection
from domain.model import Outcome, PromptHistory, PromptState
from domain.ports import ComfyApi, EventStream

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FollowPolicy:
    """How long to wait for what, and how often to reopen a dropped socket."""

    reconnect_attempts: int = 5
    reconnect_delay_s: float = 3.0
    final_frame_grace_s: float = 1.0
    silence_check_s: float = 60.0
    deaf_check_s: float = 2.0
    stall_timeout_s: float = 900.0
    tick_s: float = 0.5


@dataclass(frozen=True)
class Ending:
    """How the prompt ended, with its history when it was already read to find that out."""

    outcome: Outcome
    history: Optional[PromptHistory] = None
    whole_stream: bool = False  # every frame of the prompt came over one unbroken socket, final frame included


class PromptFollower:
    """Reads events until the prompt ends, applying each one about it to the prompt's projection; keeps only what
    its recovery rules need (when it last heard of the prompt or asked about it, the final frame's grace, whether
    the socket was reopened)."""

    def __init__(
        self,
        stream: EventStream,
        comfy: ComfyApi,
        projection: PromptProjection,
        budget: Budget,
        policy: FollowPolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream, self._comfy, self._prompt = stream, comfy, projection
        self._id = projection.prompt_id
        self._budget, self._policy, self._clock = budget, policy, clock
        now = clock()
        self._heard_at = now  # last frame about our prompt
        self._asked_at = now  # last time ComfyUI was asked about it
        self._asked_running = False  # ComfyUI said it runs, whatever the frames said
        self._grace_until = float("inf")
        self._reopened = False  # the socket was reopened during this prompt: it may go deaf
        self._deaf_checks = 0

    def run(self) -> Ending:
        while True:
            self._budget.check(f"waiting for prompt {self._id}")
            now = self._clock()
            if self._prompt.outcome is not None and now >= self._grace_until:
                return Ending(self._prompt.outcome)  # the final frame can be lost (ws_drop_before_final.json)
            ending = self._checks(now)
            if ending is not None:
                return ending
            event = self._stream.next_event(min(self._policy.tick_s, max(0.001, self._budget.remaining())))
            if event is None:
                continue
            ending = self._handle(event)
            if ending is not None:
                return ending

    def _checks(self, now: float) -> Optional[Ending]:
        node = self._prompt.node
        if (self._prompt.started or self._asked_running) and now - self._heard_at >= self._policy.stall_timeout_s:
            where = f" in node {node}" if node else ""
            raise Stalled(
                f"prompt {self._id} sent nothing for {self._policy.stall_timeout_s:g} s while running{where}",
                data={"node_id": node, "stall_timeout_s": self._policy.stall_timeout_s},
            )
        quiet = now - max(self._heard_at, self._asked_at)
        if self._reopened and quiet >= min(
            self._policy.deaf_check_s * 2 ** min(self._deaf_checks, 6), self._policy.silence_check_s
        ):
            # ComfyUI's socket teardown runs sockets.pop(sid) whatever socket holds the id by then: an old
            # socket whose loss it notices late unregisters the reopened one, which then hears nothing.
            self._deaf_checks += 1
            ending, state = self._ask("nothing about it since the websocket was reopened")
            if ending is None and state == "running":
                self._reopen("the reopened websocket may have been unregistered")
            return ending
        if quiet >= self._policy.silence_check_s:
            # A prompt deleted from the queue by someone else never gets a final frame (queue_delete_pending.json).
            return self._ask(f"nothing about it for {self._policy.silence_check_s:g} s")[0]
        return None

    def _handle(self, event: Event) -> Optional[Ending]:
        if isinstance(event, SocketLost):
            if self._prompt.outcome is not None:
                return Ending(self._prompt.outcome)
            log.warning("websocket to ComfyUI lost while prompt %s ran: %s", self._id, event.reason)
            self._reopen(event.reason)
            # Frames sent while the socket was down are lost for good (reconnect_mid_run.json): ask.
            return self._ask("the websocket was reopened")[0]
        if isinstance(event, QueueStatus):
            self._prompt.apply(event)
            return None
        prompt_id = getattr(event, "prompt_id", None)
        if prompt_id is None:
            if isinstance(event, InbandImage):
                self._heard()
                self._prompt.apply(event)
            return None  # NodeStarted without prompt_id comes on every reconnect: no proof the socket is live
        if prompt_id != self._id:
            return None
        self._heard()
        if isinstance(event, PromptFinished):
            if self._prompt.outcome is not None:
                return Ending(self._prompt.outcome, whole_stream=not self._reopened)
            return self._finished_without_outcome()
        if isinstance(event, PromptEnded):
            self._grace_until = self._clock() + self._policy.final_frame_grace_s
        self._prompt.apply(event)
        return None

    def _finished_without_outcome(self) -> Ending:
        """The final frame came after history was stored (ComfyUI's prompt_worker): only a failed question is retried."""
        for _ in range(self._policy.reconnect_attempts + 1):
            ending, state = self._ask("ComfyUI sent its final frame without an outcome")
            if ending is not None:
                return ending
            if state is not None:
                raise PromptLost(f"ComfyUI ended prompt {self._id} without saying how (it is {state})")
            self._wait_watching_comfyui("asking ComfyUI how the prompt ended")
        raise ComfyUnreachable(f"ComfyUI ended prompt {self._id} but could not be asked how")

    def _heard(self) -> None:
        self._heard_at = self._clock()
        self._deaf_checks = 0

    def _reopen(self, why: str) -> None:
        last: Optional[ComfyUnreachable] = None
        for attempt in range(1, self._policy.reconnect_attempts + 2):
            self._comfy.ensure_alive()
            try:
                self._stream.reopen(self._budget)
            except ComfyProcessDied:
                raise
            except ComfyUnreachable as exc:
                last = exc
                if attempt > self._policy.reconnect_attempts:
                    break
                log.warning(
                    "reopening the websocket (%s) failed: %s; retry %d of %d in %g s",
                    why,
                    exc,
                    attempt,
                    self._policy.reconnect_attempts,
                    self._policy.reconnect_delay_s,
                )
                self._wait_watching_comfyui("reconnecting to ComfyUI")
                continue
            log.info("websocket to ComfyUI reopened (%s)", why)
            self._reopened = True
            return
        raise ComfyUnreachable(
            f"cannot reopen the websocket to ComfyUI after {self._policy.reconnect_attempts} retries: {last}",
            replace_worker=True,
        )

    def _wait_watching_comfyui(self, doing: str) -> None:
        """The wait before asking ComfyUI again, ended by its process exiting (a stopping container closes the
        socket before ComfyUI is gone): the job fails then, not after the whole wait."""
        seconds = self._policy.reconnect_delay_s
        slices = math.ceil(seconds / self._policy.tick_s) if self._policy.tick_s > 0 else 1
        for _ in range(slices if seconds > 0 else 0):
            self._budget.sleep(seconds / slices, doing)
            self._comfy.ensure_alive()

    def _ask(self, why: str) -> tuple[Optional[Ending], Optional[str]]:
        """Ask `/queue` and `/history` what became of the prompt; a failed question is asked again later."""
        self._asked_at = self._clock()
        try:
            state = self._comfy.prompt_state(self._id, self._budget)
        except ComfyProcessDied:
            raise
        except ComfyError as exc:
            log.warning("asking ComfyUI about prompt %s (%s) failed: %s", self._id, why, exc)
            return None, None
        log.info("asked ComfyUI about prompt %s (%s): %s", self._id, why, state.state)
        return self._state_ending(state), state.state

    def _state_ending(self, state: PromptState) -> Optional[Ending]:
        if state.state == "lost":
            raise PromptLost(
                f"ComfyUI no longer knows prompt {self._id}: it was restarted, or the prompt was "
                "deleted from its queue, before the prompt finished"
            )
        if state.state == "finished" and state.history is not None:
            return Ending(state.history.outcome, state.history)
        if state.state == "running":
            self._asked_running = True
        elif state.state == "pending" and state.queue_position is not None:
            self._prompt.apply(QueueStatus(queue_remaining=state.queue_position + 1))
        return None
