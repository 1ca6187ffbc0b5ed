"""Hand-written in-memory fakes of the HTTP-side ports, a shared call log and a fake clock (streams: fake_stream)."""
from __future__ import annotations

import base64
import json
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Union

from domain.budget import Budget
from domain.errors import OutputFetchFailed, UploadFailed
from domain.execution.acceptance import QueuedPrompt
from domain.inputs.model_requests import BytesListener, ModelPlan, ModelReady, ModelRequest
from domain.model import (
    Download,
    JobResult,
    Outcome,
    OutputFailure,
    OutputFormat,
    OutputRef,
    Prompt,
    PromptHistory,
    PromptState,
    StoredOutput,
    TextOutput,
)


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
        self.classes: dict[str, Any] = {}  # what /object_info answers
        self.folders: list[str] = ["checkpoints", "loras", "vae", "custom_nodes"]  # what /models answers
        self.acceptance = QueuedPrompt()  # what POST /prompt answers: its number and the outputs it dropped
        self.replacements: dict[str, Any] = {}  # what /node_replacements answers

    def fail(self, method: str, error: Exception, times: int = 1) -> FakeComfy:
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

    def queue_prompt(self, prompt: Prompt, budget: Budget) -> QueuedPrompt:
        self._called("queue", budget, prompt.id, prompt.client_id)
        self.queued.append(prompt)
        return self.acceptance

    def object_info(self, budget: Budget, *, refresh: bool = False) -> Mapping[str, Any]:
        self._called("object_info", budget, refresh)
        return self.classes

    def model_folders(self, budget: Budget) -> list[str]:
        self._called("model_folders", budget)
        return self.folders

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

    def node_replacements(self, budget: Budget) -> Mapping[str, Any]:
        self._called("node_replacements", budget)
        return self.replacements

    def cancel(self, prompt_id: str) -> None:
        self.calls.append(("cancel", prompt_id))
        self.cancelled.append(prompt_id)


class FakeModelStore:
    """`ModelStore` over file names by folder: a file there is `cached`; another is `downloaded` in `pieces` progress
    reports of `size` bytes in all (the clock moves a second per piece), or fails with the error set for its name."""

    def __init__(self, calls: Calls, clock: Optional[FakeClock] = None, *, present: Iterable[str] = (),
                 size: int = 300, pieces: int = 3) -> None:
        self.calls, self.clock = calls, clock
        self.present = set(present)  # "folder/name"
        self.size, self.pieces = size, pieces
        self.failures: dict[str, Exception] = {}  # "folder/name" -> what ensure raises
        self.held: list[str] = []  # files in use now

    @staticmethod
    def label(request: ModelRequest) -> str:
        return f"{request.folder}/{request.name}"

    def plan(self, request: ModelRequest) -> ModelPlan:
        self.calls.append(("plan", self.label(request)))
        if self.label(request) in self.failures:
            raise self.failures[self.label(request)]
        return "present" if self.label(request) in self.present else "fetch"

    def ensure(self, request: ModelRequest, budget: Budget, on_progress: BytesListener) -> ModelReady:
        label = self.label(request)
        self.calls.append(("ensure", label))
        budget.check(f"model {label}")
        if label in self.failures:
            raise self.failures[label]
        if label in self.present:
            return ModelReady(request, "cached", self.size, 0.0)
        for piece in range(self.pieces + 1):
            on_progress(self.size * piece // self.pieces, self.size)
            if self.clock is not None and piece < self.pieces:
                self.clock.advance(1.0)
        self.present.add(label)
        return ModelReady(request, "downloaded", self.size, float(self.pieces), self.size)

    @contextmanager
    def in_use(self, requests: Iterable[ModelRequest]) -> Iterator[None]:
        labels = [self.label(request) for request in requests]
        self.calls.append(("in_use", *labels))
        self.held += labels
        try:
            yield
        finally:
            self.calls.append(("released", *labels))
            for label in labels:
                self.held.remove(label)


class InMemorySource:
    """`OutputSource` over files by name, served in chunks; a missing name is `OutputFetchFailed`."""

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
    """`OutputSink` keeping bytes by file name; an inline one answers real base64, the others a fake URL."""

    def __init__(self, calls: Optional[Calls] = None, *, inline: bool = False, name: str = "memory",
                 refuse: tuple[str, ...] = ()) -> None:
        self.calls = calls if calls is not None else Calls()
        self.inline, self.name = inline, name
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
        if self.inline:
            return base64.b64encode(data).decode("ascii")
        return f"{self.name}://{job_id}/{filename}"


class FakeConverter:
    """`ImageConverter` that tags the bytes with the target format, so tests can see what was converted."""

    def __init__(self) -> None:
        self.converted: list[tuple[bytes, str, Optional[int]]] = []

    def convert(self, data: bytes, target: OutputFormat) -> bytes:
        self.converted.append((data, target.format, target.quality))
        return f"{target.format}:{target.quality}:".encode() + data


class FakeAnswerFormat:
    """`AnswerFormat` of a plain JSON answer of the fake's own: an entry per output, text and error line, each
    sized as its compact JSON (`result_bytes` is what `answer` makes)."""

    @staticmethod
    def _size(value: Any) -> int:
        return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))

    @staticmethod
    def entry(out: StoredOutput) -> dict:
        return {"filename": out.filename, "inline": out.inline, "value": out.value, "node_id": out.ref.node_id,
                "content_type": out.content_type, "size_bytes": out.size_bytes, "sha256": out.sha256}

    def output_bytes(self, out: StoredOutput) -> int:
        return self._size(self.entry(out)) + 1

    def text_bytes(self, text: TextOutput) -> int:
        return self._size({"node_id": text.node_id, "text": text.text}) + 1

    def failure_bytes(self, failure: OutputFailure) -> int:
        return self._size(str(failure)) + 1

    def answer(self, result: JobResult) -> dict:
        return {"outputs": [self.entry(out) for out in result.outputs],
                "texts": [{"node_id": t.node_id, "text": t.text} for t in result.texts],
                "errors": [str(f) for f in result.failures]}

    def result_bytes(self, result: JobResult) -> int:
        return self._size(self.answer(result))
