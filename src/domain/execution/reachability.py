"""The one rule for a ComfyUI that stops answering: its process gone is final, unreachable is waited for."""

from __future__ import annotations

import logging
from typing import Callable, Optional, TypeVar

from domain.budget import Budget
from domain.errors import ComfyProcessDied, ComfyUnreachable
from domain.ports import ComfyApi

log = logging.getLogger(__name__)
T = TypeVar("T")


def when_back(comfy: ComfyApi, budget: Budget, call: Callable[[], T], again: Optional[Callable[[], T]] = None) -> T:
    """Run `call`; if ComfyUI went away since it last answered (a restart between jobs, a dropped connection),
    wait until it answers again, then run `again` (`call` once more by default). `ComfyProcessDied` is final."""
    try:
        return call()
    except ComfyProcessDied:
        raise
    except ComfyUnreachable as exc:
        log.warning("ComfyUI did not answer (%s): waiting for it again", exc)
        comfy.wait_until_ready(budget, recheck=True)
        return (again or call)()
