"""Guarded GET over requests: our own redirect loop with the SSRF guard on every hop, connections pinned to the
checked address, a watch that cuts late or stalled downloads, and the body streamed in chunks."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Optional
from urllib.parse import urljoin, urlsplit

import requests

from adapters.pinned_connections import DownloadWatch, PinnedAddressAdapter
from adapters.ssrf_guard import (
    Guard,
    LookupTimedOut,
    Resolver,
    parse_address,
    refusal_reason,
    resolve_within,
    system_resolver,
)
from domain.budget import Budget
from domain.errors import clip

NO_PROXIES = {"http": None, "https": None, "all": None}  # a proxy would connect to an address we did not check
_CONTENT_LENGTH = re.compile(r"[0-9]{1,30}")  # ASCII digits only: str.isdigit() also takes '²', which int() refuses


def redacted(url: str) -> str:
    """`scheme://host[:port]/path` of a URL: no credentials, query string or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an unparsable URL"
    host = clip(f"[{host}]" if ":" in host else host)
    path = parts.path or "/"
    return f"{parts.scheme}://{host}{port}{path if len(path) <= 200 else path[:200] + '...'}"


class HttpProblem(Exception):
    """What went wrong on one hop, in words a message may carry; `where` is the hop's URL, `redacted`."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class UrlRefused(HttpProblem):
    """The URL is refused before anything is sent: its scheme, its form, or an address its host resolves to."""


class FetchFailed(HttpProblem):
    """The request or its body failed: connection, timeouts, redirects, a body cut short."""


class DeadlinePassed(FetchFailed):
    """The download's watch reached its deadline."""


class TransferStalled(FetchFailed):
    """No bytes came for the watch's stall time."""


@dataclass(frozen=True)
class Hop:
    """One request of the redirect loop: `same_host` while this hop and every one before it stayed on the first
    URL's host name (the only hops a credential for that host may go to)."""

    url: str
    number: int
    same_host: bool


@dataclass(frozen=True)
class Reply:
    """The response the redirect loop ended on (any status), with the URL of its hop."""

    response: requests.Response
    url: str

    @property
    def where(self) -> str:
        return redacted(self.url)

    @property
    def status(self) -> int:
        return self.response.status_code


HeadersFor = Callable[[Hop], Mapping[str, str]]


