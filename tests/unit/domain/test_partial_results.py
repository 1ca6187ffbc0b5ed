"""Partial results, as worker-comfyui 5.x answers them: outputs saved before a failure, the error beside them."""
import pytest

from domain.errors import ExecutionFailed, JobTimedOut, Stalled
from domain.execution.events import ExecutionStarted, NodeExecuted, NodeStarted, PromptEnded, PromptFinished
from domain.execution.follow import FollowPolicy
from domain.model import Outcome, OutputRef, PromptHistory
from unit.domain.fake_stream import Do, WaitUntil
from unit.domain.world import PID, named, world

A_PNG = OutputRef("2", "images", "a.png")
FAILED = Outcome("error", node_id="3", node_type="ImageToMask", exception_type="IndexError", message="index 3")
WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0]}},
            "3": {"class_type": "ImageToMask", "inputs": {"image": ["1", 0]}}}


def saved_then_failed():
    return [ExecutionStarted(PID), NodeStarted(PID, "1"), NodeStarted(PID, "2"), NodeExecuted(PID, "2", (A_PNG,)),
            NodeStarted(PID, "3"), PromptEnded(PID, FAILED), PromptFinished(PID)]


def test_a_node_failing_after_another_saved_answers_the_saved_output_and_the_error():
    w = world(saved_then_failed(), files={"a.png": b"png"}, raw={"workflow": WORKFLOW})
    result = w.run()
    assert named(result) == ["a.png"] and result.status == "partial"
    assert result.error is not None and result.error.summary() == (
        "execution_failed: node 3 (ImageToMask): IndexError: index 3")
    assert result.error.details == [] and result.failures == ()
    assert [out.filename for out in w.outputs] == ["a.png"]


def test_outputs_listed_only_by_history_are_fetched_for_the_partial_answer():
    script = [ExecutionStarted(PID), NodeStarted(PID, "2"), NodeStarted(PID, "3"), PromptEnded(PID, FAILED),
              PromptFinished(PID)]
    w = world(script, history=PromptHistory(FAILED, files=(A_PNG,)), files={"a.png": b"png"},
              raw={"workflow": WORKFLOW})
    result = w.run()
    assert named(result) == ["a.png"] and result.status == "partial" and result.error.code == "execution_failed"


def test_with_partial_results_off_the_job_fails():
    w = world(saved_then_failed(), files={"a.png": b"png"}, raw={"workflow": WORKFLOW}, partial_results=False)
    w.fails(ExecutionFailed, match="node 3")


def test_a_failure_before_any_output_fails_the_job():
    script = [ExecutionStarted(PID), NodeStarted(PID, "3"), PromptEnded(PID, FAILED), PromptFinished(PID)]
    w = world(script, history=PromptHistory(FAILED), raw={"workflow": WORKFLOW})
    w.fails(ExecutionFailed)


def test_a_deadline_after_an_output_was_delivered_answers_it_and_cancels_the_prompt():
    script = [ExecutionStarted(PID), NodeStarted(PID, "2"), NodeExecuted(PID, "2", (A_PNG,)), NodeStarted(PID, "3"),
              WaitUntil(lambda: w.outputs, "a.png delivered"), Do(lambda: w.clock.advance(100)), None]
    w = world(script, files={"a.png": b"png"}, raw={"workflow": WORKFLOW}, deadline_s=50.0)
    result = w.run()
    assert named(result) == ["a.png"] and result.status == "partial" and result.error.code == "timed_out"
    assert w.comfy.cancelled == [PID]


def test_a_stall_after_an_output_was_delivered_answers_it():
    script = [ExecutionStarted(PID), NodeStarted(PID, "2"), NodeExecuted(PID, "2", (A_PNG,)), NodeStarted(PID, "3"),
              WaitUntil(lambda: w.outputs, "a.png delivered"), Do(lambda: w.clock.advance(10)), None]
    w = world(script, files={"a.png": b"png"}, raw={"workflow": WORKFLOW}, policy=FollowPolicy(stall_timeout_s=5.0))
    result = w.run()
    assert result.status == "partial" and result.error.code == "stalled" and named(result) == ["a.png"]


@pytest.mark.parametrize("error, policy", [(JobTimedOut, None), (Stalled, FollowPolicy(stall_timeout_s=0.0))])
def test_a_deadline_or_stall_before_any_output_fails_the_job(error, policy):
    script = [ExecutionStarted(PID), NodeStarted(PID, "3"), Do(lambda: w.clock.advance(100)), None]
    w = world(script, raw={"workflow": WORKFLOW}, deadline_s=50.0, **({"policy": policy} if policy else {}))
    w.fails(error)
