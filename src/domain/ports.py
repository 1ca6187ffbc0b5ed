"""The ports the use case drives; adapters and fakes implement them without inheriting."""

from __future__ import annotations

from typing import Any, ContextManager, Iterable, Mapping, Optional, Protocol

from domain.budget import Budget
from domain.execution.events import Event
from domain.model import (
    Download,
    OutputFailure,
    OutputRef,
    Prompt,
    PromptHistory,
    PromptState,
    StoredOutput,
    TextOutput,
)


class ComfyApi(Protocol):
    """ComfyUI's HTTP API.

    Every method raises `ComfyUnreachable` when ComfyUI cannot be reached (`ComfyProcessDied` when
    its process is known to be gone), `ComfyError` when it answers something unexpected, and
    `Cancelled` / `JobTimedOut` from the budget. `version` is ComfyUI's, once it answered.
    """

    version: Optional[str]

    def wait_until_ready(self, budget: Budget, *, recheck: bool = False) -> None:
        """Block until ComfyUI answers (at once when it answered before, unless `recheck`)."""
        ...

    def ensure_alive(self) -> None:
        """Raise `ComfyProcessDied` when ComfyUI's process is known to be gone."""
        ...

    def upload_input(self, name: str, data: bytes, budget: Budget) -> None:
        """Store an input file under exactly its name, never replacing a file already there (`ComfyError` when
        ComfyUI stored it under another name); `InvalidInput` if ComfyUI refuses the file itself."""
        ...

    def queue_prompt(self, prompt: Prompt, budget: Budget) -> Optional[float]:
        """Queue the prompt under its own id and return ComfyUI's queue number for it (None when its answer had
        none); `WorkflowRejected` (or a child) on a validation error."""
        ...

    def prompt_state(self, prompt_id: str, budget: Budget) -> PromptState:
        """Whether the prompt is pending, running, finished (with its history) or lost."""
        ...

    def history(self, prompt_id: str, budget: Budget) -> PromptHistory:
        """The finished prompt's outcome and outputs from `/history`, the source of truth."""
        ...

    def object_info(self, budget: Budget, *, refresh: bool = False) -> Mapping[str, Any]:
        """ComfyUI's `/object_info`: every node class it knows and their inputs (cached unless `refresh`)."""
        ...

    def cancel(self, prompt_id: str) -> None:
        """Remove the prompt if pending and interrupt it if running; best effort, never raises."""
        ...


class EventStream(Protocol):
    """One client id's execution events, from a socket opened before the prompt is queued."""

    def next_event(self, timeout_s: float) -> Optional[Event]:
        """The next event, or None when nothing came within `timeout_s`.

        A socket that closed or stopped answering pings yields `SocketLost` once; after that,
        call `reopen`.
        """
        ...

    def reopen(self, budget: Budget) -> None:
        """One attempt to open the socket again with the same client id; `ComfyUnreachable` if it fails."""
        ...


class ExecutionMonitor(Protocol):
    """Opens an `EventStream` for a client id, which tells of every output, whatever its kind; the socket is kept
    for the client id's next job when the context exits."""

    def open(self, client_id: str, budget: Budget) -> ContextManager[EventStream]: ...

    def close(self, client_id: str) -> None:
        """Close the socket kept open for `client_id`'s next job: no job will use that client id again."""


class ImageSource(Protocol):
    """Where output bytes come from (ComfyUI's `/view`): any file an output node saved, not only images."""

    def open(self, ref: OutputRef, budget: Budget) -> ContextManager[Download]:
        """The output's bytes as chunks; `OutputFetchFailed` when they cannot be had or arrive cut short."""
        ...


class ImageSink(Protocol):
    """Where output bytes go, a file of any kind (image, video, audio, latent, mesh): the design card's name.
    `entry_type` is the `type` of the entries it makes (`base64`, `s3_url`)."""

    entry_type: str

    def store(self, job_id: str, filename: str, content_type: str, chunks: Iterable[bytes], budget: Budget) -> str:
        """Keep the bytes and return the entry's `data` (base64 text or a URL); `UploadFailed` if it cannot."""
        ...


class ImageConverter(Protocol):
    """Re-encodes still images for `input.output_format`."""

    def convert(self, data: bytes, image_format: str, quality: Optional[int]) -> bytes:
        """The image in `image_format` (png, jpeg, webp); `InvalidInput` if `data` is not a still image,
        `OutputNotConverted` if it has more pixels than the adapter decodes (told from its header, before decoding)."""
        ...


class InputFetcher(Protocol):
    """Downloads input files given by URL."""

    def fetch(self, url: str, budget: Budget, max_bytes: Optional[int] = None) -> bytes:
        """The body, at most the adapter's size cap and `max_bytes` (what the job's total allows); `InvalidInput` for a
        URL that is refused (scheme, address, size cap) before the bytes are held, `InputFetchFailed` when the
        download fails or outlasts the adapter's own deadline. Never puts credentials or query strings in errors."""
        ...


class AnswerFormat(Protocol):
    """What the job's answer spends on each thing it carries: the wire format is the entrypoint's, the size limit
    the use case's, so the use case asks."""

    def output_bytes(self, out: StoredOutput) -> int:
        """One output's entry, `data` included."""

    def text_bytes(self, text: TextOutput) -> int:
        """One text's entry."""

    def failure_bytes(self, failure: OutputFailure) -> int:
        """One line of `errors`."""


class JobFileCleaner(Protocol):
    """Deletes what a job left in ComfyUI's folders once it ended; never raises, never touches other folders."""

    def remove(self, folder: str, files: Iterable[OutputRef]) -> None:
        """Delete the job's own `folder` in each of ComfyUI's folders, and `files` (outside it)."""
