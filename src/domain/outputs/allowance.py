"""The answer's size, added up while outputs are delivered, so that its limit bites before bytes are held."""

from __future__ import annotations

import threading
from typing import Any, Optional

from domain.errors import ResponseTooLarge
from domain.model import OutputFailure, OutputRef, StoredOutput, TextOutput
from domain.ports import AnswerFormat

INLINE_KIND = "base64"  # the sink kind whose entries carry the bytes themselves
# the answer around its entries: keys, timings, ComfyUI's version, the odd status line
ANSWER_FRAME_BYTES = 512
S3_HINT = "configure S3 (s3_overflow...) to get URLs, "


def base64_length(size: int) -> int:
    return (size + 2) // 3 * 4


class ResponseAllowance:
    """The running total of the answer's size, shared by the threads that deliver outputs.

    Inline outputs `take` their size before their bytes are fetched (or as they stream); what does not fit
    is refused, and the caller sends it to the overflow sink or fails the job with `refusal`.
    """

    def __init__(self, max_bytes: int, answer: AnswerFormat, used: int = ANSWER_FRAME_BYTES) -> None:
        self.max_bytes = max_bytes
        self._answer = answer
        self._used = used
        self._inline: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        return self._used

    def entry_bytes(self, ref: OutputRef, filename: str, content_type: str, kind: str, data_chars: int = 0) -> int:
        """What one output's entry adds to the answer: its fields at their largest, and `data_chars` of data."""
        skeleton = StoredOutput(ref, filename, kind, "", content_type, size_bytes=10**15, sha256="0" * 64)
        return self._answer.output_bytes(skeleton) + data_chars

    def add_texts(self, texts: list[TextOutput]) -> None:
        """Count texts, which the answer carries whatever the limit."""
        self.add(sum(self._answer.text_bytes(text) for text in texts))

    def add_failure(self, failure: OutputFailure) -> None:
        """Count a line of `errors`, which the answer carries whatever the limit."""
        self.add(self._answer.failure_bytes(failure))

    def over(self) -> Optional[ResponseTooLarge]:
        """The job's error when what the answer carries whatever the limit took it over; None if it fits."""
        with self._lock:
            if self._used <= self.max_bytes:
                return None
            outputs = sorted(self._inline, key=lambda e: e["size_bytes"], reverse=True)
            return too_large(self._used, self.max_bytes, outputs, S3_HINT)

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


def too_large(size: int, max_bytes: int, inline: list, s3_hint: str) -> ResponseTooLarge:
    listed = ", ".join(f"{e['filename']} (node {e['node_id']}, {e['size_bytes']:,} bytes)" for e in inline)
    return ResponseTooLarge(
        f"the outputs make a {size:,}-byte response, over max_response_bytes={max_bytes:,} (RunPod refuses larger "
        f"results): {s3_hint}ask for a smaller format (input.output_format), or raise max_response_bytes up to "
        f"RunPod's limit" + (f"; outputs: {listed}" if listed else ""),
        limits=("max_response_bytes", "s3_overflow"),
        data={
            "response_bytes": size,
            "max_response_bytes": max_bytes,
            "outputs": [{k: e[k] for k in ("filename", "node_id", "size_bytes")} for e in inline],
        },
    )
