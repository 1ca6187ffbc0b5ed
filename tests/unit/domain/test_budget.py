"""The budget: a deadline on an injected clock and a stop flag, both raising at once."""
import math
import threading

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
    with pytest.raises(JobTimedOut, match="while uploading input a.png"):
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


def test_sleeping_zero_returns():
    Budget().sleep(0)
