"""The ports the use case drives; adapters and fakes implement them without inheriting."""

from __future__ import annotations

from typing import Any, ContextManager, Iterable, Mapping, Optional, Protocol, Sequence

from domain.budget import Budget
from domain.execution.acceptance import QueuedPrompt
from domain.execution.events import Event
from domain.inputs.model_requests import BytesListener, ModelPlan, ModelReady, ModelRequest
from domain.model import (
    Download,
    JobResult,
    OutputFailure,
    OutputFormat,
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

    def queue_prompt(self, prompt: Prompt, budget: Budget) -> QueuedPrompt:
        """Queue the prompt under its own id: ComfyUI's queue number for it (None when its answer had none) and the
        output nodes it dropped for failing validation (it runs the others); `WorkflowRejected` (or a child) when it
        refused the prompt."""
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

    def model_folders(self, budget: Budget) -> Sequence[str]:
        """ComfyUI's model folder names (`GET /models`: checkpoints, loras, ..., and custom_nodes), read once."""

    def node_replacements(self, budget: Budget) -> Mapping[str, Any]:
        """ComfyUI's `GET /node_replacements` (0.14.0+): each retired class with the replacements it rewrites it as
        before validating a prompt; empty on a ComfyUI without them."""
        ...

    def cancel(self, prompt_id: str) -> None:
        """Remove the prompt if pending and interrupt it if running, never another prompt; best effort, never
        raises."""
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


class OutputSource(Protocol):
    """Where output bytes come from (ComfyUI's `/view`): any file an output node saved, not only images."""

    def open(self, ref: OutputRef, budget: Budget) -> ContextManager[Download]:
        """The output's bytes as chunks; `OutputFetchFailed` when they cannot be had or arrive cut short."""
        ...


class OutputSink(Protocol):
    """Where output bytes go, a file of any kind (image, video, audio, latent, mesh). `inline`: the answer carries
    what it stores (the bytes as base64) and counts against the answer's size; otherwise it stores the bytes
    elsewhere and the answer carries where (a URL). `name` says which store it is, for the logs."""

    inline: bool
    name: str

    def store(self, job_id: str, filename: str, content_type: str, chunks: Iterable[bytes], budget: Budget) -> str:
        """Keep the bytes and return the output's value in the answer (base64 text or a URL); `UploadFailed` if it
        cannot."""
        ...


class ImageConverter(Protocol):
    """Re-encodes still images for `input.output_format`."""

    def convert(self, data: bytes, target: OutputFormat) -> bytes:
        """The image in the `target` format (validated when the request was read); `InvalidInput` if `data` is not
        a still image, `OutputNotConverted` if it has more pixels than the adapter decodes (told from its header,
        before decoding)."""
        ...


class InputReader(Protocol):
    """The bytes of one kind of input file (the `source` of an `InputFile`): one reader per kind, registered by the
    composition root. Inline bytes need none; a URL needs a download."""

    def read(self, source: Any, budget: Budget, max_bytes: int) -> bytes:
        """At most `max_bytes` (what the job's total allows, and the reader's own cap); `InvalidInput` for a source
        that is refused before its bytes are held, `InputFetchFailed` when they cannot be had. Never puts
        credentials or query strings in errors."""
        ...


class AnswerFormat(Protocol):
    """What the job's answer spends on each thing it carries: the wire format is the entrypoint's, the size limit
    the use case's, so the use case asks."""

    def output_bytes(self, out: StoredOutput) -> int:
        """One output's entry, its value included."""

    def text_bytes(self, text: TextOutput) -> int:
        """One text's entry."""

    def failure_bytes(self, failure: OutputFailure) -> int:
        """One line of `errors`."""

    def result_bytes(self, result: JobResult) -> int:
        """The whole answer to `result`, as the entrypoint would send it."""


class JobFileCleaner(Protocol):
    """Deletes what a job left in ComfyUI's folders once it ended; never raises, never touches other folders."""

    def remove(self, folder: str, files: Iterable[OutputRef]) -> None:
        """Delete the job's own `folder` in each of ComfyUI's folders, and `files` (outside it)."""


class ModelStore(Protocol):
    """Makes model files available in ComfyUI's model folders, downloading each one once for every job and worker
    that shares the folder.

    A job enters `in_use(requests)` before `ensure` and stays in it until ComfyUI is done with the files, so that
    the cache's eviction never deletes them. Messages name the model and its URL without credentials or query."""

    def plan(self, request: ModelRequest) -> ModelPlan:
        """Whether the file is `present` or would be fetched; nothing is downloaded. `InvalidInput` for a refused
        folder, name or URL, or a conflict: the name is taken by a file from another URL or with another sha256;
        `ModelDownloadFailed` when the folder cannot take a download (ComfyUI would not see it there)."""
        ...

    def ensure(self, request: ModelRequest, budget: Budget, on_progress: BytesListener) -> ModelReady:
        """The file in place, downloaded when missing (or waited for, when another job downloads it).

        Raises `InvalidInput` as `plan` does, `ModelDownloadFailed`, and the budget's `Cancelled` / `JobTimedOut`
        (an interrupted download resumes where it stopped when the same URL is asked for again)."""
        ...

    def in_use(self, requests: Iterable[ModelRequest]) -> ContextManager[None]:
        """Held while the job needs the files: eviction skips them, in this process and in others."""
        ...


# The design card's names: the ports that move outputs carry any file, not only images.
ImageSource = OutputSource
ImageSink = OutputSink
