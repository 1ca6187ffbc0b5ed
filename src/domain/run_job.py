"""The use case: run one job against ComfyUI in protocol order, delivering outputs while it runs, to a verdict."""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import replace
from typing import Any, Callable, Mapping, Optional

from domain.budget import Budget
from domain.errors import (
    Cancelled,
    ComfyProcessDied,
    JobTimedOut,
    ResponseTooLarge,
    Stalled,
    WorkerError,
    WorkflowRejected,
)
from domain.execution.acceptance import dropped_failures, rejection
from domain.execution.cleanup import clean_up
from domain.execution.follow import PromptFollower
from domain.execution.outcomes import error_for_outcome
from domain.execution.progress import ProgressListener, ProgressTracker
from domain.execution.projection import PromptProjection
from domain.execution.prompt_line import QueueTurn
from domain.execution.prompt_run import AnnouncedOutputs, RunClock
from domain.execution.reachability import when_back
from domain.execution.submission import Submission
from domain.execution.timings import JobTimings
from domain.inputs.model_requests import ModelReady
from domain.inputs.models import job_models
from domain.inputs.uploads import upload_inputs
from domain.model import Job, JobResult, OutputFailure, PromptHistory, StoredOutput, Verdict, failed
from domain.outputs.allowance import ResponseAllowance
from domain.outputs.delivery import Delivery, DeliveryOptions
from domain.ports import EventStream
from domain.services import Services
from domain.verdict import delivered, final
from domain.workflow.dry_run import validate_only
from domain.workflow.file_choices import refuse_file_choices, suspects
from domain.workflow.job_folders import hide_other_jobs_in, inputs_into_folder, job_folder, outputs_into_folder
from domain.workflow.prepare import PreparedWorkflow, classes_of, needs_object_info, prepare, with_ui_names
from domain.workflow.ui_format import NodeOrigin

log = logging.getLogger(__name__)


def run_job(
    job: Job,
    svc: Services,
    budget: Budget,
    *,
    on_progress: Optional[ProgressListener] = None,
    on_output: Optional[Callable[[StoredOutput], None]] = None,
    clock: Callable[[], float] = time.monotonic,
) -> Verdict:
    """Wait for ComfyUI, upload inputs, queue with the socket open, deliver outputs as they come: the job's
    verdict (a dry run's check, or a `JobResult` that is ok, partial or failed with its `WorkerError`). With
    `on_output` each output goes there as it is delivered, and the answer will not carry the files."""
    own = job_folder(job.prompt.id)
    origins: dict[str, NodeOrigin] = {}  # for a UI workflow: the UI node each API node comes from
    models: list[ModelReady] = []  # the job's model files, once made available
    try:
        verdict = _run(job, svc, budget, own, origins, on_progress, on_output, clock, models)
    except WorkerError as exc:
        return failed(with_ui_names(hide_other_jobs_in(exc, own), origins))
    if isinstance(verdict, JobResult):
        verdict = replace(verdict, models=tuple(models))
        if verdict.error is not None:
            with_ui_names(verdict.error, origins)
        return final(verdict, svc, own, answer_carries_files=on_output is None)
    return verdict


