"""Streams one model file into its partial file over the guarded transport: the sha256 computed while streaming,
MODEL_MAX_BYTES, a stall timer (MODEL_FETCH_TIMEOUT_S), per-host tokens, and an interrupted download resumed with
`Range` (and `If-Range`, so that a file changed on the server starts over instead of being spliced)."""

from __future__ import annotations

import errno
import hashlib
import os
import queue
import re
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from adapters.guarded_http import (
    DeadlinePassed,
    FetchFailed,
    GuardedHttp,
    Hop,
    HttpProblem,
    Reply,
    TransferStalled,
    declared_length,
    redacted,
)
from adapters.model_files import ModelFiles, ModelPaths
from adapters.model_tokens import HostTokens
from adapters.pinned_connections import DownloadWatch
from domain.budget import Budget
from domain.errors import JobTimedOut, ModelDownloadFailed
from domain.inputs.model_requests import BytesListener, ModelRequest, shown_source

CHUNK_BYTES = 1 << 20
HASH_QUEUE_CHUNKS = 8
_CONTENT_RANGE = re.compile(r"bytes ([0-9]{1,20})-([0-9]{1,20})/([0-9]{1,20}|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/([0-9]{1,20})")
_VALIDATOR_MAX_CHARS = 256

RoomFor = Callable[[Optional[int]], None]  # called with the bytes still to come (None when unknown) before the body


@dataclass(frozen=True)
class Streamed:
    """A whole file in the partial file: its sha256, its size, and the bytes this call moved."""

    sha256: str
    size: int
    moved: int


class _StartOver(Exception):
    """The server's answer does not continue the partial file: download it from the start."""


class ModelDownloader:
    """Downloads into `paths.partial`; the caller holds the file's fetch lock and places the finished file."""

    def __init__(self, http: GuardedHttp, files: ModelFiles, max_bytes: int, stall_s: float, tokens: HostTokens):
        self._http = http
        self._files = files
        self.max_bytes = max_bytes
        self.stall_s = stall_s
        self._tokens = tokens

    def download(
        self, request: ModelRequest, paths: ModelPaths, budget: Budget, on_progress: BytesListener, room_for: RoomFor
    ) -> Streamed:
        """The file streamed whole; raises `ModelDownloadFailed`, `Cancelled`, `JobTimedOut` (a partial file that
        can be continued is kept for the next try of the same URL)."""
        digest = hashlib.sha256(request.url.encode("utf-8", errors="surrogatepass")).hexdigest()
        offset, validator = self._resumable(paths, digest)
        try:
            try:
                return self._attempt(request, paths, digest, budget, on_progress, room_for, offset, validator)
            except _StartOver:
                self._files.remove_partial(paths)
                return self._attempt(request, paths, digest, budget, on_progress, room_for, 0, None)
        except DeadlinePassed:
            raise JobTimedOut(f"the job's deadline passed while downloading model {paths.label}") from None
        except HttpProblem as exc:
            raise self._failed(request, paths, exc) from None
        except OSError as exc:
            reason = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else os.strerror(exc.errno or 0)
            raise model_failure(request, paths, f"writing the file failed: {reason}") from None

    def _attempt(
        self,
        request: ModelRequest,
        paths: ModelPaths,
        digest: str,
        budget: Budget,
        on_progress: BytesListener,
        room_for: RoomFor,
        offset: int,
        validator: Optional[str],
    ) -> Streamed:
        hasher = self._hash_of_partial(paths, offset, budget)
        headers = {"Accept-Encoding": "identity"}  # the bytes of the file itself: ranges count those
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator:
                headers["If-Range"] = validator

        def hop_headers(hop: Hop) -> dict[str, str]:
            return {**headers, **self._tokens.headers_for(hop)}

        with (
            DownloadWatch(budget.remaining(), budget.stop, self.stall_s) as watch,
            self._http.get(request.url, budget, watch, hop_headers) as reply,
        ):
            begin, total = self._span(reply, offset)
            if begin != offset:
                hasher = hashlib.sha256()
            if begin and begin == total:
                return Streamed(hasher.hexdigest(), begin, 0)  # the partial file was whole already (416)
            if total is not None and total > self.max_bytes:
                self._files.remove_partial(paths)
                raise model_failure(request, paths, f"{total} bytes is over MODEL_MAX_BYTES ({self.max_bytes} bytes)")
            room_for(None if total is None else total - begin)
            meta = {
                "url_digest": None if _encoded(reply) else digest,  # ranges count encoded bytes: no resume then
                "total": total,
                "validator": _validator(reply) or (validator if begin else None),
            }
            self._files.write_json(paths.partial_meta, meta)
            with _BackgroundHash(hasher) as background:
                done = self._stream(reply, request, paths, begin, total, background, budget, watch, on_progress)
                sha256 = background.hexdigest()
            if total is not None and done != total:
                raise FetchFailed(reply.where, f"the body ended after {done} of {total} bytes")
        return Streamed(sha256, done, done - begin)

    def _stream(
        self,
        reply: Reply,
        request: ModelRequest,
        paths: ModelPaths,
        begin: int,
        total: Optional[int],
        hasher: _BackgroundHash,
        budget: Budget,
        watch: DownloadWatch,
        on_progress: BytesListener,
    ) -> int:
        done = begin
        with open(paths.partial, "r+b" if begin else "wb") as out:
            if begin:
                out.seek(begin)
                out.truncate()
            on_progress(done, total)
            for chunk in self._http.chunks(reply, budget, watch, CHUNK_BYTES):
                done += len(chunk)
                if done > self.max_bytes:
                    out.close()
                    self._files.remove_partial(paths)
                    raise model_failure(request, paths, f"the body is over MODEL_MAX_BYTES ({self.max_bytes} bytes)")
                out.write(chunk)
                hasher.update(chunk)
                on_progress(done, total)
        return done

    def _span(self, reply: Reply, offset: int) -> tuple[int, Optional[int]]:
        """Where the body starts in the file and the file's size (None when unknown)."""
        content_range = reply.response.headers.get("content-range", "").strip()
        if reply.status == 206:
            found = _CONTENT_RANGE.fullmatch(content_range)
            if not offset:
                raise FetchFailed(reply.where, "the server sent part of the file when asked for all of it")
            if not found or _encoded(reply):
                raise _StartOver()
            first, last = int(found[1]), int(found[2])
            total = None if found[3] == "*" else int(found[3])
            length = declared_length(reply)
            if first != offset or last < first or (total is not None and last != total - 1):
                raise _StartOver()
            if length is not None and length != last - first + 1:
                raise _StartOver()
            return offset, last + 1 if total is None else total
        if reply.status == 416 and offset:
            found = _UNSATISFIED_RANGE.fullmatch(content_range)
            if found and int(found[1]) == offset:
                return offset, offset
            raise _StartOver()
        if reply.status == 200:
            # a Content-Encoding (asked for none) makes Content-Length the encoded size, not the file's
            return 0, None if _encoded(reply) else declared_length(reply)
        raise FetchFailed(reply.where, f"HTTP {reply.status}")

    def _resumable(self, paths: ModelPaths, digest: str) -> tuple[int, Optional[str]]:
        """The bytes of a partial file left by an earlier try of the same URL, and its validator; any other partial
        file is removed."""
        meta = self._files.read_json(paths.partial_meta)
        try:
            size = os.path.getsize(paths.partial)
        except OSError:
            size = 0
        total = meta.get("total") if meta else None
        validator = meta.get("validator") if meta else None
        fits = total is None or (isinstance(total, int) and size <= total)
        if not meta or meta.get("url_digest") != digest or not size or not fits:
            self._files.remove_partial(paths)
            return 0, None
        return size, validator if isinstance(validator, str) else None

    def _hash_of_partial(self, paths: ModelPaths, offset: int, budget: Budget) -> hashlib._Hash:
        """The sha256 state after the partial file's first `offset` bytes (read again: a hash state is not kept)."""
        hasher = hashlib.sha256()
        if not offset:
            return hasher
        left = offset
        with open(paths.partial, "rb") as handle:
            while left:
                chunk = handle.read(min(CHUNK_BYTES, left))
                if not chunk:
                    raise _StartOver()
                hasher.update(chunk)
                left -= len(chunk)
                budget.check(f"reading the partial download of model {paths.label}")
        return hasher

    def _failed(self, request: ModelRequest, paths: ModelPaths, problem: HttpProblem) -> ModelDownloadFailed:
        reason = problem.reason
        if isinstance(problem, TransferStalled):
            reason = f"no data came for MODEL_FETCH_TIMEOUT_S ({self.stall_s:g} s)"
        elif reason.endswith("timed out"):
            reason = f"{reason} (MODEL_FETCH_TIMEOUT_S, {self.stall_s:g} s)"
        if problem.where != redacted(request.url):
            reason = f"{reason} (at {problem.where})"
        return model_failure(request, paths, reason)


