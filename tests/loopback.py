"""Loopback ports for tests: a free one, and one where TCP connects (into the backlog) and no byte comes back."""

import socket
from typing import Optional


def free_port() -> int:
    """A port nothing listens on now (the kernel's pick for an ephemeral bind)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SilentPort:
    """Listens and never accepts; `with SilentPort() as silent: silent.host` ("127.0.0.1:PORT")."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._bind_host = host
        self._sock: Optional[socket.socket] = None

    def __enter__(self) -> "SilentPort":
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((self._bind_host, 0))
        self._sock.listen(64)
        return self

    def __exit__(self, *exc) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    @property
    def port(self) -> int:
        assert self._sock is not None, "use SilentPort as a context manager"
        return self._sock.getsockname()[1]

    @property
    def host(self) -> str:
        return f"{self._bind_host}:{self.port}"
