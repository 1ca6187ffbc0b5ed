"""The ports the use case drives; adapters and fakes implement them without inheriting."""
from __future__ import annotations

from typing import Callable, ContextManager, Optional, Protocol, Sequence

from domain.model import Blob, InputImage, Outcome, OutputRef, Progress, Prompt, PromptState, StoredOutput

ProgressCallback = Callable[[Progress], None]
StopCheck = Callable[[], bool]


class ComfyApi(Protocol):
    """ComfyUI's HTTP API.

    Every method raises `ComfyUnreachable` when ComfyUI cannot be reached.
    """

    def wait_until_ready(self) -> None:
        """Block until ComfyUI answers; raise `ComfyUnreachable` when it never will."""
        ...

    def upload_image(self, image: InputImage) -> None:
        """Store an input image under exactly its name; raise `InvalidInput` if ComfyUI refuses it."""
        ...

    def queue_prompt(self, prompt: Prompt) -> str:
        """Queue the prompt asking for its own id; return the id ComfyUI uses.

        Raises `WorkflowRejected` on a validation error (HTTP 400), `ComfyError` on any other refusal.
        """
        ...

    def prompt_state(self, prompt_id: str) -> PromptState:
        """Tell whether the prompt is pending or running, finished (with its outcome) or lost."""
        ...

    def outputs(self, prompt_id: str) -> Sequence[OutputRef]:
        """The prompt's output files from `/history`, in a stable order."""
        ...

    def cancel(self, prompt_id: str) -> None:
        """Remove the prompt if pending and interrupt it if running; best effort, never raises."""
        ...


class Execution(Protocol):
    """A live view of ComfyUI's execution events for one client id."""

    def wait(
        self,
        prompt_id: str,
        *,
        deadline: Optional[float],
        on_progress: ProgressCallback,
        should_stop: StopCheck,
    ) -> Outcome:
        """Block until the prompt ends and return how it ended.

        Raises `JobTimedOut` past the deadline (a `time.monotonic()` value),
        `ExecutionInterrupted` when `should_stop()` turns true, `PromptLost` when
        ComfyUI forgot the prompt, `ComfyUnreachable` when it cannot be reached again.
        """
        ...


class ExecutionMonitor(Protocol):
    """Opens an `Execution` before the prompt is queued, so no event is missed."""

    def watch(self, client_id: str) -> ContextManager[Execution]:
        """Connect for `client_id`; the connection closes when the context exits."""
        ...


class ImageSource(Protocol):
    """Where output bytes come from."""

    def fetch(self, ref: OutputRef) -> Blob:
        """Return the output's bytes; raise `OutputFetchFailed` when they cannot be had."""
        ...


class ImageSink(Protocol):
    """Where output bytes go."""

    def store(self, job_id: str, ref: OutputRef, blob: Blob) -> StoredOutput:
        """Keep the bytes and say where; raise `UploadFailed` when they cannot be kept."""
        ...
