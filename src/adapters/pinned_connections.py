"""requests' connections pinned to the address the SSRF guard checked, and the watch that cuts a download's sockets."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Any, Iterator, Optional

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

WATCH_TICK_S = 0.1


class PinningUnavailable(RuntimeError):
    """The installed requests cannot connect to the checked address (it needs requests>=2.32.2)."""


class DownloadWatch:
    """One download's deadline and stall timer: once the deadline passes, no progress came for `stall_s`, or the job
    is stopped, the sockets of the download are shut down, which ends any read in progress, however slowly the server
    drips its bytes."""

    def __init__(self, seconds: float, stop: threading.Event, stall_s: Optional[float] = None) -> None:
        self.deadline = time.monotonic() + seconds
        self.stall_s = stall_s
        self._last_progress = time.monotonic()
        self._stop = stop
        self._connections: list[Any] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="download-watch", daemon=True)

    def __enter__(self) -> DownloadWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    @property
    def stalled(self) -> bool:
        return self.stall_s is not None and time.monotonic() - self._last_progress >= self.stall_s

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def progress(self) -> None:
        """Bytes came (or a request starts): the stall timer starts again."""
        self._last_progress = time.monotonic()

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
        if self.expired or self.stalled:
            self._cut()

    def _run(self) -> None:
        while not self._done.wait(min(WATCH_TICK_S, self.remaining()) or WATCH_TICK_S):
            if self.expired or self.stalled or self._stop.is_set():
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
