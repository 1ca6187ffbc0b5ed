"""The use case: run one job against ComfyUI in protocol order and collect its outputs."""
from __future__ import annotations

import logging
from typing import Iterable, Optional, Sequence

from domain.errors import ExecutionFailed, ExecutionInterrupted, JobTimedOut, WorkerError
from domain.model import Job, JobResult, Outcome, OutputFailure, OutputRef, Progress, StoredOutput
from domain.ports import ComfyApi, ExecutionMonitor, ImageSink, ImageSource, ProgressCallback, StopCheck

log = logging.getLogger(__name__)

RETURNED_KINDS = ("images", "gifs")


def run_job(
    job: Job,
    *,
    comfy: ComfyApi,
    monitor: ExecutionMonitor,
    source: ImageSource,
    sink: ImageSink,
    on_progress: Optional[ProgressCallback] = None,
    should_stop: Optional[StopCheck] = None,
) -> JobResult:
    """Upload inputs, queue with the socket already open, wait for the end, collect outputs."""
    comfy.wait_until_ready()
    for image in job.input.images:
        comfy.upload_image(image)
        log.info("uploaded input image %s (%d bytes)", image.name, len(image.data))
    with monitor.watch(job.prompt.client_id) as execution:
        prompt_id = comfy.queue_prompt(job.prompt)
        log.info("queued prompt %s", prompt_id)
        try:
            outcome = execution.wait(
                prompt_id,
                deadline=job.deadline,
                on_progress=on_progress or _ignore,
                should_stop=should_stop or _never,
            )
        except (JobTimedOut, ExecutionInterrupted):
            comfy.cancel(prompt_id)
            raise
    raise_for_outcome(outcome)
    refs = select_returned(comfy.outputs(prompt_id))
    log.info("prompt %s succeeded with %d output file(s) to return", prompt_id, len(refs))
    return collect_outputs(job.id, refs, source=source, sink=sink)


def raise_for_outcome(outcome: Outcome) -> None:
    """Turn an unsuccessful outcome into its error."""
    if outcome.status == "success":
        return
    where = _node_label(outcome)
    if outcome.status == "interrupted":
        raise ExecutionInterrupted(f"ComfyUI interrupted the prompt{' at ' + where if where else ''}", data=outcome.details)
    reason = ": ".join(part for part in (outcome.exception_type, outcome.message.strip()) if part)
    raise ExecutionFailed(f"{where or 'workflow'}: {reason or 'ComfyUI reported an error'}", data=outcome.details)


def select_returned(refs: Iterable[OutputRef]) -> list[OutputRef]:
    """The outputs a caller gets back: saved (not temp) images, ordered by node then position."""
    chosen = [ref for ref in refs if ref.kind in RETURNED_KINDS and ref.type == "output"]
    return sorted(chosen, key=lambda ref: _node_order(ref.node_id))


def collect_outputs(job_id: str, refs: Sequence[OutputRef], *, source: ImageSource, sink: ImageSink) -> JobResult:
    """Fetch and store each output; one failure is reported without losing the others."""
    stored: list[StoredOutput] = []
    failures: list[OutputFailure] = []
    for ref in refs:
        try:
            stored.append(sink.store(job_id, ref, source.fetch(ref)))
        except WorkerError as exc:
            failure = OutputFailure(ref=ref, code=exc.code, message=" ".join(exc.message.split()))
            log.warning("output failed: %s", failure)
            failures.append(failure)
    return JobResult(outputs=tuple(stored), failures=tuple(failures))


def _node_label(outcome: Outcome) -> str:
    if outcome.node_id is None:
        return ""
    return f"node {outcome.node_id}" + (f" ({outcome.node_type})" if outcome.node_type else "")


def _node_order(node_id: str) -> tuple:
    parts = node_id.split(":")
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts)


def _ignore(_: Progress) -> None:
    return None


def _never() -> bool:
    return False
