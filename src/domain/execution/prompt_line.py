"""The prompts one worker has in ComfyUI's queue, and one job's turn among them: its deadline waits while it does."""

from __future__ import annotations

import itertools
import logging
import threading
from typing import Optional, Union

from domain.budget import Budget

log = logging.getLogger(__name__)

QueueNumber = Union[int, float]


class PromptLine:
    """Which of this worker's prompts are queued or running, in ComfyUI's queue order (shared by its jobs).

    ComfyUI runs its queue by the `number` `POST /prompt` answered, not in the order the posts were sent: a small
    post sent later can overtake a large one. A prompt whose answer carried no number goes after those known.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrivals = itertools.count()
        self._prompts: dict[str, tuple[QueueNumber, int]] = {}

    def join(self, prompt_id: str, number: Optional[QueueNumber] = None) -> None:
        with self._lock:
            self._prompts[prompt_id] = (float("inf") if number is None else number, next(self._arrivals))

    def ahead_of(self, prompt_id: str) -> bool:
        """Whether a prompt of this worker that ComfyUI runs before `prompt_id` has not ended yet."""
        with self._lock:
            place = self._prompts.get(prompt_id)
            return place is not None and any(other < place for other in self._prompts.values())

    def leave(self, prompt_id: str) -> None:
        with self._lock:
            self._prompts.pop(prompt_id, None)


class QueueTurn:
    """One job's place in the line, from the moment ComfyUI queued its prompt: while another job of this worker is
    ahead of its pending prompt, the job's deadline does not run (that time is the other job's); it runs again
    once the prompt starts or nothing of this worker is ahead (then a ComfyUI that never starts it still times
    out). Until its prompt is queued the job has no place, and its deadline runs."""

    def __init__(self, line: PromptLine, prompt_id: str, budget: Budget) -> None:
        self._line, self._id, self._budget = line, prompt_id, budget

    def __enter__(self) -> QueueTurn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.ended()

    def queued(self, number: Optional[QueueNumber]) -> None:
        """ComfyUI queued the prompt under `number` (None when its answer had none)."""
        self._line.join(self._id, number)
        self.queue_changed()

    def queue_changed(self) -> None:
        if self._line.ahead_of(self._id):
            self._budget.pause()
        else:
            self._budget.resume()

    def started(self) -> None:
        self._budget.resume()

    def ended(self) -> None:
        self._line.leave(self._id)
        self._budget.resume()
