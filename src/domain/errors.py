"""One error root for the worker, each failure kind with a stable code.

WorkerError                      (code)
├── InvalidInput                 invalid_input
├── WorkflowRejected             workflow_invalid      ComfyUI refused the prompt (HTTP 400)
├── ComfyError                   comfy_error           ComfyUI answered something unexpected
│   ├── ComfyUnreachable         comfy_unreachable
│   └── PromptLost               prompt_lost           ComfyUI restarted and forgot the prompt
├── ExecutionFailed              execution_failed      a node raised while running
├── ExecutionInterrupted         interrupted
├── JobTimedOut                  timed_out
├── OutputFetchFailed            output_fetch_failed
└── UploadFailed                 upload_failed
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence


class WorkerError(Exception):
    """Root of every error the worker reports.

    `summary()` is the one-line job error; `details` are human-readable lines and
    `data` the structured facts (for example ComfyUI's own error body).
    """

    code = "worker_error"

    def __init__(self, message: str, *, details: Sequence[str] = (), data: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)
        self.data = dict(data or {})

    def summary(self) -> str:
        first_line = " ".join(self.message.split())
        return f"{self.code}: {first_line}"


class InvalidInput(WorkerError):
    code = "invalid_input"


class WorkflowRejected(WorkerError):
    code = "workflow_invalid"


class ComfyError(WorkerError):
    code = "comfy_error"


class ComfyUnreachable(ComfyError):
    code = "comfy_unreachable"


class PromptLost(ComfyError):
    code = "prompt_lost"


class ExecutionFailed(WorkerError):
    code = "execution_failed"


class ExecutionInterrupted(WorkerError):
    code = "interrupted"


class JobTimedOut(WorkerError):
    code = "timed_out"


class OutputFetchFailed(WorkerError):
    code = "output_fetch_failed"


class UploadFailed(WorkerError):
    code = "upload_failed"
