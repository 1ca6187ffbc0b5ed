"""The budget: a deadline on an injected clock and a stop flag, both raising at once."""
import math
import threading
from typing import Optional

import pytest

from domain.budget import Budget
from domain.errors import Cancelled, JobTimedOut
from unit.domain.fakes import FakeClock


def test_without_a_deadline_nothing_runs_out():
    budget = Budget()
    assert math.isinf(budget.remaining())
    assert budget.timeout(5.0) == 5.0
    budget.check("anything")


def test_remaining_follows_the_clock():
    clock = FakeClock()
    budget = Budget(deadline=clock() + 10, clock=clock)
    clock.advance(4)
    assert budget.remaining() == 6


def test_a_timeout_is_capped_and_never_past_the_deadline():
    clock = FakeClock()
    budget = Budget(deadline=clock() + 2, clock=clock)
    assert budget.timeout(5.0) == 2
    assert budget.timeout(0.5) == 0.5
    clock.advance(1.9999999)
    assert budget.timeout(5.0) == 0.001


def test_the_deadline_raises_timed_out_naming_the_stage():
    clock = FakeClock()
    budget = Budget(deadline=clock() + 2, clock=clock)
    clock.advance(2)
    with pytest.raises(JobTimedOut, match=r"while uploading input a\.png"):
        budget.check("uploading input a.png")
    with pytest.raises(JobTimedOut):
        budget.timeout(1.0, "queueing")


def test_the_stop_flag_raises_cancelled_before_the_deadline_is_looked_at():
    clock = FakeClock()
    stop = threading.Event()
    budget = Budget(deadline=clock() - 1, stop=stop, clock=clock)
    stop.set()
    assert budget.stopped
    with pytest.raises(Cancelled, match="cancelled while waiting"):
        budget.check("waiting")


def test_sleeping_when_stopped_raises_at_once():
    budget = Budget()
    budget.stop.set()
    with pytest.raises(Cancelled, match="reconnecting"):
        budget.sleep(3600, "reconnecting")


def test_sleeping_past_the_deadline_raises_at_once():
    clock = FakeClock()
    budget = Budget(deadline=clock(), clock=clock)
    with pytest.raises(JobTimedOut):
        budget.sleep(3600)


class ClockedStop(threading.Event):
    """A stop flag whose waits move the fake clock instead of the real one, and are recorded."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.waits: list[Optional[float]] = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        self.clock.advance(timeout)
        return self.is_set()


def test_sleeping_zero_or_less_waits_no_time():
    clock = FakeClock()
    stop = ClockedStop(clock)
    budget = Budget(deadline=clock() + 5.0, stop=stop, clock=clock)
    budget.sleep(0)
    budget.sleep(-1.0)
    assert stop.waits == [0.0, 0.0]
    assert budget.remaining() == 5.0


def test_a_sleep_is_cut_at_the_deadline_and_then_raises():
    clock = FakeClock()
    stop = ClockedStop(clock)
    budget = Budget(deadline=clock() + 5.0, stop=stop, clock=clock)
    budget.sleep(2.0)
    with pytest.raises(JobTimedOut, match="while reconnecting"):
        budget.sleep(3600, "reconnecting")
    assert stop.waits == [2.0, 3.0]
