"""The answer's size, added up while outputs are delivered, so that its limit bites before bytes are held."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterable, Optional

from domain.errors import ResponseTooLarge
from domain.model import OutputFailure, OutputRef, StoredOutput, TextOutput
from domain.ports import AnswerFormat

# the answer around its entries: keys, timings, ComfyUI's version, the odd status line
ANSWER_FRAME_BYTES = 512


def base64_length(size: int) -> int:
    return (size + 2) // 3 * 4


@dataclass(frozen=True)
class ListedOutput:
    """An inline output as a refusal lists it."""

    filename: str
    node_id: str
    size_bytes: int

    @classmethod
    def of(cls, ref: OutputRef, filename: str, size: int) -> ListedOutput:
        return cls(filename, ref.node_id, size)


class ResponseAllowance:
    """The running total of the answer's size, shared by the threads that deliver outputs.

    Inline outputs `take` their size before their bytes are fetched (or as they stream); what does not fit
    is refused, and the caller sends it to the overflow sink or fails the job with `refusal`. `overflow_hint`
    tells, in a refusal, how to get a store for what does not fit.
    """

    def __init__(self, max_bytes: int, answer_format: AnswerFormat, overflow_hint: str = "") -> None:
        self.max_bytes = max_bytes
        self._format = answer_format
        self._hint = overflow_hint
        self._used = ANSWER_FRAME_BYTES
        self._inline: list[ListedOutput] = []
        self._lock = threading.Lock()

    def entry_bytes(self, ref: OutputRef, filename: str, content_type: str, inline: bool, value_chars: int = 0) -> int:
        """What one output's entry adds to the answer: its fields at their largest, and `value_chars` of value."""
        skeleton = StoredOutput(ref, filename, inline, "", content_type, size_bytes=10**15, sha256="0" * 64)
        return self._format.output_bytes(skeleton) + value_chars

    def add_texts(self, texts: list[TextOutput]) -> None:
        """Count texts, which the answer carries whatever the limit."""
        self.add(sum(self._format.text_bytes(text) for text in texts))

    def add_failure(self, failure: OutputFailure) -> None:
        """Count a line of `errors`, which the answer carries whatever the limit."""
        self.add(self._format.failure_bytes(failure))

    def over(self) -> Optional[ResponseTooLarge]:
        """The job's error when what the answer carries whatever the limit took it over; None if it fits."""
        with self._lock:
            if self._used <= self.max_bytes:
                return None
            return self.too_large(self._used, self._inline)

    def take(self, size: int, listed: Optional[ListedOutput] = None) -> bool:
        """Count `size` more bytes if the answer stays within the limit; `listed` names the output they belong to."""
        with self._lock:
            if self._used + size > self.max_bytes:
                return False
            self._used += size
            if listed is not None:
                self._inline.append(listed)
            return True

    def list_output(self, listed: ListedOutput) -> None:
        """Name an inline output whose size was counted as it streamed, for a later refusal's list."""
        with self._lock:
            self._inline.append(listed)

    def add(self, size: int) -> None:
        """Count bytes that are in the answer whatever the limit (an entry's URL)."""
        with self._lock:
            self._used += size

    def give_back(self, size: int, listed: Optional[ListedOutput] = None) -> None:
        with self._lock:
            self._used -= size
            if listed is not None and listed in self._inline:
                self._inline.remove(listed)

    def refusal(self, size: int, listed: ListedOutput) -> ResponseTooLarge:
        """The job's error when `size` more bytes do not fit and nothing can take them: the outputs known so far."""
        with self._lock:
            return self.too_large(self._used + size, [*self._inline, listed])

    def too_large(self, size: int, inline: Iterable[ListedOutput]) -> ResponseTooLarge:
        """The error of an answer of `size` bytes, listing its inline outputs, largest first."""
        listed = sorted(inline, key=lambda e: e.size_bytes, reverse=True)
        shown = ", ".join(f"{e.filename} (node {e.node_id}, {e.size_bytes:,} bytes)" for e in listed)
        return ResponseTooLarge(
            f"the outputs make a {size:,}-byte response, over max_response_bytes={self.max_bytes:,} (RunPod refuses "
            f"larger results): {self._hint}ask for a smaller format (input.output_format), or raise "
            f"max_response_bytes up to RunPod's limit" + (f"; outputs: {shown}" if shown else ""),
            limits=("max_response_bytes",),
            data={
                "response_bytes": size,
                "max_response_bytes": self.max_bytes,
                "outputs": [{"filename": e.filename, "node_id": e.node_id, "size_bytes": e.size_bytes} for e in listed],
            },
        )
