"""The use case: run one job against ComfyUI in protocol order, delivering outputs while it runs."""

from __future__ import annotations

import functools
import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar, Union

from domain.budget import Budget
from domain.errors import (
    Cancelled,
    ComfyProcessDied,
    ComfyUnreachable,
    ExecutionFailed,
    ExecutionInterrupted,
    InvalidInput,
    JobTimedOut,
    ResponseTooLarge,
    Stalled,
    WorkerError,
    WorkflowRejected,
)
from domain.execution.follow import FollowPolicy, PromptFollower
from domain.execution.progress import ProgressSink, ProgressTracker
from domain.execution.prompt_line import PromptLine, QueueTurn
from domain.execution.prompt_run import PromptRun
from domain.execution.timings import JobTimings
from domain.inputs.job_input import DEFAULT_MAX_TOTAL_INPUT_BYTES
from domain.model import (
    Job,
    JobResult,
    Outcome,
    OutputFailure,
    PromptHistory,
    StoredOutput,
    TextOutput,
    WorkflowChecked,
)
from domain.outputs.allowance import ResponseAllowance
from domain.outputs.delivery import Delivery, DeliveryOptions
from domain.ports import (
    AnswerFormat,
    ComfyApi,
    EventStream,
    ExecutionMonitor,
    ImageConverter,
    ImageSink,
    ImageSource,
    InputFetcher,
    JobFileCleaner,
)
from domain.workflow.check import check_workflow
from domain.workflow.file_choices import refuse_file_choices, suspects
from domain.workflow.job_folders import (
    fresh_temp_files,
    hide_other_jobs,
    hide_other_jobs_in,
    inputs_into_folder,
    job_folder,
    outputs_into_folder,
)
from domain.workflow.rejections import raise_for_issues

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    """The adapters and limits a job runs with; the container builds one per worker."""

    comfy: ComfyApi
    monitor: ExecutionMonitor
    source: ImageSource
    sink: ImageSink
    answer: AnswerFormat
    policy: FollowPolicy = field(default_factory=FollowPolicy)
    concurrency: int = 4
    max_response_bytes: int = 10_000_000
    overflow: Optional[ImageSink] = None
    converter: Optional[ImageConverter] = None
    fetcher: Optional[InputFetcher] = None
    max_input_total_bytes: int = DEFAULT_MAX_TOTAL_INPUT_BYTES
    partial_results: bool = True  # outputs delivered before a failure are the answer, the error beside them
    line: PromptLine = field(default_factory=PromptLine)
    # each job's saved files in a folder of its own (its inputs always are): they can be deleted, and jobs in flight
    # together never see each other's
    output_folders: bool = False
    cleaner: Optional[JobFileCleaner] = None  # deletes the job's files once it ended
    cancel_settle_s: float = 10.0  # how long a dropped prompt may take to stop before the job's files are deleted


def run_job(
    job: Job,
    svc: Services,
    budget: Budget,
    *,
    on_progress: Optional[ProgressSink] = None,
    on_output: Optional[Callable[[StoredOutput], None]] = None,
    clock: Callable[[], float] = time.monotonic,
) -> Union[JobResult, WorkflowChecked]:
    """Wait for ComfyUI, upload inputs, queue with the socket open, deliver outputs as they come; the result, or
    for a dry run the check's. Raises the job's `WorkerError` when it fails. Nothing it answers names another
    job's folder."""
    own = job_folder(job.prompt.id)
    try:
        finished = _run_job(job, svc, budget, own, on_progress, on_output, clock)
    except WorkerError as exc:
        hide_other_jobs_in(exc, own)
        raise
    if isinstance(finished, JobResult):
        if finished.cut_short is not None:
            hide_other_jobs_in(finished.cut_short, own)
        failures = tuple(replace(f, message=hide_other_jobs(f.message, own)) for f in finished.failures)
        return replace(finished, failures=failures)
    return finished


