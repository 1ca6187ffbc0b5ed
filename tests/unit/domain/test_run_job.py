"""The use case in protocol order: stages, outcomes, cancel and deadline, restarts between jobs, timings."""
import gc

import pytest

from domain.errors import (
    Cancelled,
    ComfyProcessDied,
    ComfyUnreachable,
    ExecutionFailed,
    ExecutionInterrupted,
    JobTimedOut,
    Stalled,
    WorkflowRejected,
)
from domain.execution.events import ExecutionStarted, NodeStarted, PromptEnded, PromptFinished
from domain.execution.follow import FollowPolicy
from domain.execution.projection import PromptProjection
from domain.model import Outcome, OutputRef, PromptHistory, PromptState
from domain.outputs.delivery import Delivery
from unit.domain.fake_stream import Do, Silence
from unit.domain.world import CID, PID, WORKFLOW, plain_run, world

A_PNG = OutputRef("2", "images", "a.png")
HISTORY = PromptHistory(Outcome("success"), files=(A_PNG,))
IMAGES = [{"name": "in.png", "image": "aGk="}]


def test_protocol_order_socket_open_before_queueing_with_our_ids():
    w = world(history=HISTORY, files={"a.png": b"png"}, raw={"workflow": WORKFLOW, "images": IMAGES})
    w.run()
    names = [n for i, n in enumerate(w.calls.names()) if n != "event" or w.calls.names()[i - 1] != "event"]
    assert names == ["ready", "upload", "open", "queue", "event", "history", "fetch", "store", "close"]
    assert w.calls.of("open") == [("open", CID)]
    assert w.calls.of("queue") == [("queue", PID, CID)]
    assert w.comfy.uploaded == {f"job-{PID}/in.png": b"hi"}  # every job's inputs go into a folder of its own
    assert w.comfy.queued[0].workflow == WORKFLOW


def test_a_finished_job_lets_go_of_its_outputs_without_the_cycle_collector():
    """The projection's subscribers hold the projection: run_job lets them go once the prompt is over, so a job's
    outputs (through delivery) are freed with its answer, not whenever the cycle collector next runs."""
    gc.collect()
    gc.disable()
    try:
        result = world(history=HISTORY, files={"a.png": b"png"}).run()
        left = [type(o).__name__ for o in gc.get_objects() if isinstance(o, (PromptProjection, Delivery))]
    finally:
        gc.enable()
    assert [out.ref for out in result.outputs] == [A_PNG]
    assert left == []


def test_the_response_carries_comfyui_version():
    assert world().run().comfyui_version == "0.8.2"


def test_execution_error_names_node_class_and_message_on_one_line():
    outcome = Outcome("error", node_id="2", node_type="ImageToMask", exception_type="IndexError",
                      message="index 3 is out of bounds\n", report={"traceback": ["x"]})
    w = world([ExecutionStarted(PID), PromptEnded(PID, outcome), PromptFinished(PID)], history=HISTORY,
              files={"a.png": b"png"}, partial_results=False)  # with partial results, a.png would be answered
    caught = w.fails(ExecutionFailed)
    assert caught.summary() == "execution_failed: node 2 (ImageToMask): IndexError: index 3 is out of bounds"
    assert caught.data["traceback"] == ["x"]
    assert w.calls.of("history") == [] and w.sink.stored == {}


def test_interrupted_outcome_is_an_error():
    w = world([PromptEnded(PID, Outcome("interrupted", node_id="5", node_type="ImageBlur")), PromptFinished(PID)])
    w.fails(ExecutionInterrupted, match=r"node 5 \(ImageBlur\)")


def test_a_rejected_workflow_closes_the_socket_and_follows_nothing():
    w = world([])
    w.comfy.fail("queue", WorkflowRejected("node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1"))
    w.fails(WorkflowRejected)
    assert w.calls.names()[-2:] == ["queue", "close"]
    assert w.comfy.cancelled == []


def cancel(w):
    w.budget.stop.set()


def overrun(w):
    w.clock.advance(10_000)


STAGES = ["readiness", "upload", "before queueing", "waiting", "delivering"]


