"""The websocket endpoint and the registry of connected clients that frames are sent to."""
import json
import uuid
from typing import Optional

from aiohttp import WSMsgType, web

SIM = web.AppKey("sim", object)
# save_image_websocket_metadata.json: the server's reply to a client's feature_flags message (same as GET /features)
SERVER_FEATURES = {"supports_preview_metadata": True, "max_upload_size": 104857600,
                   "extension": {"manager": {"supports_v4": True}}}


class Client:
    def __init__(self, ws: web.WebSocketResponse, sid: str, transport, budget: Optional[int]) -> None:
        self.ws, self.sid, self.transport, self.budget = ws, sid, transport, budget
        self.flags: dict = {}
        self.dead = False


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
            await self.deliver(client, payload)

    async def deliver(self, client: Client, payload) -> None:
        if client.dead:
            return
        if client.budget is not None and client.budget <= 0:
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
        if client.budget is not None:
            client.budget -= 1
            if client.budget <= 0:
                self.drop(client)

    def drop(self, client: Client) -> None:
        """Close the TCP connection without a close frame, as a killed server does (server_restart_mid_run.json)."""
        client.dead = True
        if client.transport is not None:
            client.transport.close()

    def drop_sid(self, sid: str) -> None:
        if sid in self.sockets:
            self.drop(self.sockets[sid])

    def drop_all(self) -> None:
        for client in list(self.clients):
            self.drop(client)

    def supports_metadata(self, sid: Optional[str]) -> bool:
        client = self.sockets.get(sid) if sid is not None else None
        return bool(client and client.flags.get("supports_preview_metadata"))


async def websocket_handler(request: web.Request) -> web.WebSocketResponse:
    sim = request.app[SIM]
    state = sim.state
    hub = state.hub
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    sid = request.query.get("clientId", "") or uuid.uuid4().hex
    client = Client(ws, sid, request.transport, sim.faults.drop_socket_after_frames)
    hub.sockets.pop(sid, None)
    hub.sockets[sid] = client
    hub.clients.add(client)
    try:
        await hub.deliver(client, json.dumps({"type": "status", "data": {"status": state.queue_info(), "sid": sid}}))
        if state.client_id == sid and state.last_node_id is not None:
            # reconnect_mid_run.json: the running prompt's node, without prompt_id or display_node
            await hub.deliver(client, json.dumps({"type": "executing", "data": {"node": state.last_node_id}}))
        first = True
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(message.data)
            except ValueError:
                continue
            sim.received_ws_messages.append(data)
            if first and isinstance(data, dict) and data.get("type") == "feature_flags":
                client.flags = data.get("data") or {}
                await hub.deliver(client, json.dumps({"type": "feature_flags", "data": SERVER_FEATURES}))
            first = False
    finally:
        if hub.sockets.get(sid) is client:
            del hub.sockets[sid]
        hub.clients.discard(client)
    return ws
