"""Runs one RunPod job's blocking use case in a thread, so that a RunPod cancel can stop it in every stage."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from typing import Any, Callable, Optional

from domain.budget import Budget
from domain.errors import WorkerError
from domain.inputs.job_input import DEFAULT_MAX_INPUT_FILES, DEFAULT_MAX_TOTAL_INPUT_BYTES, new_job
from domain.model import Job, JobResult, StoredOutput
from domain.run_job import Services, run_job
from entrypoints.answers import (
    answer,
    answer_within,
    answer_without_files,
    error_answer,
    error_line,
    internal_error_answer,
    sendable,
)
from entrypoints.job_logging import register_secret

log = logging.getLogger(__name__)

OutputCallback = Callable[[StoredOutput], None]


class JobRunner:
    """Turns a RunPod job into its answer, one path per job; never raises but `CancelledError`."""

    def __init__(
        self,
        services: Services,
        *,
        timeout_s: Optional[float],
        default_api_key: Optional[str],
        max_input_bytes: int,
        refresh_worker: bool,
        progress: Optional[Callable[[dict, dict], None]],
        cancel_wait_s: float = 10.0,
        max_input_files: int = DEFAULT_MAX_INPUT_FILES,
        max_total_input_bytes: int = DEFAULT_MAX_TOTAL_INPUT_BYTES,
        max_concurrency: int = 1,
    ) -> None:
        self._max_concurrency = max_concurrency
        self._in_flight = 0
        self._retiring = False
        self._answered = 0  # jobs in flight whose answer is held until the others have answered
        self._max_input_files, self._max_total_input_bytes = max_input_files, max_total_input_bytes
        self._svc = services
        self._timeout_s = timeout_s
        self._default_api_key = default_api_key
        self._max_input_bytes = max_input_bytes
        self._refresh_worker = refresh_worker
        self._progress = progress
        self._cancel_wait_s = cancel_wait_s
        self._free_client_ids: list[str] = []  # a client id's socket stays open for the next job that takes it
        self._still_running: set[str] = set()

    def concurrency(self, current: int = 1) -> int:
        """The SDK's `concurrency_modifier`: MAX_CONCURRENCY jobs at once, none once the worker is retiring.

        The SDK resizes its job queue only when no job is in flight, so the value is fixed from the start; a
        retiring worker's 0 makes it stop taking jobs (it waits for the jobs in flight, then takes none).
        """
        return 0 if self._retiring else self._max_concurrency

    async def run(self, job: dict, on_output: Optional[OutputCallback] = None) -> dict[str, Any]:
        """The job's answer; with `on_output` each output goes there as it is delivered, and the answer leaves
        the files out (a streamed job's last item)."""
        self._in_flight += 1
        try:
            answer = await self._run(job, on_output)
            if answer.get("refresh_worker"):
                await self._retire()
            return answer
        finally:
            self._in_flight -= 1

    async def _retire(self) -> None:
        """This job replaces the worker: no new job is taken, and its answer (which stops the pod) waits until
        the other jobs in flight have answered."""
        self._retiring = True
        self._answered += 1
        try:
            if self._in_flight > self._answered:
                log.warning("the worker will be replaced once the other job(s) in flight have answered")
            while self._in_flight > self._answered:
                await asyncio.sleep(0.1)
        finally:
            self._answered -= 1

    async def _run(self, job: dict, on_output: Optional[OutputCallback]) -> dict[str, Any]:
        budget = Budget(deadline=time.monotonic() + self._timeout_s if self._timeout_s else None)
        client_id = self._free_client_ids.pop() if self._free_client_ids else str(uuid.uuid4())
        prompt_id = str(uuid.uuid4())  # chosen here, so that a cancel can name the prompt before the input is read
        # Everything that reads the caller's input, logs it or answers it runs in the thread: caller text can be
        # megabytes long, and the event loop carries the SDK's heartbeat and every other job.
        work = asyncio.ensure_future(asyncio.to_thread(self._answer, job, prompt_id, client_id, budget, on_output))
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            if not await self._cancelled(prompt_id, budget, work):
                self._still_running.add(client_id)
                work.add_done_callback(lambda _: self._retire_client(client_id))
            raise
        finally:
            if not budget.stopped or self._stopped_in_time(client_id):
                self._free_client_ids.append(client_id)

    def warm_up(self, workflow: dict) -> None:
        """Run `workflow` once before the first job so its models are loaded; a failure is only logged."""
        started = time.monotonic()
        try:
            job = new_job("warm-up", {"workflow": workflow}, max_input_bytes=self._max_input_bytes)
            run_job(job, self._svc, Budget(deadline=started + self._timeout_s if self._timeout_s else None))
        except WorkerError as exc:
            log.error("warm-up workflow failed after %.1f s: %s", time.monotonic() - started, exc.summary())
            return
        log.info("warm-up workflow ran in %.1f s", time.monotonic() - started)

    def _answer(
        self, raw: dict, prompt_id: str, client_id: str, budget: Budget, on_output: Optional[OutputCallback]
    ) -> dict[str, Any]:
        """Read the input, run the job, answer: in the job's thread, never raising."""
        return sendable(self._answer_unchecked(raw, prompt_id, client_id, budget, on_output))

    def _answer_unchecked(
        self, raw: dict, prompt_id: str, client_id: str, budget: Budget, on_output: Optional[OutputCallback]
    ) -> dict[str, Any]:
        refresh = self._refresh_worker
        job: Optional[Job] = None
        try:
            job = self._read(raw, prompt_id, client_id)
            register_secret(job.input.comfy_org_api_key)
            progress = self._progress
            on_progress = (lambda update: progress(raw, update)) if progress else None
            guarded = (lambda out: None if budget.stopped else on_output(out)) if on_output else None
            finished = run_job(job, self._svc, budget, on_progress=on_progress, on_output=guarded)
        except WorkerError as exc:
            if job is None:
                log.warning("rejected input: %s", error_line(exc))
            else:
                log.error("job failed: %s", error_line(exc))
            return error_answer(exc, replace_worker=refresh)
        except Exception as exc:
            log.exception("%s failed unexpectedly", "reading the job's input" if job is None else "the job")
            return internal_error_answer(exc, replace_worker=refresh)
        if on_output is not None and isinstance(finished, JobResult):
            return answer_without_files(finished, replace_worker=refresh)
        if isinstance(finished, JobResult):
            return answer_within(finished, self._svc.max_response_bytes, replace_worker=refresh)
        return answer(finished, replace_worker=refresh)

    def _read(self, raw: dict, prompt_id: str, client_id: str) -> Job:
        return new_job(
            str(raw.get("id", "")),
            raw.get("input"),
            default_api_key=self._default_api_key,
            max_input_bytes=self._max_input_bytes,
            max_input_files=self._max_input_files,
            max_total_input_bytes=self._max_total_input_bytes,
            client_id=client_id,
            new_id=lambda: prompt_id,
        )

    def _retire_client(self, client_id: str) -> None:
        """A cancelled job's late thread has ended: the socket it kept for its client id is closed, since that id
        is never handed out again (else ComfyUI keeps a socket nobody reads)."""
        threading.Thread(target=self._svc.monitor.close, args=(client_id,), daemon=True).start()

    def _stopped_in_time(self, client_id: str) -> bool:
        """A thread still running after a cancel keeps its socket: its client id is not handed out again."""
        return client_id not in self._still_running

    async def _cancelled(self, prompt_id: str, budget: Budget, work: asyncio.Future) -> bool:
        """Stop every stage, tell ComfyUI at once, and give the thread a bounded time to finish."""
        log.warning("RunPod cancelled the job: stopping prompt %s", prompt_id)
        budget.stop.set()
        await asyncio.shield(asyncio.to_thread(self._svc.comfy.cancel, prompt_id))
        done, _ = await asyncio.wait({work}, timeout=self._cancel_wait_s)
        if not done:
            log.error("the cancelled job's thread did not finish within %g s", self._cancel_wait_s)
            return False
        log.info("the cancelled job stopped")
        return True
