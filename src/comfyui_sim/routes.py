"""The aiohttp application: ComfyUI's HTTP API (also under /api, as ComfyUI serves it) and the websocket."""

import asyncio
import uuid
from typing import Any

from aiohttp import web

from . import files, info, jobs
from .app_key import SIM, RunningSimulator
from .prompt_execution import now_ms
from .replacements import REPLACEMENTS, apply_replacements
from .state import QueueItem, SimState
from .validation import validate_prompt
from .websocket import websocket_handler

SENSITIVE_EXTRA_DATA_KEYS = ("auth_token_comfy_org", "api_key_comfy_org")
routes = web.RouteTableDef()


async def json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def live_state(request: web.Request) -> SimState:
    state = request.app[SIM].state
    assert state is not None  # the app serves only while the simulator is started
    return state


def empty_ok() -> web.Response:
    return web.Response(status=200)


@routes.post("/prompt")
async def post_prompt(request: web.Request) -> web.Response:
    sim, body = request.app[SIM], await json_body(request)
    if not isinstance(body, dict):
        return files.trouble()
    await _slow_post(sim, body)
    state = live_state(request)
    if "number" in body:
        number = float(body["number"])
    else:
        number = -state.number if body.get("front") else state.number
        state.number += 1
    if "prompt" not in body:
        error = {
            "type": "no_prompt",
            "message": "No prompt provided",
            "details": "No prompt provided",
            "extra_info": {},
        }
        return web.json_response({"error": error, "node_errors": {}}, status=400)
    prompt, prompt_id = body["prompt"], _prompt_id(sim, body)
    if prompt_id is None:
        return web.json_response({"error": INVALID_PROMPT_ID, "node_errors": {}}, status=400)
    try:
        if sim.profile.node_replacement:
            apply_replacements(prompt)
        targets = body.get("partial_execution_targets")
        ok, error, outputs, node_errors = validate_prompt(prompt, sim.dirs, targets, sim.profile)
    except Exception:
        return files.trouble()
    extra = dict(body.get("extra_data") or {})
    if body.get("client_id") is not None:
        extra["client_id"] = body["client_id"]
    if not ok:
        return web.json_response({"error": error, "node_errors": node_errors}, status=400)
    for key in SENSITIVE_EXTRA_DATA_KEYS:
        extra.pop(key, None)
    if sim.profile.create_time:
        extra["create_time"] = now_ms()
    done = state.wait_for(prompt_id) if sim.faults.frames_before_post_response else None
    await state.put(QueueItem(number, prompt_id, prompt, extra, outputs))
    if done is not None:
        await done
    return web.json_response({"prompt_id": prompt_id, "number": number, "node_errors": node_errors})


# 0.25.0+ (0.33 server.py:1090-1104): a client's prompt_id that is not a canonical lowercase UUID
INVALID_PROMPT_ID = {
    "type": "invalid_prompt_id",
    "message": "prompt_id must be a valid UUID",
    "details": "prompt_id must be a UUID string in canonical lowercase hyphenated form; omit it to let the server "
    "generate one",
    "extra_info": {},
}


def _prompt_id(sim: RunningSimulator, body: dict):
    """The prompt's id: before 0.25.0 whatever the client sent, str()-ed (`null` becomes "None", 0.8.0
    server.py:872); from 0.25.0 absent or null mints one, and anything but a canonical UUID is None (refused)."""
    if not sim.profile.canonical_prompt_id:
        return str(body.get("prompt_id", uuid.uuid4()))
    chosen = body.get("prompt_id")
    if chosen is None:
        return str(uuid.uuid4())
    try:
        return chosen if isinstance(chosen, str) and str(uuid.UUID(chosen)) == chosen else None
    except ValueError:
        return None


