"""One error root for the worker, each failure kind with a stable code.

Whose fault each is: the caller's (invalid_input, input_fetch_failed, model_download_failed,
workflow_invalid and its two children, response_too_large), ComfyUI's (comfy_error, execution_failed,
prompt_lost, stalled), the network's or the deployment's (comfy_unreachable, comfy_process_died,
output_fetch_failed, upload_failed), or nobody's (cancelled, interrupted, timed_out).

WorkerError                      (code)
├── InvalidInput                 invalid_input         the job's input is wrong
├── InputFetchFailed             input_fetch_failed    an input URL could not be downloaded
├── ModelDownloadFailed          model_download_failed a model file (input.models, a loader's URL) could not be had
├── WorkflowRejected             workflow_invalid      ComfyUI refused the prompt (HTTP 400)
│   ├── ModelMissing             model_missing         a loader asks for a file ComfyUI does not have
│   └── NodeMissing              node_missing          a class_type this ComfyUI does not know
├── ComfyError                   comfy_error           ComfyUI answered something unexpected
│   ├── ComfyUnreachable         comfy_unreachable
│   │   └── ComfyProcessDied     comfy_process_died    ComfyUI's process (PID file) is gone
│   ├── PromptLost               prompt_lost           ComfyUI restarted and forgot the prompt
│   └── Stalled                  stalled               the running prompt went silent too long
├── ExecutionFailed              execution_failed      a node raised while running
├── ExecutionInterrupted         interrupted           ComfyUI interrupted the prompt
├── Cancelled                    cancelled             RunPod cancelled the job
├── JobTimedOut                  timed_out             JOB_TIMEOUT_S passed
├── OutputFetchFailed            output_fetch_failed
├── OutputNotConverted           output_not_converted  over OUTPUT_FORMAT_MAX_PIXELS: delivered unconverted
├── UploadFailed                 upload_failed
├── ResponseTooLarge             response_too_large    the outputs do not fit in RunPod's response
└── NothingDelivered             the first failure's   every output failed: nothing could be returned
"""

from __future__ import annotations

import reprlib
from typing import Any, Mapping, Optional, Sequence

ECHO_LIMIT = 200  # characters of caller text a message may repeat
SUMMARY_LIMIT = 2000  # characters of a job's one-line error


class WorkerError(Exception):
    """Root of every error the worker reports.

    `summary()` is the one-line job error; `details` are human-readable lines and
    `data` the structured facts (for example ComfyUI's own error body).
    """

    code = "worker_error"
    replace_worker = False  # the worker cannot be trusted with another job: RunPod should start a fresh one

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[str] = (),
        data: Optional[Mapping[str, Any]] = None,
        replace_worker: Optional[bool] = None,
        limits: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.limits = tuple(limits)  # the use case's limits the message names; the edge names their settings
        self.message = message
        self.details = list(details)
        self.data = dict(data or {})
        if replace_worker is not None:
            self.replace_worker = replace_worker

    def summary(self) -> str:
        first_line = " ".join(self.message[: SUMMARY_LIMIT + 1].split())
        return f"{self.code}: {clip(first_line, SUMMARY_LIMIT)}"


def clip(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` as it may be echoed: its first `limit` characters, and '…' when there were more."""
    return text if len(text) <= limit else text[:limit] + "…"


def excerpt(value: Any, limit: int = ECHO_LIMIT) -> str:
    """A caller's value as a message may echo it: its repr, cut to about `limit` characters, with the length of a
    long string (the value itself may be megabytes long)."""
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        shown = repr(value[:limit])
        return f"{shown[:-1]}…{shown[-1]} ({len(value):,} characters)"
    short = reprlib.Repr()
    short.maxstring = short.maxother = limit
    short.maxlong = limit
    try:
        return clip(short.repr(value), limit)
    except ValueError:  # an int too long to print (sys.set_int_max_str_digits)
        return f"<{type(value).__name__} too long to print>"


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


class OutputNotConverted(WorkerError):
    """Never fails a job: the output is delivered as ComfyUI made it, and this line goes to `errors`."""

    code = "output_not_converted"


class UploadFailed(WorkerError):
    code = "upload_failed"


class InputFetchFailed(WorkerError):
    code = "input_fetch_failed"


class ModelDownloadFailed(WorkerError):
    """A model file could not be made available (HTTP status, size cap, sha256 mismatch, timeout, refused address),
    before anything was queued. `data` names the model: folder, name and the URL without credentials or query."""

    code = "model_download_failed"


class ModelMissing(WorkflowRejected):
    code = "model_missing"


class NodeMissing(WorkflowRejected):
    code = "node_missing"


class ComfyProcessDied(ComfyUnreachable):
    code = "comfy_process_died"
    replace_worker = True


class Stalled(ComfyError):
    code = "stalled"


class Cancelled(WorkerError):
    code = "cancelled"


class ResponseTooLarge(WorkerError):
    code = "response_too_large"


class NothingDelivered(WorkerError):
    """Every output of a prompt that ran failed to be delivered: the job fails with the first failure's code (most
    often `output_fetch_failed`) and every failure's line."""

    code = "output_fetch_failed"

    def __init__(self, code: str, lines: Sequence[str]) -> None:
        super().__init__(f"no output could be returned; {lines[0]}", details=lines)
        self.code = code
