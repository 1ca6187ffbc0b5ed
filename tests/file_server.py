"""A loopback file server for download tests: serves bytes by path with Range and If-Range, records every request
(headers included), and can throttle, hold, cut a body short, serve wrong bytes, redirect or answer an error.

In a test: `with FileServer() as server: url = server.serve("/m.bin", data, cut_after=1000)`.
As a process (benchmarks): `python tests/file_server.py FILE [THROTTLE_BPS]` prints the file's URL and serves it with
sendfile (or, throttled, in pieces at that many bytes a second); `GET /__stats` answers {"gets": ..., "bytes_sent": ...}
for the file's path.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

PIECE = 64 * 1024
_RANGE = re.compile(r"bytes=([0-9]+)-")


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    host: Optional[str]
    range: Optional[str]
    if_range: Optional[str]
    authorization: Optional[str]
    headers: dict[str, str]


@dataclass
class Route:
    body: bytes = b""
    file: Optional[str] = None  # served from disk with sendfile instead of `body`
    etag: Optional[str] = '"v1"'
    last_modified: Optional[str] = None
    ranges: bool = True  # honour Range (False: always the whole body with 200)
    sized: bool = True  # Content-Length (False: chunked)
    cut_after: Optional[int] = None  # close the connection once the body reaches this offset ...
    cut_times: int = 1  # ... in this many responses
    wrong_from: Optional[int] = None  # bytes from this offset on are flipped
    hold_after: Optional[int] = None  # wait for `server.release` once the body reaches this offset
    throttle_bps: Optional[int] = None
    status: Optional[int] = None  # answer this status with an empty body instead
    location: Optional[str] = None  # redirect (302) there instead
    content_range: Optional[str] = None  # send this Content-Range on a 206 instead of the right one
    gzip: bool = False  # send the body gzip-encoded (Content-Encoding), whatever the request asked for
    gets: int = 0
    bytes_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def size(self) -> int:
        return os.path.getsize(self.file) if self.file else len(self.body)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.owner.record(
            Seen(path, headers.get("host"), headers.get("range"), headers.get("if-range"), headers.get("authorization"),
                 headers))
        if path == "/__stats":
            return self._stats()
        route = self.server.owner.routes.get(path)
        if route is None:
            return self._empty(404)
        with route.lock:
            route.gets += 1
            cut = route.cut_after is not None and route.cut_times > 0
            if cut:
                route.cut_times -= 1
        if route.location:
            return self._empty(302, [("Location", route.location)])
        if route.gzip:
            return self._gzipped(route)
        if route.status:
            return self._empty(route.status)
        self._body(route, headers, cut)

    def _gzipped(self, route: Route) -> None:
        data = gzip.compress(route.body)
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _stats(self) -> None:
        routes = self.server.owner.routes
        data = json.dumps({path: {"gets": r.gets, "bytes_sent": r.bytes_sent} for path, r in routes.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _empty(self, status: int, extra: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        self.send_response(status)
        for name, value in extra:
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _body(self, route: Route, headers: dict[str, str], cut: bool) -> None:
        size, start, status = route.size, 0, 200
        asked = _RANGE.fullmatch(headers.get("range", "").strip())
        if_range = headers.get("if-range")
        validators = {route.etag, route.last_modified} - {None}
        if asked and route.ranges and (if_range is None or if_range in validators):
            start = int(asked[1])
            if start >= size:
                return self._empty(416, [("Content-Range", f"bytes */{size}")])
            status = 206
        self.send_response(status)
        if route.sized:
            self.send_header("Content-Length", str(size - start))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        if status == 206:
            self.send_header("Content-Range", route.content_range or f"bytes {start}-{size - 1}/{size}")
        if route.ranges:
            self.send_header("Accept-Ranges", "bytes")
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)
        self.end_headers()
        try:
            if route.file and route.sized and not (cut or route.wrong_from is not None or route.hold_after is not None
                                                   or route.throttle_bps):
                self._sendfile(route, start, size)
            else:
                self._pieces(route, start, size, cut)
        except OSError:
            self.close_connection = True

    def _sendfile(self, route: Route, start: int, size: int) -> None:
        self.wfile.flush()
        with open(route.file, "rb") as handle:  # type: ignore[arg-type]
            offset = start
            while offset < size:
                sent = os.sendfile(self.connection.fileno(), handle.fileno(), offset, size - offset)
                if sent == 0:
                    break
                offset += sent
                with route.lock:
                    route.bytes_sent += sent

    def _pieces(self, route: Route, start: int, size: int, cut: bool) -> None:
        owner = self.server.owner
        position = start
        held = False
        began = time.monotonic()  # a throttled body keeps to its rate from here, whatever sending costs
        with open(route.file, "rb") if route.file else contextlib.nullcontext() as handle:
            if handle:
                handle.seek(start)
            while position < size:
                end = min(size, position + PIECE)
                for limit in (route.cut_after if cut else None, None if held else route.hold_after):
                    if limit is not None and position < limit < end:
                        end = limit
                piece = handle.read(end - position) if handle else route.body[position:end]
                if route.wrong_from is not None and end > route.wrong_from:
                    keep = max(0, route.wrong_from - position)
                    piece = piece[:keep] + bytes(b ^ 0xFF for b in piece[keep:])
                self._send_piece(route, piece)
                position = end
                if cut and position == route.cut_after:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if not held and route.hold_after is not None and position >= route.hold_after:
                    held = True
                    self.wfile.flush()
                    owner.holding.set()
                    owner.release.wait(60)
                if route.throttle_bps:
                    time.sleep(max(0.0, began + (position - start) / route.throttle_bps - time.monotonic()))
            if not route.sized:
                self.wfile.write(b"0\r\n\r\n")

    def _send_piece(self, route: Route, piece: bytes) -> None:
        if route.sized:
            self.wfile.write(piece)
        else:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.flush()
        with route.lock:
            route.bytes_sent += len(piece)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    owner: FileServer

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):  # a client that gave up
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FileServer:
    """Serves routes on loopback (`tls`: a certificate and key file pair for https) until the context exits."""

    def __init__(self, host: str = "127.0.0.1", tls: Optional[tuple[str, str]] = None) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[Seen] = []
        self.release = threading.Event()  # lets held bodies go on
        self.holding = threading.Event()  # set once a body waits for `release`
        self._lock = threading.Lock()
        self._server = _Server((host, 0), _Handler)
        self._server.owner = self
        self.scheme = "https" if tls else "http"
        if tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str, host: Optional[str] = None) -> str:
        return f"{self.scheme}://{host or str(self._server.server_address[0])}:{self.port}{path}"

    def serve(self, path: str, body: bytes = b"", **behaviour: object) -> str:
        """Serve `body` (or `file=`) at `path` with the given `Route` behaviour; its URL."""
        self.routes[path] = Route(body=body, **behaviour)  # type: ignore[arg-type]
        return self.url(path)

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def requests_for(self, path: str) -> list[Seen]:
        with self._lock:
            return [seen for seen in self.seen if seen.path == path]


def self_signed(folder: str, *names: str) -> tuple[str, str]:
    """A self-signed certificate for `names` and its key, as files in `folder` (cryptography comes with moto)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


def main(argv: list[str]) -> int:
    path = os.path.abspath(argv[0])
    throttle_bps = int(argv[1]) if len(argv) > 1 else None
    with FileServer() as server:
        print(server.serve("/" + os.path.basename(path), file=path, throttle_bps=throttle_bps), flush=True)
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
