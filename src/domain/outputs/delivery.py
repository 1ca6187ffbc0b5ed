"""Fetches and stores outputs while the workflow runs: bounded concurrency, no duplicates, per-output failures."""

from __future__ import annotations

import contextvars
import logging
import threading
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Optional

from domain.budget import Budget
from domain.errors import Cancelled, JobTimedOut, OutputNotConverted, ResponseTooLarge, WorkerError
from domain.model import Download, OutputFailure, OutputFormat, OutputRef, StoredOutput, TextOutput
from domain.outputs.allowance import ResponseAllowance
from domain.outputs.formats import CONVERTIBLE_EXTENSIONS, IMAGE_FORMATS
from domain.outputs.storage import OutputStorage
from domain.ports import ImageConverter, OutputSink, OutputSource
from domain.workflow.node_ids import node_order

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOptions:
    concurrency: int = 4
    include_temp: bool = False
    output_format: Optional[OutputFormat] = None


class Delivery:
    """One job's outputs: `submit` as ComfyUI announces them, `finish` with `/history`'s list.

    With an `allowance`, inline outputs are counted against the answer's limit before their bytes are fetched
    (from the download's length) or as they stream; one that does not fit goes to `overflow`, or, without it,
    the job fails with `response_too_large` and nothing more is fetched.
    """

    def __init__(
        self,
        job_id: str,
        *,
        source: OutputSource,
        sink: OutputSink,
        budget: Budget,
        options: DeliveryOptions,
        converter: Optional[ImageConverter] = None,
        on_stored: Optional[Callable[[StoredOutput], None]] = None,
        allowance: Optional[ResponseAllowance] = None,
        overflow: Optional[OutputSink] = None,
    ) -> None:
        self._job_id, self._source, self._budget = job_id, source, budget
        self._options, self._converter, self._on_stored = options, converter, on_stored
        self._allowance = allowance
        self._storage = OutputStorage(job_id, sink, budget, allowance=allowance, overflow=overflow)
        self._pool: Optional[ThreadPoolExecutor] = None
        self._futures: dict[OutputRef, Future] = {}
        self._inband: dict[OutputRef, tuple[bytes, str]] = {}  # bytes and media type
        self._notes: dict[OutputRef, OutputFailure] = {}
        self._refusal: Optional[ResponseTooLarge] = None
        self._texts: set[TextOutput] = set()
        self._lock = threading.Lock()

    def wanted(self, ref: OutputRef) -> bool:
        return ref.folder_type != "temp" or self._options.include_temp

    def submit(self, ref: OutputRef) -> None:
        """Start delivering `ref` unless it is unwanted or already on its way; `ResponseTooLarge` once refused."""
        if not self.wanted(ref):
            return
        with self._lock:
            self._raise_if_refused()
            if ref in self._futures:
                return
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._options.concurrency, thread_name_prefix=f"deliver-{self._job_id}")
            # the copied context carries the job id of the log lines into the pool's threads
            self._futures[ref] = self._pool.submit(contextvars.copy_context().run, self._deliver, ref)

    def submit_inband(self, node_id: str, data: bytes, image_format: str) -> None:
        """An image that came over the socket: no `/view`, a stable name from its node and order."""
        kind = IMAGE_FORMATS["jpeg" if image_format == "jpeg" else "png"]  # binary frames carry PNG or JPEG
        with self._lock:
            index = sum(1 for ref in self._inband if ref.node_id == node_id) + 1
            ref = OutputRef(
                node_id=node_id,
                output_key="images",
                filename=f"websocket_{node_id}_{index:05}_{kind.extension}",
                folder_type="websocket",
            )
            self._inband[ref] = (data, kind.content_type)
        self.submit(ref)

    def add_texts(self, texts: Iterable[TextOutput]) -> None:
        """Texts the answer will carry: counted once each, so that outputs still to come make room for them."""
        with self._lock:
            new = [text for text in texts if text not in self._texts]
            self._texts.update(new)
        if self._allowance is not None and new:
            self._allowance.add_texts(new)

    def finish(
        self, refs: Iterable[OutputRef], texts: Iterable[TextOutput] = ()
    ) -> tuple[list[StoredOutput], list[OutputFailure]]:
        """Deliver what `/history` lists and was not yet on its way, wait for all, in node then list order;
        `ResponseTooLarge` if the texts and error lines, which no sink can take, leave the answer over its limit."""
        self.add_texts(texts)
        final = [ref for ref in refs if self.wanted(ref)] + list(self._inband)
        stored, failures = [], []
        try:
            for ref in final:
                self.submit(ref)
            for ref in sorted(final, key=lambda r: node_order(r.node_id)):
                try:
                    stored.append(self._wait(self._futures[ref]))
                except (Cancelled, JobTimedOut, ResponseTooLarge):
                    raise
                except WorkerError as exc:
                    failure = OutputFailure(ref=ref, code=exc.code, message=" ".join(exc.message.split()))
                    log.warning("output failed: %s", failure)
                    failures.append(failure)
                if ref in self._notes:
                    failures.append(self._notes[ref])
        except (Cancelled, JobTimedOut, ResponseTooLarge):
            self.abort()
            self._raise_if_refused()
            raise
        self.close()
        self._check_size(failures)
        return stored, failures

    def _check_size(self, failures: list[OutputFailure]) -> None:
        if self._allowance is None:
            return
        for failure in failures:
            self._allowance.add_failure(failure)
        too_large = self._allowance.over()
        if too_large is not None:
            log.warning("the texts and error lines leave the answer over its size limit: %s", too_large)
            raise too_large

    def delivered(self) -> list[StoredOutput]:
        """The outputs stored so far, in node then arrival order (after an abort: what was stored before it)."""
        with self._lock:
            done = [
                (ref, future.result())
                for ref, future in self._futures.items()
                if future.done() and not future.cancelled() and future.exception() is None
            ]
        return [out for _, out in sorted(done, key=lambda pair: node_order(pair[0].node_id))]

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
            self._raise_if_refused()
            try:
                return future.result(timeout=min(0.5, max(0.001, self._budget.remaining())))
            except FutureTimeout:
                continue
            except CancelledError:
                self._raise_if_refused()  # futures are cancelled by a refusal, or by an abort nobody waits for
                raise

    def _raise_if_refused(self) -> None:
        if self._refusal is not None:
            raise self._refusal

    def _refuse(self, refusal: ResponseTooLarge) -> None:
        """The job fails: what has not started never starts, what runs stops at its next chunk."""
        with self._lock:
            if self._refusal is None:
                self._refusal = refusal
                log.warning("the answer would pass its size limit and no S3 can take outputs: %s", refusal)
                for future in self._futures.values():
                    future.cancel()

    def _deliver(self, ref: OutputRef) -> StoredOutput:
        self._budget.check(f"fetching {ref.filename}")
        self._raise_if_refused()
        if ref in self._inband:
            data, content_type = self._inband[ref]
            stored = self._store(ref, ref.filename, content_type, iter([data]), len(data))
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
            or ref.output_key != "images"
            or extension not in CONVERTIBLE_EXTENSIONS
        ):
            return self._store(ref, ref.filename, download.content_type, download.chunks, download.length)
        original = b"".join(self._unless_refused(download.chunks))
        try:
            data = self._converter.convert(original, target)
        except OutputNotConverted as exc:
            note = OutputFailure(ref=ref, code=exc.code, message=" ".join(exc.message.split()))
            log.warning("delivering unconverted: %s", note)
            with self._lock:
                self._notes[ref] = note
            return self._store(ref, ref.filename, download.content_type, iter([original]), len(original))
        new_extension, content_type = IMAGE_FORMATS[target.format]
        filename = ref.filename[: len(ref.filename) - len(extension)] + new_extension
        return self._store(ref, filename, content_type, iter([data]), len(data))

    def _store(
        self, ref: OutputRef, filename: str, content_type: str, chunks: Iterator[bytes], length: Optional[int]
    ) -> StoredOutput:
        try:
            return self._storage.store(ref, filename, content_type, self._unless_refused(chunks), length)
        except ResponseTooLarge as exc:
            self._refuse(exc)
            raise

    def _unless_refused(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._raise_if_refused()
            yield chunk
