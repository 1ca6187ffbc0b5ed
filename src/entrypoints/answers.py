"""RunPod answers made from the use case's results and errors: the worker-comfyui 5.x shape and the extra fields."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any, Union

from domain.errors import WorkerError, clip
from domain.model import JobResult, OutputFailure, StoredOutput, TextOutput, WorkflowChecked
from domain.outputs.allowance import INLINE_KIND, S3_HINT, too_large
from domain.workflow.node_ids import node_order
from entrypoints.settings import LIMIT_VARIABLES

log = logging.getLogger(__name__)

Finished = Union[JobResult, WorkflowChecked]
_SURROGATE = re.compile("[\ud800-\udfff]")


def file_entry(out: StoredOutput) -> dict[str, Any]:
    """One delivered file; `filename`, `type`, `data` are the 5.x shape, the rest rides along."""
    return {
        "filename": out.filename,
        "type": out.entry_type,
        "data": out.data,
        "node_id": out.ref.node_id,
        "subfolder": out.ref.subfolder,
        "content_type": out.content_type,
        "size_bytes": out.size_bytes,
        "sha256": out.sha256,
    }


def text_entry(text: TextOutput) -> dict[str, Any]:
    return {"node_id": text.node_id, "type": "text", "data": text.text}


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))


class RunPodAnswerFormat:
    """What each entry costs in the answer's JSON, a separating comma included (the use case's `AnswerFormat`)."""

    def output_bytes(self, out: StoredOutput) -> int:
        return _json_bytes(file_entry(out)) + 1

    def text_bytes(self, text: TextOutput) -> int:
        return _json_bytes(text_entry(text)) + 1

    def failure_bytes(self, failure: OutputFailure) -> int:
        return _json_bytes(str(failure)) + 1


def answer(finished: Finished, *, replace_worker: bool = False) -> dict[str, Any]:
    """The answer of a job that ran to its end: a dry run's verdict, or its outputs."""
    if isinstance(finished, WorkflowChecked):
        response: dict[str, Any] = {"status": "valid", "nodes": finished.nodes}
    else:
        response = success_answer(finished)
    return _with_refresh(response, replace_worker or (isinstance(finished, JobResult) and _replaces(finished)))


def answer_without_files(result: JobResult, *, replace_worker: bool = False) -> dict[str, Any]:
    """A streamed job's last item: everything but the files, which went one by one."""
    return _with_refresh(success_answer(result, with_files=False), replace_worker or _replaces(result))


def success_answer(result: JobResult, *, with_files: bool = True) -> dict[str, Any]:
    """Outputs under their ComfyUI keys (`images`, `audio`, `latents`, `gifs`, a node's own key) and `text`;
    without `with_files`, everything else (a streamed job's last item, its files having gone one by one)."""
    errors = [str(failure) for failure in result.failures]
    if not result.outputs and not result.texts and errors:
        first = result.failures[0]
        return {
            "error": f"{first.code}: no output could be returned; {errors[0]}",
            "error_code": first.code,
            "details": errors,
        }
    response: dict[str, Any] = {"images": []} if with_files else {}
    if with_files:
        for out in result.outputs:
            response.setdefault(out.ref.output_key, []).append(file_entry(out))
    texts = sorted(result.texts, key=lambda t: node_order(t.node_id))
    if texts:
        response["text"] = [text_entry(t) for t in texts]
    cut_short = result.cut_short
    if cut_short is not None:  # worker-comfyui 5.x: what was produced, and the error among `errors`
        errors.append(error_line(cut_short))
    if errors:
        response["errors"] = errors
    if cut_short is not None:
        response["error_code"] = cut_short.code
        response["details"] = cut_short.details
    if not result.outputs and not result.texts:
        response["status"] = "success_no_images"
    response["timings_ms"] = dict(result.timings_ms)
    response["comfyui"] = {"version": result.comfyui_version}
    return response


def stream_item(out: StoredOutput) -> dict[str, Any]:
    """One streamed output, under its ComfyUI key."""
    return {out.ref.output_key: [file_entry(out)]}


def error_line(error: WorkerError) -> str:
    """The error's one line, each limit it names given as the variable that sets it."""
    line = error.summary()
    for limit in error.limits:
        line = line.replace(limit, LIMIT_VARIABLES.get(limit, limit))
    return line


def error_answer(error: WorkerError, *, replace_worker: bool = False) -> dict[str, Any]:
    """A failed job: the `error` line stands on its own; the rest rides along for callers that get it."""
    response: dict[str, Any] = {"error": error_line(error), "error_code": error.code, "details": error.details}
    if error.data:
        response["data"] = error.data
    return _with_refresh(response, replace_worker or error.replace_worker)


def internal_error_answer(exc: BaseException, *, replace_worker: bool = False) -> dict[str, Any]:
    """An unforeseen bug still gives the caller one clear line."""
    response = {"error": f"internal_error: {type(exc).__name__}: {clip(str(exc))}", "error_code": "internal_error"}
    return _with_refresh(response, replace_worker)


def answer_within(result: JobResult, max_bytes: int, *, replace_worker: bool = False) -> dict[str, Any]:
    """The result's answer, or `response_too_large` if it came out larger than the use case reckoned while
    delivering (it counts each entry as it goes; this is the last word, sized from the result itself)."""
    size = _json_bytes(success_answer(replace(result, outputs=tuple(replace(o, data="") for o in result.outputs))))
    size += sum(len(out.data) for out in result.outputs)
    if size <= max_bytes:
        return answer(result, replace_worker=replace_worker)
    inline = [
        {"filename": out.filename, "node_id": out.ref.node_id, "size_bytes": out.size_bytes}
        for out in sorted(result.outputs, key=lambda o: o.size_bytes, reverse=True)
        if out.entry_type == INLINE_KIND
    ]
    log.error("the answer came out at %d bytes, over MAX_RESPONSE_BYTES=%d", size, max_bytes)
    error = too_large(size, max_bytes, inline, S3_HINT)
    return error_answer(error, replace_worker=replace_worker or _replaces(result))


def _replaces(result: JobResult) -> bool:
    return result.replace_worker or (result.cut_short is not None and result.cut_short.replace_worker)


def _with_refresh(response: dict[str, Any], replace_worker: bool) -> dict[str, Any]:
    # the SDK takes `refresh_worker` out of the answer and stops the pod once the job's result is sent
    if replace_worker:
        response["refresh_worker"] = True
    return response


def sendable(value: Any) -> Any:
    """The answer with every lone surrogate (text no UTF-8 can carry: a file name ComfyUI read off its disk, say)
    replaced by U+FFFD: the SDK sends answers as UTF-8 and drops the job when one cannot be encoded."""
    if isinstance(value, str):
        return value if value.isascii() else _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {sendable(key): sendable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [sendable(item) for item in value]
    return value
