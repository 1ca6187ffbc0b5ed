"""Shapes a job's result or error into the worker-comfyui 5.x response callers already parse."""
from __future__ import annotations

from typing import Any

from domain.errors import WorkerError
from domain.model import JobResult


def success_response(result: JobResult) -> dict[str, Any]:
    """`{"images": [...], "errors": [...]}`; with nothing produced, `status: success_no_images`."""
    images = [
        {
            "filename": out.ref.filename,
            "type": out.type,
            "data": out.data,
            "node_id": out.ref.node_id,
            "subfolder": out.ref.subfolder,
            "content_type": out.content_type,
        }
        for out in result.outputs
    ]
    errors = [str(failure) for failure in result.failures]
    if not images and errors:
        first = result.failures[0]
        return {
            "error": f"{first.code}: no output could be returned; {errors[0]}",
            "error_code": first.code,
            "details": errors,
        }
    response: dict[str, Any] = {"images": images}
    if errors:
        response["errors"] = errors
    if not images:
        response["status"] = "success_no_images"
    return response


def error_response(error: WorkerError) -> dict[str, Any]:
    """A failed job: the `error` line stands on its own; the rest rides along for callers that get it."""
    response: dict[str, Any] = {"error": error.summary(), "error_code": error.code, "details": error.details}
    if error.data:
        response["data"] = error.data
    return response
