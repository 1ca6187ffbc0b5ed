"""The listening socket, opened and closed on demand on one fixed port, and cutting every open connection."""

import asyncio
import socket
from typing import Optional


class Listener:
    def __init__(self, runner, host: str, port: int) -> None:
        self.runner, self.host, self.port = runner, host, port
        self.server: Optional[asyncio.AbstractServer] = None

    async def open(self) -> None:
        if self.server is not None:
            return
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for attempt in range(100):
            try:
                sock.bind((self.host, self.port))
                break
            except OSError:
                if attempt == 99 or self.port == 0:
                    sock.close()
                    raise
                await asyncio.sleep(0.05)
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self.server = await asyncio.get_running_loop().create_server(self.runner.server, sock=sock)

    def close(self) -> None:
        """Refuse new connections and close the open ones (FIN, no websocket close frame), like a killed process."""
        if self.server is not None:
            self.server.close()
            self.server = None
        for handler in list(self.runner.server.connections):
            transport = getattr(handler, "transport", None)
            if transport is not None:
                transport.close()
