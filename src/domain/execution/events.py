"""Execution events a monitor reads off ComfyUI's websocket, already decoded, for the use case's policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from domain.model import Outcome, OutputRef


@dataclass(frozen=True)
class QueueStatus:
    """`status`: how many prompts ComfyUI has running and pending (all clients)."""

    queue_remaining: int


@dataclass(frozen=True)
class ExecutionStarted:
    prompt_id: str
    timestamp_ms: Optional[int] = None


@dataclass(frozen=True)
class NodesCached:
    prompt_id: str
    node_ids: tuple[str, ...]


@dataclass(frozen=True)
class NodeStarted:
    """`executing {node}`; `prompt_id` is None on the frame sent after a reconnect (PROTOCOL.md fact 7)."""

    prompt_id: Optional[str]
    node_id: str


@dataclass(frozen=True)
class StepProgress:
    prompt_id: str
    node_id: Optional[str]
    value: int
    max: int


@dataclass(frozen=True)
class NodeExecuted:
    """`executed`: an output node's files and texts, as `/history` will list them."""

    prompt_id: str
    node_id: str
    files: tuple[OutputRef, ...] = ()
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class InbandImage:
    """A binary image frame (type 1, or type 4 with metadata naming node and prompt)."""

    data: bytes = field(repr=False)
    image_format: str = "png"
    prompt_id: Optional[str] = None
    node_id: Optional[str] = None


@dataclass(frozen=True)
class PromptEnded:
    """`execution_success` / `execution_error` / `execution_interrupted`: terminal on their own."""

    prompt_id: str
    outcome: Outcome
    timestamp_ms: Optional[int] = None


@dataclass(frozen=True)
class PromptFinished:
    """`executing {node: null, prompt_id}`: always the last frame for the prompt."""

    prompt_id: str


@dataclass(frozen=True)
class SocketLost:
    reason: str


@dataclass(frozen=True)
class PromptStarted:
    """Not a frame: the projection's word that the prompt left the queue (its first sign of execution)."""

    prompt_id: str


Event = Union[
    QueueStatus,
    ExecutionStarted,
    NodesCached,
    NodeStarted,
    StepProgress,
    NodeExecuted,
    InbandImage,
    PromptEnded,
    PromptFinished,
    SocketLost,
]
