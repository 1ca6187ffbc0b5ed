"""The follower's recovery rules, on a scripted stream and a fake clock (no real waiting)."""
import dataclasses
import typing

import pytest

from domain.budget import Budget
from domain.errors import ComfyProcessDied, ComfyUnreachable, PromptLost, Stalled
from domain.execution.events import (
    Event,
    ExecutionStarted,
    InbandImage,
    NodeStarted,
    PromptEnded,
    PromptFinished,
    QueueStatus,
    SocketLost,
    StepProgress,
)
from domain.execution.follow import FollowPolicy, PromptFollower
from domain.execution.projection import PromptProjection
from domain.model import Outcome, OutputRef, PromptHistory, PromptState
from unit.domain.fake_stream import ScriptedStream, Silence
from unit.domain.fakes import Calls, FakeClock, FakeComfy

PID = "prompt-1"
POLICY = FollowPolicy(reconnect_attempts=2, reconnect_delay_s=0.0, final_frame_grace_s=1.0, silence_check_s=60.0,
                      deaf_check_s=2.0, stall_timeout_s=300.0, tick_s=0.5)
SUCCESS = Outcome("success")
FINISHED = PromptState("finished", PromptHistory(SUCCESS, files=(OutputRef("9", "images", "a.png"),)))
RUNNING = PromptState("running")
EVENT_TYPES = typing.get_args(Event)


def follow(script, *, states=(), policy=POLICY, reopen_failures=()):
    calls, clock = Calls(), FakeClock()
    comfy = FakeComfy(calls, states=states)
    stream = ScriptedStream(calls, clock, script, reopen_failures=reopen_failures)
    seen = []
    prompt = PromptProjection(PID)
    prompt.subscribe(seen.append, *EVENT_TYPES)  # what the follower applied, in order
    follower = PromptFollower(stream, comfy, prompt, Budget(clock=clock), policy, clock=clock)
    return follower, comfy, stream, clock, seen


def test_ends_on_the_final_frame_with_the_terminal_outcome():
    follower, comfy, _, _, seen = follow([ExecutionStarted(PID), NodeStarted(PID, "3"), PromptEnded(PID, SUCCESS),
                                          PromptFinished(PID)])
    ending = follower.run()
    assert ending.outcome == SUCCESS and ending.history is None
    assert comfy.calls.of("state") == []
    assert [type(e).__name__ for e in seen] == ["ExecutionStarted", "NodeStarted", "PromptEnded"]


def test_other_prompts_events_are_not_handed_on():
    follower, _, _, _, seen = follow([NodeStarted("other", "1"), StepProgress("other", "1", 1, 2),
                                      InbandImage(b"x", prompt_id="other", node_id="1"),
                                      PromptEnded("other", Outcome("error")), PromptFinished("other"),
                                      PromptEnded(PID, SUCCESS), PromptFinished(PID)])
    assert follower.run().outcome == SUCCESS
    assert [type(e).__name__ for e in seen] == ["PromptEnded"]


def test_socket_lost_then_reopened_asks_the_state_and_finished_succeeds_via_history():
    follower, comfy, stream, _, _ = follow([ExecutionStarted(PID), SocketLost("closed")], states=[FINISHED])
    ending = follower.run()
    assert ending.outcome == SUCCESS and ending.history == FINISHED.history
    assert stream.reopens == 1
    assert comfy.calls.names()[-3:] == ["alive", "reopen", "state"]


def test_socket_lost_and_the_prompt_forgotten_is_prompt_lost():
    follower, *_ = follow([ExecutionStarted(PID), SocketLost("closed")], states=[PromptState("lost")])
    with pytest.raises(PromptLost, match="no longer knows"):
        follower.run()


def test_reopen_failing_every_attempt_asks_for_a_fresh_worker():
    failures = [ComfyUnreachable("refused")] * 3
    follower, comfy, stream, _, _ = follow([ExecutionStarted(PID), SocketLost("closed")], reopen_failures=failures)
    with pytest.raises(ComfyUnreachable) as caught:
        follower.run()
    assert stream.reopens == POLICY.reconnect_attempts + 1
    assert caught.value.replace_worker is True
    assert comfy.calls.of("state") == []


