"""A loopback HTTP server playing RunPod's endpoint API from canned answers: each route answers its list in order."""
from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


@dataclass
class Canned:
    """One answer: a status, a JSON body (or raw text), headers, and a delay before it is sent."""

    status: int = 200
    body: Any = None
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0
    text: Optional[str] = None


class CannedRunpod:
    """`routes["GET /v2/ep/status/job-1"] = [Canned(...), ...]`: the last answer repeats; a callable is called with
    the request count and returns a Canned; every request is recorded in `calls` as "METHOD /path"."""

    def __init__(self, endpoint_id: str = "ep") -> None:
        self.endpoint_id = endpoint_id
        self.routes: dict[str, list | Callable[[int], Canned]] = {}
        self.calls: list[str] = []
        self.bodies: list[Any] = []
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v2"

    def path(self, route: str) -> str:
        """`"GET status/job-1"` as the full route key, `"GET /v2/ep/status/job-1"`."""
        method, rest = route.split(" ", 1)
        return f"{method} /v2/{self.endpoint_id}/{rest}"

    def answer(self, route: str, *answers: Canned | Callable[[int], Canned]) -> None:
        self.routes[self.path(route)] = answers[0] if len(answers) == 1 and callable(answers[0]) else list(answers)

    def count(self, route: str) -> int:
        with self._lock:
            return self.calls.count(self.path(route))

    def __enter__(self) -> CannedRunpod:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _pick(self, key: str, body: Any) -> Canned:
        with self._lock:
            self.calls.append(key)
            self.bodies.append(body)
            seen = self.calls.count(key)
        route = self.routes.get(key)
        if route is None:
            return Canned(404, text="request does not exist")
        if callable(route):
            return route(seen)
        return route[min(seen, len(route)) - 1]

    def _handler_class(self):
        canned = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                answer = canned._pick(f"{self.command} {self.path}", json.loads(raw) if raw else None)
                time.sleep(answer.delay_s)
                data = (answer.text if answer.text is not None else json.dumps(answer.body)).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting: its timeout is the point of the test

            do_GET = do_POST = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler
