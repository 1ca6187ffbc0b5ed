"""Reads ComfyUI's JSON (history entries, error frames, 400 bodies) into domain values."""
from __future__ import annotations

from typing import Any, Iterator, Mapping

from domain.errors import WorkflowRejected
from domain.model import Outcome, OutputRef

# history[id].outputs[node] keys that hold {filename, subfolder, type} entries (PROTOCOL.md fact 10;
# `gifs` comes from VideoHelperSuite). `text` holds plain strings and `animated` flags: not files.
FILE_KINDS = ("images", "gifs", "audio", "latents")


def outcome_from_frame(kind: str, data: Mapping[str, Any]) -> Outcome:
    """An `execution_success` / `execution_error` / `execution_interrupted` frame as an outcome."""
    if kind == "execution_success":
        return Outcome(status="success")
    status = "interrupted" if kind == "execution_interrupted" else "error"
    return Outcome(
        status=status,
        node_id=_str_or_none(data.get("node_id")),
        node_type=data.get("node_type"),
        exception_type=str(data.get("exception_type") or ""),
        message=str(data.get("exception_message") or ""),
        details={key: data[key] for key in ("node_id", "node_type", "exception_type", "exception_message",
                                            "traceback", "executed") if key in data},
    )


def outcome_from_history(entry: Mapping[str, Any]) -> Outcome:
    """How a finished prompt ended, from its `/history` entry (`status.messages` keeps the frames)."""
    status = entry.get("status") or {}
    for kind, data in reversed(status.get("messages") or []):
        if kind in ("execution_success", "execution_error", "execution_interrupted"):
            return outcome_from_frame(kind, data or {})
    if status.get("status_str") == "success":
        return Outcome(status="success")
    return Outcome(status="error", message=f"ComfyUI reported status {status.get('status_str')!r}")


def output_refs(entry: Mapping[str, Any]) -> list[OutputRef]:
    """Every output file named in a `/history` entry, in node then list order."""
    return list(_iter_refs(entry.get("outputs") or {}))


def _iter_refs(outputs: Mapping[str, Any]) -> Iterator[OutputRef]:
    for node_id, node_output in outputs.items():
        if not isinstance(node_output, dict):
            continue
        for kind in FILE_KINDS:
            for item in node_output.get(kind) or []:
                if isinstance(item, dict) and item.get("filename"):
                    yield OutputRef(
                        node_id=str(node_id),
                        kind=kind,
                        filename=item["filename"],
                        subfolder=item.get("subfolder") or "",
                        type=item.get("type") or "output",
                    )


def workflow_rejected(body: Any) -> WorkflowRejected:
    """ComfyUI's 400 body of POST /prompt as one error whose first line names node, class and input."""
    if not isinstance(body, dict):
        return WorkflowRejected(f"ComfyUI rejected the workflow: {str(body)[:300]}")
    error = body.get("error") if isinstance(body.get("error"), dict) else {"message": str(body.get("error"))}
    node_errors = body.get("node_errors") if isinstance(body.get("node_errors"), dict) else {}
    lines = [line for node_id, node in node_errors.items() for line in _node_error_lines(node_id, node)]
    if not lines:
        lines = [": ".join(p for p in (error.get("message"), error.get("details")) if p) or "ComfyUI rejected the workflow"]
    data = {"error": error, "node_errors": node_errors}
    return WorkflowRejected("; ".join(lines), details=lines, data=data)


def _node_error_lines(node_id: str, node: Any) -> Iterator[str]:
    if not isinstance(node, dict):
        return
    label = f"node {node_id}" + (f" ({node['class_type']})" if node.get("class_type") else "")
    for err in node.get("errors") or []:
        info = err.get("extra_info") or {}
        input_name = info.get("input_name")
        where = f"{label} input '{input_name}'" if input_name else label
        message = err.get("message") or err.get("type") or "invalid"
        details = err.get("details")
        if details and details != input_name:
            message = f"{message}: {details}"
        yield f"{where}: {message}"


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)
