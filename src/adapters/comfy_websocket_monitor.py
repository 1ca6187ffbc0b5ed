"""Follows one client's ComfyUI execution over the websocket API (websocket-client)."""
from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

import websocket

from adapters.comfy_messages import outcome_from_frame
from domain.errors import ComfyUnreachable, ExecutionInterrupted, JobTimedOut, PromptLost
from domain.model import Outcome, Progress, PromptState
from domain.ports import ProgressCallback, StopCheck

log = logging.getLogger(__name__)

TERMINAL_FRAMES = ("execution_success", "execution_error", "execution_interrupted")
_CLOSED = (websocket.WebSocketConnectionClosedException, ConnectionError, OSError)


@dataclass(frozen=True)
class SocketPolicy:
    """How long to wait for what, and how often to reopen a dropped socket."""

    reconnect_attempts: int = 5
    reconnect_delay_s: float = 3.0
    connect_timeout_s: float = 10.0
    poll_s: float = 0.5
    final_frame_grace_s: float = 1.0
    silence_check_s: float = 60.0


class ComfyWebsocketMonitor:
    """Implements the `ExecutionMonitor` port."""

    def __init__(
        self,
        host: str,
        *,
        prompt_state: Callable[[str], PromptState],
        policy: SocketPolicy = SocketPolicy(),
        scheme: str = "ws",
        trace: bool = False,
    ) -> None:
        self._url = f"{scheme}://{host}/ws?clientId="
        self._prompt_state = prompt_state
        self._policy = policy
        if trace:
            websocket.enableTrace(True)

    @contextmanager
    def watch(self, client_id: str) -> Iterator["WebsocketExecution"]:
        execution = WebsocketExecution(self._url + client_id, self._prompt_state, self._policy)
        execution.connect(deadline=None)
        try:
            yield execution
        finally:
            execution.close()


class WebsocketExecution:
    """One socket for one client id, reopened with bounded retries when it drops."""

    def __init__(self, url: str, prompt_state: Callable[[str], PromptState], policy: SocketPolicy) -> None:
        self._url = url
        self._prompt_state = prompt_state
        self._p = policy
        self._socket: Optional[websocket.WebSocket] = None

    def connect(self, deadline: Optional[float]) -> None:
        last_error: Optional[BaseException] = None
        for attempt in range(1, self._p.reconnect_attempts + 2):
            try:
                self._socket = websocket.create_connection(self._url, timeout=self._p.connect_timeout_s)
                self._socket.settimeout(self._p.poll_s)
                if attempt > 1:
                    log.info("websocket to ComfyUI reopened on attempt %d", attempt)
                return
            except (websocket.WebSocketException, OSError) as exc:
                last_error = exc
                if attempt > self._p.reconnect_attempts:
                    break
                log.warning("websocket to ComfyUI failed (%s); retry %d of %d in %.1f s",
                            exc, attempt, self._p.reconnect_attempts, self._p.reconnect_delay_s)
                _sleep_until(deadline, self._p.reconnect_delay_s)
        raise ComfyUnreachable(
            f"cannot open the websocket {self._url.split('?')[0]} after {self._p.reconnect_attempts} retries: {last_error}"
        ) from last_error

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def wait(self, prompt_id: str, *, deadline: Optional[float], on_progress: ProgressCallback,
             should_stop: StopCheck) -> Outcome:
        terminal: Optional[Outcome] = None
        grace_until = float("inf")
        heard_at = time.monotonic()
        while True:
            if should_stop():
                raise ExecutionInterrupted(f"the job was cancelled while prompt {prompt_id} ran")
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                raise JobTimedOut(f"prompt {prompt_id} did not finish before the job's deadline")
            if terminal is not None and now >= grace_until:
                return terminal  # the final executing frame can be lost (ws_drop_before_final.json)
            if now - heard_at >= self._p.silence_check_s:
                # Nothing about our prompt for a while. A socket reopened before ComfyUI noticed the
                # old one closing can stay silent for good (ComfyUI then forgets the client id), and a
                # prompt deleted from the queue by someone else never gets a final frame
                # (queue_delete_pending.json): ask how the prompt is doing.
                heard_at = now
                outcome = self._state_outcome(prompt_id)
                if outcome is not None:
                    return outcome
            try:
                message = self._socket.recv()
                if message == "":
                    raise websocket.WebSocketConnectionClosedException("ComfyUI closed the websocket")
            except websocket.WebSocketTimeoutException:
                continue
            except _CLOSED as exc:
                if terminal is not None:
                    return terminal
                log.warning("websocket to ComfyUI lost while prompt %s ran: %s", prompt_id, exc or type(exc).__name__)
                recovered = self._recover(prompt_id, deadline)
                if recovered is not None:
                    return recovered
                continue
            frame = _parse(message)
            if frame is None:
                continue
            kind, data = frame
            if data.get("prompt_id") != prompt_id:
                continue  # other prompts, status broadcasts, reconnect's executing without prompt_id
            heard_at = time.monotonic()
            if kind == "executing" and data.get("node") is None:
                outcome = terminal or self._state_outcome(prompt_id)
                if outcome is None:
                    raise PromptLost(f"ComfyUI ended prompt {prompt_id} without a history entry")
                return outcome
            if kind in TERMINAL_FRAMES:
                terminal = outcome_from_frame(kind, data)
                grace_until = time.monotonic() + self._p.final_frame_grace_s
            elif kind == "progress":
                on_progress(Progress(prompt_id, _str(data.get("node")), int(data.get("value") or 0), int(data.get("max") or 0)))
            elif kind == "executing":
                log.debug("prompt %s executing node %s", prompt_id, data.get("node"))

    def _recover(self, prompt_id: str, deadline: Optional[float]) -> Optional[Outcome]:
        # Frames sent while the socket was down are lost for good: reopen first, then ask
        # /queue and /history what became of the prompt (reconnect_mid_run.json).
        self.close()
        self.connect(deadline)
        return self._state_outcome(prompt_id)

    def _state_outcome(self, prompt_id: str) -> Optional[Outcome]:
        state = self._prompt_state(prompt_id)
        if state.state == "lost":
            raise PromptLost(
                f"ComfyUI no longer knows prompt {prompt_id}: it was restarted, or the prompt was "
                "deleted from its queue, before the prompt finished"
            )
        return state.outcome


def _parse(message: Any) -> Optional[tuple[str, dict]]:
    if isinstance(message, bytes):
        return None  # binary previews (PROTOCOL.md fact 8) are not needed to follow execution
    try:
        frame = json.loads(message)
    except ValueError:
        log.debug("skipping a websocket frame that is not JSON")
        return None
    if not isinstance(frame, dict) or not isinstance(frame.get("data"), dict):
        return None
    return str(frame.get("type")), frame["data"]


def _sleep_until(deadline: Optional[float], delay_s: float) -> None:
    if deadline is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise JobTimedOut("the job's deadline passed while reconnecting to ComfyUI")
        delay_s = min(delay_s, remaining)
    time.sleep(delay_s)


def _str(value: Any) -> Optional[str]:
    return None if value is None else str(value)