def test_reopen_failing_fewer_times_than_allowed_recovers():
    failures = [ComfyUnreachable("refused")] * 2
    follower, _, stream, _, _ = follow([SocketLost("closed")], states=[FINISHED], reopen_failures=failures)
    assert follower.run().outcome == SUCCESS
    assert stream.reopens == 3


def test_a_deaf_reopened_socket_is_asked_about_and_reopened_until_the_state_says_finished():
    # After a reconnect ComfyUI sends `executing` without prompt_id (PROTOCOL.md fact 7): no proof the socket hears us.
    script = [ExecutionStarted(PID), SocketLost("closed"), NodeStarted(None, "3"), Silence(2.0), Silence(4.0)]
    follower, comfy, stream, clock, _ = follow(script, states=[RUNNING, RUNNING, FINISHED])
    start = clock()
    ending = follower.run()
    assert ending.history == FINISHED.history
    assert stream.reopens == 2
    assert len(comfy.calls.of("state")) == 3
    # asked after 2 s, then after 4 s more (the wait doubles), and it ends on that answer
    assert POLICY.deaf_check_s * 3 <= clock() - start <= POLICY.deaf_check_s * 3 + POLICY.tick_s


def test_after_a_reopen_quiet_spells_are_asked_about_even_once_frames_resumed():
    # ComfyUI may notice the old socket's loss (and pop the new one) long after the new one heard frames.
    script = [SocketLost("closed"), NodeStarted(PID, "3"), Silence(30.0), PromptEnded(PID, SUCCESS),
              PromptFinished(PID)]
    follower, comfy, stream, clock, _ = follow(script, states=[RUNNING] * 8)
    asked_at, ask = [], comfy.prompt_state

    def timed_ask(prompt_id, budget):
        asked_at.append(clock())
        return ask(prompt_id, budget)
    comfy.prompt_state = timed_ask
    lost_at = clock()
    assert follower.run().outcome == SUCCESS
    # asked once on the reopen, then after 2, 4, 8 and 16 quiet seconds (the wait doubles); each answer
    # "running" reopens the socket again
    assert [t - lost_at for t in asked_at] == [0.0, 2.0, 6.0, 14.0, 30.0]
    assert stream.reopens == 5


def test_silence_makes_it_ask_once_per_silence_period():
    script = [ExecutionStarted(PID), Silence(59.0), NodeStarted(PID, "4"), Silence(60.0)]
    follower, comfy, _, _clock, _ = follow(script, states=[FINISHED])
    assert follower.run().history == FINISHED.history
    assert len(comfy.calls.of("state")) == 1


def test_a_transient_failure_while_asking_does_not_end_the_job():
    script = [ExecutionStarted(PID), SocketLost("closed"), Silence(2.0)]
    follower, comfy, _, _, _ = follow(script, states=[ComfyUnreachable("timed out"), FINISHED])
    assert follower.run().history == FINISHED.history
    assert len(comfy.calls.of("state")) == 2


def test_a_running_prompt_silent_too_long_is_stalled_naming_its_node():
    policy = FollowPolicy(silence_check_s=60.0, stall_timeout_s=150.0, tick_s=0.5)
    script = [ExecutionStarted(PID), NodeStarted(PID, "7"), StepProgress(PID, "7", 3, 20), Silence(1000.0)]
    follower, comfy, _, _, _ = follow(script, states=[RUNNING, RUNNING], policy=policy)
    with pytest.raises(Stalled, match="node 7") as caught:
        follower.run()
    assert caught.value.data["node_id"] == "7"
    assert len(comfy.calls.of("state")) == 2  # asked at 60 s and 120 s, stalled at 150 s