class GuardedHttp:
    """GET requests that reach only addresses the guard accepts, hop by hop.

    Construction fails with `PinningUnavailable` when the installed requests cannot pin connections."""

    def __init__(
        self,
        *,
        allow_private: bool,
        connect_timeout_s: float,
        read_timeout_s: float,
        max_redirects: int = 5,
        session: Optional[requests.Session] = None,
        resolver: Resolver = system_resolver,
        guard: Optional[Guard] = None,
    ) -> None:
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.max_redirects = max_redirects
        self._resolver = resolver
        self._guard: Guard = guard or (lambda address: refusal_reason(address, allow_private))
        self._adapter = PinnedAddressAdapter()
        self._adapter.verify_pinning()
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxies or .netrc credentials from the environment
        session.mount("http://", self._adapter)
        session.mount("https://", self._adapter)
        self._session = session

    @contextlib.contextmanager
    def get(
        self, url: str, budget: Budget, watch: DownloadWatch, headers: Optional[HeadersFor] = None
    ) -> Iterator[Reply]:
        """The first answer that is not a redirect, closed on exit; `headers(hop)` adds headers to each hop.

        Raises `UrlRefused`, `FetchFailed` (or a child), and the budget's `Cancelled` / `JobTimedOut`."""
        first = _origin(url)
        same_host = True
        current = url
        for number in range(self.max_redirects + 1):
            same_host = same_host and _origin(current) == first
            extra = headers(Hop(current, number, same_host)) if headers else {}
            with contextlib.closing(self._send(current, budget, watch, extra)) as response:
                if not response.is_redirect:
                    yield Reply(response, current)
                    return
                current = urljoin(current, response.headers["location"])
        raise FetchFailed(redacted(url), f"more than {self.max_redirects} redirects")

    def chunks(self, reply: Reply, budget: Budget, watch: DownloadWatch, size: int) -> Iterator[bytes]:
        """The body in chunks of `size`; the budget and the watch are checked after each one and at the end."""
        where = reply.where
        try:
            for chunk in reply.response.iter_content(size):
                watch.progress()
                yield chunk
                self.check_time(where, budget, watch)
        except requests.RequestException as exc:
            self.check_time(where, budget, watch)
            raise FetchFailed(where, describe(exc)) from None
        self.check_time(where, budget, watch)  # a cut at a chunk's end looks like the end of a body without a length

    def check_time(self, where: str, budget: Budget, watch: DownloadWatch) -> None:
        budget.check(f"downloading {where}")
        if watch.expired:
            raise DeadlinePassed(where, "the download's deadline passed")
        if watch.stalled:
            raise TransferStalled(where, "no data came for too long")

    def _send(self, url: str, budget: Budget, watch: DownloadWatch, headers: Mapping[str, str]) -> requests.Response:
        where = redacted(url)
        try:
            if urlsplit(url).scheme not in ("http", "https"):
                raise UrlRefused(where, "only http and https URLs are accepted")
            prepared = self._session.prepare_request(requests.Request("GET", url))
            parts = urlsplit(str(prepared.url))
            host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except (requests.RequestException, ValueError):
            raise UrlRefused(where, "not a valid URL") from None
        if not host:
            raise UrlRefused(where, "has no host")
        self.check_time(where, budget, watch)
        address = self._checked_address(host, port, where, budget, watch)
        prepared.headers["Host"] = parts.netloc.rpartition("@")[2]
        prepared.headers.update(headers)
        doing = f"downloading {where}"
        timeout = (
            budget.timeout(min(self.connect_timeout_s, watch.remaining()), doing),
            budget.timeout(min(self.read_timeout_s, watch.remaining()), doing),
        )
        watch.progress()
        try:
            with self._adapter.pinned(address, watch):
                return self._session.send(
                    prepared, stream=True, allow_redirects=False, timeout=timeout, proxies=dict(NO_PROXIES)
                )
        except requests.RequestException as exc:
            self.check_time(where, budget, watch)
            raise FetchFailed(where, describe(exc)) from None

    def _checked_address(self, host: str, port: int, where: str, budget: Budget, watch: DownloadWatch) -> str:
        """The address to connect to: the first one the resolver gives, once every one it gives passed the guard."""
        within = min(self.connect_timeout_s, watch.remaining(), budget.remaining())
        try:
            addresses = [parse_address(text) for text in resolve_within(self._resolver, host, port, within)]
        except LookupTimedOut as exc:
            self.check_time(where, budget, watch)
            raise FetchFailed(where, str(exc)) from None
        except (OSError, UnicodeError, ValueError):
            raise FetchFailed(where, "the host name could not be resolved") from None
        if not addresses:
            raise FetchFailed(where, "the host name could not be resolved")
        for address in addresses:
            reason = self._guard(address)
            if reason:
                raise UrlRefused(where, f"the host is {reason}; refused")
        return str(addresses[0])


def declared_length(reply: Reply) -> Optional[int]:
    """The response's Content-Length, None without one; `FetchFailed` when it is not a number."""
    declared = reply.response.headers.get("content-length")
    if declared is None:
        return None
    if not _CONTENT_LENGTH.fullmatch(declared.strip()):
        raise FetchFailed(reply.where, "the server sent an invalid Content-Length")
    return int(declared)


def _origin(url: str) -> Optional[str]:
    try:
        return (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return None


def describe(exc: requests.RequestException) -> str:
    """What went wrong, without the exception's text (requests puts the full URL, query string included, in it)."""
    text = repr(exc.args)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout) or "ReadTimeoutError" in text:
        return "reading timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS failed (certificate or handshake)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the body was cut short"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "the body could not be decoded"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "the connection failed"
    return f"the request failed ({type(exc).__name__})"
