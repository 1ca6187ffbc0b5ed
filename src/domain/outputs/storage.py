"""Stores an output where the answer has room for it: the sink, else the overflow sink (S3), else a refusal."""

from __future__ import annotations

import hashlib
import itertools
import logging
from typing import Iterable, Iterator, Optional

from domain.budget import Budget
from domain.model import OutputRef, StoredOutput
from domain.outputs.allowance import ListedOutput, ResponseAllowance, base64_length
from domain.ports import OutputSink

log = logging.getLogger(__name__)


class Digest:
    """Counts and hashes chunks as they pass through to a sink."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.size = 0
        self._sha = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.size += len(chunk)
            self._sha.update(chunk)
            yield chunk

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


class _NoRoom(Exception):
    """Raised inside the sink by `_Meter` when the next chunk would take the answer over its limit."""


class _Meter:
    """Chunks of unknown total that take their base64 size from the allowance as they pass to the sink.

    With `keep`, the chunks that passed are kept, so that after `_NoRoom` they and the rest can go elsewhere.
    """

    def __init__(self, chunks: Iterator[bytes], allowance: ResponseAllowance, keep: bool) -> None:
        self.rest, self._allowance, self._keep = chunks, allowance, keep
        self.received = self.taken = self.short = 0
        self.kept: list[bytes] = []

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.rest:
            if self._keep:
                self.kept.append(chunk)
            self.received += len(chunk)
            need = base64_length(self.received) - self.taken
            if not self._allowance.take(need):
                self.short = need
                raise _NoRoom()
            self.taken += need
            yield chunk


class OutputStorage:
    """One job's sinks and the answer's running size.

    An inline (base64) output takes its size from the `allowance` before its bytes are read (its length known)
    or as they stream; one that does not fit goes to `overflow` or, without it, `ResponseTooLarge` is raised
    listing the outputs known so far. Outputs in other sinks only add their URL's size.
    """

    def __init__(
        self,
        job_id: str,
        sink: OutputSink,
        budget: Budget,
        *,
        allowance: Optional[ResponseAllowance] = None,
        overflow: Optional[OutputSink] = None,
    ) -> None:
        self._job_id, self._sink, self._budget = job_id, sink, budget
        self._allowance, self._overflow = allowance, overflow

    def store(
        self, ref: OutputRef, filename: str, content_type: str, chunks: Iterator[bytes], length: Optional[int]
    ) -> StoredOutput:
        """Store the output (`length` bytes when known); `ResponseTooLarge` when the answer has no room for it."""
        allowance = self._allowance
        if allowance is None:
            return self._store_in(self._sink, ref, filename, content_type, chunks)
        if not self._sink.inline:
            return self._store_counted(allowance, self._sink, ref, filename, content_type, chunks)
        overhead = allowance.entry_bytes(ref, filename, content_type, inline=True)
        if length is None:
            return self._store_metered(allowance, ref, filename, content_type, chunks, overhead)
        size, entry = base64_length(length) + overhead, ListedOutput.of(ref, filename, length)
        if not allowance.take(size, entry):
            return self._store_elsewhere(allowance, ref, filename, content_type, chunks, size, entry)
        try:
            return self._store_in(self._sink, ref, filename, content_type, chunks)
        except BaseException:
            allowance.give_back(size, entry)
            raise

    def _store_metered(
        self,
        allowance: ResponseAllowance,
        ref: OutputRef,
        filename: str,
        content_type: str,
        chunks: Iterator[bytes],
        overhead: int,
    ) -> StoredOutput:
        """An output of unknown length, counted as it streams; once past the limit it goes elsewhere whole."""
        if not allowance.take(overhead):
            entry = ListedOutput.of(ref, filename, 0)
            return self._store_elsewhere(allowance, ref, filename, content_type, chunks, overhead, entry)
        meter = _Meter(chunks, allowance, keep=self._overflow is not None)
        try:
            stored = self._store_in(self._sink, ref, filename, content_type, iter(meter))
        except _NoRoom:
            allowance.give_back(overhead + meter.taken)
            size, entry = overhead + meter.taken + meter.short, ListedOutput.of(ref, filename, meter.received)
            rest = itertools.chain(meter.kept, meter.rest)
            return self._store_elsewhere(allowance, ref, filename, content_type, rest, size, entry)
        except BaseException:
            allowance.give_back(overhead + meter.taken)
            raise
        allowance.list_output(ListedOutput.of(ref, filename, stored.size_bytes))
        return stored

    def _store_elsewhere(
        self,
        allowance: ResponseAllowance,
        ref: OutputRef,
        filename: str,
        content_type: str,
        chunks: Iterator[bytes],
        size: int,
        entry: ListedOutput,
    ) -> StoredOutput:
        if self._overflow is None:
            raise allowance.refusal(size, entry)
        log.info("%s of node %s does not fit in the answer: it goes to %s", filename, ref.node_id, self._overflow.name)
        return self._store_counted(allowance, self._overflow, ref, filename, content_type, chunks)

    def _store_counted(
        self,
        allowance: ResponseAllowance,
        sink: OutputSink,
        ref: OutputRef,
        filename: str,
        content_type: str,
        chunks: Iterator[bytes],
    ) -> StoredOutput:
        """Into a sink whose entries hold a URL: in the answer whatever the limit, and counted."""
        stored = self._store_in(sink, ref, filename, content_type, chunks)
        allowance.add(allowance.entry_bytes(ref, filename, content_type, sink.inline, len(stored.value)))
        return stored

    def _store_in(
        self, sink: OutputSink, ref: OutputRef, filename: str, content_type: str, chunks: Iterator[bytes]
    ) -> StoredOutput:
        digest = Digest(chunks)
        data = sink.store(self._job_id, filename, content_type, digest, self._budget)
        log.info("delivered %s of node %s (%d bytes, %s)", filename, ref.node_id, digest.size, sink.name)
        return StoredOutput(
            ref=ref,
            filename=filename,
            inline=sink.inline,
            value=data,
            content_type=content_type,
            size_bytes=digest.size,
            sha256=digest.hexdigest(),
        )
