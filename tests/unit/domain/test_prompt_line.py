"""A job's deadline does not run while it waits in ComfyUI's queue behind another job of the same worker."""
import pytest

from domain.budget import Budget
from domain.errors import JobTimedOut
from domain.execution.events import ExecutionStarted, QueueStatus
from domain.execution.prompt_line import PromptLine, QueueTurn
from domain.model import PromptState
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
    with QueueTurn(line, "first", first) as earlier:
        earlier.queued(1)
        with QueueTurn(line, "second", second) as turn:
            turn.queued(2)
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
    assert w.run().status == "ok"
    assert w.progress[0].queue_position == 1


def test_behind_a_prompt_of_someone_else_the_deadline_runs():
    script = [QueueStatus(2), Do(lambda: w.clock.advance(100)), QueueStatus(2), ExecutionStarted(PID)]
    w = world(script, deadline_s=60.0)
    w.fails(JobTimedOut)


def test_the_line_follows_comfyuis_queue_numbers_not_the_order_the_posts_were_sent():
    """Job A's large POST went first, job B's small one reached ComfyUI first: ComfyUI runs B first, so it is B
    that A waits behind, and A's deadline pauses (it used to join before posting and never pause)."""
    clock, line = FakeClock(), PromptLine()
    a_budget = Budget(deadline=clock() + 10, clock=clock)
    b_budget = Budget(deadline=clock() + 10, clock=clock)
    with QueueTurn(line, "A", a_budget) as a_turn, QueueTurn(line, "B", b_budget) as b_turn:
        clock.advance(1)  # both posting; A's is the larger
        b_turn.queued(6)
        a_turn.queued(7)
        assert line.ahead_of("A") and not line.ahead_of("B")
        clock.advance(30)  # B runs
        assert a_budget.remaining() == 9 and b_budget.remaining() == -21
        b_turn.ended()
        a_turn.queue_changed()
        clock.advance(2)
        assert a_budget.remaining() == 7


def test_a_prompt_without_a_number_goes_behind_those_with_one_in_the_order_it_came():
    line = PromptLine()
    line.join("unnumbered")
    line.join("numbered", 3)
    line.join("later", None)
    assert not line.ahead_of("numbered") and line.ahead_of("unnumbered") and line.ahead_of("later")
    line.leave("numbered")
    assert not line.ahead_of("unnumbered") and line.ahead_of("later")
