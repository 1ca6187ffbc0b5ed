"""The prompts one worker has in ComfyUI's queue, and one job's turn among them: its deadline waits while it does."""

from __future__ import annotations

import logging
import threading

from domain.budget import Budget

log = logging.getLogger(__name__)


class PromptLine:
    """Which of this worker's prompts are queued or running, in the order they were queued (shared by its jobs)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._prompts: list[str] = []

    def join(self, prompt_id: str) -> None:
        with self._lock:
            self._prompts.append(prompt_id)

    def ahead_of(self, prompt_id: str) -> bool:
        """Whether a prompt of this worker queued before `prompt_id` has not ended yet."""
        with self._lock:
            return prompt_id in self._prompts and self._prompts.index(prompt_id) > 0

    def leave(self, prompt_id: str) -> None:
        with self._lock:
            if prompt_id in self._prompts:
                self._prompts.remove(prompt_id)


class QueueTurn:
    """One job's place in the line: while another job of this worker is ahead of its pending prompt, the job's
    deadline does not run (that time is the other job's); it runs again once the prompt starts or nothing of
    this worker is ahead (then a ComfyUI that never starts it still times out)."""

    def __init__(self, line: PromptLine, prompt_id: str, budget: Budget) -> None:
        self._line, self._id, self._budget = line, prompt_id, budget

    def __enter__(self) -> QueueTurn:
        self._line.join(self._id)
        self.queue_changed()
        return self

    def __exit__(self, *exc: object) -> None:
        self.ended()

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
