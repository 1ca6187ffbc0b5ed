"""The stand-in's job records and queue, shared by the worker-side and public routes."""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}


@dataclass
class Job:
    """One request as RunPod tracks it: IN_QUEUE, IN_PROGRESS, then one of `FINAL`."""

    id: str
    input: Any
    status: str = "IN_QUEUE"
    output: Any = None
    error: Any = None
    worker_id: Optional[str] = None
    stop_pod: bool = False
    progress: list = field(default_factory=list)
    stream: list = field(default_factory=list)
    stream_read: int = 0
    submitted_at: float = field(default_factory=time.monotonic)
    started_at: Optional[float] = None
    finished_at: Optional[float] = None

    def public_view(self) -> dict:
        """What `/status` answers: the latest progress update is the output while the job runs. A FAILED job shows
        its `error` alone: the `output` the worker sent beside it is kept (`output`) but not shown, since RunPod
        does not document showing it, and a caller must not count on it."""
        view: dict = {"id": self.id, "status": self.status}
        started = self.started_at or time.monotonic()
        view["delayTime"] = int((started - self.submitted_at) * 1000)
        if self.finished_at and self.started_at:
            view["executionTime"] = int((self.finished_at - self.started_at) * 1000)
        if self.status == "IN_PROGRESS" and self.progress:
            view["output"] = self.progress[-1]
        if self.status in FINAL:
            if self.output is not None and self.status != "FAILED":
                view["output"] = self.output
            if self.error is not None:
                view["error"] = self.error
        return view


class JobBook:
    """Every job by id, the queue of those waiting, and the stop signals owed to each worker."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.queue: list[str] = []
        self.stop_signals: dict[str, list[str]] = {}
        self.retired_workers: set[str] = set()
        self.pings: list[dict] = []
        self.refused_results: list[dict] = []
        self.takes: list[dict] = []

    def submit(self, job_input: Any) -> Job:
        job = Job(id=f"standin-{uuid.uuid4()}", input=job_input)
        with self.lock:
            self.jobs[job.id] = job
            self.queue.append(job.id)
        return job

    def take(self, worker_id: str, count: int) -> list[Job]:
        with self.lock:
            if worker_id in self.retired_workers:
                return []
            taken = [self.jobs[job_id] for job_id in self.queue[:count]]
            del self.queue[:count]
            for job in taken:
                job.status, job.worker_id, job.started_at = "IN_PROGRESS", worker_id, time.monotonic()
            return taken

    def record_result(self, job_id: str, body: dict) -> None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return
            if body.get("status") == "IN_PROGRESS":
                # rp_progress.py: a progress update is posted to the job-done URL with status IN_PROGRESS
                job.progress.append(body.get("output"))
                return
            if job.status in FINAL:
                return  # a cancelled job's late answer changes nothing, as on RunPod
            job.output, job.error = body.get("output"), body.get("error")
            job.status = "FAILED" if "error" in body else "COMPLETED"
            job.finished_at = time.monotonic()
            if body.get("stopPod"):
                # rp_job.py: refresh_worker puts stopPod in the result; RunPod then retires the worker
                job.stop_pod = True
                if job.worker_id:
                    self.retired_workers.add(job.worker_id)

    def record_stream(self, job_id: str, body: dict) -> None:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is not None and job.status not in FINAL:
                job.stream.append({"output": body.get("output")})

    def cancel(self, job_id: str) -> Optional[Job]:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            if job.status == "IN_QUEUE":
                self.queue.remove(job_id)
            elif job.status == "IN_PROGRESS" and job.worker_id:
                self.stop_signals.setdefault(job.worker_id, []).append(job_id)
            if job.status not in FINAL:
                job.status, job.finished_at = "CANCELLED", time.monotonic()
            return job

    def pop_stop_signals(self, worker_id: str) -> list[str]:
        with self.lock:
            return self.stop_signals.pop(worker_id, [])

    def read_stream(self, job_id: str) -> Optional[dict]:
        with self.lock:
            job = self.jobs.get(job_id)
            if job is None:
                return None
            fresh, job.stream_read = job.stream[job.stream_read:], len(job.stream)
            return {"id": job.id, "status": job.status, "stream": fresh}
