"""Shapes a job's result or error into the worker-comfyui 5.x response, and keeps it within RunPod's size limit."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any, Optional

from domain.budget import Budget
from domain.errors import ResponseTooLarge, WorkerError
from domain.model import JobResult, StoredOutput
from domain.node_ids import node_order
from domain.ports import ImageSink

log = logging.getLogger(__name__)

S3_HINT = "configure S3 (BUCKET_ENDPOINT_URL...) to get URLs, "


def file_entry(out: StoredOutput) -> dict[str, Any]:
    """One delivered file; `filename`, `type`, `data` are the 5.x shape, the rest rides along."""
    return {
        "filename": out.filename,
        "type": out.type,
        "data": out.data,
        "node_id": out.ref.node_id,
        "subfolder": out.ref.subfolder,
        "content_type": out.content_type,
        "size_bytes": out.size_bytes,
        "sha256": out.sha256,
    }


def success_response(result: JobResult, extra: Optional[dict] = None) -> dict[str, Any]:
    """Outputs under their ComfyUI keys (`images`, `audio`, `latents`, `gifs`, a node's own key) and `text`."""
    errors = [str(failure) for failure in result.failures]
    if not result.outputs and not result.texts and errors:
        first = result.failures[0]
        return {
            "error": f"{first.code}: no output could be returned; {errors[0]}",
            "error_code": first.code,
            "details": errors,
        }
    response: dict[str, Any] = {"images": []}
    for out in result.outputs:
        response.setdefault(out.ref.kind, []).append(file_entry(out))
    texts = sorted(result.texts, key=lambda t: node_order(t.node_id))
    if texts:
        response.setdefault("text", []).extend({"node_id": t.node_id, "type": "text", "data": t.text} for t in texts)
    if errors:
        response["errors"] = errors
    if not result.outputs and not result.texts:
        response["status"] = "success_no_images"
    response.update(extra or {})
    return response


def error_response(error: WorkerError) -> dict[str, Any]:
    """A failed job: the `error` line stands on its own; the rest rides along for callers that get it."""
    response: dict[str, Any] = {"error": error.summary(), "error_code": error.code, "details": error.details}
    if error.data:
        response["data"] = error.data
    return response


def response_size(response: dict) -> int:
    """The JSON size of the answer; entries' `data` (base64 or URLs: nothing to escape) are counted, not copied."""
    lengths = 0
    skeleton: dict[str, Any] = {}
    for key, value in response.items():
        if isinstance(value, list) and all(isinstance(e, dict) and isinstance(e.get("data"), str) for e in value):
            lengths += sum(len(e["data"]) for e in value if e.get("type") != "text")
            value = [{**e, "data": ""} if e.get("type") != "text" else e for e in value]
        skeleton[key] = value
    return len(json.dumps(skeleton, separators=(",", ":")).encode("utf-8")) + lengths


def fit_response(
    job_id: str, response: dict[str, Any], max_bytes: int, overflow: Optional[ImageSink], budget: Budget
) -> dict[str, Any]:
    """Move the largest inline outputs to `overflow` (S3) until the response fits; without it, refuse clearly.

    Delivery keeps the answer within `max_bytes` as it goes (`ResponseAllowance`); what is left to do here comes
    from what it could not count: texts, error lines, an answer frame larger than reckoned.
    """
    size = response_size(response)
    if size <= max_bytes:
        return response
    log.warning("the answer is %d bytes once built, over MAX_RESPONSE_BYTES=%d: fitting it now", size, max_bytes)
    inline = sorted(
        (
            entry
            for key, entries in response.items()
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict) and entry.get("type") == "base64"
        ),
        key=lambda e: len(e["data"]),
        reverse=True,
    )
    if overflow is None:
        raise too_large(size, max_bytes, inline, S3_HINT)
    for entry in inline:
        if size <= max_bytes:
            break
        data = base64.b64decode(entry["data"])
        url = overflow.store(job_id, entry["filename"], entry["content_type"], iter([data]), budget)
        size -= len(entry["data"]) - len(url)
        entry["data"], entry["type"] = url, overflow.kind
    size = response_size(response)
    if size > max_bytes:
        raise too_large(size, max_bytes, [], "")
    return response


def too_large(size: int, max_bytes: int, inline: list, s3_hint: str) -> ResponseTooLarge:
    listed = ", ".join(f"{e['filename']} (node {e['node_id']}, {e['size_bytes']:,} bytes)" for e in inline)
    return ResponseTooLarge(
        f"the outputs make a {size:,}-byte response, over MAX_RESPONSE_BYTES={max_bytes:,} (RunPod refuses larger "
        f"results): {s3_hint}ask for a smaller format (input.output_format), or raise MAX_RESPONSE_BYTES up to "
        f"RunPod's limit" + (f"; outputs: {listed}" if listed else ""),
        data={
            "response_bytes": size,
            "max_response_bytes": max_bytes,
            "outputs": [{k: e[k] for k in ("filename", "node_id", "size_bytes")} for e in inline],
        },
    )
