"""Runs one RunPod job's blocking use case in a thread, so that a RunPod cancel can stop it in every stage."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

from domain.budget import Budget
from domain.errors import WorkerError
from domain.execution.progress import Progress
from domain.model import Job, JobResult, StoredOutput, Verdict
from domain.run_job import run_job
from domain.services import Services
from entrypoints.answers import (
    RunPodAnswers,
    error_answer,
    error_line,
    internal_error_answer,
    progress_payload,
    sendable,
)
from entrypoints.job_logging import register_secret
from entrypoints.request import new_job

log = logging.getLogger(__name__)

OutputCallback = Callable[[StoredOutput], None]


@dataclass(frozen=True)
class Answered:
    """A job's answer for RunPod, and whether the worker is to be replaced once it is sent."""

    answer: dict[str, Any]
    replace_worker: bool = False


class JobRunner:
    """Turns a RunPod job into its answer, one path per job; never raises but `CancelledError`."""

    def __init__(
        self,
        services: Services,
        *,
        timeout_s: Optional[float],
        default_api_key: Optional[str],
        refresh_worker: bool,
        progress: Optional[Callable[[dict, dict], None]],
        cancel_wait_s: float = 10.0,
        max_concurrency: int = 1,
    ) -> None:
        self._max_concurrency = max_concurrency
        self._in_flight = 0
        self._retiring = False
        self._answered = 0  # jobs in flight whose answer is held until the others have answered
        self._svc = services
        self._answers: RunPodAnswers = services.answer_format  # type: ignore[assignment]
        self._timeout_s = timeout_s
        self._default_api_key = default_api_key
        self._refresh_worker = refresh_worker
        self._progress = progress
        self._cancel_wait_s = cancel_wait_s
        self._free_client_ids: list[str] = []  # a client id's socket stays open for the next job that takes it
        self._still_running: set[str] = set()

    @property
    def answers(self) -> RunPodAnswers:
        """What makes this worker's answers (a streamed output's item too)."""
        return self._answers

    def concurrency(self, current: int = 1) -> int:
        """The SDK's `concurrency_modifier`: MAX_CONCURRENCY jobs at once, none once the worker is retiring.

        The SDK resizes its job queue only when no job is in flight, so the value is fixed from the start; a
        retiring worker's 0 makes it stop taking jobs (it waits for the jobs in flight, then takes none).
        """
        return 0 if self._retiring else self._max_concurrency

    async def run(self, job: dict, on_output: Optional[OutputCallback] = None) -> Answered:
        """The job's answer; with `on_output` each output goes there as it is delivered, and the answer leaves
        the files out (a streamed job's last item)."""
        self._in_flight += 1
        try:
            answered = await self._run(job, on_output)
            if answered.replace_worker:
                await self._retire()
            return answered
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

    async def _run(self, job: dict, on_output: Optional[OutputCallback]) -> Answered:
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
            job = new_job("warm-up", {"workflow": workflow}, limits=self._svc.limits)
        except WorkerError as exc:
            log.error("warm-up workflow refused: %s", exc.summary())
            return
        verdict = run_job(job, self._svc, Budget(deadline=started + self._timeout_s if self._timeout_s else None))
        if isinstance(verdict, JobResult) and verdict.error is not None:
            log.error("warm-up workflow failed after %.1f s: %s", time.monotonic() - started, verdict.error.summary())
            return
        log.info("warm-up workflow ran in %.1f s", time.monotonic() - started)

    def _answer(
        self, raw: dict, prompt_id: str, client_id: str, budget: Budget, on_output: Optional[OutputCallback]
    ) -> Answered:
        """Read the input, run the job, answer: in the job's thread, never raising."""
        answered = self._answer_unchecked(raw, prompt_id, client_id, budget, on_output)
        return Answered(sendable(answered.answer), answered.replace_worker)

    def _answer_unchecked(
        self, raw: dict, prompt_id: str, client_id: str, budget: Budget, on_output: Optional[OutputCallback]
    ) -> Answered:
        refresh = self._refresh_worker
        try:
            job = self._read(raw, prompt_id, client_id)
        except WorkerError as exc:
            log.warning("rejected input: %s", error_line(exc))
            return Answered(error_answer(exc, replace_worker=refresh), refresh or exc.replace_worker)
        except Exception as exc:
            log.exception("reading the job's input failed unexpectedly")
            return Answered(internal_error_answer(exc, replace_worker=refresh), refresh)
        try:
            register_secret(job.command.comfy_org_api_key)
            verdict = run_job(
                job, self._svc, budget, on_progress=self._progress_of(raw), on_output=self._guarded(on_output, budget)
            )
        except Exception as exc:
            log.exception("the job failed unexpectedly")
            return Answered(internal_error_answer(exc, replace_worker=refresh), refresh)
        self._log(verdict)
        replace = refresh or verdict.replace_worker
        answer = self._answers.answer(verdict, with_files=on_output is None, replace_worker=replace)
        return Answered(answer, replace)

    @staticmethod
    def _log(verdict: Verdict) -> None:
        error = verdict.error if isinstance(verdict, JobResult) else None
        if error is None or verdict.status != "failed":  # type: ignore[union-attr]
            return
        if error.code == "cancelled":
            log.info("job cancelled: %s", error_line(error))
            return
        # the whole error, as the answer gives it: on RunPod, and under the SDK's --test_input, a caller sees its
        # `error` line only
        whole = {key: value for key, value in error_answer(error).items() if key not in ("error", "refresh_worker")}
        log.error("job failed: %s", error_line(error), extra={"fields": whole})

    def _progress_of(self, raw: dict) -> Optional[Callable[[Progress], None]]:
        send = self._progress
        return (lambda progress: send(raw, progress_payload(progress))) if send else None

    @staticmethod
    def _guarded(on_output: Optional[OutputCallback], budget: Budget) -> Optional[OutputCallback]:
        """Outputs of a stopped job are not handed on."""
        return (lambda out: None if budget.stopped else on_output(out)) if on_output else None

    def _read(self, raw: dict, prompt_id: str, client_id: str) -> Job:
        return new_job(
            str(raw.get("id", "")),
            raw.get("input"),
            default_api_key=self._default_api_key,
            limits=self._svc.limits,
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
        """Stop every stage (the job's thread drops its prompt in ComfyUI as it stops), and give the thread a
        bounded time to finish."""
        log.info("RunPod cancelled the job: stopping prompt %s", prompt_id)
        budget.stop.set()
        done, _ = await asyncio.wait({work}, timeout=self._cancel_wait_s)
        if not done:
            log.error("the cancelled job's thread did not finish within %g s", self._cancel_wait_s)
            return False
        log.info("the cancelled job stopped")
        return True
