"""Hand-written in-memory fakes of every domain port, sharing one call log and one fake clock."""
from __future__ import annotations

import base64
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional, Union

from domain.budget import Budget
from domain.errors import ComfyUnreachable, OutputFetchFailed, UploadFailed
from domain.events import Event
from domain.model import Download, Outcome, OutputRef, Prompt, PromptHistory, PromptState


class FakeClock:
    """Monotonic seconds that move only when a fake says so; safe to read from delivery threads."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class Calls(list):
    """The shared, ordered log of what every fake was asked (tuples: the name first)."""

    def names(self) -> list[str]:
        return [call[0] for call in self]

    def of(self, name: str) -> list[tuple]:
        return [call for call in self if call[0] == name]


class FakeComfy:
    """`ComfyApi`: scripted prompt states and history, failures per method, hooks run when a method is called."""

    def __init__(self, calls: Calls, *, states: Iterable[Union[PromptState, Exception]] = (),
                 history: Optional[PromptHistory] = None, version: Optional[str] = "0.8.2") -> None:
        self.calls = calls
        self.version = version
        self.states = list(states)
        self.history_entry = history if history is not None else PromptHistory(Outcome("success"))
        self.failures: dict[str, list[Exception]] = {}
        self.hooks: dict[str, Callable[[], None]] = {}
        self.uploaded: dict[str, bytes] = {}
        self.queued: list[Prompt] = []
        self.cancelled: list[str] = []

    def fail(self, method: str, error: Exception, times: int = 1) -> "FakeComfy":
        self.failures.setdefault(method, []).extend([error] * times)
        return self

    def _called(self, method: str, budget: Optional[Budget], *record) -> None:
        self.calls.append((method, *record))
        if method in self.hooks:
            self.hooks[method]()
        if budget is not None:
            budget.check(method)
        if self.failures.get(method):
            raise self.failures[method].pop(0)

    def wait_until_ready(self, budget: Budget, *, recheck: bool = False) -> None:
        self._called("ready", budget, recheck)

    def ensure_alive(self) -> None:
        self._called("alive", None)

    def upload_input(self, name: str, data: bytes, budget: Budget) -> None:
        self._called("upload", budget, name)
        self.uploaded[name] = data

    def queue_prompt(self, prompt: Prompt, budget: Budget) -> None:
        self._called("queue", budget, prompt.id, prompt.client_id)
        self.queued.append(prompt)

    def prompt_state(self, prompt_id: str, budget: Budget) -> PromptState:
        self._called("state", budget, prompt_id)
        if not self.states:
            raise AssertionError(f"prompt_state({prompt_id}) was not expected")
        state = self.states.pop(0)
        if isinstance(state, Exception):
            raise state
        return state

    def history(self, prompt_id: str, budget: Budget) -> PromptHistory:
        self._called("history", budget, prompt_id)
        return self.history_entry

    def cancel(self, prompt_id: str) -> None:
        self.calls.append(("cancel", prompt_id))
        self.cancelled.append(prompt_id)


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


class InMemorySource:
    """`ImageSource` over files by name, served in chunks; a missing name is `OutputFetchFailed`."""

    def __init__(self, calls: Calls, files: dict[str, bytes], *, chunk_size: int = 3,
                 content_types: Optional[dict[str, str]] = None,
                 on_open: Optional[Callable[[OutputRef], None]] = None) -> None:
        self.calls, self.files, self.chunk_size = calls, files, chunk_size
        self.content_types = content_types or {}
        self.on_open = on_open

    @contextmanager
    def open(self, ref: OutputRef, budget: Budget) -> Iterator[Download]:
        self.calls.append(("fetch", ref.filename))
        if self.on_open is not None:
            self.on_open(ref)
        if ref.filename not in self.files:
            raise OutputFetchFailed(f"/view answered 404 for {ref.filename}")
        data = self.files[ref.filename]
        chunks = (data[i:i + self.chunk_size] for i in range(0, len(data), self.chunk_size))
        yield Download(self.content_types.get(ref.filename, "image/png"), iter(chunks), len(data))


class InMemorySink:
    """`ImageSink` keeping bytes by file name; kind "base64" returns real base64, other kinds a fake URL."""

    def __init__(self, calls: Optional[Calls] = None, *, kind: str = "memory", refuse: tuple[str, ...] = ()) -> None:
        self.calls = calls if calls is not None else Calls()
        self.kind = kind
        self.refuse = refuse
        self.stored: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        self._lock = threading.Lock()

    def has(self, filename: str) -> bool:
        with self._lock:
            return filename in self.stored

    def store(self, job_id: str, filename: str, content_type: str, chunks: Iterable[bytes], budget: Budget) -> str:
        self.calls.append(("store", filename))
        if filename in self.refuse:
            raise UploadFailed(f"bucket refused {filename}")
        data = b""
        for chunk in chunks:
            budget.check(f"storing {filename}")
            data += chunk
        with self._lock:
            self.stored[filename] = data
            self.content_types[filename] = content_type
        if self.kind == "base64":
            return base64.b64encode(data).decode("ascii")
        return f"{self.kind}://{job_id}/{filename}"


class FakeConverter:
    """`ImageConverter` that tags the bytes with the target format, so tests can see what was converted."""

    def __init__(self) -> None:
        self.converted: list[tuple[bytes, str, Optional[int]]] = []

    def convert(self, data: bytes, image_format: str, quality: Optional[int]) -> bytes:
        self.converted.append((data, image_format, quality))
        return f"{image_format}:{quality}:".encode() + data
