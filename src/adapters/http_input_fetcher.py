"""Downloads input files from http(s) URLs with a size cap, a total deadline, our own redirect loop and the SSRF
guard on every hop."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from typing import Any, Iterator, Optional
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

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
from domain.errors import InputFetchFailed, InvalidInput, clip
from domain.model import FileUrl

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
NO_PROXIES = {"http": None, "https": None, "all": None}  # a proxy would connect to an address we did not check
WATCH_TICK_S = 0.1
_CONTENT_LENGTH = re.compile(r"[0-9]{1,30}")  # ASCII digits only: str.isdigit() also takes '²', which int() refuses


class PinningUnavailable(RuntimeError):
    """The installed requests cannot connect to the checked address (it needs requests>=2.32.2)."""


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


class DownloadWatch:
    """One download's total deadline: once it passes (or the job is stopped) the sockets of the download are
    shut down, which ends any read in progress, however slowly the server drips its bytes."""

    def __init__(self, seconds: float, stop: threading.Event) -> None:
        self.deadline = time.monotonic() + seconds
        self._stop = stop
        self._connections: list[Any] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="input-download-watch", daemon=True)

    def __enter__(self) -> DownloadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def add(self, connection: Any) -> None:
        """A connection the download uses: its socket now (a reused one) or once connected (`add_socket`)."""
        with self._lock:
            self._connections.append(connection)
        self.add_socket(getattr(connection, "sock", None))

    def add_socket(self, sock: Optional[socket.socket]) -> None:
        # kept apart from the connection: http.client drops `connection.sock` while a body read until close is read
        if sock is not None:
            with self._lock:
                self._sockets.append(sock)
        if self.expired:
            self._cut()

    def _run(self) -> None:
        while not self._done.wait(min(WATCH_TICK_S, self.remaining()) or WATCH_TICK_S):
            if self.expired or self._stop.is_set():
                self._cut()

    def _cut(self) -> None:
        with self._lock:
            sockets = self._sockets + [getattr(c, "sock", None) for c in self._connections]  # also while connecting
        for sock in sockets:
            if sock is not None:
                with contextlib.suppress(OSError):
                    # the plain socket's shutdown, also under TLS: the reader sees EOF, the TLS object stays intact
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


_current = threading.local()  # the download the calling thread runs: its address pin and its watch


def _watch() -> Optional[DownloadWatch]:
    return getattr(_current, "watch", None)


class _WatchedConnection:
    """A connection that hands its socket to the calling thread's download watch once connected."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        watch = _watch()
        if watch is not None:
            watch.add_socket(getattr(self, "sock", None))


