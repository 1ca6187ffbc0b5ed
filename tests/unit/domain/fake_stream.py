"""Scripted fakes of the websocket ports: a stream that plays events and moves the fake clock on silence."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional

from domain.budget import Budget
from domain.errors import ComfyUnreachable
from domain.execution.events import Event
from unit.domain.fakes import Calls, FakeClock


@dataclass(frozen=True)
class Silence:
    """A script item: nothing arrives for `seconds` (of the fake clock)."""

    seconds: float


@dataclass(frozen=True)
class Do:
    """A script item: run `action` (set a stop flag, move the clock), then go on with the script."""

    action: Callable[[], None]


@dataclass(frozen=True)
class WaitUntil:
    """A script item: block (really, at most `timeout_s`) until `condition()` holds, or fail the test."""

    condition: Callable[[], bool]
    what: str
    timeout_s: float = 10.0


class ScriptedStream:
    """`EventStream` playing a script of events, None (nothing within the timeout), `Silence`, `Do`, `WaitUntil`.

    Each None moves the fake clock by the timeout asked for. Running out of script fails the test
    instead of hanging it. `reopen` is recorded and fails while `reopen_failures` has errors left.
    """

    def __init__(self, calls: Calls, clock: FakeClock, script: Iterable = (),
                 reopen_failures: Iterable[Exception] = ()) -> None:
        self.calls, self.clock = calls, clock
        self.script = list(script)
        self.reopen_failures = list(reopen_failures)
        self.reopens = 0
        self._silent_for = 0.0

    def next_event(self, timeout_s: float) -> Optional[Event]:
        while True:
            if not self.script:
                raise AssertionError("the stream's script ran out: the code under test kept waiting")
            item = self.script[0]
            if isinstance(item, Silence):
                if self._silent_for >= item.seconds:
                    self.script.pop(0)
                    self._silent_for = 0.0
                    continue
                self._silent_for += timeout_s
                self.clock.advance(timeout_s)
                return None
            self.script.pop(0)
            if isinstance(item, Do):
                item.action()
            elif isinstance(item, WaitUntil):
                waited = threading.Event()
                for _ in range(int(item.timeout_s / 0.01)):
                    if item.condition():
                        break
                    waited.wait(0.01)
                else:
                    raise AssertionError(f"gave up waiting for {item.what}")
            elif item is None:
                self.clock.advance(timeout_s)
                return None
            else:
                self.calls.append(("event", type(item).__name__))
                return item

    def reopen(self, budget: Budget) -> None:
        self.reopens += 1
        self.calls.append(("reopen",))
        if self.reopen_failures:
            raise self.reopen_failures.pop(0)


class ScriptedMonitor:
    """`ExecutionMonitor` handing out one `ScriptedStream`; can fail the first opens with `ComfyUnreachable`."""

    def __init__(self, calls: Calls, stream: ScriptedStream, open_failures: int = 0,
                 on_open: Optional[Callable[[], None]] = None) -> None:
        self.calls, self.stream = calls, stream
        self.open_failures = open_failures
        self.on_open = on_open

    @contextmanager
    def open(self, client_id: str, budget: Budget) -> Iterator[ScriptedStream]:
        self.calls.append(("open", client_id))
        if self.on_open is not None:
            self.on_open()
        if self.open_failures:
            self.open_failures -= 1
            raise ComfyUnreachable("connection refused")
        try:
            yield self.stream
        finally:
            self.calls.append(("close",))

    def close(self, client_id: str) -> None:
        self.calls.append(("forget", client_id))
