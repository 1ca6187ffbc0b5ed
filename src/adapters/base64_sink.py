"""Keeps output bytes inline in the job result as base64."""
from __future__ import annotations

import base64
from typing import Iterable

from domain.budget import Budget


class Base64ImageSink:
    """Implements the `ImageSink` port by encoding the bytes as base64 text."""

    kind = "base64"

    def store(self, job_id: str, filename: str, content_type: str, chunks: Iterable[bytes], budget: Budget) -> str:
        return base64.b64encode(b"".join(chunks)).decode("ascii")
