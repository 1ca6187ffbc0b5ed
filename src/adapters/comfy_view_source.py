"""Streams output files from ComfyUI's `/view` endpoint over one requests Session."""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator, Optional

import requests
import urllib3.exceptions

from adapters.file_types import media_type_for
from domain.budget import Budget
from domain.errors import OutputFetchFailed
from domain.model import Download, OutputRef

log = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
_FALLBACK_CONTENT_TYPE = "application/octet-stream"
_BODY_EXCERPT_CHARS = 200
_TRANSFER_ERRORS = (requests.RequestException, urllib3.exceptions.HTTPError)


class ComfyViewOutputSource:
    """Implements the `OutputSource` port with a streamed `GET /view?filename=&subfolder=&type=`."""

    def __init__(
        self,
        base_url: str,
        *,
        session: Optional[requests.Session] = None,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self._view_url = base_url.rstrip("/") + "/view"
        self._session = session or requests.Session()
        self._read_timeout_s = timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._chunk_bytes = chunk_bytes

    @contextlib.contextmanager
    def open(self, ref: OutputRef, budget: Budget) -> Iterator[Download]:
        where = _describe(ref)
        doing = f"fetching {where}"
        timeout = (budget.timeout(self._connect_timeout_s, doing), budget.timeout(self._read_timeout_s, doing))
        params = {"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.folder_type}
        try:
            response = self._session.get(self._view_url, params=params, stream=True, timeout=timeout)
        except _TRANSFER_ERRORS as exc:
            raise _failed(ref, f"could not fetch {where} from ComfyUI at {self._view_url}: {_name(exc)}") from exc
        try:
            # ComfyUI answers 404 (missing), 400 (bad name or type) or 403 (escaping subfolder) with an empty body (PROTOCOL.md fact 12).
            if response.status_code != 200:
                body = _excerpt(response)
                raise _failed(
                    ref,
                    f"ComfyUI answered HTTP {response.status_code} to /view for {where}: {body or '(empty body)'}",
                    status=response.status_code,
                    body=body,
                )
            length = _declared_length(response)
            content_type = _content_type(
                response.headers.get("Content-Type"), response.headers.get("Content-Disposition"), ref.filename
            )
            yield Download(content_type=content_type, chunks=self._chunks(response, ref, length, budget), length=length)
        finally:
            response.close()

    def _chunks(
        self, response: requests.Response, ref: OutputRef, length: Optional[int], budget: Budget
    ) -> Iterator[bytes]:
        where = _describe(ref)
        doing = f"fetching {where}"
        received = 0
        try:
            for chunk in response.iter_content(self._chunk_bytes):
                budget.check(doing)
                received += len(chunk)
                yield chunk
        except _TRANSFER_ERRORS as exc:
            raise _failed(
                ref,
                f"the transfer of {where} from ComfyUI broke off after {received} bytes: {_name(exc)}",
                received=received,
            ) from exc
        if length is not None and received < length:
            raise _failed(ref, f"ComfyUI sent {received} of the {length} bytes of {where}", received=received)
        log.debug("fetched %s: %d bytes", where, received)


def _failed(ref: OutputRef, message: str, **facts) -> OutputFetchFailed:
    data = {"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.folder_type, **facts}
    return OutputFetchFailed(message, data=data)


def _describe(ref: OutputRef) -> str:
    path = f"{ref.subfolder}/{ref.filename}" if ref.subfolder else ref.filename
    return f"{path!r} ({ref.folder_type})"


def _name(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _declared_length(response: requests.Response) -> Optional[int]:
    """Content-Length, when it counts the bytes `iter_content` yields (not a compressed body's)."""
    if response.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        return None
    try:
        length = int(response.headers.get("Content-Length", ""))
    except ValueError:
        return None
    return length if length >= 0 else None


def _content_type(header: Optional[str], disposition: Optional[str], filename: str) -> str:
    """What the node saved: /view's type, unless it is `application/octet-stream` or an attachment, which ComfyUI
    sends for a type it does not know or will not show inline (HTML and CSS in every version; from 0.28.0 JavaScript,
    SVG and XML too, as attachments): then the file name's."""
    media_type = (header or "").split(";", 1)[0].strip().lower()
    attachment = (disposition or "").strip().lower().startswith("attachment")
    if media_type and media_type != _FALLBACK_CONTENT_TYPE and not attachment:
        return media_type
    return media_type_for(filename) or media_type or _FALLBACK_CONTENT_TYPE


def _excerpt(response: requests.Response) -> str:
    """The start of an error body, read without taking more than a few KB off the wire."""
    try:
        head = next(response.iter_content(4 * _BODY_EXCERPT_CHARS), b"")
    except _TRANSFER_ERRORS:
        return ""
    text = " ".join(head.decode(response.encoding or "utf-8", errors="replace").split())
    return text if len(text) <= _BODY_EXCERPT_CHARS else text[:_BODY_EXCERPT_CHARS] + "…"
