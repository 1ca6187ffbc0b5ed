"""The registry of connected websocket clients that frames are sent to, and the ways a connection is cut."""

import json
import socket
import struct
from typing import Optional

from aiohttp import web


class Client:
    def __init__(self, ws: web.WebSocketResponse, sid: str, transport, budget: Optional[int]) -> None:
        self.ws, self.sid, self.transport, self.budget = ws, sid, transport, budget
        self.flags: dict = {}
        self.dead = False
        self.frozen = False


class Hub:
    """Sockets by client id; `sid=None` broadcasts, as ComfyUI's send_sync does."""

    def __init__(self, faults) -> None:
        self.faults = faults
        self.sockets: dict = {}
        self.clients: set = set()

    async def send(self, event: str, data: dict, sid: Optional[str]) -> None:
        await self._send_all(json.dumps({"type": event, "data": data}), sid)

    async def send_bytes(self, payload: bytes, sid: Optional[str]) -> None:
        await self._send_all(payload, sid)

    async def _send_all(self, payload, sid: Optional[str]) -> None:
        targets = list(self.sockets.values()) if sid is None else [self.sockets[sid]] if sid in self.sockets else []
        for client in targets:
            if sid is not None:
                for junk in list(self.faults.inject_frames):
                    await self.deliver(client, junk, counted=False)
            await self.deliver(client, payload)

    async def deliver(self, client: Client, payload, counted: bool = True) -> None:
        if client.dead or client.frozen:
            return
        if counted and client.budget is not None and client.budget <= 0:
            self.drop(client)
            return
        try:
            if isinstance(payload, str):
                await client.ws.send_str(payload)
            else:
                await client.ws.send_bytes(payload)
        except Exception:
            client.dead = True
            return
        if counted and client.budget is not None:
            client.budget -= 1
            if client.budget <= 0:
                self.drop(client)

    def drop(self, client: Client) -> None:
        """Close the TCP connection without a close frame, as a killed server does (server_restart_mid_run.json);
        with `drop_with_reset`, with a RST."""
        client.dead = True
        if client.transport is None:
            return
        if self.faults.drop_with_reset:
            sock = client.transport.get_extra_info("socket")
            if sock is not None:
                # SO_LINGER on with 0 s: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.transport.abort()
            return
        client.transport.close()

    def drop_sid(self, sid: str) -> None:
        if sid in self.sockets:
            self.drop(self.sockets[sid])

    def drop_all(self) -> None:
        for client in list(self.clients):
            self.drop(client)

    def freeze(self, sid: str, notice_after_s: Optional[float], loop) -> bool:
        """A half-dead connection: nothing sent, nothing read (no pong, no FIN seen), still open (Faults docs)."""
        client = self.sockets.get(sid)
        if client is None or client.transport is None:
            return False
        client.frozen = True
        client.transport.pause_reading()
        if notice_after_s is not None:
            loop.call_later(notice_after_s, self.notice, client)
        return True

    def notice(self, client: Client) -> None:
        """The server finally sees a frozen connection is gone: closing it ends its handler and runs the teardown."""
        if client.frozen and not client.dead:
            self.drop(client)

    def notice_frozen(self) -> int:
        frozen = [client for client in self.clients if client.frozen and not client.dead]
        for client in frozen:
            self.notice(client)
        return len(frozen)

    def supports_metadata(self, sid: Optional[str]) -> bool:
        client = self.sockets.get(sid) if sid is not None else None
        return bool(client and client.flags.get("supports_preview_metadata"))
