"""The use case: run one job against ComfyUI in protocol order, delivering outputs while it runs."""

from __future__ import annotations

import functools
import logging
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Callable, Optional, Sequence, TypeVar, Union

from domain.budget import Budget
from domain.delivery import Delivery, DeliveryOptions
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
)
from domain.follow import FollowPolicy, PromptFollower
from domain.job_files import files_to_remove, into_job_folder, job_folder
from domain.job_input import DEFAULT_MAX_TOTAL_INPUT_BYTES
from domain.job_timings import JobTimings
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
from domain.progress import ProgressSink, ProgressTracker
from domain.prompt_line import PromptLine, QueueTurn
from domain.prompt_run import PromptRun
from domain.response_allowance import ResponseAllowance
from domain.workflow_check import check_workflow
from domain.workflow_errors import raise_for_issues

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
    # each job's inputs and saved files in a folder of its own: they can be deleted, and jobs in flight together
    # never see each other's
    job_folders: bool = False
    cleaner: Optional[JobFileCleaner] = None  # deletes the job's files once it ended


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
    for a dry run the check's. Raises the job's `WorkerError` when it fails."""
    timings = JobTimings(clock)
    svc.comfy.wait_until_ready(budget)
    timings.ready()
    if job.input.validate_only:
        return validate_only(job, svc, budget)
    folder = job_folder(job.prompt.id) if svc.job_folders else None
    if folder is not None:
        workflow = into_job_folder(job.prompt.workflow, folder, [item.name for item in job.input.images])
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
    with ExitStack() as stack:
        if folder is not None and svc.cleaner is not None:
            stack.callback(_clean_up, svc.cleaner, folder, run, listed)
        stack.callback(delivery.close)
        _upload_inputs(job, svc, budget, folder)
        timings.uploaded()
        stream = _open_stream(job, svc, budget, stack)
        queued = False
        try:
            budget.check("queueing the prompt")
            stack.enter_context(turn)
            _queue(job, svc, budget)
            queued = True
            log.info("queued prompt %s", job.prompt.id)
            ending = PromptFollower(
                stream, svc.comfy, job.prompt.id, budget, svc.policy, run.on_event, clock=clock
            ).run()
        except (JobTimedOut, Stalled) as exc:
            delivery.abort()
            if queued:
                svc.comfy.cancel(job.prompt.id)
            partial = _partial(svc, delivery.delivered(), run.texts(), exc, timings)
            if partial is None:
                raise
            return partial
        except (Cancelled, ResponseTooLarge):
            delivery.abort()
            if queued:
                svc.comfy.cancel(job.prompt.id)
            raise
        except BaseException:
            delivery.abort()
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


def _clean_up(cleaner: JobFileCleaner, folder: str, run: PromptRun, listed: list[PromptHistory]) -> None:
    """Delete what the job left in ComfyUI's folders, however it ended (its outputs were delivered by now)."""
    files = [*run.files(), *(ref for history in listed for ref in history.files)]
    cleaner.remove(folder, files_to_remove(folder, dict.fromkeys(files), run.cached_nodes()))


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


def _upload_inputs(job: Job, svc: Services, budget: Budget, folder: Optional[str]) -> None:
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
        name = item.name if folder is None else f"{folder}/{item.name}"
        _with_ready_retry(svc.comfy, budget, functools.partial(svc.comfy.upload_input, name, data, budget))
        log.info("uploaded input %s (%d bytes)", item.name, len(data))


def _open_stream(job: Job, svc: Services, budget: Budget, stack: ExitStack) -> EventStream:
    return _with_ready_retry(
        svc.comfy, budget, lambda: stack.enter_context(svc.monitor.open(job.prompt.client_id, budget))
    )


def _queue(job: Job, svc: Services, budget: Budget) -> None:
    try:
        svc.comfy.queue_prompt(job.prompt, budget)
    except ComfyProcessDied:
        raise
    except ComfyUnreachable as exc:
        log.warning("queueing failed (%s): waiting for ComfyUI, then queueing again unless it has the prompt", exc)
        svc.comfy.wait_until_ready(budget, recheck=True)
        if svc.comfy.prompt_state(job.prompt.id, budget).state == "lost":
            svc.comfy.queue_prompt(job.prompt, budget)
