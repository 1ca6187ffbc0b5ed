"""The prompt's life in ComfyUI's queue as the job sees it: posted, queued, dropped again, and stopped."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Optional

from domain.budget import Budget
from domain.errors import WorkerError
from domain.execution.acceptance import QueuedPrompt
from domain.execution.reachability import when_back
from domain.model import Prompt
from domain.ports import ComfyApi

log = logging.getLogger(__name__)


@dataclass
class Submission:
    """One prompt's submission: POST /prompt sent (the prompt may be in ComfyUI's queue whatever the answer),
    answered, and dropped again by the job. The one place that cancels the job's prompt."""

    comfy: ComfyApi
    prompt: Prompt
    posted: bool = False
    queued: bool = False
    dropped: bool = False

    def post(self, budget: Budget) -> QueuedPrompt:
        """POST the prompt; ComfyUI's queue number for it and the outputs it dropped. Posted again after ComfyUI
        came back only if it does not know the prompt (the id is ours)."""
        self.posted = True

        def again() -> QueuedPrompt:
            if self.comfy.prompt_state(self.prompt.id, budget).state == "lost":
                return self.comfy.queue_prompt(self.prompt, budget)
            return QueuedPrompt()

        queued = when_back(self.comfy, budget, lambda: self.comfy.queue_prompt(self.prompt, budget), again)
        self.queued = True
        return queued

    def drop(self) -> None:
        """The job ends before its prompt did: once POST /prompt was sent (even unanswered), the prompt may be
        queued or running, so it is deleted from ComfyUI's queue and interrupted."""
        if self.posted:
            self.dropped = True
            self.comfy.cancel(self.prompt.id)
            log.info("asked ComfyUI to drop prompt %s", self.prompt.id)

    def settle(self, seconds: float) -> None:
        """Wait (at most `seconds`) until a dropped prompt is neither pending nor running, dropping it again while
        it is: a POST /prompt that timed out may still be queued after the first drop."""
        if not self.dropped:
            return
        budget = Budget(deadline=time.monotonic() + seconds)
        lost_since: Optional[float] = None
        try:
            while True:
                state = self.comfy.prompt_state(self.prompt.id, budget).state
                if state == "finished":
                    return
                if state == "lost":
                    lost_since = lost_since or time.monotonic()
                    if time.monotonic() - lost_since >= 1.0:  # ComfyUI never got it (or forgot it)
                        return
                else:
                    lost_since = None
                    self.comfy.cancel(self.prompt.id)
                budget.sleep(0.2, "waiting for the dropped prompt to stop")
        except WorkerError as exc:
            log.warning(
                "could not tell whether dropped prompt %s stopped (%s): cleaning up now", self.prompt.id, exc.code
            )
