"""What the event loop's thread is handed while a job runs: the longest text any Python-level call there received, and
the calls there that read, encode or answer a job (which belong in the job's own thread).

The asyncio loop carries the SDK's heartbeat and every other job, so caller text must never be processed on it. This
proves it by recording calls (`sys.setprofile` on the loop's thread alone), not by timing the loop: a text passed on
by reference costs nothing, and any work on it ends up as a call that receives it (or a piece of it) or as one of
the `HEAVY` calls below, whatever the machine's load."""
from __future__ import annotations

import json
import sys
from types import CodeType
from typing import Callable, Optional

from adapters import json_chunks
from domain import errors
from entrypoints import answers, request

LONG_TEXT = 65_536  # characters: a loop-thread call handed more is working on caller text
# Calls that parse, encode or format a job or its answer: they run in the job's thread, whatever their size.
HEAVY = (
    json.dumps, json.loads, json.JSONEncoder.encode, json.JSONDecoder.decode, json_chunks.dumps_bytes,
    json_chunks.loads_elided, request.parse_request, request.new_job, errors.excerpt, errors.clip,
    answers.RunPodAnswers.answer, answers.error_answer, answers.error_line, answers.internal_error_answer,
)
_CO_VARARGS, _CO_VARKEYWORDS = 0x04, 0x08


class LoopWatch:
    """`with LoopWatch() as watch:` inside a coroutine (on the loop's thread): then `watch.long_texts` and
    `watch.heavy_calls` list what that thread was handed meanwhile."""

    def __init__(self, limit: int = LONG_TEXT) -> None:
        self.limit = limit
        self.long_texts: list[tuple[str, str, int]] = []  # (function, type, length)
        self.heavy_calls: list[str] = []
        self.calls = 0
        self._heavy = {function.__code__ for function in HEAVY}
        self._previous: Optional[Callable[..., object]] = None  # the profiler set before, put back on exit

    def __enter__(self) -> LoopWatch:
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._previous)

    def _profile(self, frame, event, arg) -> None:
        if event != "call":
            return
        self.calls += 1
        code = frame.f_code
        name = getattr(code, "co_qualname", code.co_name)
        if code in self._heavy:
            self.heavy_calls.append(name)
        values = frame.f_locals
        for value in _arguments(code, values):
            if isinstance(value, (str, bytes, bytearray, memoryview)) and len(value) > self.limit:
                self.long_texts.append((name, type(value).__name__, len(value)))


def _arguments(code: CodeType, values: dict) -> list:
    """A call's arguments, the items of its *args and the values of its **kwargs included (a container passed on is
    not looked into: handing the job over by reference is what the loop should do)."""
    count = code.co_argcount + code.co_kwonlyargcount
    found = [values.get(name) for name in code.co_varnames[:count]]
    if code.co_flags & _CO_VARARGS:
        found += list(values.get(code.co_varnames[count]) or ())
        count += 1
    if code.co_flags & _CO_VARKEYWORDS:
        found += list((values.get(code.co_varnames[count]) or {}).values())
    return found
