"""Downloads input files from http(s) URLs with a size cap and a total deadline, over the guarded transport."""

from __future__ import annotations

import logging
from typing import Optional

import requests

from adapters.guarded_http import (
    DeadlinePassed,
    FetchFailed,
    GuardedHttp,
    Reply,
    UrlRefused,
    declared_length,
    redacted,
)
from adapters.pinned_connections import DownloadWatch, PinnedAddressAdapter, PinningUnavailable
from adapters.ssrf_guard import Guard, Resolver, system_resolver
from domain.budget import Budget
from domain.errors import InputFetchFailed, InvalidInput
from domain.model import FileUrl

__all__ = ["HttpInputFetcher", "PinnedAddressAdapter", "PinningUnavailable", "redacted"]

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024


class HttpInputFetcher:
    """`InputReader` of URL inputs over requests. Refusals (scheme, address, size) are `InvalidInput`; failures `InputFetchFailed`.

    Construction fails with `PinningUnavailable` when the installed requests cannot pin connections."""

    def __init__(
        self,
        max_bytes: int,
        allow_private: bool,
        connect_timeout_s: float = 10.0,
        read_timeout_s: float = 30.0,
        fetch_timeout_s: float = 120.0,
        max_redirects: int = 5,
        session: Optional[requests.Session] = None,
        resolver: Resolver = system_resolver,
        guard: Optional[Guard] = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.allow_private = allow_private
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.fetch_timeout_s = fetch_timeout_s
        self.max_redirects = max_redirects
        self._http = GuardedHttp(
            allow_private=allow_private,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_redirects=max_redirects,
            session=session,
            resolver=resolver,
            guard=guard,
        )

    def read(self, source: FileUrl, budget: Budget, max_bytes: int) -> bytes:
        """The `InputReader` of URL inputs."""
        return self.fetch(source.url, budget, max_bytes)

    def fetch(self, url: str, budget: Budget, max_bytes: Optional[int] = None) -> bytes:
        limit = _Limit(self.max_bytes, max_bytes)
        try:
            with (
                DownloadWatch(min(self.fetch_timeout_s, budget.remaining()), budget.stop) as watch,
                self._http.get(url, budget, watch) as reply,
            ):
                return self._body(reply, budget, watch, limit)
        except UrlRefused as exc:
            raise InvalidInput(f"input URL {exc.where}: {exc.reason}") from None
        except DeadlinePassed as exc:
            raise InputFetchFailed(
                f"input URL {exc.where}: the download took longer than INPUT_FETCH_TIMEOUT_S "
                f"({self.fetch_timeout_s:g} s)"
            ) from None
        except FetchFailed as exc:
            raise InputFetchFailed(f"input URL {exc.where}: {exc.reason}") from None

    def _body(self, reply: Reply, budget: Budget, watch: DownloadWatch, limit: _Limit) -> bytes:
        where = reply.where
        if not 200 <= reply.status < 300:
            raise InputFetchFailed(f"input URL {where}: HTTP {reply.status}")
        declared = declared_length(reply)
        if declared is not None and declared > limit.cap:
            raise InvalidInput(f"input URL {where}: {declared} bytes is over {limit}")
        body = bytearray()
        for chunk in self._http.chunks(reply, budget, watch, CHUNK_BYTES):
            body += chunk
            if len(body) > limit.cap:
                raise InvalidInput(f"input URL {where}: the body is over {limit}")
        log.info("downloaded input %s (%d bytes)", where, len(body))
        return bytes(body)


class _Limit:
    """The size cap of one download: INPUT_MAX_BYTES, or what INPUT_MAX_TOTAL_BYTES leaves for it when less."""

    def __init__(self, max_bytes: int, allowance: Optional[int]) -> None:
        self.per_file = allowance is None or max_bytes <= allowance
        self.cap = max_bytes if allowance is None else min(max_bytes, allowance)

    def __str__(self) -> str:
        if self.per_file:
            return f"INPUT_MAX_BYTES ({self.cap} bytes)"
        return f"what INPUT_MAX_TOTAL_BYTES leaves for this job's inputs ({self.cap} bytes)"
