"""Hand-written in-memory fakes of every domain port."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional

from domain.errors import OutputFetchFailed, UploadFailed
from domain.model import Blob, InputImage, Outcome, OutputRef, Progress, Prompt, PromptState, StoredOutput


class FakeComfyApi:
    def __init__(self, calls: list, *, refs: tuple[OutputRef, ...] = (), reject: Optional[Exception] = None) -> None:
        self.calls = calls
        self.refs = refs
        self.reject = reject
        self.uploaded: dict[str, bytes] = {}
        self.queued: list[Prompt] = []
        self.cancelled: list[str] = []

    def wait_until_ready(self) -> None:
        self.calls.append("ready")

    def upload_image(self, image: InputImage) -> None:
        self.calls.append(f"upload {image.name}")
        self.uploaded[image.name] = image.data

    def queue_prompt(self, prompt: Prompt) -> str:
        self.calls.append("queue")
        if self.reject:
            raise self.reject
        self.queued.append(prompt)
        return prompt.id

    def prompt_state(self, prompt_id: str) -> PromptState:
        return PromptState("finished", Outcome("success"))

    def outputs(self, prompt_id: str) -> tuple[OutputRef, ...]:
        self.calls.append("outputs")
        return self.refs

    def cancel(self, prompt_id: str) -> None:
        self.calls.append("cancel")
        self.cancelled.append(prompt_id)


class ScriptedExecution:
    def __init__(self, monitor: "FakeExecutionMonitor") -> None:
        self.monitor = monitor

    def wait(self, prompt_id, *, deadline, on_progress, should_stop) -> Outcome:
        self.monitor.calls.append("wait")
        self.monitor.waited_for = prompt_id
        for progress in self.monitor.progress:
            on_progress(progress)
        if isinstance(self.monitor.result, Exception):
            raise self.monitor.result
        return self.monitor.result


class FakeExecutionMonitor:
    def __init__(self, calls: list, result=Outcome("success"), progress: tuple[Progress, ...] = ()) -> None:
        self.calls = calls
        self.result = result
        self.progress = progress
        self.waited_for: Optional[str] = None

    @contextmanager
    def watch(self, client_id: str) -> Iterator[ScriptedExecution]:
        self.calls.append("watch open")
        try:
            yield ScriptedExecution(self)
        finally:
            self.calls.append("watch closed")


class InMemoryImageSource:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files

    def fetch(self, ref: OutputRef) -> Blob:
        if ref.filename not in self.files:
            raise OutputFetchFailed(f"/view answered 404 for {ref.filename}")
        return Blob(self.files[ref.filename], "image/png")


class InMemoryImageSink:
    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.stored: dict[tuple[str, str], bytes] = {}
        self.refuse = refuse

    def store(self, job_id: str, ref: OutputRef, blob: Blob) -> StoredOutput:
        if ref.filename in self.refuse:
            raise UploadFailed(f"bucket refused {ref.filename}")
        self.stored[(job_id, ref.filename)] = blob.data
        return StoredOutput(ref=ref, type="memory", data=f"mem://{job_id}/{ref.filename}", content_type=blob.content_type)
