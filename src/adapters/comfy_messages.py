"""Reads ComfyUI's JSON (node outputs, history entries, outcome frames) into domain values."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from domain.model import Outcome, OutcomeStatus, OutputRef, PromptHistory, TextOutput

# The frames that end a prompt on their own (PROTOCOL.md fact 14: the final `executing {node: null}` can be lost);
# `/history` keeps them in `status.messages`.
TERMINAL_FRAMES = ("execution_success", "execution_error", "execution_interrupted")


def node_outputs(node_id: str, output: Any) -> tuple[tuple[OutputRef, ...], tuple[str, ...]]:
    """One node's output (`executed.output`, `history.outputs[node]`): its files under any key, and its texts.

    PROTOCOL.md fact 10: every list of `{filename, subfolder, type}` objects is a file list (images,
    gifs, audio, latents, a custom node's own key); `text` holds strings; `animated` is a flag list
    aligned with `images`, not an output.
    """
    if not isinstance(output, Mapping):
        return (), ()
    animated: list = output["animated"] if isinstance(output.get("animated"), list) else []
    files = []
    for kind, items in output.items():
        if kind == "animated" or not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if isinstance(item, Mapping) and isinstance(item.get("filename"), str) and item["filename"]:
                files.append(
                    OutputRef(
                        node_id=node_id,
                        output_key=str(kind),
                        filename=item["filename"],
                        subfolder=str(item.get("subfolder") or ""),
                        folder_type=str(item.get("type") or "output"),
                        animated=kind == "images" and index < len(animated) and animated[index] is True,
                    )
                )
    texts = output.get("text")
    strings = tuple(t for t in texts if isinstance(t, str)) if isinstance(texts, list) else ()
    return tuple(files), strings


def prompt_history(entry: Mapping[str, Any]) -> PromptHistory:
    """A `/history/<id>` entry: outcome, every output in node then list order, ComfyUI's timestamps."""
    files: list[OutputRef] = []
    texts: list[TextOutput] = []
    outputs: Mapping = entry["outputs"] if isinstance(entry.get("outputs"), Mapping) else {}
    for node_id, output in outputs.items():
        node_files, node_texts = node_outputs(str(node_id), output)
        files.extend(node_files)
        texts.extend(TextOutput(str(node_id), text) for text in node_texts)
    started, ended = _timestamps(entry)
    return PromptHistory(
        outcome=outcome_from_history(entry),
        files=tuple(files),
        texts=tuple(texts),
        started_ms=started,
        ended_ms=ended,
        cached_nodes=_cached_nodes(entry),
    )


def _cached_nodes(entry: Mapping[str, Any]) -> Optional[tuple[str, ...]]:
    """The nodes ComfyUI served from its cache, as `status.messages` keeps the `execution_cached` frame (sent
    for every prompt, an empty list when nothing was cached: cached_rerun.json); None when it is not there."""
    for message in (entry.get("status") or {}).get("messages") or []:
        if isinstance(message, list) and len(message) == 2 and message[0] == "execution_cached":
            nodes = message[1].get("nodes") if isinstance(message[1], Mapping) else None
            if isinstance(nodes, list):
                return tuple(str(node) for node in nodes)
    return None


def outcome_from_frame(kind: str, data: Mapping[str, Any]) -> Outcome:
    """An `execution_success` / `execution_error` / `execution_interrupted` frame as an outcome."""
    if kind == "execution_success":
        return Outcome(status="success")
    status: OutcomeStatus = "interrupted" if kind == "execution_interrupted" else "error"
    report = execution_details(data)
    if status == "interrupted":
        report = {key: report[key] for key in ("node_id", "node_type")}
        report["executed"] = [str(n) for n in data.get("executed") or []]
    return Outcome(
        status=status,
        node_id=_str_or_none(data.get("node_id")),
        node_type=data.get("node_type"),
        exception_type=str(data.get("exception_type") or ""),
        message=str(data.get("exception_message") or ""),
        report=report,
    )


def outcome_from_history(entry: Mapping[str, Any]) -> Outcome:
    """How a finished prompt ended, from its `/history` entry (`status.messages` keeps the frames)."""
    status = entry.get("status") or {}
    for kind, data in reversed(status.get("messages") or []):
        if kind in TERMINAL_FRAMES:
            return outcome_from_frame(kind, data or {})
    if status.get("status_str") == "success":
        return Outcome(status="success")
    return Outcome(status="error", message=f"ComfyUI reported status {status.get('status_str')!r}")


def _timestamps(entry: Mapping[str, Any]) -> tuple[Optional[int], Optional[int]]:
    started = ended = None
    for message in (entry.get("status") or {}).get("messages") or []:
        if not (isinstance(message, list) and len(message) == 2 and isinstance(message[1], Mapping)):
            continue
        stamp = message[1].get("timestamp")
        if not isinstance(stamp, (int, float)):
            continue
        if message[0] == "execution_start":
            started = int(stamp)
        elif message[0] in TERMINAL_FRAMES:
            ended = int(stamp)
    return started, ended


def _str_or_none(value: Any) -> Optional[str]:
    return None if value is None else str(value)


def execution_details(data: Mapping[str, Any]) -> dict:
    """`node_id`, `node_type`, `exception_type`, `exception_message` and `traceback` (a list of lines) of an
    `execution_error` (or `execution_interrupted`) frame's `data` (execution_error.json: the frame and
    `status.messages` carry the same data; each traceback entry is one multi-line frame of Python's format_tb)."""
    traceback = data.get("traceback") or []
    if isinstance(traceback, str):
        traceback = [traceback]
    lines = [line for entry in traceback for line in str(entry).rstrip("\n").split("\n")]
    node_id = data.get("node_id")
    return {
        "node_id": None if node_id is None else str(node_id),
        "node_type": data.get("node_type"),
        "exception_type": str(data.get("exception_type") or ""),
        "exception_message": str(data.get("exception_message") or "").strip(),
        "traceback": lines,
    }
