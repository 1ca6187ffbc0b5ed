"""ComfyUI's refusal of a prompt (`POST /prompt`'s 400 body) as one structured error."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional

from domain.errors import WorkflowRejected, clip
from domain.workflow.check import Issue, declared
from domain.workflow.job_folders import without_job_folders
from domain.workflow.rejections import error_for_issues

# validation_error.json variants.validation_unknown_class: an unknown class_type comes as a top error
# {"type": "invalid_prompt", "message": "Cannot execute because node NoSuchNode does not exist.",
#  "details": "Node ID '#1'"} with empty node_errors.
UNKNOWN_CLASS = re.compile(r"Cannot execute because node (?P<name>.+) does not exist\.?$")
NODE_ID = re.compile(r"Node ID '#(?P<id>[^']*)'")


def workflow_rejected(body: Any, object_info: Optional[Mapping] = None) -> WorkflowRejected:
    """POST /prompt's 400 body as one error whose first line names node, class and input (or tells the fix).

    Each node error becomes an issue with ComfyUI's `type`, `message` and `details`, `input` and `received` from
    `extra_info` (validation_error.json, missing_model_validation.json); a file list's allowed values come from
    `extra_info.input_config`, which ComfyUI leaves out past 20 entries, else from `object_info`.
    """
    if not isinstance(body, Mapping):
        return WorkflowRejected(f"ComfyUI rejected the workflow: {str(body)[:300]}")
    error: Mapping = body["error"] if isinstance(body.get("error"), Mapping) else {"message": str(body.get("error"))}
    node_errors: Mapping = body["node_errors"] if isinstance(body.get("node_errors"), Mapping) else {}
    issues = [issue for node_id, node in node_errors.items() for issue in _node_issues(str(node_id), node)]
    if not issues:
        issues = [_top_issue(error)]
    top = {key: error.get(key) for key in ("type", "message", "details") if error.get(key) is not None}
    return error_for_issues(issues, object_info, comfy_error=top)


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
    if unknown:
        return Issue(
            kind, message, details, node_id=node.group("id") if node else None, class_type=unknown.group("name")
        )
    if not message:
        return Issue(kind or "invalid_prompt", "ComfyUI rejected the workflow", details)
    return Issue(kind, message, details)
