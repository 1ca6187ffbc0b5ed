"""A job's stage durations in milliseconds: one object per job, told of each stage as it ends."""

from __future__ import annotations

from typing import Callable, Optional

STAGES = ("wait_ready", "models", "upload_inputs", "queue_wait", "execute", "deliver", "total")


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


class JobTimings:
    """Wall-clock stages of one job; `execute` is ComfyUI's own measure, from its execution timestamps.

    `wait_ready`, `models` (a job's model files made available, when it has any) and `upload_inputs` run back to
    back from the job's start; `queue_wait` runs from the prompt's
    queueing to its first sign of execution; `deliver` from the prompt's end to the last output stored.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.started_at = self._last = clock()
        self._queued_at: Optional[float] = None
        self._ended_at: Optional[float] = None
        self._ms: dict[str, int] = {}

    def ready(self) -> None:
        self._stage("wait_ready")

    def models_ready(self) -> None:
        self._stage("models")

    def uploaded(self) -> None:
        """Inputs are in ComfyUI: the prompt is queued from now on, as far as the job's timings go."""
        self._stage("upload_inputs")
        self._queued_at = self._last

    def execution_started(self) -> None:
        if self._queued_at is not None and "queue_wait" not in self._ms:
            self._ms["queue_wait"] = _ms(self._clock() - self._queued_at)

    def prompt_ended(self) -> None:
        self._ended_at = self._clock()

    def executed(self, started_ms: Optional[int], ended_ms: Optional[int]) -> None:
        if started_ms is not None and ended_ms is not None:
            self._ms["execute"] = ended_ms - started_ms

    def delivered(self) -> None:
        now = self._clock()
        self._ms["deliver"] = _ms(now - (self._ended_at if self._ended_at is not None else self._last))
        self._last = now

    def report(self) -> dict[str, int]:
        """Every stage measured so far, in order, and the total until now."""
        measured = {**self._ms, "total": _ms(self._clock() - self.started_at)}
        return {name: measured[name] for name in STAGES if name in measured}

    def _stage(self, name: str) -> None:
        now = self._clock()
        self._ms[name] = _ms(now - self._last)
        self._last = now
