"""Keeps output bytes inline in the job result as base64, encoded chunk by chunk."""

from __future__ import annotations

import base64
import logging
from typing import Iterable

from domain.budget import Budget

log = logging.getLogger(__name__)


class Base64OutputSink:
    """Implements the `OutputSink` port inline: the output's value in the answer is its bytes in base64.

    Each chunk is encoded as it arrives (the 0-2 bytes that do not fill a 3-byte group wait for
    the next chunk), so an output is held once as base64 pieces and once as the joined text.
    """

    inline = True
    name = "base64"

    def store(self, job_id: str, filename: str, content_type: str, chunks: Iterable[bytes], budget: Budget) -> str:
        pieces, size = _encode_pieces(chunks, budget, f"encoding {filename!r} as base64")
        text = "".join(pieces)
        log.debug("kept %s inline for job %s: %d bytes, %s", filename, job_id, size, content_type)
        return text


def _encode_pieces(chunks: Iterable[bytes], budget: Budget, doing: str) -> tuple[list[str], int]:
    """The base64 text of the chunks as ASCII pieces whose join equals `b64encode(b"".join(chunks))`."""
    pieces: list[str] = []
    remainder = b""
    size = 0
    budget.check(doing)
    for chunk in chunks:
        budget.check(doing)
        size += len(chunk)
        if remainder:
            chunk = remainder + chunk
        whole = len(chunk) - len(chunk) % 3
        if whole:
            pieces.append(base64.b64encode(memoryview(chunk)[:whole]).decode("ascii"))
        remainder = bytes(chunk[whole:])
    if remainder:
        pieces.append(base64.b64encode(remainder).decode("ascii"))
    return pieces, size
