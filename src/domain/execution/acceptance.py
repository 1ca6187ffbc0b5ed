"""What ComfyUI accepted of a prompt: its queue number, and the output nodes it dropped because they failed
validation (`POST /prompt` answers 200 with `node_errors` and runs the rest), each told as an error line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from domain.errors import WorkflowRejected, clip
from domain.model import OutputFailure, OutputRef
from domain.workflow.check import Issue
from domain.workflow.links import upstream
from domain.workflow.node_ids import node_order
from domain.workflow.rejections import error_for_issues


@dataclass(frozen=True)
class DroppedOutput:
    """An output node ComfyUI will not run, and the validation issues it gave for it (in it or upstream of it)."""

    node_id: str
    class_type: Optional[str]
    issues: tuple[Issue, ...]


@dataclass(frozen=True)
class QueuedPrompt:
    """ComfyUI's answer to a prompt it queued: its queue number (None when the answer had none) and the output
    nodes it dropped (`node_errors` on a 200: ComfyUI runs the others)."""

    number: Optional[float] = None
    dropped: tuple[DroppedOutput, ...] = ()


def dropped_outputs(
    workflow: Mapping[str, Any], issues_by_node: Mapping[str, tuple[Issue, ...]], dependents: Mapping[str, tuple]
) -> tuple[DroppedOutput, ...]:
    """The dropped output nodes, from ComfyUI's `node_errors`: `issues_by_node` (each node's issues) and
    `dependents` (each node's `dependent_outputs`, the outputs it made fail).

    ComfyUI appends every failed output to every node with errors seen so far (execution.py validate_prompt), so
    each output is given only the issues of itself and the nodes it depends on; all of them when none is.
    """
    outputs: dict[str, None] = {}
    for node_id in issues_by_node:
        for output in dependents.get(node_id) or (node_id,):  # a node_errors entry without dependents: itself
            outputs[str(output)] = None
    dropped = []
    for output in sorted(outputs, key=node_order):
        own = tuple(
            issue
            for node_id in upstream(workflow, output)
            if node_id in issues_by_node
            for issue in issues_by_node[node_id]
        )
        claimed = tuple(
            issue
            for node_id, found in issues_by_node.items()
            if output in (dependents.get(node_id) or ())
            for issue in found
        )
        node = workflow.get(output)
        class_type = node.get("class_type") if isinstance(node, Mapping) else None
        dropped.append(DroppedOutput(output, class_type if isinstance(class_type, str) else None, own or claimed))
    return tuple(dropped)


def dropped_failures(queued: QueuedPrompt) -> list[OutputFailure]:
    """One error line per dropped output node, its code that of its issues' error (`model_missing`, `node_missing`,
    `workflow_invalid`): `model_missing: output node 9 (SaveImage) was not run: node 4 (...) input 'ckpt_name': ...`."""
    failures = []
    for dropped in queued.dropped:
        error = error_for_issues(list(dropped.issues)) if dropped.issues else WorkflowRejected("it failed validation")
        where = f"output node {clip(dropped.node_id)}" + (
            f" ({clip(dropped.class_type)})" if dropped.class_type else ""
        )
        ref = OutputRef(node_id=dropped.node_id, output_key="", filename="")
        failures.append(OutputFailure(ref, error.code, f"{where} was not run: {error.message}"))
    return failures


def rejection(queued: QueuedPrompt) -> WorkflowRejected:
    """The dropped outputs as one error, for a job that must have every output (partial results off)."""
    # an issue upstream of several dropped outputs is told once
    by_place = {(i.node_id, i.input, i.type, i.message): i for dropped in queued.dropped for i in dropped.issues}
    issues = list(by_place.values())
    names = ", ".join(clip(dropped.node_id) for dropped in queued.dropped)
    error = error_for_issues(issues) if issues else WorkflowRejected("ComfyUI dropped outputs that failed validation")
    error.message = f"ComfyUI would not run output node(s) {names}: {error.message}"
    error.args = (error.message,)
    error.data = {**error.data, "dropped_outputs": [dropped.node_id for dropped in queued.dropped]}
    return error
