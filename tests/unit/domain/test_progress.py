"""Progress: which nodes will run, what each update says, and how often updates go out (fake clock)."""
from dataclasses import replace

from domain.execution.events import (
    ExecutionStarted,
    NodesCached,
    NodeStarted,
    PromptEnded,
    PromptFinished,
    QueueStatus,
    StepProgress,
)
from domain.execution.progress import Progress, ProgressTracker
from domain.execution.projection import PromptProjection
from domain.model import Outcome
from domain.workflow.links import nodes_to_run
from unit.domain.fakes import FakeClock
from unit.domain.world import PID, world

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "size": [512, 512]}},
            "2": {"class_type": "KSampler", "inputs": {"image": ["1", 0]}},
            "3": {"class_type": "SaveImage", "inputs": {"images": [2, 0]}}}


class Driven:
    """A tracker watching a prompt's projection, driven by events as the follower applies them."""

    def __init__(self, workflow, listener, clock):
        self.prompt = PromptProjection(PID)
        ProgressTracker(workflow, listener, clock=clock).watch(self.prompt)

    def node_started(self, node):
        self.prompt.apply(NodeStarted(PID, node))

    def cached(self, nodes):
        self.prompt.apply(NodesCached(PID, nodes))

    def step(self, node, value, maximum):
        self.prompt.apply(StepProgress(PID, node, value, maximum))

    def queued_behind(self, position):
        self.prompt.apply(QueueStatus(position + 1))


def tracker(workflow=WORKFLOW):
    clock, sent = FakeClock(), []
    return Driven(workflow, sent.append, clock), clock, sent


def test_nodes_to_run_are_the_final_nodes_and_what_they_depend_on():
    workflow = {**WORKFLOW, "4": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
                "5": {"class_type": "SaveImage", "inputs": {"images": ["99", 0]}}}
    assert nodes_to_run(workflow) == {"1", "2", "3", "4", "5"}
    assert nodes_to_run(WORKFLOW) == {"1", "2", "3"}


def test_an_update_says_where_the_prompt_is():
    progress, clock, sent = tracker()
    clock.advance(2.5)
    progress.node_started("1")
    assert sent == [Progress(node="1", node_class="EmptyImage", nodes_done=0, nodes_total=3, step=0, steps=0,
                             percent=0.0, elapsed_s=2.5)]


def test_cached_nodes_count_as_done():
    progress, _, sent = tracker()
    progress.cached(("1", "2"))
    assert sent[-1].nodes_done == 2 and sent[-1].nodes_total == 3
    assert sent[-1].percent == round(100 * 2 / 3, 1)


def test_steps_of_the_running_node_move_the_percent():
    progress, clock, sent = tracker()
    progress.node_started("1")
    progress.node_started("2")
    clock.advance(1)
    progress.step("2", 5, 10)
    assert replace(sent[-1], elapsed_s=0) == Progress(node="2", node_class="KSampler", nodes_done=1, nodes_total=3,
                                                      step=5, steps=10, percent=50.0, elapsed_s=0)


def test_the_percent_never_goes_down():
    progress, clock, sent = tracker()
    progress.node_started("2")
    clock.advance(1)
    progress.step("2", 9, 10)
    clock.advance(1)
    progress.step("2", 1, 10)  # a second sampling pass in the same node starts over
    assert [u.percent for u in sent] == [0.0, 30.0, 30.0]
    assert sent[-1].step == 1


def test_queue_position_while_waiting_then_gone_once_running():
    progress, _, sent = tracker()
    progress.queued_behind(3)
    progress.queued_behind(3)
    progress.queued_behind(2)
    progress.node_started("1")
    assert [u.queue_position for u in sent] == [3, 2, None]


def test_at_most_two_a_second_plus_one_per_node_change():
    progress, clock, sent = tracker()
    progress.node_started("2")
    for value in range(1, 11):
        clock.advance(0.1)
        progress.step("2", value, 10)
    assert [u.step for u in sent] == [0, 5, 10]
    progress.node_started("3")
    assert sent[-1].node == "3" and len(sent) == 4


def test_a_step_naming_another_node_is_a_node_change():
    progress, _, sent = tracker()
    progress.node_started("1")
    progress.step("2", 1, 4)
    assert [u.node for u in sent] == ["1", "2"]
    assert sent[-1].nodes_done == 1


def test_a_failing_progress_sink_is_ignored_and_later_updates_still_reach_it():
    tried = []

    def down_once(update):
        tried.append(update)
        if len(tried) == 1:
            raise RuntimeError("RunPod progress endpoint down")
    clock = FakeClock()
    progress = Driven(WORKFLOW, down_once, clock)
    progress.node_started("1")
    clock.advance(1.0)
    progress.step("1", 1, 2)
    assert [(u.node, u.step, u.steps) for u in tried] == [("1", 0, 0), ("1", 1, 2)]


def test_the_job_reports_queue_position_then_nodes():
    w = world([QueueStatus(3), ExecutionStarted(PID), NodesCached(PID, ("1",)), NodeStarted(PID, "2"),
               PromptEnded(PID, Outcome("success")), PromptFinished(PID)])
    w.run()
    assert [(u.queue_position, u.node, u.nodes_done) for u in w.progress] == [
        (2, None, 0), (None, None, 1), (None, "2", 1), (None, "2", 2)]
    assert w.progress[-1].percent == 100.0


def test_a_failing_progress_sink_never_fails_the_job():
    def broken(update):
        raise RuntimeError("RunPod progress endpoint down")
    w = world([ExecutionStarted(PID), NodeStarted(PID, "1"), StepProgress(PID, "1", 1, 2), NodeStarted(PID, "2"),
               PromptEnded(PID, Outcome("success")), PromptFinished(PID)])
    assert w.run(on_progress=broken).status == "ok"