class _BackgroundHash:
    """The sha256 computed on a thread of its own, chunk by chunk in order, so that hashing overlaps the socket reads
    and file writes (hashlib lets go of the GIL while it hashes a large chunk); at most HASH_QUEUE_CHUNKS wait."""

    def __init__(self, hasher: hashlib._Hash) -> None:
        self._hasher = hasher
        self._queue: queue.Queue[Optional[bytes]] = queue.Queue(maxsize=HASH_QUEUE_CHUNKS)
        self._thread = threading.Thread(target=self._run, name="model-sha256", daemon=True)

    def __enter__(self) -> _BackgroundHash:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._finish()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._hasher.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def hexdigest(self) -> str:
        self._finish()
        return self._hasher.hexdigest()

    def _finish(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def model_failure(request: ModelRequest, paths: ModelPaths, reason: str) -> ModelDownloadFailed:
    """`ModelDownloadFailed` naming the model and its URL (without credentials or query)."""
    source = shown_source(request.url)
    return ModelDownloadFailed(
        f"model {paths.label} from {source}: {reason}",
        data={"folder": paths.folder, "name": paths.name, "url": source},
    )


def _encoded(reply: Reply) -> bool:
    return reply.response.headers.get("content-encoding", "").strip().lower() not in ("", "identity")


def _validator(reply: Reply) -> Optional[str]:
    """A strong ETag, else Last-Modified: what `If-Range` may send back (None when neither is usable)."""
    etag = reply.response.headers.get("etag")
    value = etag if etag and not etag.startswith("W/") else reply.response.headers.get("last-modified")
    if not value or len(value) > _VALIDATOR_MAX_CHARS or not all(" " <= char <= "~" for char in value):
        return None
    return value
