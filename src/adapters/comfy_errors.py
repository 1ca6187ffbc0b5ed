"""ComfyUI's answers to `POST /prompt`: its refusal (the 400 body) as one structured error, and the output nodes
an accepted prompt lost (a 200 with `node_errors`)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Mapping, Optional

from domain.errors import WorkflowRejected, clip
from domain.execution.acceptance import QueuedPrompt, dropped_outputs
from domain.workflow.check import Issue, declared
from domain.workflow.job_folders import without_job_folders
from domain.workflow.links import link_cycle
from domain.workflow.rejections import allowed_values, error_for_issues

# validation_error.json variants.validation_unknown_class: an unknown class_type comes as a top error
# {"type": "invalid_prompt", "message": "Cannot execute because node NoSuchNode does not exist.",
#  "details": "Node ID '#1'"} with empty node_errors.
UNKNOWN_CLASS = re.compile(r"Cannot execute because node (?P<name>.+) does not exist\.?$")
NODE_ID = re.compile(r"Node ID '#(?P<id>[^']*)'")
# ComfyUI 0.12.0+ (#12194; 0.17.2 execution.py:1023,1040): the unknown class is {"type": "missing_node_type",
# "message": "Node 'My Foo' not found. ...", "details": "Node ID '#5'", "extra_info": {"node_id": "5",
# "class_type": "Foo", "node_title": "My Foo"}}; `class_type` is null for a node that has none.
MISSING_NODE_TYPE = "missing_node_type"


def queued(body: Mapping, workflow: Mapping[str, Any], object_info: Optional[Mapping] = None) -> QueuedPrompt:
    """POST /prompt's 200 answer: the queue number, and the outputs dropped by the `node_errors` it carries.

    Every version since 2023 (0.3.64 execution.py:1006-1073, server.py:705-709) validates each output node on its
    own and queues the good ones: `node_errors` names each failing node with its `errors` and `dependent_outputs`
    (the outputs it made fail); `{}` when nothing was dropped. `object_info` gives a file list ComfyUI left out of
    an error (past 20 entries).
    """
    number = body.get("number")
    number = float(number) if isinstance(number, (int, float)) and not isinstance(number, bool) else None
    node_errors = body.get("node_errors")
    if not isinstance(node_errors, Mapping) or not node_errors:
        return QueuedPrompt(number)
    issues: dict[str, tuple[Issue, ...]] = {}
    dependents: dict[str, tuple] = {}
    for node_id, node in node_errors.items():
        found = tuple(_with_lists(issue, object_info) for issue in _node_issues(str(node_id), node))
        if not found:
            continue
        issues[str(node_id)] = found
        outputs = node.get("dependent_outputs") if isinstance(node, Mapping) else None
        dependents[str(node_id)] = tuple(str(o) for o in outputs) if isinstance(outputs, list) else ()
    return QueuedPrompt(number, dropped_outputs(workflow, issues, dependents))


def _with_lists(issue: Issue, object_info: Optional[Mapping]) -> Issue:
    if issue.type != "value_not_in_list" or issue.allowed is not None or object_info is None:
        return issue
    listed = allowed_values(issue, object_info)
    return issue if listed is None else replace(issue, allowed=tuple(without_job_folders(listed)))


def workflow_rejected(
    body: Any, object_info: Optional[Mapping] = None, workflow: Optional[Mapping[str, Any]] = None
) -> WorkflowRejected:
    """POST /prompt's 400 body as one error whose first line names node, class and input (or tells the fix).

    Each node error becomes an issue with ComfyUI's `type`, `message` and `details`, `input` and `received` from
    `extra_info` (validation_error.json, missing_model_validation.json); a file list's allowed values come from
    `extra_info.input_config`, which ComfyUI leaves out past 20 entries, else from `object_info`. A refusal that
    names no node, of a `workflow` whose links go round, names the cycle's nodes as ComfyUI 0.20.0+ does.
    """
    if not isinstance(body, Mapping):
        return WorkflowRejected(f"ComfyUI rejected the workflow: {str(body)[:300]}")
    error: Mapping = body["error"] if isinstance(body.get("error"), Mapping) else {"message": str(body.get("error"))}
    node_errors: Mapping = body["node_errors"] if isinstance(body.get("node_errors"), Mapping) else {}
    issues = [issue for node_id, node in node_errors.items() for issue in _node_issues(str(node_id), node)]
    if not issues and error.get("type") == "prompt_outputs_failed_validation" and workflow is not None:
        issues = _cycle_issues(workflow)
    if not issues:
        issues = [_top_issue(error)]
    top = {key: error.get(key) for key in ("type", "message", "details") if error.get(key) is not None}
    return error_for_issues(issues, object_info, comfy_error=top)


def _cycle_issues(workflow: Mapping[str, Any]) -> list:
    """ComfyUI before 0.20.0 refuses a cycle with `prompt_outputs_failed_validation`, no details and no node
    errors (its validation recursed until Python's limit; observed on 0.3.64): one issue per node of the cycle, as
    0.20.0+ reports it (0.33 execution.py:854-868: "1 (KSampler) -> 2 (VAEDecode) -> 1 (KSampler)")."""
    cycle = link_cycle(workflow)

    def named(node_id: str) -> str:
        return f"{node_id} ({_class(workflow, node_id)})"

    path = " -> ".join(named(node_id) for node_id in cycle)
    return [
        Issue(
            "dependency_cycle", "Dependency cycle detected", path, node_id=node_id, class_type=_class(workflow, node_id)
        )
        for node_id in dict.fromkeys(cycle)
    ]


def _class(workflow: Mapping[str, Any], node_id: str) -> Optional[str]:
    node = workflow.get(node_id)
    class_type = node.get("class_type") if isinstance(node, Mapping) else None
    return class_type if isinstance(class_type, str) else None


def _node_issues(node_id: str, node: Any) -> list:
    if not isinstance(node, Mapping):
        return []
    issues = []
    for err in node.get("errors") or []:
        if not isinstance(err, Mapping):
            continue
        info: Mapping = err["extra_info"] if isinstance(err.get("extra_info"), Mapping) else {}
        config = info.get("input_config")
        listed = declared(config)[2] if config is not None else None
        allowed = None if listed is None else tuple(without_job_folders(listed))
        kind, details = str(err.get("type") or "invalid"), str(err.get("details") or "")
        if kind == "value_not_in_list" and allowed is not None and listed is not None and len(allowed) < len(listed):
            # execution.py validate_inputs: f"{x}: '{val}' not in {list_info}", the list in full up to 20 entries;
            # told again without other jobs' folders
            details = f"{info.get('input_name')}: '{clip(str(info.get('received_value')))}' not in {list(allowed)}"
        issues.append(
            Issue(
                type=kind,
                message=str(err.get("message") or err.get("type") or "invalid"),
                details=details,
                node_id=node_id,
                class_type=node.get("class_type"),
                input=info.get("input_name"),
                received=info.get("received_value"),
                allowed=allowed,
            )
        )
    return issues


def _top_issue(error: Mapping) -> Issue:
    kind, message, details = (str(error.get(key) or "") for key in ("type", "message", "details"))
    unknown = UNKNOWN_CLASS.match(message) if kind == "invalid_prompt" else None
    node = NODE_ID.search(details)
    info: Mapping = error["extra_info"] if isinstance(error.get("extra_info"), Mapping) else {}
    if kind == MISSING_NODE_TYPE:
        node_id = info.get("node_id") if info.get("node_id") is not None else (node.group("id") if node else None)
        class_type = info.get("class_type")
        return Issue(
            kind,
            message or "ComfyUI does not know the node's class",
            details,
            node_id=None if node_id is None else str(node_id),
            class_type=class_type if isinstance(class_type, str) else None,
        )
    if unknown:
        return Issue(
            kind, message, details, node_id=node.group("id") if node else None, class_type=unknown.group("name")
        )
    if not message:
        return Issue(kind or "invalid_prompt", "ComfyUI rejected the workflow", details)
    return Issue(kind, message, details)
