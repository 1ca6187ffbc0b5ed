"""Value objects of one job: its input, the prompt sent to ComfyUI, outcomes and outputs."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Iterator, Literal, Mapping, Optional

from domain.errors import WorkerError

OutcomeStatus = Literal["success", "error", "interrupted"]


@dataclass(frozen=True)
class InputFile:
    """A file the job sends to ComfyUI's input folder before queueing: inline bytes or a URL."""

    name: str
    data: Optional[bytes] = field(default=None, repr=False)
    url: Optional[str] = field(default=None, repr=False)


@dataclass(frozen=True)
class OutputFormat:
    """`input.output_format`: still images are re-encoded to this before delivery."""

    format: Literal["png", "jpeg", "webp"]
    quality: Optional[int] = None


@dataclass(frozen=True)
class JobInput:
    """The validated `job["input"]`."""

    workflow: Mapping[str, Any] = field(repr=False)
    images: tuple[InputFile, ...] = ()
    comfy_org_api_key: Optional[str] = field(default=None, repr=False)
    include_temp: bool = False
    output_format: Optional[OutputFormat] = None
    validate_only: bool = False


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
    input: JobInput
    prompt: Prompt


@dataclass(frozen=True)
class Outcome:
    """How ComfyUI says the prompt ended."""

    status: OutcomeStatus
    node_id: Optional[str] = None
    node_type: Optional[str] = None
    exception_type: str = ""
    message: str = ""
    details: Mapping[str, Any] = field(default_factory=dict, repr=False)


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
    """One delivered file: where it came from, what it is now, and the entry's `data`."""

    ref: OutputRef
    filename: str
    entry_type: str  # the sink's: base64, s3_url
    data: str = field(repr=False)
    content_type: str = "application/octet-stream"
    size_bytes: int = 0
    sha256: str = ""


@dataclass(frozen=True)
class OutputFailure:
    """One output that could not be returned, and why."""

    ref: OutputRef
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.ref.filename} (node {self.ref.node_id}): {self.message}"


@dataclass(frozen=True)
class JobResult:
    """What a finished job produced: stored files, texts, per-output failures, and how it went."""

    outputs: tuple[StoredOutput, ...] = ()
    texts: tuple[TextOutput, ...] = ()
    failures: tuple[OutputFailure, ...] = ()
    timings_ms: Mapping[str, int] = field(default_factory=dict)
    comfyui_version: Optional[str] = None
    replace_worker: bool = False
    cut_short: Optional[WorkerError] = None  # a partial result: what was delivered before this error


@dataclass(frozen=True)
class WorkflowChecked:
    """A dry run's result: the workflow is valid on this ComfyUI, and nothing was queued."""

    nodes: int