class _WatchedHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedPool:
    """A connection pool that hands each connection it gives out to the calling thread's download watch."""

    def _get_conn(self, timeout: Optional[float] = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        watch = _watch()
        if watch is not None:
            watch.add(connection)
        return connection


class _WatchedHTTPConnectionPool(_WatchedPool, HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(_WatchedPool, HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class PinnedAddressAdapter(HTTPAdapter):
    """Connects to the address the guard checked (no second DNS lookup, so no rebinding), while the Host header,
    TLS SNI and certificate verification stay those of the URL's host name. The hook it overrides,
    `build_connection_pool_key_attributes`, is called by requests only from 2.32.2 on: `verify_pinning()`."""

    def __init__(self) -> None:
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPConnectionPool,
            "https": _WatchedHTTPSConnectionPool,
        }

    @contextlib.contextmanager
    def pinned(self, address: str, watch: Optional[DownloadWatch] = None) -> Iterator[None]:
        _current.address, _current.watch = address, watch
        try:
            yield
        finally:
            _current.address, _current.watch = None, None

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        address = getattr(_current, "address", None)
        if address is None:
            raise requests.exceptions.InvalidURL("refusing to connect to an address the guard did not check")
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        hostname = host_params["host"].strip("[]")
        host_params["host"] = address
        if host_params["scheme"] == "https":
            pool_kwargs["server_hostname"] = hostname
            pool_kwargs["assert_hostname"] = hostname
        return host_params, pool_kwargs

    def verify_pinning(self) -> None:
        """Raise `PinningUnavailable` unless requests takes its connection pool from the overridden hook."""
        needs = f"requests {requests.__version__} cannot pin connections to the checked address (needs >= 2.32.2)"
        hooks = ("build_connection_pool_key_attributes", "get_connection_with_tls_context")
        if not all(callable(getattr(HTTPAdapter, hook, None)) for hook in hooks):
            raise PinningUnavailable(needs)
        probe = requests.Request("GET", "http://pinning-check.invalid/").prepare()
        try:
            with self.pinned("192.0.2.1"):
                pool = self.get_connection_with_tls_context(probe, True)
        except Exception as exc:  # any failure here means the hook is not what this adapter expects
            raise PinningUnavailable(f"{needs}: {type(exc).__name__}") from None
        finally:
            self.poolmanager.clear()
        if getattr(pool, "host", None) != "192.0.2.1":
            raise PinningUnavailable(needs)


class HttpInputFetcher:
    """`InputFetcher` over requests. Refusals (scheme, address, size) are `InvalidInput`; failures `InputFetchFailed`.

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

    def read(self, source: FileUrl, budget: Budget, max_bytes: int) -> bytes:
        """The `InputReader` of URL inputs."""
        return self.fetch(source.url, budget, max_bytes)

    def fetch(self, url: str, budget: Budget, max_bytes: Optional[int] = None) -> bytes:
        limit = _Limit(self.max_bytes, max_bytes)
        with DownloadWatch(min(self.fetch_timeout_s, budget.remaining()), budget.stop) as watch:
            current = url
            for _ in range(self.max_redirects + 1):
                with contextlib.closing(self._get(current, budget, watch)) as response:
                    if not response.is_redirect:
                        return self._body(response, redacted(current), budget, watch, limit)
                    current = urljoin(current, response.headers["location"])
        raise InputFetchFailed(f"input URL {redacted(url)}: more than {self.max_redirects} redirects")

    def _get(self, url: str, budget: Budget, watch: DownloadWatch) -> requests.Response:
        where = redacted(url)
        try:
            if urlsplit(url).scheme not in ("http", "https"):
                raise InvalidInput(f"input URL {where}: only http and https URLs are accepted")
            prepared = self._session.prepare_request(requests.Request("GET", url))
            parts = urlsplit(str(prepared.url))
            host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except (requests.RequestException, ValueError):
            raise InvalidInput(f"input URL {where}: not a valid URL") from None
        if not host:
            raise InvalidInput(f"input URL {where}: has no host")
        self._check_time(where, budget, watch)
        address = self._checked_address(host, port, where, budget, watch)
        prepared.headers["Host"] = parts.netloc.rpartition("@")[2]
        doing = f"downloading {where}"
        timeout = (
            budget.timeout(min(self.connect_timeout_s, watch.remaining()), doing),
            budget.timeout(min(self.read_timeout_s, watch.remaining()), doing),
        )
        try:
            with self._adapter.pinned(address, watch):
                return self._session.send(
                    prepared, stream=True, allow_redirects=False, timeout=timeout, proxies=dict(NO_PROXIES)
                )
        except requests.RequestException as exc:
            self._check_time(where, budget, watch)
            raise InputFetchFailed(f"input URL {where}: {_describe(exc)}") from None

    def _checked_address(self, host: str, port: int, where: str, budget: Budget, watch: DownloadWatch) -> str:
        """The address to connect to: the first one the resolver gives, once every one it gives passed the guard."""
        within = min(self.connect_timeout_s, watch.remaining(), budget.remaining())
        try:
            addresses = [parse_address(text) for text in resolve_within(self._resolver, host, port, within)]
        except LookupTimedOut as exc:
            self._check_time(where, budget, watch)
            raise InputFetchFailed(f"input URL {where}: {exc}") from None
        except (OSError, UnicodeError, ValueError):
            raise InputFetchFailed(f"input URL {where}: the host name could not be resolved") from None
        if not addresses:
            raise InputFetchFailed(f"input URL {where}: the host name could not be resolved")
        for address in addresses:
            reason = self._guard(address)
            if reason:
                raise InvalidInput(f"input URL {where}: the host is {reason}; refused")
        return str(addresses[0])

    def _body(
        self, response: requests.Response, where: str, budget: Budget, watch: DownloadWatch, limit: _Limit
    ) -> bytes:
        if not 200 <= response.status_code < 300:
            raise InputFetchFailed(f"input URL {where}: HTTP {response.status_code}")
        declared = response.headers.get("content-length")
        if declared is not None:
            if not _CONTENT_LENGTH.fullmatch(declared.strip()):
                raise InputFetchFailed(f"input URL {where}: the server sent an invalid Content-Length")
            if int(declared) > limit.cap:
                raise InvalidInput(f"input URL {where}: {int(declared)} bytes is over {limit}")
        body = bytearray()
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                body += chunk
                if len(body) > limit.cap:
                    raise InvalidInput(f"input URL {where}: the body is over {limit}")
                budget.check(f"downloading {where}")
                self._check_time(where, budget, watch)
        except requests.RequestException as exc:
            self._check_time(where, budget, watch)
            raise InputFetchFailed(f"input URL {where}: {_describe(exc)}") from None
        self._check_time(where, budget, watch)  # a cut at a chunk's end looks like the end of a body without a length
        log.info("downloaded input %s (%d bytes)", where, len(body))
        return bytes(body)

    def _check_time(self, where: str, budget: Budget, watch: DownloadWatch) -> None:
        budget.check(f"downloading {where}")
        if watch.expired:
            raise InputFetchFailed(
                f"input URL {where}: the download took longer than INPUT_FETCH_TIMEOUT_S ({self.fetch_timeout_s:g} s)"
            )


class _Limit:
    """The size cap of one download: INPUT_MAX_BYTES, or what INPUT_MAX_TOTAL_BYTES leaves for it when less."""

    def __init__(self, max_bytes: int, allowance: Optional[int]) -> None:
        self.per_file = allowance is None or max_bytes <= allowance
        self.cap = max_bytes if allowance is None else min(max_bytes, allowance)

    def __str__(self) -> str:
        if self.per_file:
            return f"INPUT_MAX_BYTES ({self.cap} bytes)"
        return f"what INPUT_MAX_TOTAL_BYTES leaves for this job's inputs ({self.cap} bytes)"


def _describe(exc: requests.RequestException) -> str:
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
