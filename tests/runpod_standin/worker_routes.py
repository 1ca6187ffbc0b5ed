"""RunPod's side of the production worker loop, as runpod-python's `serverless` modules call it."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from .appkeys import BOOK, SETTINGS
from .jobs import JobBook

routes = web.RouteTableDef()


def _book(request: web.Request) -> JobBook:
    return request.app[BOOK]


def _authorized(request: web.Request) -> None:
    # http_client.get_auth_header / rp_ping.Heartbeat: the raw RUNPOD_AI_API_KEY, no "Bearer" prefix
    if request.headers.get("Authorization") != request.app[SETTINGS]["ai_key"]:
        raise web.HTTPUnauthorized(text="bad worker key")


async def _long_poll(request: web.Request, fetch, wait_s: float):
    give_up = time.monotonic() + wait_s
    while True:
        found = fetch()
        if found or time.monotonic() >= give_up:
            return found
        await asyncio.sleep(0.05)


async def _take(request: web.Request, count: int, batch: bool) -> web.StreamResponse:
    _authorized(request)
    worker_id = request.match_info["worker"]
    take: dict[str, Any] = {"worker_id": worker_id, "route": "job-take-batch" if batch else "job-take", **request.query}
    _book(request).takes.append(take)
    wait_s = request.app[SETTINGS]["take_wait_s"]
    jobs = await _long_poll(request, lambda: _book(request).take(worker_id, count), wait_s)
    take["handed_out"] = [job.id for job in jobs]
    await asyncio.sleep(request.app[SETTINGS]["take_latency_s"])
    if not jobs:
        return web.Response(status=204)  # rp_job.get_job: 204 means "no job"
    payload = [{"id": job.id, "input": job.input} for job in jobs]
    return web.json_response(payload if batch else payload[0])


@routes.get("/v2/{endpoint}/job-take/{worker}")
async def job_take(request: web.Request) -> web.StreamResponse:
    # rp_job._job_get_url: one job, as a JSON object with id and input (the legacy job-take API)
    return await _take(request, 1, batch=False)


@routes.get("/v2/{endpoint}/job-take-batch/{worker}")
async def job_take_batch(request: web.Request) -> web.StreamResponse:
    # rp_job._job_get_url: used when concurrency > 1, with &batch_size=N; answers a JSON list
    return await _take(request, int(request.query.get("batch_size", "1")), batch=True)


@routes.get("/v2/{endpoint}/job-stop/{worker}")
async def job_stop(request: web.Request) -> web.StreamResponse:
    # rp_job.get_stop_signals: a long poll; 204 or {"jobsToStop": [ids]}; rp_scale then cancels each job's task
    _authorized(request)
    worker_id = request.match_info["worker"]
    wait_s = request.app[SETTINGS]["stop_wait_s"]
    ids = await _long_poll(request, lambda: _book(request).pop_stop_signals(worker_id), wait_s)
    if not ids:
        return web.Response(status=204)
    return web.json_response({"jobsToStop": ids})


async def _posted_json(request: web.Request) -> dict:
    # rp_http._transmit: the JSON text is sent with Content-Type application/x-www-form-urlencoded
    body = await request.read()
    await asyncio.sleep(request.app[SETTINGS]["result_latency_s"])
    limit = request.app[SETTINGS]["max_result_bytes"]
    if len(body) > limit:
        _book(request).refused_results.append({"job_id": request.match_info["job"], "bytes": len(body)})
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(body))
    return json.loads(body)


@routes.post("/v2/{endpoint}/job-done/{worker}/{job}")
async def job_done(request: web.Request) -> web.Response:
    # rp_http.send_result: the final result ({"output"}, {"error"}, "stopPod") and every progress update
    _authorized(request)
    _book(request).record_result(request.match_info["job"], await _posted_json(request))
    return web.json_response({})


@routes.post("/v2/{endpoint}/job-stream/{worker}/{job}")
async def job_stream(request: web.Request) -> web.Response:
    # rp_http.stream_result: one partial output of a generator handler
    _authorized(request)
    _book(request).record_stream(request.match_info["job"], await _posted_json(request))
    return web.json_response({})


@routes.get("/v2/{endpoint}/ping/{worker}")
async def ping(request: web.Request) -> web.Response:
    # rp_ping._send_ping: job_id (comma-separated ids in progress) and runpod_version as query parameters
    _authorized(request)
    _book(request).pings.append({"worker_id": request.match_info["worker"], **request.query})
    return web.json_response({})
