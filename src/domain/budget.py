"""A job's budget: its deadline and its stop flag, honoured by every blocking step."""

from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from domain.errors import Cancelled, JobTimedOut

Clock = Callable[[], float]


class Budget:
    """What a blocking call may still spend: `timeout(cap)` before a call, `check()` between chunks.

    The deadline is a `clock()` value (monotonic seconds) or None; `stop` is set when RunPod
    cancels the job. Both raise at once: `Cancelled` or `JobTimedOut`, naming what was being done.
    """

    def __init__(
        self, deadline: Optional[float] = None, stop: Optional[threading.Event] = None, clock: Clock = time.monotonic
    ) -> None:
        self.deadline = deadline
        self.stop = stop if stop is not None else threading.Event()
        self._clock = clock
        self._paused_at: Optional[float] = None

    def pause(self) -> None:
        """Stop the deadline's clock: the job waits in ComfyUI's queue behind another job of this worker."""
        if self._paused_at is None:
            self._paused_at = self._clock()

    def resume(self) -> None:
        """Run the deadline's clock again, the pause added to the deadline."""
        paused_at, self._paused_at = self._paused_at, None
        if paused_at is not None and self.deadline is not None:
            self.deadline += self._clock() - paused_at

    @property
    def stopped(self) -> bool:
        return self.stop.is_set()

    def remaining(self) -> float:
        """Seconds left before the deadline (infinity without one)."""
        if self.deadline is None:
            return float("inf")
        paused_at = self._paused_at
        return self.deadline - (self._clock() if paused_at is None else paused_at)

    def check(self, doing: str = "") -> None:
        """Raise `Cancelled` once stopped, `JobTimedOut` once the deadline has passed."""
        where = f" while {doing}" if doing else ""
        if self.stop.is_set():
            raise Cancelled(f"the job was cancelled{where}")
        if self.remaining() <= 0:
            raise JobTimedOut(f"the job's deadline passed{where}")

    def timeout(self, cap: float, doing: str = "") -> float:
        """A timeout for one blocking call: at most `cap`, never past the deadline."""
        self.check(doing)
        return max(0.001, min(cap, self.remaining()))

    def sleep(self, seconds: float, doing: str = "") -> None:
        """Wait `seconds`, waking at once on a stop; raise if the stop or the deadline comes first."""
        self.check(doing)
        self.stop.wait(max(0.0, min(seconds, self.remaining())))
        self.check(doing)
