"""Runs one job through the real use case and adapters against a ComfyUI simulator (shared by integration tests)."""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Callable, Optional

import requests

from adapters.base64_sink import Base64OutputSink
from adapters.comfy_http_api import ComfyHttpApi
from adapters.comfy_view_source import ComfyViewOutputSource
from adapters.comfy_websocket_monitor import ComfyWebsocketMonitor
from adapters.pillow_converter import PillowImageConverter
from domain.budget import Budget
from domain.execution.follow import FollowPolicy
from domain.model import Job, JobResult
from domain.run_job import run_job
from domain.services import Services
from entrypoints.answers import RunPodAnswers
from entrypoints.request import new_job

FAST = dict(reconnect_attempts=20, reconnect_delay_s=0.25, final_frame_grace_s=0.5, deaf_check_s=0.5, tick_s=0.05)


def services(sim, *, sink=None, ping_interval_s: float = 5.0, **policy: Any) -> Services:
    session = requests.Session()
    api = ComfyHttpApi(sim.base_url, session=session, ready_interval_s=0.02, ready_max_retries=250)
    monitor = ComfyWebsocketMonitor(sim.host, ping_interval_s=ping_interval_s, pong_timeout_s=ping_interval_s)
    return Services(comfy=api, monitor=monitor, source=ComfyViewOutputSource(sim.base_url, session=session),
                    sink=sink or Base64OutputSink(), answer_format=RunPodAnswers(), policy=FollowPolicy(**{**FAST, **policy}),
                    converter=PillowImageConverter())


def job(workflow: dict, **input_fields: Any) -> Job:
    return new_job(f"it-{uuid.uuid4().hex[:8]}", {"workflow": workflow, **input_fields})


def run(svc: Services, the_job: Job, *, timeout_s: float = 30.0, during: Optional[Callable[[], None]] = None,
        budget: Optional[Budget] = None, **kwargs: Any) -> dict:
    budget = budget or Budget(deadline=time.monotonic() + timeout_s)
    if during:
        threading.Thread(target=during, daemon=True).start()
    verdict = run_job(the_job, svc, budget, **kwargs)
    if isinstance(verdict, JobResult) and verdict.error is not None and verdict.status == "failed":
        raise verdict.error  # the job's error, for pytest.raises
    return RunPodAnswers().answer(verdict)


def later(delay_s: float, action: Callable[[], None]) -> Callable[[], None]:
    def act() -> None:
        time.sleep(delay_s)
        action()

    return act


def queue_holds(sim, prompt_id: str) -> bool:
    queue = requests.get(sim.base_url + "/queue", timeout=5).json()
    return any(item[1] == prompt_id for item in queue["queue_running"] + queue["queue_pending"])


def wait_until(predicate: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
