"""A dry run: the workflow checked against this ComfyUI's `/object_info`, nothing queued."""

from __future__ import annotations

import logging

from domain.budget import Budget
from domain.model import Job, WorkflowChecked
from domain.ports import ComfyApi
from domain.workflow.check import check_workflow
from domain.workflow.rejections import raise_for_issues
from domain.workflow.replacements import with_replacements

log = logging.getLogger(__name__)


def validate_only(job: Job, comfy: ComfyApi, budget: Budget) -> WorkflowChecked:
    """The check's verdict; `WorkflowRejected` (or a child) naming every issue ComfyUI would report."""
    names = {item.name for item in job.command.inputs}
    info = comfy.object_info(budget)
    issues = check_workflow(job.prompt.workflow, info, input_files=names)
    if any(issue.type in ("invalid_prompt", "value_not_in_list") for issue in issues):
        # a custom node or a model file may have been added since /object_info was read
        info = comfy.object_info(budget, refresh=True)
        issues = check_workflow(job.prompt.workflow, info, input_files=names)
    if any(issue.type == "invalid_prompt" and issue.class_type for issue in issues):
        # ComfyUI 0.14.0+ rewrites a retired class before validating: the dry run checks what it would run
        replacements = comfy.node_replacements(budget)
        if replacements:
            issues = check_workflow(with_replacements(job.prompt.workflow, replacements, info), info, input_files=names)
    raise_for_issues(issues, info)
    log.info("workflow is valid (%d nodes); nothing was queued", len(job.prompt.workflow))
    return WorkflowChecked(nodes=len(job.prompt.workflow), workflow_api=dict(job.prompt.workflow))