def test_a_pending_prompt_never_stalls_and_reports_its_queue_position():
    policy = FollowPolicy(silence_check_s=60.0, stall_timeout_s=10.0, tick_s=0.5)
    pending = PromptState("pending", queue_position=3)
    script = [Silence(100.0), ExecutionStarted(PID), PromptEnded(PID, SUCCESS), PromptFinished(PID)]
    follower, _, _, _, seen = follow(script, states=[pending], policy=policy)
    assert follower.run().outcome == SUCCESS
    assert QueueStatus(queue_remaining=4) in seen


def test_a_terminal_frame_without_the_final_one_returns_after_the_grace():
    # ws_drop_before_final.json: execution_success arrives, `executing {node: null}` never does.
    script = [ExecutionStarted(PID), PromptEnded(PID, SUCCESS), None, None, None, None]
    follower, comfy, stream, _, _ = follow(script)
    assert follower.run().outcome == SUCCESS
    assert len(stream.script) == 2  # 1 s of grace is two ticks of 0.5 s
    assert comfy.calls.of("state") == []


def test_a_socket_lost_after_the_terminal_frame_ends_at_once():
    follower, _, stream, _, _ = follow([PromptEnded(PID, SUCCESS), SocketLost("closed")])
    assert follower.run().outcome == SUCCESS
    assert stream.reopens == 0


def test_a_final_frame_without_an_outcome_asks_the_state():
    follower, comfy, _, _, _ = follow([ExecutionStarted(PID), PromptFinished(PID)], states=[FINISHED])
    assert follower.run().history == FINISHED.history
    assert len(comfy.calls.of("state")) == 1


def test_a_final_frame_without_an_outcome_and_no_finished_state_is_prompt_lost():
    follower, *_ = follow([ExecutionStarted(PID), PromptFinished(PID)], states=[RUNNING])
    with pytest.raises(PromptLost, match="without saying how"):
        follower.run()


def test_comfy_process_died_while_reopening_propagates():
    follower, comfy, stream, _, _ = follow([ExecutionStarted(PID), SocketLost("closed")])
    comfy.fail("alive", ComfyProcessDied("ComfyUI's process 42 is gone"))
    with pytest.raises(ComfyProcessDied):
        follower.run()
    assert stream.reopens == 0


class CountingBudget(Budget):
    """Records each wait instead of waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.slept: list[float] = []

    def sleep(self, seconds: float, doing: str = "") -> None:
        self.slept.append(seconds)


def test_comfy_process_exiting_between_two_reopenings_ends_the_wait():
    """A stopping container closes the socket before ComfyUI's process is gone: the wait before the next reopening
    (an hour here) ends at the first probe that finds the process gone, not after the whole hour."""
    calls = Calls()
    comfy = FakeComfy(calls)
    stream = ScriptedStream(calls, FakeClock(), [ExecutionStarted(PID), SocketLost("closed")],
                            reopen_failures=[ComfyUnreachable("refused")])
    policy = dataclasses.replace(POLICY, reconnect_delay_s=3600.0, tick_s=1.0)
    budget = CountingBudget()
    follower = PromptFollower(stream, comfy, PromptProjection(PID), budget, policy)
    probes = []

    def gone_from_the_second_probe():
        probes.append("alive")
        if len(probes) == 2:
            comfy.fail("alive", ComfyProcessDied("ComfyUI's process 42 is gone"))

    comfy.hooks["alive"] = gone_from_the_second_probe
    with pytest.raises(ComfyProcessDied):
        follower.run()
    assert stream.reopens == 1
    assert budget.slept == [1.0]


def test_comfy_process_died_while_asking_propagates():
    follower, *_ = follow([ExecutionStarted(PID), SocketLost("closed")], states=[ComfyProcessDied("gone")])
    with pytest.raises(ComfyProcessDied):
        follower.run()


def test_a_transient_failure_asking_after_the_final_frame_is_asked_again():
    # ComfyUI sends `executing {node: null}` only after task_done stored the history, so the prompt is finished.
    script = [ExecutionStarted(PID), PromptFinished(PID), Silence(5.0)]
    follower, _comfy, _, _, _ = follow(script, states=[ComfyUnreachable("timed out"), FINISHED])
    assert follower.run().history == FINISHED.history
