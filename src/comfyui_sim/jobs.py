"""The jobs API: GET /api/jobs/{id} (ComfyUI 0.6.0+) and POST /api/jobs/{id}/cancel (0.26.0+), as the profile has
them; older versions answer as their routing does (0.3.64, observed: 404 with an empty body, and 405 from the static
catch-all for the POST)."""

from typing import Optional

from aiohttp import web

from .app_key import SIM
from .state import SimState

routes = web.RouteTableDef()


def _job(state: SimState, job_id: str, cancelled_status: bool) -> Optional[dict]:
    """0.33 comfy_execution/jobs.py normalize_queue_item / normalize_history_item (pruned of None values)."""
    for status, items in (("in_progress", list(state.running.values())), ("pending", [e[2] for e in state.queue])):
        for item in items:
            if item.prompt_id == job_id:
                job = {"id": job_id, "status": status, "priority": item.number, "outputs_count": 0}
                if "create_time" in item.extra:
                    job["create_time"] = item.extra["create_time"]
                return job
    entry = state.history.get(job_id)
    if entry is None:
        return None
    status_info = entry.get("status") or {}
    messages = status_info.get("messages") or []
    interrupted = any(message[0] == "execution_interrupted" for message in messages)
    if status_info.get("status_str") == "error":
        status = "cancelled" if interrupted and cancelled_status else "failed"
    else:
        status = "completed"
    outputs = entry.get("outputs") or {}
    return {
        "id": job_id,
        "status": status,
        "priority": entry["prompt"][0],
        "outputs_count": sum(len(v) for out in outputs.values() for v in out.values() if isinstance(v, list)),
        "outputs": outputs,
        "execution_status": status_info,
    }


@routes.get("/api/jobs/{job_id}")
async def get_job(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    if not sim.profile.jobs_api:
        return web.Response(status=404)
    assert sim.state is not None
    job = _job(sim.state, request.match_info["job_id"], sim.profile.jobs_cancelled_status)
    if job is None:
        return web.json_response({"error": "Job not found"}, status=404)
    return web.json_response(job)


@routes.post("/api/jobs/{job_id}/cancel")
async def cancel_job(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    if not sim.profile.jobs_cancel:
        return web.Response(status=405, text="405: Method Not Allowed")
    state, job_id = sim.state, request.match_info["job_id"]
    assert state is not None
    sim.received_cancels.append(job_id)
    # 0.33 execution.py interrupt_if_running: under the queue's lock, only the prompt that runs now is interrupted
    if any(item.prompt_id == job_id for item in state.running.values()):
        state.interrupt = True
        return web.json_response({"cancelled": True})
    if any(entry[2].prompt_id == job_id for entry in state.queue):
        await state.delete_pending(job_id)
        return web.json_response({"cancelled": True})
    return web.json_response({"cancelled": False})
