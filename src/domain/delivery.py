"""Fetches and stores outputs while the workflow runs: bounded concurrency, no duplicates, per-output failures."""

from __future__ import annotations

import contextvars
import hashlib
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional

from domain.budget import Budget
from domain.errors import Cancelled, JobTimedOut, WorkerError
from domain.model import Download, OutputFailure, OutputFormat, OutputRef, StoredOutput
from domain.node_ids import node_order
from domain.ports import ImageConverter, ImageSink, ImageSource

log = logging.getLogger(__name__)

STILL_IMAGE_EXTENSIONS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}
FORMAT_FILES = {"png": (".png", "image/png"), "jpeg": (".jpg", "image/jpeg"), "webp": (".webp", "image/webp")}


@dataclass(frozen=True)
class DeliveryOptions:
    concurrency: int = 4
    include_temp: bool = False
    output_format: Optional[OutputFormat] = None


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


class Delivery:
    """One job's outputs: `submit` as ComfyUI announces them, `finish` with `/history`'s list."""

    def __init__(
        self,
        job_id: str,
        *,
        source: ImageSource,
        sink: ImageSink,
        budget: Budget,
        options: DeliveryOptions,
        converter: Optional[ImageConverter] = None,
        on_stored: Optional[Callable[[StoredOutput], None]] = None,
    ) -> None:
        self._job_id, self._source, self._sink, self._budget = job_id, source, sink, budget
        self._options, self._converter, self._on_stored = options, converter, on_stored
        self._pool: Optional[ThreadPoolExecutor] = None
        self._futures: dict[OutputRef, Future] = {}
        self._inband: dict[OutputRef, bytes] = {}
        self._lock = threading.Lock()

    def wanted(self, ref: OutputRef) -> bool:
        return ref.type != "temp" or self._options.include_temp

    def submit(self, ref: OutputRef) -> None:
        """Start delivering `ref` unless it is unwanted or already on its way."""
        if not self.wanted(ref):
            return
        with self._lock:
            if ref in self._futures:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._options.concurrency, thread_name_prefix=f"deliver-{self._job_id}")
            # the copied context carries the job id of the log lines into the pool's threads
            self._futures[ref] = self._pool.submit(contextvars.copy_context().run, self._deliver, ref)

    def submit_inband(self, node_id: str, data: bytes, image_format: str) -> None:
        """An image that came over the socket: no `/view`, a stable name from its node and order."""
        extension = ".jpg" if image_format == "jpeg" else ".png"
        with self._lock:
            index = sum(1 for ref in self._inband if ref.node_id == node_id) + 1
            ref = OutputRef(
                node_id=node_id, kind="images", filename=f"websocket_{node_id}_{index:05}_{extension}", type="websocket"
            )
            self._inband[ref] = data
        self.submit(ref)

    def finish(self, refs: Iterable[OutputRef]) -> tuple[list[StoredOutput], list[OutputFailure]]:
        """Deliver what `/history` lists and was not yet on its way, wait for all, in node then list order."""
        final = [ref for ref in refs if self.wanted(ref)] + list(self._inband)
        for ref in final:
            self.submit(ref)
        stored, failures = [], []
        for ref in sorted(final, key=lambda r: node_order(r.node_id)):
            try:
                stored.append(self._wait(self._futures[ref]))
            except (Cancelled, JobTimedOut):
                self.abort()
                raise
            except WorkerError as exc:
                failure = OutputFailure(ref=ref, code=exc.code, message=" ".join(exc.message.split()))
                log.warning("output failed: %s", failure)
                failures.append(failure)
        self.close()
        return stored, failures

    def abort(self) -> None:
        """Stop what has not started; what runs sees the budget's stop or deadline between chunks."""
        with self._lock:
            for future in self._futures.values():
                future.cancel()
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _wait(self, future: Future) -> StoredOutput:
        while True:
            self._budget.check("delivering outputs")
            try:
                return future.result(timeout=min(0.5, max(0.001, self._budget.remaining())))
            except FutureTimeout:
                continue

    def _deliver(self, ref: OutputRef) -> StoredOutput:
        self._budget.check(f"fetching {ref.filename}")
        if ref in self._inband:
            content_type = "image/jpeg" if ref.filename.endswith(".jpg") else "image/png"
            stored = self._store(ref, ref.filename, content_type, iter([self._inband[ref]]))
        else:
            with self._source.open(ref, self._budget) as download:
                stored = self._store_download(ref, download)
        if self._on_stored is not None:
            self._on_stored(stored)
        return stored

    def _store_download(self, ref: OutputRef, download: Download) -> StoredOutput:
        target = self._options.output_format
        extension = "." + ref.filename.rsplit(".", 1)[-1].lower() if "." in ref.filename else ""
        if (
            target is None
            or self._converter is None
            or ref.animated
            or ref.kind != "images"
            or extension not in STILL_IMAGE_EXTENSIONS
        ):
            return self._store(ref, ref.filename, download.content_type, download.chunks)
        data = self._converter.convert(b"".join(download.chunks), target.format, target.quality)
        new_extension, content_type = FORMAT_FILES[target.format]
        filename = ref.filename[: len(ref.filename) - len(extension)] + new_extension
        return self._store(ref, filename, content_type, iter([data]))

    def _store(self, ref: OutputRef, filename: str, content_type: str, chunks: Iterator[bytes]) -> StoredOutput:
        digest = Digest(chunks)
        data = self._sink.store(self._job_id, filename, content_type, digest, self._budget)
        log.info("delivered %s of node %s (%d bytes, %s)", filename, ref.node_id, digest.size, self._sink.kind)
        return StoredOutput(
            ref=ref,
            filename=filename,
            type=self._sink.kind,
            data=data,
            content_type=content_type,
            size_bytes=digest.size,
            sha256=digest.hexdigest(),
        )
