"""Reads one client's ComfyUI websocket (websocket-client) as domain events, and reopens it when told."""

from __future__ import annotations

import json
import logging
import select
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Optional

import websocket
from websocket import ABNF

from adapters.comfy_frames import decode_binary, decode_text
from domain.budget import Budget
from domain.errors import ComfyUnreachable
from domain.execution.events import Event, SocketLost

log = logging.getLogger(__name__)

# save_image_websocket_metadata.json: with this first message, images come as type 4 frames that
# name their node and prompt.
FEATURE_FLAGS = json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}})
_CLOSED = (websocket.WebSocketConnectionClosedException, websocket.WebSocketProtocolException, OSError)


class ComfyWebsocketMonitor:
    """Implements the `ExecutionMonitor` port; a socket is kept open between jobs of the same client id."""

    def __init__(
        self,
        host: str,
        *,
        connect_timeout_s: float = 10.0,
        ping_interval_s: float = 5.0,
        pong_timeout_s: float = 5.0,
        scheme: str = "ws",
        trace: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = f"{scheme}://{host}/ws?clientId="
        self._connect_timeout_s = connect_timeout_s
        self._ping_interval_s = ping_interval_s
        self._pong_timeout_s = pong_timeout_s
        self._clock = clock
        self._idle: dict[str, WebsocketStream] = {}
        self._lock = threading.Lock()
        if trace:
            websocket.enableTrace(True)

    @contextmanager
    def open(self, client_id: str, budget: Budget) -> Iterator[WebsocketStream]:
        with self._lock:
            stream = self._idle.pop(client_id, None)
        if stream is None or not stream.drain():
            stream = WebsocketStream(
                self._url + client_id,
                self._connect_timeout_s,
                self._ping_interval_s,
                self._pong_timeout_s,
                clock=self._clock,
            )
            stream.reopen(budget)
        try:
            yield stream
        finally:
            if stream.is_open:
                with self._lock:
                    self._idle[client_id] = stream

    def close(self, client_id: Optional[str] = None) -> None:
        """Close the socket kept for `client_id` (no job will use it again), or every socket kept."""
        with self._lock:
            if client_id is None:
                streams, self._idle = list(self._idle.values()), {}
            else:
                streams = [stream] if (stream := self._idle.pop(client_id, None)) else []
        for stream in streams:
            stream.close()


class WebsocketStream:
    """One socket for one client id; a silent peer is found out by a ping that gets no pong."""

    def __init__(
        self,
        url: str,
        connect_timeout_s: float,
        ping_interval_s: float,
        pong_timeout_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._clock = clock
        self._connect_timeout_s = connect_timeout_s
        self._ping_interval_s = ping_interval_s
        self._pong_timeout_s = pong_timeout_s
        self._socket: Optional[websocket.WebSocket] = None
        self._heard_at = 0.0
        self._ping_sent_at: Optional[float] = None

    def reopen(self, budget: Budget) -> None:
        self.close()
        try:
            # Frames are JSON read with errors="replace": websocket-client's pure-Python UTF-8 check is not needed.
            sock = websocket.create_connection(
                self._url, timeout=budget.timeout(self._connect_timeout_s, "connecting"), skip_utf8_validation=True
            )
            sock.send(FEATURE_FLAGS)
        except (websocket.WebSocketException, OSError) as exc:
            raise ComfyUnreachable(f"cannot open the websocket {self._url.split('?')[0]}: {exc}") from exc
        self._socket = sock
        self._heard_at, self._ping_sent_at = self._clock(), None

    @property
    def is_open(self) -> bool:
        return self._socket is not None

    def drain(self) -> bool:
        """Drop the frames that came while no job listened (other prompts, status); False if the socket is gone."""
        while self._socket is not None:
            raw = self._socket.sock
            readable, _, _ = select.select([raw], [], [], 0) if raw is not None else ([], [], [])
            if not readable:
                return True
            if isinstance(self.next_event(1.0), SocketLost):
                return False
        return False

    def close(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close(timeout=0.2)
            except Exception:  # closing a broken socket can fail in many ways; it is gone either way
                pass
            self._socket = None

    def next_event(self, timeout_s: float) -> Optional[Event]:
        if self._socket is None:
            return SocketLost("the websocket is closed")
        now = self._clock()
        lost = self._keep_alive(now)
        if lost is not None:
            return lost
        wait = min(timeout_s, self._next_ping_due(now) - now)
        self._socket.settimeout(max(0.001, wait))
        try:
            opcode, frame = self._socket.recv_data_frame(control_frame=True)
        except websocket.WebSocketTimeoutException:
            return None
        except _CLOSED as exc:
            return self._lost(f"{type(exc).__name__}: {exc}")
        self._heard_at, self._ping_sent_at = self._clock(), None
        if opcode == ABNF.OPCODE_CLOSE:
            return self._lost("ComfyUI closed the websocket")
        if opcode == ABNF.OPCODE_TEXT:
            data = frame.data
            return decode_text(data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data)
        if opcode == ABNF.OPCODE_BINARY:
            return decode_binary(frame.data)
        return None

    def _keep_alive(self, now: float) -> Optional[SocketLost]:
        assert self._socket is not None
        if self._ping_sent_at is not None:
            if now - self._ping_sent_at >= self._pong_timeout_s:
                return self._lost(f"no answer to a websocket ping for {self._pong_timeout_s:g} s")
        elif now - self._heard_at >= self._ping_interval_s:
            try:
                self._socket.ping()
            except _CLOSED as exc:
                return self._lost(f"{type(exc).__name__}: {exc}")
            self._ping_sent_at = now
        return None

    def _next_ping_due(self, now: float) -> float:
        if self._ping_sent_at is not None:
            return self._ping_sent_at + self._pong_timeout_s
        return self._heard_at + self._ping_interval_s

    def _lost(self, reason: str) -> SocketLost:
        self.close()
        return SocketLost(reason)
