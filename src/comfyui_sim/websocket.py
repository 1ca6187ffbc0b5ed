"""GET /ws: ComfyUI's websocket handler, its teardown race included (server.py websocket_handler)."""

import asyncio
import json
import uuid

from aiohttp import WSMsgType, web

from .app_key import SIM
from .hub import Client


async def websocket_handler(request: web.Request) -> web.WebSocketResponse:
    sim = request.app[SIM]
    state = sim.state
    assert state is not None  # the app serves only while the simulator is started
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
                features = sim.profile.server_features
                await hub.deliver(client, json.dumps({"type": "feature_flags", "data": features}))
            first = False
    finally:
        client.dead = True
        late = sim.faults.late_teardown_s
        if late:
            await asyncio.shield(asyncio.sleep(late))
        # ComfyUI ends with `self.sockets.pop(sid, None)`: it unregisters whatever socket holds the id now,
        # a socket reopened with the same id included (issue: deaf socket after a reconnect)
        hub.sockets.pop(sid, None)
        hub.clients.discard(client)
    return ws
