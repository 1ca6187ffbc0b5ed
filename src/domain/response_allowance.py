"""The answer's size, added up while outputs are delivered, so that MAX_RESPONSE_BYTES bites before bytes are held."""

from __future__ import annotations

import json
import threading
from typing import Any, Optional

from domain.errors import ResponseTooLarge
from domain.model import OutputRef, StoredOutput
from domain.response import S3_HINT, file_entry, too_large

INLINE_KIND = "base64"  # the sink kind whose entries carry the bytes themselves
# the answer around its entries: keys, timings, ComfyUI's version, the odd error line
ANSWER_FRAME_BYTES = 512


def base64_length(size: int) -> int:
    return (size + 2) // 3 * 4


def entry_bytes(ref: OutputRef, filename: str, content_type: str, kind: str, data_chars: int = 0) -> int:
    """What one entry adds to the answer's JSON: its fields, `data_chars` of data (base64 or a URL), a comma."""
    skeleton = StoredOutput(ref, filename, kind, "", content_type, size_bytes=10**15, sha256="0" * 64)
    return len(json.dumps(file_entry(skeleton), separators=(",", ":")).encode("utf-8")) + 1 + data_chars


class ResponseAllowance:
    """The running total of the answer's size, shared by the threads that deliver outputs.

    Inline outputs `take` their size before their bytes are fetched (or as they stream); what does not fit
    is refused, and the caller sends it to the overflow sink or fails the job with `refusal`.
    """

    def __init__(self, max_bytes: int, used: int = ANSWER_FRAME_BYTES) -> None:
        self.max_bytes = max_bytes
        self._used = used
        self._inline: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        return self._used

    def take(self, size: int, listed: Optional[dict[str, Any]] = None) -> bool:
        """Count `size` more bytes if the answer stays within the limit; `listed` names the output they belong to."""
        with self._lock:
            if self._used + size > self.max_bytes:
                return False
            self._used += size
            if listed is not None:
                self._inline.append(listed)
            return True

    def list_output(self, listed: dict[str, Any]) -> None:
        """Name an inline output whose size was counted as it streamed, for a later refusal's list."""
        with self._lock:
            self._inline.append(listed)

    def add(self, size: int) -> None:
        """Count bytes that are in the answer whatever the limit (an entry's URL)."""
        with self._lock:
            self._used += size

    def give_back(self, size: int, listed: Optional[dict[str, Any]] = None) -> None:
        with self._lock:
            self._used -= size
            if listed is not None and listed in self._inline:
                self._inline.remove(listed)

    def refusal(self, size: int, listed: dict[str, Any]) -> ResponseTooLarge:
        """The job's error when `size` more bytes do not fit and nothing can take them: the outputs known so far."""
        with self._lock:
            outputs = sorted([*self._inline, listed], key=lambda e: e["size_bytes"], reverse=True)
            return too_large(self._used + size, self.max_bytes, outputs, S3_HINT)


def listed(ref: OutputRef, filename: str, size: int) -> dict[str, Any]:
    """An output as a refusal lists it."""
    return {"filename": filename, "node_id": ref.node_id, "size_bytes": size}
