"""JSON holding megabyte strings, encoded and decoded in calls of bounded size so no one call holds the interpreter."""

from __future__ import annotations

import codecs
import json
import re
from json.encoder import encode_basestring_ascii
from typing import Any, Callable

SLICE = 65_536  # characters handed to one C call
LONG = 65_536  # a string whose JSON text (escapes as sent) is longer than this is elided to its head and tail
HEAD, TAIL = 16_384, 4_096
MAX_PARSED = 2_000_000  # characters json.loads is given in one call, once long strings are elided
ELISION = "\u2026"

# Complete tokens outside strings and whole string literals; stops at a string that does not close before endpos.
TOKENS = re.compile(r'(?:[^"]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.S)
# A string's content up to its closing quote, or up to endpos without cutting an escape (a six-character \u escape included).
CONTENT = re.compile(r'[^"\\]*+(?:\\(?:u[0-9a-fA-F]{4}|[^u])[^"\\]*+)*+', re.S)
HIGH_SURROGATE_AT_END = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$")
LOW_SURROGATE_AT_START = re.compile(r"\\u[dD][c-fC-F][0-9a-fA-F]{2}")


class TooLongToRead(ValueError):
    """A JSON text that stays over `MAX_PARSED` characters with its long strings elided."""


def dumps_bytes(value: Any) -> bytes:
    """`json.dumps(value, allow_nan=False).encode()`, byte for byte, with strings longer than `SLICE` escaped a slice
    at a time (JSON escapes each code point on its own, so a Python str may be cut anywhere)."""
    if not _holds_long_string(value):
        return json.dumps(value, allow_nan=False).encode()
    pieces: list[str] = []
    _encode(value, pieces.append)
    return "".join(pieces).encode()


def _holds_long_string(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) > SLICE
    if isinstance(value, dict):
        return any(_holds_long_string(k) or _holds_long_string(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_long_string(item) for item in value)
    return False


def _encode(value: Any, emit: Callable[[str], None]) -> None:
    if isinstance(value, str):
        _encode_string(value, emit)
    elif isinstance(value, dict):
        emit("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                emit(", ")
            if isinstance(key, str):
                _encode_string(key, emit)
            else:  # json.dumps turns an int, float, bool or None key into its JSON text, quoted
                emit(json.dumps({key: None}, allow_nan=False)[1:-7])
            emit(": ")
            _encode(item, emit)
        emit("}")
    elif isinstance(value, (list, tuple)):
        emit("[")
        for index, item in enumerate(value):
            if index:
                emit(", ")
            _encode(item, emit)
        emit("]")
    else:
        emit(json.dumps(value, allow_nan=False))


def _encode_string(text: str, emit: Callable[[str], None]) -> None:
    if len(text) <= SLICE:
        emit(encode_basestring_ascii(text))
        return
    emit('"')
    for start in range(0, len(text), SLICE):
        emit(encode_basestring_ascii(text[start : start + SLICE])[1:-1])
    emit('"')


def loads_elided(data: bytes) -> Any:
    """`json.loads(data)` with every string over `LONG` characters of JSON text cut to its head, an ellipsis and tail.

    The UTF-8 decoding, the scan for long strings and the one `json.loads` call each work on bounded pieces; raises
    `ValueError` for text that is not JSON and `TooLongToRead` when the elided text is still too long."""
    text = _decode_utf8(data)
    elided = _elide_long_strings(text)
    if len(elided) > MAX_PARSED:
        raise TooLongToRead(f"{len(data):,} bytes of JSON, {len(elided):,} characters without its long strings")
    return json.loads(elided)


def _decode_utf8(data: bytes) -> str:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    view = memoryview(data)
    pieces = [decoder.decode(view[start : start + SLICE * 4]) for start in range(0, len(data), SLICE * 4)]
    pieces.append(decoder.decode(b"", final=True))
    return "".join(pieces)


def _elide_long_strings(text: str) -> str:
    pieces: list[str] = []
    kept_from = position = 0
    while position < len(text):
        position = _end(TOKENS, text, position, min(len(text), position + SLICE))
        if position >= len(text) or text[position] != '"':
            continue  # the window ended between tokens
        start, end = position, _string_end(text, position + 1)
        if end - start - 2 > LONG:
            pieces += [
                text[kept_from:start],
                '"',
                _head(text, start + 1),
                ELISION,
                _tail(text, start + 1, end - 1),
                '"',
            ]
            kept_from = end
        position = end
    if not pieces:
        return text
    pieces.append(text[kept_from:])
    return "".join(pieces)


def _end(pattern: re.Pattern, text: str, start: int, stop: int) -> int:
    """Where `pattern`, which may match nothing, stops matching from `start` (one C call over `stop - start`)."""
    matched = pattern.match(text, start, stop)
    return matched.end() if matched else start


def _string_end(text: str, content_start: int) -> int:
    """The index after the closing quote of the string whose content starts at `content_start` (or the text's end)."""
    position = content_start
    while position < len(text):
        stop = _end(CONTENT, text, position, min(len(text), position + SLICE))
        if stop < len(text) and text[stop] == '"':
            return stop + 1
        if stop == position:  # an escape cut by the text's end: not JSON, json.loads will say so
            return len(text)
        position = stop
    return len(text)


def _safe_cut(text: str, start: int, at: int) -> int:
    """The last index at most `at` from boundary `start` that cuts no escape, found in slices."""
    position = start
    while position < at:
        stop = _end(CONTENT, text, position, min(at, position + SLICE))
        if stop == position:
            break
        position = stop
    return position


def _head(text: str, content_start: int) -> str:
    head = text[content_start : _safe_cut(text, content_start, content_start + HEAD)]
    return head[:-6] if HIGH_SURROGATE_AT_END.search(head) else head


def _tail(text: str, content_start: int, content_end: int) -> str:
    tail = text[_safe_cut(text, content_start, content_end - TAIL) : content_end]
    return tail[6:] if LOW_SURROGATE_AT_START.match(tail) else tail
