"""Fetches output files from ComfyUI's `/view` endpoint over one requests Session."""
from __future__ import annotations

import logging
import mimetypes
from typing import Optional

import requests

from domain.errors import OutputFetchFailed
from contextlib import contextmanager
from typing import Iterator

from domain.budget import Budget
from domain.model import Download, OutputRef

log = logging.getLogger(__name__)

_FALLBACK_CONTENT_TYPE = "application/octet-stream"
_BODY_EXCERPT_CHARS = 200


class ComfyViewImageSource:
    """Implements the `ImageSource` port with `GET /view?filename=&subfolder=&type=`."""

    def __init__(self, base_url: str, *, session: Optional[requests.Session] = None, timeout_s: float = 60.0) -> None:
        self._view_url = base_url.rstrip("/") + "/view"
        self._session = session or requests.Session()
        self._timeout_s = timeout_s

    @contextmanager
    def open(self, ref: OutputRef, budget: Budget) -> Iterator[Download]:
        params = {"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.type}
        where = _describe(ref)
        try:
            response = self._session.get(self._view_url, params=params, timeout=self._timeout_s)
        except requests.RequestException as exc:
            raise OutputFetchFailed(
                f"could not fetch {where} from ComfyUI at {self._view_url}: {type(exc).__name__}: {exc}",
                data={"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.type},
            ) from exc
        # ComfyUI answers 404 (missing), 400 (bad name or type) or 403 (escaping subfolder), with an empty body.
        if response.status_code != 200:
            body = _excerpt(response)
            raise OutputFetchFailed(
                f"ComfyUI answered HTTP {response.status_code} to /view for {where}: {body or '(empty body)'}",
                data={"filename": ref.filename, "subfolder": ref.subfolder, "type": ref.type,
                      "status": response.status_code, "body": body},
            )
        content_type = _content_type(response.headers.get("Content-Type"), ref.filename)
        log.debug("fetched %s: %d bytes, %s", where, len(response.content), content_type)
        yield Download(content_type=content_type, chunks=iter([response.content]), length=len(response.content))


def _describe(ref: OutputRef) -> str:
    path = f"{ref.subfolder}/{ref.filename}" if ref.subfolder else ref.filename
    return f"{path!r} ({ref.type})"


def _content_type(header: Optional[str], filename: str) -> str:
    media_type = (header or "").split(";", 1)[0].strip().lower()
    return media_type or mimetypes.guess_type(filename)[0] or _FALLBACK_CONTENT_TYPE


def _excerpt(response: requests.Response) -> str:
    text = " ".join(response.text.split())
    return text if len(text) <= _BODY_EXCERPT_CHARS else text[:_BODY_EXCERPT_CHARS] + "…"
