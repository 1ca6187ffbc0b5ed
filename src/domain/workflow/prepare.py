"""The workflow as it will be queued: the editor's UI export converted to the API format, then the caller's
overrides applied; and errors about its nodes told by their UI ids and titles."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import InvalidInput, WorkerError
from domain.model import RunWorkflow
from domain.workflow.overrides import apply_overrides
from domain.workflow.ui_format import NodeOrigin, convert_ui_workflow

_NODE = re.compile(r"\bnode (\S{1,200})")


@dataclass(frozen=True)
class PreparedWorkflow:
    """The API-format prompt to queue, and, for a UI workflow, the UI node each of its nodes comes from."""

    prompt: dict[str, Any]
    origins: Mapping[str, NodeOrigin] = field(default_factory=dict)


def needs_object_info(command: RunWorkflow) -> bool:
    return command.ui or bool(command.overrides)


def prepare(command: RunWorkflow, object_info: Mapping[str, Any]) -> PreparedWorkflow:
    """The command's workflow as ComfyUI will be sent it (an API workflow without overrides is left as it is)."""
    if command.ui:
        converted = convert_ui_workflow(command.workflow, object_info)
        prompt, origins = converted.prompt, converted.origins
        if not prompt:
            raise InvalidInput(
                "input.workflow (a UI export) has no node ComfyUI would run: every node is muted, bypassed, a note, "
                "a primitive or a reroute"
            )
    else:
        prompt, origins = dict(command.workflow), {}
    if command.overrides:
        prompt = apply_overrides(prompt, command.overrides, object_info)
    return PreparedWorkflow(prompt, origins)


def classes_of(prepared: PreparedWorkflow) -> set[str]:
    return {str(node.get("class_type")) for node in prepared.prompt.values() if isinstance(node, Mapping)}


def with_ui_names(error: WorkerError, origins: Mapping[str, NodeOrigin]) -> WorkerError:
    """The error with each node of a UI workflow it names told by its UI id and title (`node 7:3 ('VAE Decode', in
    subgraph node 7 'Upscale')`), in its message and details."""
    if not origins:
        return error

    def named(match: re.Match) -> str:
        node_id = match.group(1).rstrip(":,;")
        origin = origins.get(node_id)
        if origin is None:
            return match.group(0)
        return origin.describe() + match.group(1)[len(node_id) :]

    error.message = _NODE.sub(named, error.message)
    error.details = [_NODE.sub(named, line) if isinstance(line, str) else line for line in error.details]
    error.args = (error.message,)
    return error