def arm(w, stage, action):
    if stage == "readiness":
        w.comfy.hooks["ready"] = lambda: action(w)
    elif stage == "upload":
        w.comfy.hooks["upload"] = lambda: action(w)
    elif stage == "before queueing":
        w.monitor.on_open = lambda: action(w)
    elif stage == "waiting":
        w.stream.script = [ExecutionStarted(PID), Do(lambda: action(w)), None, *plain_run()]
    else:
        w.source.on_open = lambda ref: action(w)


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("action, error", [(cancel, Cancelled), (overrun, JobTimedOut)])
def test_cancel_and_deadline_in_every_stage(stage, action, error):
    w = world(history=HISTORY, files={"a.png": b"png"}, raw={"workflow": WORKFLOW, "images": IMAGES},
              deadline_s=600.0)
    arm(w, stage, action)
    w.fails(error)
    queued = stage in ("waiting", "delivering")
    assert bool(w.comfy.queued) == queued
    if stage == "waiting":
        assert w.comfy.cancelled == [PID]
    elif stage != "delivering":  # nothing queued, nothing to cancel; a delivered prompt has finished anyway
        assert w.comfy.cancelled == []
    assert w.outputs == [] and w.sink.stored == {}
    if stage not in ("readiness", "upload"):
        assert w.calls.names()[-1] == "close"


def test_a_stalled_prompt_is_cancelled_in_comfyui():
    w = world([NodeStarted(PID, "1"), None], policy=FollowPolicy(stall_timeout_s=0.0))
    w.fails(Stalled, match="node 1")
    assert w.comfy.cancelled == [PID]


@pytest.mark.parametrize("method", ["upload", "open"])
def test_a_restart_between_jobs_is_waited_for_and_the_call_retried_once(method):
    w = world(raw={"workflow": WORKFLOW, "images": IMAGES})
    if method == "open":
        w.monitor.open_failures = 1
    else:
        w.comfy.fail(method, ComfyUnreachable("connection refused"))
    w.run()
    assert w.calls.of("ready") == [("ready", False), ("ready", True)]
    assert len(w.calls.of(method)) == 2
    assert w.calls.names().index("ready", 1) == w.calls.names().index(method) + 1


def test_a_second_failure_after_the_restart_is_the_jobs_error():
    w = world(raw={"workflow": WORKFLOW, "images": IMAGES})
    w.comfy.fail("upload", ComfyUnreachable("connection refused"), times=2)
    w.fails(ComfyUnreachable)
    assert len(w.calls.of("upload")) == 2


def test_a_dead_comfyui_process_is_not_waited_for():
    w = world(raw={"workflow": WORKFLOW, "images": IMAGES})
    w.comfy.fail("upload", ComfyProcessDied("ComfyUI's process 42 is gone"))
    w.fails(ComfyProcessDied)
    assert w.calls.of("ready") == [("ready", False)]


def test_a_comfyui_that_never_answered_is_not_waited_for_twice():
    w = world([])
    w.comfy.fail("ready", ComfyUnreachable("no answer after 1200 probes"), times=2)
    w.fails(ComfyUnreachable)
    assert w.calls.of("ready") == [("ready", False)]


@pytest.mark.parametrize("state, queue_calls", [("pending", 1), ("running", 1), ("lost", 2)])
def test_a_failed_queue_call_is_repeated_only_when_comfyui_does_not_have_the_prompt(state, queue_calls):
    w = world(states=[PromptState(state)])
    w.comfy.fail("queue", ComfyUnreachable("connection reset"))
    w.run()
    assert w.calls.of("ready") == [("ready", False), ("ready", True)]
    assert len(w.calls.of("queue")) == queue_calls


def test_timings_cover_every_stage_and_execute_comes_from_history():
    history = PromptHistory(Outcome("success"), files=(A_PNG,), started_ms=1_000, ended_ms=5_500)
    w = world([Do(lambda: w.clock.advance(3)), ExecutionStarted(PID), Do(lambda: w.clock.advance(5)),
               PromptEnded(PID, Outcome("success")), PromptFinished(PID)],
              history=history, files={"a.png": b"png"}, raw={"workflow": WORKFLOW, "images": IMAGES})
    w.comfy.hooks["ready"] = lambda: w.clock.advance(1)
    w.comfy.hooks["upload"] = lambda: w.clock.advance(2)
    w.source.on_open = lambda ref: w.clock.advance(4)
    assert w.run().timings_ms == {"wait_ready": 1000, "upload_inputs": 2000, "queue_wait": 3000,
                                     "execute": 4500, "deliver": 4000, "total": 15000}


def test_the_follower_keeps_run_jobs_clock():
    finished = PromptState("finished", PromptHistory(Outcome("success")))
    w = world([ExecutionStarted(PID), NodeStarted(PID, "1"), Silence(61.0)], states=[finished])
    result = w.run()
    assert result.status == "ok" and not result.outputs
    assert len(w.calls.of("state")) == 1


def test_progress_keeps_run_jobs_clock():
    w = world([Do(lambda: w.clock.advance(10)), *plain_run()])
    w.run()
    assert w.progress[-1].elapsed_s == 10.0
