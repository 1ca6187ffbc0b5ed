"""The verdict on a job that ran, by the worker's rules: partial results, nothing delivered, the answer's size."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Optional, Sequence

from domain.errors import NothingDelivered, WorkerError
from domain.execution.timings import JobTimings
from domain.model import JobResult, OutputFailure, StoredOutput, TextOutput, failed
from domain.outputs.allowance import ListedOutput, ResponseAllowance
from domain.services import Services
from domain.workflow.job_folders import hide_other_jobs, hide_other_jobs_in

log = logging.getLogger(__name__)


def delivered(
    svc: Services,
    stored: Sequence[StoredOutput],
    texts: Sequence[TextOutput],
    timings: JobTimings,
    failures: Sequence[OutputFailure] = (),
    error: Optional[WorkerError] = None,
) -> JobResult:
    """What the job delivered, and the error that cut it short if one did. With partial results (worker-comfyui
    5.x's answer) what was delivered before the error is answered beside it; else, or with nothing delivered, the
    job failed."""
    if error is not None and not (svc.partial_results and (stored or texts)):
        return failed(error)
    if error is not None:
        log.warning("job cut short (%s): answering the %d output(s) delivered before it", error.code, len(stored))
    return JobResult(
        outputs=tuple(stored),
        texts=tuple(texts),
        failures=tuple(failures),
        timings_ms=timings.report(),
        comfyui_version=getattr(svc.comfy, "version", None),
        error=error,
    )


def final(result: JobResult, svc: Services, own_folder: str, *, answer_carries_files: bool) -> JobResult:
    """The verdict as answered: nothing of another job's folder in it; a job whose every output failed has
    failed; and, when the answer carries the files, one larger than `max_response_bytes` has failed too (the
    running count while delivering is an estimate; this is the last word, sized as the edge will send it)."""
    result = _hidden(result, own_folder)
    if result.status == "ok" and not result.outputs and not result.texts and result.failures:
        lines = [str(failure) for failure in result.failures]
        return failed(NothingDelivered(result.failures[0].code, lines))
    if result.status == "failed" or not answer_carries_files:
        return result
    size = svc.answer_format.result_bytes(result)
    if size <= svc.max_response_bytes:
        return result
    log.error("the answer came out at %d bytes, over max_response_bytes=%d", size, svc.max_response_bytes)
    inline = [ListedOutput(out.filename, out.ref.node_id, out.size_bytes) for out in result.outputs if out.inline]
    error = ResponseAllowance(svc.max_response_bytes, svc.answer_format, svc.overflow_hint).too_large(size, inline)
    error.replace_worker = result.replace_worker
    return failed(error)


def _hidden(result: JobResult, own_folder: str) -> JobResult:
    if result.error is not None:
        hide_other_jobs_in(result.error, own_folder)
    failures = tuple(replace(f, message=hide_other_jobs(f.message, own_folder)) for f in result.failures)
    return replace(result, failures=failures)
