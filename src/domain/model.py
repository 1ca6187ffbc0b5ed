"""Value objects of one job: its command, the prompt sent to ComfyUI, outcomes, outputs and the verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Iterator, Literal, Mapping, Optional, Union

from domain.errors import WorkerError
from domain.inputs.model_requests import ModelPlanned, ModelReady, ModelRequest

OutcomeStatus = Literal["success", "error", "interrupted"]


@dataclass(frozen=True)
class InputFile:
    """A file the job uploads to ComfyUI before queueing: its name, and where its bytes come from (`source`, a value
    of one input kind, which the use case hands to that kind's `InputReader`)."""

    name: str
    source: object = field(repr=False)


@dataclass(frozen=True)
class InlineFile:
    """An input kind: the bytes themselves, carried in the request."""

    data: bytes = field(repr=False)


@dataclass(frozen=True)
class FileUrl:
    """An input kind: a URL to download the bytes from."""

    described: ClassVar[str] = "a URL"
    url: str = field(repr=False)


@dataclass(frozen=True)
class OutputFormat:
    """`input.output_format`, validated once: still images are re-encoded to this before delivery."""

    format: Literal["png", "jpeg", "webp"]
    quality: Optional[int] = None


@dataclass(frozen=True)
class RunWorkflow:
    """The command a request is parsed into: the workflow to run, the files to upload first, the model files to make
    available first (`input.models`), and how to answer."""

    workflow: Mapping[str, Any] = field(repr=False)  # API format, or the editor's UI format when `ui`
    inputs: tuple[InputFile, ...] = ()
    comfy_org_api_key: Optional[str] = field(default=None, repr=False)
    ui: bool = False  # `workflow` is a UI export: converted against /object_info before it is queued
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    include_temp: bool = False
    output_format: Optional[OutputFormat] = None
    validate_only: bool = False
    models: tuple[ModelRequest, ...] = ()


@dataclass(frozen=True)
class Prompt:
    """A workflow addressed to ComfyUI with ids we chose ourselves."""

    id: str
    client_id: str
    workflow: Mapping[str, Any] = field(repr=False)
    extra_data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)


@dataclass(frozen=True)
class Job:
    """One unit of work: who asked (job id) and what to run."""

    id: str
    command: RunWorkflow
    prompt: Prompt


@dataclass(frozen=True)
class Outcome:
    """How ComfyUI says the prompt ended."""

    status: OutcomeStatus
    node_id: Optional[str] = None
    node_type: Optional[str] = None
    exception_type: str = ""
    message: str = ""
    report: Mapping[str, Any] = field(default_factory=dict, repr=False)  # ComfyUI's facts: traceback, node, ...


@dataclass(frozen=True)
class OutputRef:
    """A file ComfyUI produced, addressed the way `/view` wants it (`filename`, `subfolder`, and `folder_type`, the
    `type` of `/view`: output, temp, input); `output_key` is its key in the node's output (images, audio, ...)."""

    node_id: str
    output_key: str
    filename: str
    subfolder: str = ""
    folder_type: str = "output"
    animated: bool = False


@dataclass(frozen=True)
class TextOutput:
    """A string an output node showed (`text` in its output, e.g. PreviewAny)."""

    node_id: str
    text: str = field(repr=False)


@dataclass(frozen=True)
class PromptHistory:
    """A finished prompt's `/history` entry: outcome, outputs and ComfyUI's own timestamps (ms)."""

    outcome: Outcome
    files: tuple[OutputRef, ...] = ()
    texts: tuple[TextOutput, ...] = ()
    started_ms: Optional[int] = None
    ended_ms: Optional[int] = None
    cached_nodes: Optional[tuple[str, ...]] = None  # served from ComfyUI's cache; None when the entry does not say


@dataclass(frozen=True)
class PromptState:
    """What ComfyUI knows of a prompt when the live frames were missed."""

    state: Literal["pending", "running", "finished", "lost"]
    history: Optional[PromptHistory] = None
    queue_position: Optional[int] = None


@dataclass
class Download:
    """An output being fetched: its media type, its length when known, and its bytes as chunks."""

    content_type: str
    chunks: Iterator[bytes] = field(repr=False)
    length: Optional[int] = None


@dataclass(frozen=True)
class StoredOutput:
    """One delivered file: where it came from, what it is now, and its `value` in the answer: the bytes themselves
    (`inline`, as base64 text) or where they were stored (a URL)."""

    ref: OutputRef
    filename: str
    inline: bool
    value: str = field(repr=False)
    content_type: str = "application/octet-stream"
    size_bytes: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class OutputFailure:
    """One output that could not be returned, and why: a file (its `ref`), or an output node that never ran (a `ref`
    with no filename, its message naming the node)."""

    ref: OutputRef
    code: str
    message: str

    def __str__(self) -> str:
        if not self.ref.filename:
            return f"{self.code}: {self.message}"
        return f"{self.code}: {self.ref.filename} (node {self.ref.node_id}): {self.message}"


JobStatus = Literal["ok", "partial", "failed"]


@dataclass(frozen=True)
class JobResult:
    """The verdict on a job that ran (or could not): what it delivered, and the error that ended it, if one did.

    `status` is `ok` (no error), `partial` (an error cut the job short after it delivered outputs or texts: they
    are the answer, the error beside them, as worker-comfyui 5.x answers) or `failed` (an error, nothing to
    answer). `replace_worker` is the error's: the worker cannot be trusted with another job.
    """

    outputs: tuple[StoredOutput, ...] = ()
    texts: tuple[TextOutput, ...] = ()
    failures: tuple[OutputFailure, ...] = ()
    timings_ms: Mapping[str, int] = field(default_factory=dict)
    comfyui_version: Optional[str] = None
    error: Optional[WorkerError] = None
    models: tuple[ModelReady, ...] = ()  # the model files made available before the prompt was queued

    @property
    def status(self) -> JobStatus:
        if self.error is None:
            return "ok"
        return "partial" if self.outputs or self.texts else "failed"

    @property
    def replace_worker(self) -> bool:
        return self.error is not None and self.error.replace_worker


def failed(error: WorkerError) -> JobResult:
    """The verdict on a job that ended with `error` and nothing to answer."""
    return JobResult(error=error)


@dataclass(frozen=True)
class WorkflowChecked:
    """A dry run's verdict: the workflow is valid on this ComfyUI (the model files a run would download counted as
    there), and nothing was queued; `workflow_api` is the API-format prompt that would have been (after conversion
    and overrides); `models` says which of the job's model files are present and which a run would download."""

    nodes: int
    workflow_api: Mapping[str, Any] = field(default_factory=dict, repr=False)
    replace_worker: bool = False
    models: tuple[ModelPlanned, ...] = ()


Verdict = Union[JobResult, WorkflowChecked]
