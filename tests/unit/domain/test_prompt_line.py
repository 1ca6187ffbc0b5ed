"""A job's deadline does not run while it waits in ComfyUI's queue behind another job of the same worker."""
import pytest

from domain.budget import Budget
from domain.errors import JobTimedOut
from domain.events import ExecutionStarted, QueueStatus
from domain.model import PromptState
from domain.prompt_line import PromptLine, QueueTurn
from unit.domain.fake_stream import Do
from unit.domain.fakes import FakeClock
from unit.domain.world import PID, plain_run, world


def test_a_paused_budget_keeps_its_remaining_time_and_resumes_with_it():
    clock = FakeClock()
    budget = Budget(deadline=clock() + 10, clock=clock)
    clock.advance(4)
    budget.pause()
    clock.advance(100)
    assert budget.remaining() == 6
    budget.check()
    budget.resume()
    clock.advance(5)
    assert budget.remaining() == 1
    clock.advance(1)
    with pytest.raises(JobTimedOut):
        budget.check()


def test_the_turn_pauses_only_behind_this_workers_own_prompts():
    clock, line = FakeClock(), PromptLine()
    first = Budget(deadline=clock() + 10, clock=clock)
    second = Budget(deadline=clock() + 10, clock=clock)
    with QueueTurn(line, "first", first):
        with QueueTurn(line, "second", second) as turn:
            clock.advance(50)
            assert first.remaining() == -40 and second.remaining() == 10
            line.leave("first")
            turn.queue_changed()
            clock.advance(3)
            assert second.remaining() == 7
    assert not line.ahead_of("second")


def test_a_job_queued_behind_another_of_this_worker_times_out_on_its_own_time_only():
    line = PromptLine()
    line.join("other-job-prompt")
    script = [QueueStatus(2), Do(lambda: w.clock.advance(100)), QueueStatus(2),
              Do(lambda: line.leave("other-job-prompt")), QueueStatus(1), Do(lambda: w.clock.advance(20)),
              *plain_run()]
    w = world(script, deadline_s=60.0, line=line, states=[PromptState("pending")])
    assert w.run()["status"] == "success_no_images"
    assert w.progress[0]["queue_position"] == 1


def test_behind_a_prompt_of_someone_else_the_deadline_runs():
    script = [QueueStatus(2), Do(lambda: w.clock.advance(100)), QueueStatus(2), ExecutionStarted(PID)]
    w = world(script, deadline_s=60.0)
    with pytest.raises(JobTimedOut):
        w.run()