def _run_job(
    job: Job,
    svc: Services,
    budget: Budget,
    own: str,
    on_progress: Optional[ProgressSink],
    on_output: Optional[Callable[[StoredOutput], None]],
    clock: Callable[[], float],
) -> Union[JobResult, WorkflowChecked]:
    timings = JobTimings(clock)
    svc.comfy.wait_until_ready(budget)
    timings.ready()
    workflow = job.prompt.workflow
    found = suspects(workflow, own)
    info = _object_info(svc, budget, workflow) if found or svc.output_folders else None
    if found and info is not None:
        refuse_file_choices(found, info, own)
    if job.input.validate_only:
        return validate_only(job, svc, budget)
    workflow = inputs_into_folder(workflow, own, [item.name for item in job.input.images])
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
        options=DeliveryOptions(svc.concurrency, job.input.include_temp, job.input.output_format),
        allowance=ResponseAllowance(svc.max_response_bytes, svc.answer),
        overflow=svc.overflow,
    )
    tracker = ProgressTracker(job.prompt.workflow, on_progress, clock=clock)
    turn = QueueTurn(svc.line, job.prompt.id, budget)
    run = PromptRun(job, delivery, tracker, timings, turn)
    listed: list[PromptHistory] = []
    submission = _Submission()
    with ExitStack() as stack:
        if svc.cleaner is not None:
            stack.callback(_clean_up, svc, job, run, listed, submission)
        stack.callback(delivery.close)
        _upload_inputs(job, svc, budget, own)
        timings.uploaded()
        stream = _open_stream(job, svc, budget, stack)
        try:
            budget.check("queueing the prompt")
            stack.enter_context(turn)
            turn.queued(_queue(job, svc, budget, submission))
            log.info("queued prompt %s", job.prompt.id)
            ending = PromptFollower(
                stream, svc.comfy, job.prompt.id, budget, svc.policy, run.on_event, clock=clock
            ).run()
        except (JobTimedOut, Stalled) as exc:
            delivery.abort()
            _drop(svc, job, submission)
            partial = _partial(svc, delivery.delivered(), run.texts(), exc, timings)
            if partial is None:
                raise
            return partial
        except (Cancelled, ResponseTooLarge):
            delivery.abort()
            _drop(svc, job, submission)
            raise
        except (WorkflowRejected, ComfyProcessDied):
            delivery.abort()  # nothing was queued, or nothing is left to ask
            raise
        except BaseException:
            delivery.abort()
            if not submission.queued:  # POST /prompt failed: whatever ComfyUI did with it, it is dropped
                _drop(svc, job, submission)
            raise
        timings.prompt_ended()
        error = error_for_outcome(ending.outcome)
        if error is not None and not svc.partial_results:
            delivery.abort()
            raise error
        history = ending.history or run.history_from_frames(ending) or svc.comfy.history(job.prompt.id, budget)
        listed.append(history)
        try:
            stored, failures = delivery.finish(history.files, history.texts)
        except (JobTimedOut, Stalled) as exc:
            partial = _partial(svc, delivery.delivered(), history.texts, error or exc, timings)
            if partial is None:
                raise
            return partial
    timings.delivered()
    timings.executed(history.started_ms, history.ended_ms)
    if error is not None:
        partial = _partial(svc, stored, history.texts, error, timings, failures)
        if partial is None:
            raise error
        return partial
    log.info("prompt %s succeeded: %d output(s) delivered, %d failed", job.prompt.id, len(stored), len(failures))
    return _result(svc, stored, history.texts, timings, failures)


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


@dataclass
class _Submission:
    """How far the prompt got: POST /prompt sent (it may be in ComfyUI's queue whatever the answer), answered,
    and dropped again by the job."""

    posted: bool = False
    queued: bool = False
    dropped: bool = False


def _drop(svc: Services, job: Job, submission: _Submission) -> None:
    """The job ends before its prompt did: once POST /prompt was sent (even unanswered), the prompt may be queued
    or running, so it is deleted from ComfyUI's queue and interrupted."""
    if submission.posted:
        submission.dropped = True
        svc.comfy.cancel(job.prompt.id)


def _result(
    svc: Services,
    stored: Sequence[StoredOutput],
    texts: Sequence[TextOutput],
    timings: JobTimings,
    failures: Sequence[OutputFailure] = (),
    cut_short: Optional[WorkerError] = None,
) -> JobResult:
    return JobResult(
        outputs=tuple(stored),
        texts=tuple(texts),
        failures=tuple(failures),
        timings_ms=timings.report(),
        comfyui_version=getattr(svc.comfy, "version", None),
        cut_short=cut_short,
    )


def _clean_up(svc: Services, job: Job, run: PromptRun, listed: list[PromptHistory], submission: _Submission) -> None:
    """Delete what the job can prove it left in ComfyUI's folders, however it ended (its outputs were delivered by
    now): its own folders, and the temp files its core preview nodes made. A dropped prompt is first given time
    to stop, so that it writes nothing after."""
    if submission.dropped:
        _settle(svc, job.prompt.id)
    files = [*run.files(), *(ref for history in listed for ref in history.files)]
    cached = run.cached_nodes()
    for history in listed:
        if history.cached_nodes is not None:
            cached = set(history.cached_nodes) | (cached or set())
    assert svc.cleaner is not None
    svc.cleaner.remove(job_folder(job.prompt.id), fresh_temp_files(job.prompt.workflow, files, cached))


def _settle(svc: Services, prompt_id: str) -> None:
    """Wait (at most `cancel_settle_s`) until a dropped prompt is neither pending nor running, dropping it again
    while it is: a POST /prompt that timed out may still be queued after the first drop."""
    budget = Budget(deadline=time.monotonic() + svc.cancel_settle_s)
    lost_since: Optional[float] = None
    try:
        while True:
            state = svc.comfy.prompt_state(prompt_id, budget).state
            if state == "finished":
                return
            if state == "lost":
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since >= 1.0:  # ComfyUI never got it (or forgot it)
                    return
            else:
                lost_since = None
                svc.comfy.cancel(prompt_id)
            budget.sleep(0.2, "waiting for the dropped prompt to stop")
    except WorkerError as exc:
        log.warning("could not tell whether dropped prompt %s stopped (%s): cleaning up now", prompt_id, exc.code)


