"""One job's world of fakes, wired the way the container wires the real adapters."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Optional, TypeVar

from domain.budget import Budget
from domain.errors import WorkerError
from domain.execution.events import ExecutionStarted, NodeStarted, PromptEnded, PromptFinished
from domain.execution.follow import FollowPolicy
from domain.inputs.model_requests import ModelRequest, default_name
from domain.model import (
    FileUrl,
    InlineFile,
    InputFile,
    Job,
    JobResult,
    Outcome,
    OutputFormat,
    Prompt,
    PromptHistory,
    RunWorkflow,
    Verdict,
)
from domain.run_job import run_job
from domain.services import Services
from unit.domain.fake_stream import ScriptedMonitor, ScriptedStream
from unit.domain.fakes import Calls, FakeAnswerFormat, FakeClock, FakeComfy, InMemorySink, InMemorySource

E = TypeVar("E", bound=WorkerError)
PID, CID = "prompt-1", "client-1"
WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}}}
POLICY = FollowPolicy(reconnect_attempts=2, reconnect_delay_s=0.0, final_frame_grace_s=1.0, silence_check_s=60.0,
                      deaf_check_s=2.0, stall_timeout_s=300.0, tick_s=0.5)


def plain_run(*middle) -> list:
    """The frames of a prompt that runs nodes 1 and 2 and succeeds, with `middle` before its end."""
    return [ExecutionStarted(PID), NodeStarted(PID, "1"), NodeStarted(PID, "2"), *middle,
            PromptEnded(PID, Outcome("success")), PromptFinished(PID)]


@dataclass
class World:
    job: Job
    calls: Calls
    clock: FakeClock
    comfy: FakeComfy
    stream: ScriptedStream
    monitor: ScriptedMonitor
    source: InMemorySource
    sink: InMemorySink
    budget: Budget
    services: dict = field(default_factory=dict)
    outputs: list = field(default_factory=list)
    progress: list = field(default_factory=list)

    def run(self, **kwargs) -> Verdict:
        """The use case's verdict on the job."""
        svc = Services(comfy=self.comfy, monitor=self.monitor, source=self.source, sink=self.sink,
                       answer_format=FakeAnswerFormat(), **{"policy": POLICY, **self.services})
        kwargs.setdefault("on_output", self.outputs.append)
        kwargs.setdefault("on_progress", self.progress.append)
        return run_job(self.job, svc, self.budget, clock=self.clock, **kwargs)

    def fails(self, error_type: type[E], match: Optional[str] = None, **kwargs) -> E:
        """Run the job, which must fail (nothing to answer) with an `error_type`; its error."""
        verdict = self.run(**kwargs)
        assert isinstance(verdict, JobResult) and verdict.status == "failed", verdict
        assert isinstance(verdict.error, error_type), verdict.error
        if match is not None:
            assert re.search(match, str(verdict.error)), (match, str(verdict.error))
        return verdict.error


def world(script=None, *, history: Optional[PromptHistory] = None, files: Optional[dict] = None, raw=None,
          states=(), deadline_s: Optional[float] = None, content_types=None, **services) -> World:
    calls, clock = Calls(), FakeClock()
    ids = iter([PID, CID])
    job = job_of(raw or {"workflow": WORKFLOW}, next(ids), next(ids))
    stream = ScriptedStream(calls, clock, plain_run() if script is None else script)
    budget = Budget(deadline=None if deadline_s is None else clock() + deadline_s, clock=clock)
    return World(job=job, calls=calls, clock=clock, comfy=FakeComfy(calls, states=states, history=history),
                 stream=stream, monitor=ScriptedMonitor(calls, stream),
                 source=InMemorySource(calls, files or {}, content_types=content_types),
                 sink=InMemorySink(calls), budget=budget, services=services)


def job_of(raw: dict, prompt_id: str, client_id: str) -> Job:
    """A job as the edge would read it from a test's small, well-formed input dict."""
    inputs = tuple(
        InputFile(item["name"], FileUrl(item["url"]) if "url" in item else InlineFile(base64.b64decode(item["image"])))
        for item in raw.get("images", ())
    )
    fmt = raw.get("output_format")
    command = RunWorkflow(
        workflow=raw["workflow"],
        inputs=inputs,
        include_temp=raw.get("include_temp", False),
        output_format=OutputFormat(fmt["format"], fmt.get("quality")) if fmt else None,
        validate_only=raw.get("validate_only", False),
        models=tuple(ModelRequest(item["url"], item["folder"], item.get("name") or default_name(item["url"]),
                                  item.get("sha256")) for item in raw.get("models", ())),
    )
    return Job("job-1", command, Prompt(prompt_id, client_id, raw["workflow"]))


def named(result: JobResult, key: str = "images") -> list[str]:
    """The file names of the result's outputs under `key` (`images`, `audio`, ...), in delivery order."""
    return [out.filename for out in result.outputs if out.ref.output_key == key]