def _run(
    job: Job,
    svc: Services,
    budget: Budget,
    own: str,
    origins: dict[str, NodeOrigin],
    on_progress: Optional[ProgressListener],
    on_output: Optional[Callable[[StoredOutput], None]],
    clock: Callable[[], float],
    models_ready: list[ModelReady],
) -> Verdict:
    timings = JobTimings(clock)
    svc.comfy.wait_until_ready(budget)
    timings.ready()
    if needs_object_info(job.command):
        prepared = _prepared(job, svc, budget)
        origins.update(prepared.origins)
        job = replace(job, prompt=replace(job.prompt, workflow=prepared.prompt))
    workflow, models = job_models(
        job.prompt.workflow, job.command.models, svc.models, svc.models_off, svc.comfy, budget
    )
    job = replace(job, prompt=replace(job.prompt, workflow=workflow))
    found = suspects(workflow, own)
    info = _object_info(svc, budget, workflow) if found or svc.output_folders else None
    if found and info is not None:
        refuse_file_choices(found, info, own)
    if job.command.validate_only:
        return validate_only(job, svc.comfy, budget, models.plan())
    workflow = inputs_into_folder(workflow, own, [item.name for item in job.command.inputs])
    if svc.output_folders and info is not None:
        workflow = outputs_into_folder(workflow, own, _output_nodes(workflow, info))
    job = replace(job, prompt=replace(job.prompt, workflow=workflow))
    delivery = Delivery(
        job.id,
        source=svc.source,
        sink=svc.sink,
        budget=budget,
        converter=svc.converter,
        on_stored=on_output,
        options=DeliveryOptions(svc.concurrency, job.command.include_temp, job.command.output_format),
        allowance=ResponseAllowance(svc.max_response_bytes, svc.answer_format, svc.overflow_hint),
        overflow=svc.overflow,
    )
    prompt = PromptProjection(job.prompt.id)
    ProgressTracker(job.prompt.workflow, on_progress, clock=clock, started_at=timings.started_at).watch(prompt)
    AnnouncedOutputs(prompt, delivery, job.prompt.workflow)
    turn = QueueTurn(svc.line, job.prompt.id, budget)
    RunClock(prompt, timings, turn)
    histories: list[PromptHistory] = []
    submission = Submission(svc.comfy, job.prompt)
    dropped: list[OutputFailure] = []
    with ExitStack() as stack:
        stack.callback(prompt.close)
        stack.enter_context(models.in_use())  # until the prompt is over and its files are cleaned up
        stack.callback(clean_up, svc, prompt, histories, submission)
        stack.callback(delivery.close)
        if models.requests:
            models_ready.extend(models.make_available(budget, on_progress, clock, timings.started_at))
            timings.models_ready()
        upload_inputs(job, svc, budget, own)
        timings.uploaded()
        stream = _open_stream(job, svc, budget, stack)
        try:
            budget.check("queueing the prompt")
            stack.enter_context(turn)
            queued = submission.post(budget)
            turn.queued(queued.number)
            log.info("queued prompt %s", job.prompt.id)
            dropped = dropped_failures(queued)  # outputs ComfyUI will not run: each is an error line of the answer
            if dropped and not svc.partial_results:
                submission.drop()
                raise rejection(queued)
            ending = PromptFollower(stream, svc.comfy, prompt, budget, svc.policy, clock=clock).run()
        except (JobTimedOut, Stalled) as exc:
            delivery.abort()
            submission.drop()
            return delivered(svc, delivery.delivered(), prompt.texts, timings, dropped, error=exc)
        except (Cancelled, ResponseTooLarge):
            delivery.abort()
            submission.drop()
            raise
        except (WorkflowRejected, ComfyProcessDied):
            delivery.abort()  # nothing was queued, or nothing is left to ask
            raise
        except BaseException:
            delivery.abort()
            if not submission.queued:  # POST /prompt failed: whatever ComfyUI did with it, it is dropped
                submission.drop()
            raise
        timings.prompt_ended()
        error = error_for_outcome(ending.outcome)
        if error is not None and not svc.partial_results:
            delivery.abort()
            return failed(error)
        history = (
            ending.history or _from_frames(prompt, ending.whole_stream) or svc.comfy.history(job.prompt.id, budget)
        )
        histories.append(history)
        try:
            stored, failures = delivery.finish(history.files, history.texts)
        except (JobTimedOut, Stalled) as exc:
            return delivered(svc, delivery.delivered(), history.texts, timings, dropped, error=error or exc)
    timings.delivered()
    timings.executed(history.started_ms, history.ended_ms)
    if error is None:
        log.info("prompt %s succeeded: %d output(s) delivered, %d failed", job.prompt.id, len(stored), len(failures))
    return delivered(svc, stored, history.texts, timings, [*dropped, *failures], error)


def _from_frames(prompt: PromptProjection, whole_stream: bool) -> Optional[PromptHistory]:
    """What `/history` would say, when one unbroken socket carried every frame of the prompt.

    Frames come in order over one connection, and ComfyUI sends `executed` for every output node, cached ones
    included (PROTOCOL.md facts 1-3): `/history` is needed only when frames may have been missed (a reconnect, or
    an ending learnt by asking), or when no output was announced at all.
    """
    if not whole_stream or not (prompt.files or prompt.texts):
        return None
    return prompt.history()


def _prepared(job: Job, svc: Services, budget: Budget) -> PreparedWorkflow:
    """The workflow converted from the UI format and overridden, against this ComfyUI's /object_info (read again
    when the result names a class it lacks: a custom node may have been added since)."""
    info = svc.comfy.object_info(budget)
    prepared = prepare(job.command, info)
    if any(name not in info for name in classes_of(prepared)):
        prepared = prepare(job.command, svc.comfy.object_info(budget, refresh=True))
    return prepared


def _object_info(svc: Services, budget: Budget, workflow: Mapping[str, Any]) -> Mapping[str, Any]:
    """ComfyUI's `/object_info` (read once per ComfyUI), read again when the workflow names a class it lacks: a
    custom node may have been added since."""
    info = svc.comfy.object_info(budget)
    classes = {node.get("class_type") for node in workflow.values() if isinstance(node, Mapping)}
    if any(isinstance(name, str) and name not in info for name in classes):
        info = svc.comfy.object_info(budget, refresh=True)
    return info


def _output_nodes(workflow: Mapping[str, Any], info: Mapping[str, Any]) -> list[str]:
    """The workflow's output nodes, as ComfyUI tells them: their class's `output_node`."""
    return [
        node_id
        for node_id, node in workflow.items()
        if isinstance(node, Mapping) and (info.get(str(node.get("class_type"))) or {}).get("output_node") is True
    ]


def _open_stream(job: Job, svc: Services, budget: Budget, stack: ExitStack) -> EventStream:
    return when_back(svc.comfy, budget, lambda: stack.enter_context(svc.monitor.open(job.prompt.client_id, budget)))