def _partial(
    svc: Services,
    stored: Sequence[StoredOutput],
    texts: Sequence[TextOutput],
    error: WorkerError,
    timings: JobTimings,
    failures: Sequence[OutputFailure] = (),
) -> Optional[JobResult]:
    """What the job produced before `error`, as worker-comfyui 5.x answers it; None when nothing was."""
    if not svc.partial_results or not (stored or texts):
        return None
    log.warning("job cut short (%s): answering the %d output(s) delivered before it", error.code, len(stored))
    return _result(svc, stored, texts, timings, failures, cut_short=error)


def validate_only(job: Job, svc: Services, budget: Budget) -> WorkflowChecked:
    """Check the workflow against this ComfyUI's `/object_info` without queueing anything."""
    names = {item.name for item in job.input.images}
    info = svc.comfy.object_info(budget)
    issues = check_workflow(job.prompt.workflow, info, input_files=names)
    if any(issue.type in ("invalid_prompt", "value_not_in_list") for issue in issues):
        # a custom node or a model file may have been added since /object_info was read
        info = svc.comfy.object_info(budget, refresh=True)
        issues = check_workflow(job.prompt.workflow, info, input_files=names)
    raise_for_issues(issues, info)
    log.info("workflow is valid (%d nodes); nothing was queued", len(job.prompt.workflow))
    return WorkflowChecked(nodes=len(job.prompt.workflow))


def error_for_outcome(outcome: Outcome) -> Optional[WorkerError]:
    """The error an unsuccessful outcome means; None for a success."""
    if outcome.status == "success":
        return None
    where = (
        ""
        if outcome.node_id is None
        else f"node {outcome.node_id}" + (f" ({outcome.node_type})" if outcome.node_type else "")
    )
    if outcome.status == "interrupted":
        return ExecutionInterrupted(
            f"ComfyUI interrupted the prompt{' at ' + where if where else ''}", data=outcome.details
        )
    reason = ": ".join(part for part in (outcome.exception_type, outcome.message.strip()) if part)
    return ExecutionFailed(f"{where or 'workflow'}: {reason or 'ComfyUI reported an error'}", data=outcome.details)


def _with_ready_retry(comfy: ComfyApi, budget: Budget, call: Callable[[], T]) -> T:
    """Run `call`; if ComfyUI went away since it last answered (a restart between jobs), wait for it and retry once."""
    try:
        return call()
    except ComfyProcessDied:
        raise
    except ComfyUnreachable as exc:
        log.warning("ComfyUI did not answer (%s): waiting for it again", exc)
        comfy.wait_until_ready(budget, recheck=True)
        return call()


def _upload_inputs(job: Job, svc: Services, budget: Budget, folder: str) -> None:
    # inline inputs were bounded when the job was parsed; each download gets what the total leaves
    held = sum(len(item.data) for item in job.input.images if item.data is not None)
    for item in job.input.images:
        budget.check(f"uploading input {item.name}")
        data = item.data
        if data is None:
            if svc.fetcher is None:
                raise InvalidInput(f"input {item.name!r} gives a URL, but this worker cannot download inputs")
            allowance = svc.max_input_total_bytes - held
            if allowance <= 0:
                raise InvalidInput(
                    f"input {item.name!r}: the job's inputs already reach max_total_input_bytes "
                    f"({svc.max_input_total_bytes:,} bytes)",
                    limits=("max_total_input_bytes",),
                )
            data = svc.fetcher.fetch(item.url or "", budget, allowance)
            held += len(data)
            log.info("downloaded input %s (%d bytes)", item.name, len(data))
        name = f"{folder}/{item.name}"
        _with_ready_retry(svc.comfy, budget, functools.partial(svc.comfy.upload_input, name, data, budget))
        log.info("uploaded input %s (%d bytes)", item.name, len(data))


def _open_stream(job: Job, svc: Services, budget: Budget, stack: ExitStack) -> EventStream:
    return _with_ready_retry(
        svc.comfy, budget, lambda: stack.enter_context(svc.monitor.open(job.prompt.client_id, budget))
    )


def _queue(job: Job, svc: Services, budget: Budget, submission: _Submission) -> Optional[float]:
    """POST the prompt; ComfyUI's queue number for it."""
    submission.posted = True
    try:
        number = svc.comfy.queue_prompt(job.prompt, budget)
    except ComfyProcessDied:
        raise
    except ComfyUnreachable as exc:
        log.warning("queueing failed (%s): waiting for ComfyUI, then queueing again unless it has the prompt", exc)
        svc.comfy.wait_until_ready(budget, recheck=True)
        number = None
        if svc.comfy.prompt_state(job.prompt.id, budget).state == "lost":
            number = svc.comfy.queue_prompt(job.prompt, budget)
    submission.queued = True
    return number
