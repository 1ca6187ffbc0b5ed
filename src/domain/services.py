"""The adapters and limits a job runs with: the composition root builds one `Services` per worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

from domain.execution.follow import FollowPolicy
from domain.execution.prompt_line import PromptLine
from domain.inputs.limits import InputLimits
from domain.inputs.models import MODELS_OFF
from domain.ports import (
    AnswerFormat,
    ComfyApi,
    ExecutionMonitor,
    ImageConverter,
    InputReader,
    JobFileCleaner,
    ModelStore,
    OutputSink,
    OutputSource,
)


@dataclass(frozen=True)
class Services:
    """The ports' adapters, and the policies and limits a job runs with."""

    comfy: ComfyApi
    monitor: ExecutionMonitor
    source: OutputSource
    sink: OutputSink
    answer_format: AnswerFormat
    policy: FollowPolicy = field(default_factory=FollowPolicy)
    concurrency: int = 4
    max_response_bytes: int = 10_000_000
    overflow: Optional[OutputSink] = None  # takes what does not fit in the answer (a URL store)
    overflow_hint: str = ""  # how to get one, for the error of an answer too large
    converter: Optional[ImageConverter] = None
    readers: Mapping[type, InputReader] = field(default_factory=dict)  # one per input kind that needs reading
    limits: InputLimits = field(default_factory=InputLimits)
    partial_results: bool = True  # outputs delivered before a failure are the answer, the error beside them
    line: PromptLine = field(default_factory=PromptLine)
    # each job's saved files in a folder of its own (its inputs always are): they can be deleted, and jobs in flight
    # together never see each other's
    output_folders: bool = False
    cleaner: Optional[JobFileCleaner] = None  # deletes the job's files once it ended
    cancel_settle_s: float = 10.0  # how long a dropped prompt may take to stop before the job's files are deleted
    models: Optional[ModelStore] = None  # makes the model files jobs ask for by URL available; None: downloads are off
    models_off: str = MODELS_OFF  # why they are off, and how to turn them on, for a job that asks for one
