"""A dry run: the workflow checked against this ComfyUI's `/object_info`, nothing queued and nothing downloaded."""

from __future__ import annotations

import logging
from typing import Any, Mapping, Sequence

from domain.budget import Budget
from domain.inputs.model_requests import ModelPlanned
from domain.model import Job, WorkflowChecked
from domain.ports import ComfyApi
from domain.workflow.check import Issue, check_workflow
from domain.workflow.rejections import model_folder, raise_for_issues
from domain.workflow.replacements import with_replacements

log = logging.getLogger(__name__)


def validate_only(job: Job, comfy: ComfyApi, budget: Budget, models: Sequence[ModelPlanned] = ()) -> WorkflowChecked:
    """The check's verdict; `WorkflowRejected` (or a child) naming every issue ComfyUI would report. A model file a
    run would download counts as there for the loaders that read its folder."""
    names = {item.name for item in job.command.inputs}
    fetched = {(planned.request.folder, planned.request.name) for planned in models if planned.plan == "fetch"}
    info = comfy.object_info(budget)
    issues = _check(job.prompt.workflow, info, names, fetched)
    if any(issue.type in ("invalid_prompt", "value_not_in_list") for issue in issues):
        # a custom node or a model file may have been added since /object_info was read
        info = comfy.object_info(budget, refresh=True)
        issues = _check(job.prompt.workflow, info, names, fetched)
    if any(issue.type == "invalid_prompt" and issue.class_type for issue in issues):
        # ComfyUI 0.14.0+ rewrites a retired class before validating: the dry run checks what it would run
        replacements = comfy.node_replacements(budget)
        if replacements:
            issues = _check(with_replacements(job.prompt.workflow, replacements, info), info, names, fetched)
    raise_for_issues(issues, info)
    log.info("workflow is valid (%d nodes); nothing was queued", len(job.prompt.workflow))
    return WorkflowChecked(nodes=len(job.prompt.workflow), workflow_api=dict(job.prompt.workflow), models=tuple(models))


def _check(
    workflow: Mapping[str, Any], info: Mapping[str, Any], names: set[str], fetched: set[tuple[str, str]]
) -> list[Issue]:
    issues = check_workflow(workflow, info, input_files=names)
    return [issue for issue in issues if not _downloaded_by_a_run(issue, fetched)]


def _downloaded_by_a_run(issue: Issue, fetched: set[tuple[str, str]]) -> bool:
    """A file missing from a loader's list that a run would download into the folder it reads (into any folder, for
    a loader whose folder is not known)."""
    if issue.type != "value_not_in_list" or not isinstance(issue.received, str):
        return False
    folder = model_folder(issue.class_type, issue.input)
    return (folder, issue.received) in fetched if folder else any(name == issue.received for _, name in fetched)