async def _slow_post(sim: RunningSimulator, body: dict) -> None:
    """The `post_delay_s` knob: a post ComfyUI is still reading when later ones are numbered and queued."""
    prompt = body.get("prompt")
    delays = sim.faults.post_delay_s
    if delays and isinstance(prompt, dict):
        classes = {node.get("class_type") for node in prompt.values() if isinstance(node, dict)}
        delay = max((delays.get(name, 0.0) for name in classes if isinstance(name, str)), default=0.0)
        if delay:
            await asyncio.sleep(delay)


@routes.get("/prompt")
async def get_prompt(request: web.Request) -> web.Response:
    return web.json_response(live_state(request).queue_info())


@routes.get("/queue")
async def get_queue(request: web.Request) -> web.Response:
    state = live_state(request)
    return web.json_response({"queue_running": state.running_items(), "queue_pending": state.pending()})


@routes.post("/queue")
async def post_queue(request: web.Request) -> web.Response:
    state, body = live_state(request), await json_body(request)
    if not isinstance(body, dict):
        return files.trouble()
    if body.get("clear"):
        await state.wipe_queue()
    for prompt_id in body.get("delete", []):
        await state.delete_pending(prompt_id)
    return empty_ok()


@routes.post("/interrupt")
async def post_interrupt(request: web.Request) -> web.Response:
    sim, state, body = request.app[SIM], live_state(request), await json_body(request)
    prompt_id = body.get("prompt_id") if isinstance(body, dict) else None
    # interrupt_pending_by_id.json: an id that is not the running prompt changes nothing (`interrupt_ignores_id`:
    # as ComfyUI before /interrupt took a prompt id, whatever runs is interrupted)
    sim.received_interrupts.append(prompt_id)
    if (
        not prompt_id
        or sim.faults.interrupt_ignores_id
        or any(item.prompt_id == prompt_id for item in state.running.values())
    ):
        state.interrupt = True
    return empty_ok()


@routes.post("/free")
async def post_free(request: web.Request) -> web.Response:
    state, body = live_state(request), await json_body(request)
    if not isinstance(body, dict):
        return files.trouble()
    if body.get("free_memory"):
        # free_and_system.json: the next identical prompt is no longer cached
        if state.running:
            state.flags["free_memory"] = True
        else:
            state.cache.clear()
    return empty_ok()


@routes.get("/history")
async def get_history(request: web.Request) -> web.Response:
    query = request.query
    max_items = int(query["max_items"]) if "max_items" in query else None
    offset = int(query.get("offset", -1))
    return web.json_response(live_state(request).history_items(max_items, offset))


@routes.get("/history/{prompt_id}")
async def get_history_entry(request: web.Request) -> web.Response:
    history, prompt_id = live_state(request).history, request.match_info["prompt_id"]
    return web.json_response({prompt_id: history[prompt_id]} if prompt_id in history else {})


@routes.post("/history")
async def post_history(request: web.Request) -> web.Response:
    state, body = live_state(request), await json_body(request)
    if not isinstance(body, dict):
        return files.trouble()
    if body.get("clear"):
        state.history.clear()
    for prompt_id in body.get("delete", []):
        state.history.pop(prompt_id, None)
    return empty_ok()


@routes.get("/node_replacements")
async def node_replacements(request: web.Request) -> web.Response:
    """0.14.0+: the registered replacements (0.33 app/node_replace_manager.py as_dict); no route before."""
    if not request.app[SIM].profile.node_replacement:
        return web.Response(status=404)
    return web.json_response(REPLACEMENTS)


routes.get("/view")(files.view)
routes.post("/upload/image")(files.upload_image)
routes.get("/ws")(websocket_handler)


def build_app(sim: RunningSimulator) -> web.Application:
    app = web.Application(client_max_size=100 * 1024 * 1024)
    app[SIM] = sim
    for table in (routes, info.routes, jobs.routes):
        app.add_routes(table)
        app.add_routes([web.route(r.method, "/api" + r.path, r.handler) for r in table if isinstance(r, web.RouteDef)])
    return app
