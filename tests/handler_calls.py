"""The worker's handler called as the RunPod SDK calls one without STREAM_OUTPUTS: a coroutine per job."""
from __future__ import annotations

import asyncio
from typing import Any, Coroutine

from entrypoints.runpod_handler import Handler


def answering(handler: Handler, job: dict) -> Coroutine[Any, Any, dict]:
    """The coroutine that answers `job`."""
    answer = handler(job)
    assert asyncio.iscoroutine(answer), "a STREAM_OUTPUTS handler is an async generator: iterate its items instead"
    return answer


def answer(handler: Handler, job: dict) -> dict:
    """`job`'s answer, on an event loop of its own."""
    return asyncio.run(answering(handler, job))
