"""Keeps output bytes inline in the job result as base64."""
from __future__ import annotations

import base64

from domain.model import Blob, OutputRef, StoredOutput


class Base64ImageSink:
    """Implements the `ImageSink` port by encoding the bytes as base64 text."""

    def store(self, job_id: str, ref: OutputRef, blob: Blob) -> StoredOutput:
        data = base64.b64encode(blob.data).decode("ascii")
        return StoredOutput(ref=ref, type="base64", data=data, content_type=blob.content_type)
