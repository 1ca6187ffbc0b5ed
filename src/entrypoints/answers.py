"""RunPod answers: the one translation of the use case's verdicts and errors into RunPod's dict (the
worker-comfyui 5.x shape and the extra fields), and of its progress into an update's payload."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, replace
from typing import Any

from domain.errors import WorkerError, clip
from domain.execution.progress import Progress
from domain.inputs.model_requests import ModelPlanned, ModelReady, shown_source
from domain.model import JobResult, OutputFailure, StoredOutput, TextOutput, Verdict, WorkflowChecked
from domain.workflow.node_ids import node_order
from entrypoints.settings import LIMIT_VARIABLES

log = logging.getLogger(__name__)

INLINE_TYPE = "base64"  # worker-comfyui 5.x's `type` of an entry that carries the bytes
_SURROGATE = re.compile("[\ud800-\udfff]")


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":")).encode("utf-8"))


class RunPodAnswers:
    """Makes RunPod's answers, and tells the use case what each thing in them costs (its `AnswerFormat`).

    `url_type` is the `type` of an entry whose value is where the output was stored (the output store's:
    `s3_url`); an inline entry's is `base64`.
    """

    def __init__(self, url_type: str = "s3_url") -> None:
        self._url_type = url_type

    def file_entry(self, out: StoredOutput) -> dict[str, Any]:
        """One delivered file; `filename`, `type`, `data` are the 5.x shape, the rest rides along."""
        return {
            "filename": out.filename,
            "type": INLINE_TYPE if out.inline else self._url_type,
            "data": out.value,
            "node_id": out.ref.node_id,
            "subfolder": out.ref.subfolder,
            "content_type": out.content_type,
            "size_bytes": out.size_bytes,
            "sha256": out.sha256,
        }

    def output_bytes(self, out: StoredOutput) -> int:
        return _json_bytes(self.file_entry(out)) + 1  # a separating comma included

    def text_bytes(self, text: TextOutput) -> int:
        return _json_bytes(text_entry(text)) + 1

    def failure_bytes(self, failure: OutputFailure) -> int:
        return _json_bytes(str(failure)) + 1

    def result_bytes(self, result: JobResult) -> int:
        without_values = replace(result, outputs=tuple(replace(o, value="") for o in result.outputs))
        return _json_bytes(self.success(without_values)) + sum(len(out.value) for out in result.outputs)

    def answer(self, verdict: Verdict, *, with_files: bool = True, replace_worker: bool = False) -> dict[str, Any]:
        """The answer to a verdict: a dry run's, a job's outputs (without the files when they were streamed one by
        one), or its error; `refresh_worker` when the worker is to be replaced."""
        if isinstance(verdict, WorkflowChecked):
            response: dict[str, Any] = {"status": "valid", "nodes": verdict.nodes, "workflow_api": verdict.workflow_api}
            if verdict.models:
                response["models"] = [planned_model_entry(planned) for planned in verdict.models]
        elif verdict.status == "failed":
            assert verdict.error is not None
            return error_answer(verdict.error, replace_worker=replace_worker)
        else:
            response = self.success(verdict, with_files=with_files)
        return _with_refresh(response, replace_worker or verdict.replace_worker)

    def success(self, result: JobResult, *, with_files: bool = True) -> dict[str, Any]:
        """Outputs under their ComfyUI keys (`images`, `audio`, `latents`, `gifs`, a node's own key) and `text`;
        without `with_files`, everything else (a streamed job's last item, its files having gone one by one)."""
        errors = [str(failure) for failure in result.failures]
        response: dict[str, Any] = {"images": []} if with_files else {}
        if with_files:
            for out in result.outputs:
                response.setdefault(out.ref.output_key, []).append(self.file_entry(out))
        texts = sorted(result.texts, key=lambda t: node_order(t.node_id))
        if texts:
            response["text"] = [text_entry(t) for t in texts]
        cut_short = result.error
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
        if result.models:
            response["models"] = [model_entry(ready) for ready in result.models]
        return response

    def stream_item(self, out: StoredOutput) -> dict[str, Any]:
        """One streamed output, under its ComfyUI key."""
        return {out.ref.output_key: [self.file_entry(out)]}


def text_entry(text: TextOutput) -> dict[str, Any]:
    return {"node_id": text.node_id, "type": "text", "data": text.text}


def model_entry(ready: ModelReady) -> dict[str, Any]:
    """One model file of the job: where it is, where it came from (without credentials or query) and what it took."""
    request = ready.request
    return {
        "folder": request.folder,
        "name": request.name,
        "url": shown_source(request.url),
        "outcome": ready.outcome,
        "size_bytes": ready.size_bytes,
        "bytes_downloaded": ready.bytes_moved,
        "seconds": round(ready.seconds, 3),
    }


def planned_model_entry(planned: ModelPlanned) -> dict[str, Any]:
    """A dry run's word on one model file: `present`, or `fetch` (a run would download it)."""
    request = planned.request
    return {"folder": request.folder, "name": request.name, "url": shown_source(request.url), "plan": planned.plan}


def progress_payload(progress: Progress) -> dict[str, Any]:
    """A progress update as RunPod's `progress_update` carries it: `stage` `run` (the prompt; `queue_position` only
    while it waits) or `download` (the job's model files, before the prompt)."""
    if progress.download is not None:
        return {"stage": "download", **asdict(progress.download), "elapsed_s": progress.elapsed_s}
    payload = {"stage": "run", **asdict(progress)}
    del payload["download"]
    if payload["queue_position"] is None:
        del payload["queue_position"]
    return payload


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
