"""Value objects of one job: its input, the prompt sent to ComfyUI, outcomes and outputs."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Mapping, Optional

OutcomeStatus = Literal["success", "error", "interrupted"]


@dataclass(frozen=True)
class InputImage:
    """An image the job sends to ComfyUI's input folder before queueing."""

    name: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class JobInput:
    """The validated `job["input"]`."""

    workflow: Mapping[str, Any] = field(repr=False)
    images: tuple[InputImage, ...] = ()
    comfy_org_api_key: Optional[str] = field(default=None, repr=False)


@dataclass(frozen=True)
class Prompt:
    """A workflow addressed to ComfyUI with ids we chose ourselves."""

    id: str
    client_id: str
    workflow: Mapping[str, Any] = field(repr=False)
    extra_data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)


@dataclass(frozen=True)
class Job:
    """One unit of work: who asked (job id), what to run, and until when."""

    id: str
    input: JobInput
    prompt: Prompt
    deadline: Optional[float] = None  # time.monotonic() value; None means no deadline


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
class PromptState:
    """What ComfyUI knows of a prompt when the live frames were missed."""

    state: Literal["pending", "finished", "lost"]
    outcome: Optional[Outcome] = None


@dataclass(frozen=True)
class Progress:
    """A step of a running node, as reported to the caller."""

    prompt_id: str
    node_id: Optional[str]
    value: int
    max: int


@dataclass(frozen=True)
class OutputRef:
    """A file ComfyUI produced, addressed the way `/view` wants it."""

    node_id: str
    kind: str
    filename: str
    subfolder: str = ""
    type: str = "output"


@dataclass(frozen=True)
class Blob:
    """Bytes fetched for an output, with their media type."""

    data: bytes = field(repr=False)
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class StoredOutput:
    """Where an output ended up: inline base64 or a URL."""

    ref: OutputRef
    type: str
    data: str = field(repr=False)
    content_type: str = "application/octet-stream"


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
    """What a finished job produced: stored outputs and per-output failures."""

    outputs: tuple[StoredOutput, ...] = ()
    failures: tuple[OutputFailure, ...] = ()
