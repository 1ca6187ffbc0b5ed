"""The endpoint API callers use: /run, /runsync, /status, /stream, /cancel, /health."""
from __future__ import annotations

import asyncio
import time

from aiohttp import web

from .appkeys import BOOK, SETTINGS
from .jobs import FINAL, JobBook

routes = web.RouteTableDef()

# RunPod's documented request payload limits: 10 MB for /run, 20 MB for /runsync
RUN_LIMIT_BYTES, RUNSYNC_LIMIT_BYTES = 10 * 1024 * 1024, 20 * 1024 * 1024


def _book(request: web.Request) -> JobBook:
    return request.app[BOOK]


def _authorized(request: web.Request) -> None:
    given = request.headers.get("Authorization", "")
    if given.removeprefix("Bearer ").strip() != request.app[SETTINGS]["api_key"]:
        raise web.HTTPUnauthorized(text="bad API key")


async def _submitted_input(request: web.Request, limit: int):
    _authorized(request)
    body = await request.read()
    if len(body) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(body))
    payload = await request.json()
    if not isinstance(payload, dict) or "input" not in payload:
        raise web.HTTPBadRequest(text="the body needs an 'input' key")
    return payload["input"]


@routes.post("/v2/{endpoint}/run")
async def run(request: web.Request) -> web.Response:
    job = _book(request).submit(await _submitted_input(request, RUN_LIMIT_BYTES))
    return web.json_response({"id": job.id, "status": job.status})


@routes.post("/v2/{endpoint}/runsync")
async def runsync(request: web.Request) -> web.Response:
    job = _book(request).submit(await _submitted_input(request, RUNSYNC_LIMIT_BYTES))
    give_up = time.monotonic() + request.app[SETTINGS]["runsync_wait_s"]
    while job.status not in FINAL and time.monotonic() < give_up:
        await asyncio.sleep(0.05)
    return web.json_response(job.public_view())


def _job(request: web.Request):
    _authorized(request)
    job = _book(request).jobs.get(request.match_info["id"])
    if job is None:
        raise web.HTTPNotFound(text="request does not exist")
    return job


@routes.get("/v2/{endpoint}/status/{id}")
@routes.post("/v2/{endpoint}/status/{id}")
async def status(request: web.Request) -> web.Response:
    return web.json_response(_job(request).public_view())


@routes.get("/v2/{endpoint}/stream/{id}")
@routes.post("/v2/{endpoint}/stream/{id}")
async def stream(request: web.Request) -> web.Response:
    return web.json_response(_book(request).read_stream(_job(request).id))


@routes.post("/v2/{endpoint}/cancel/{id}")
async def cancel(request: web.Request) -> web.Response:
    job = _book(request).cancel(_job(request).id)
    if job is None:
        raise web.HTTPNotFound(text="request does not exist")
    return web.json_response({"id": job.id, "status": job.status})


@routes.get("/v2/{endpoint}/health")
async def health(request: web.Request) -> web.Response:
    _authorized(request)
    book = _book(request)
    counts = {name: sum(1 for job in book.jobs.values() if job.status == name)
              for name in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED", "FAILED", "CANCELLED")}
    return web.json_response({"jobs": {"inQueue": counts["IN_QUEUE"], "inProgress": counts["IN_PROGRESS"],
                                       "completed": counts["COMPLETED"], "failed": counts["FAILED"],
                                       "cancelled": counts["CANCELLED"]}})
