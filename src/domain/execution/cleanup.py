"""What a job leaves in ComfyUI's folders, deleted once it ended: only what it can prove it made."""

from __future__ import annotations

from typing import Iterable

from domain.execution.projection import PromptProjection
from domain.execution.submission import Submission
from domain.model import PromptHistory
from domain.services import Services
from domain.workflow.job_folders import fresh_temp_files, job_folder


def clean_up(
    svc: Services, prompt: PromptProjection, histories: Iterable[PromptHistory], submission: Submission
) -> None:
    """Delete the job's own folders and the temp files its core preview nodes made, however the job ended (its
    outputs were delivered by now). A dropped prompt is first given time to stop, so that it writes nothing after.
    Which nodes ComfyUI ran comes from the frames or, when they were lost, from `/history`."""
    if svc.cleaner is None:
        return
    submission.settle(svc.cancel_settle_s)
    histories = list(histories)
    files = [*prompt.files, *(ref for history in histories for ref in history.files)]
    cached = set(prompt.cached) if prompt.cached is not None else None
    for history in histories:
        if history.cached_nodes is not None:
            cached = set(history.cached_nodes) | (cached or set())
    svc.cleaner.remove(job_folder(submission.prompt.id), fresh_temp_files(submission.prompt.workflow, files, cached))
