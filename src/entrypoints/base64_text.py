"""Decodes base64 text broken into lines (MIME's 76 characters) in one pass, without a string per line."""

from __future__ import annotations

import binascii
import re

# What b64decode(validate=True) accepts once the whitespace is gone: the alphabet, then at most two '='.
# Each part is one character class repeated, which the regex engine scans in a loop without backtracking state.
_DIGITS_AND_SPACE = re.compile(r"[A-Za-z0-9+/\s]*")
_PADDING_AND_SPACE = re.compile(r"(?:=\s*){0,2}")


def decode_base64_text(text: str) -> bytes:
    """`b64decode("".join(text.split()), validate=True)` holding only the text and the decoded bytes.

    Raises `binascii.Error` where `validate=True` does: a character outside the alphabet and whitespace, or
    padding that is missing, leading or followed by more.
    """
    digits = _DIGITS_AND_SPACE.match(text)
    if digits is None or _PADDING_AND_SPACE.fullmatch(text, digits.end()) is None:
        raise binascii.Error("Non-base64 digit found")
    # a2b_base64 reads ASCII text in place and, unless strict, skips the whitespace; beyond ASCII there can only
    # be Unicode whitespace now, and dropping it costs one copy of the text
    data = binascii.a2b_base64(text if text.isascii() else text.encode("ascii", errors="ignore"))
    # The padding checks of strict mode (which refuses whitespace too): 4n+2 digits decode to 3n+1 bytes and
    # take one or two '=', 4n+3 digits decode to 3n+2 bytes and take one.
    padding = text.count("=", digits.end())
    if padding and not data:
        raise binascii.Error("Leading padding not allowed")
    if padding == 2 and len(data) % 3 == 2:
        raise binascii.Error("Excess data after padding")
    return data
