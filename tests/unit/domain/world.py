"""One job's world of fakes, wired the way the container wires the real adapters."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from domain.budget import Budget
from domain.execution.events import ExecutionStarted, NodeStarted, PromptEnded, PromptFinished
from domain.execution.follow import FollowPolicy
from domain.inputs.job_input import new_job
from domain.model import Job, Outcome, PromptHistory
from domain.run_job import Services, run_job
from entrypoints.answers import RunPodAnswerFormat, answer
from unit.domain.fake_stream import ScriptedMonitor, ScriptedStream
from unit.domain.fakes import Calls, FakeClock, FakeComfy, InMemorySink, InMemorySource

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

    def run(self, **kwargs) -> dict:
        """The job's answer, made as the entrypoint makes it from the use case's result."""
        svc = Services(comfy=self.comfy, monitor=self.monitor, source=self.source, sink=self.sink,
                       answer=RunPodAnswerFormat(), **{"policy": POLICY, **self.services})
        kwargs.setdefault("on_output", self.outputs.append)
        kwargs.setdefault("on_progress", self.progress.append)
        return answer(run_job(self.job, svc, self.budget, clock=self.clock, **kwargs))


def world(script=None, *, history: Optional[PromptHistory] = None, files: Optional[dict] = None, raw=None,
          states=(), deadline_s: Optional[float] = None, content_types=None, **services) -> World:
    calls, clock = Calls(), FakeClock()
    ids = iter([PID, CID])
    job = new_job("job-1", raw or {"workflow": WORKFLOW}, new_id=lambda: next(ids))
    stream = ScriptedStream(calls, clock, plain_run() if script is None else script)
    budget = Budget(deadline=None if deadline_s is None else clock() + deadline_s, clock=clock)
    return World(job=job, calls=calls, clock=clock, comfy=FakeComfy(calls, states=states, history=history),
                 stream=stream, monitor=ScriptedMonitor(calls, stream),
                 source=InMemorySource(calls, files or {}, content_types=content_types),
                 sink=InMemorySink(calls), budget=budget, services=services)
