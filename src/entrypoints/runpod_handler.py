"""The RunPod serverless entry: `python -m entrypoints.runpod_handler [--rp_serve_api | --test_input JSON]`."""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from typing import Any, Awaitable, Callable

import runpod

from adapters.runpod_progress import RunpodProgressReporter
from domain.errors import WorkerError
from domain.job_input import new_job
from domain.response import error_response, success_response
from domain.run_job import run_job
from entrypoints.container import Container, build_container
from entrypoints.job_logging import configure_logging, current_job_id
from entrypoints.settings import ConfigError

log = logging.getLogger(__name__)

Handler = Callable[[dict], Awaitable[dict]]


def make_handler(container: Container) -> Handler:
    """The async handler: blocking work runs in a thread so a RunPod cancel can stop ComfyUI."""
    config = container.config()
    comfy = container.comfy_api()

    async def handler(job: dict) -> dict[str, Any]:
        token = current_job_id.set(str(job.get("id", "-")))
        try:
            return await _handle(job)
        finally:
            current_job_id.reset(token)

    async def _handle(job: dict) -> dict[str, Any]:
        timeout_s = config["job"]["timeout_s"]
        try:
            domain_job = new_job(
                str(job.get("id", "")),
                job.get("input"),
                default_api_key=config["comfy"]["org_api_key"],
                deadline=time.monotonic() + timeout_s if timeout_s else None,
            )
        except WorkerError as exc:
            log.warning("rejected input: %s", exc.summary())
            return error_response(exc)
        stop = threading.Event()
        try:
            result = await asyncio.to_thread(
                run_job,
                domain_job,
                comfy=comfy,
                monitor=container.execution_monitor(),
                source=container.image_source(),
                sink=container.image_sink(),
                on_progress=RunpodProgressReporter(job) if config["job"]["progress_updates"] else None,
                should_stop=stop.is_set,
            )
            response = success_response(result)
        except WorkerError as exc:
            log.error("job failed: %s", exc.summary())
            response = error_response(exc)
        except asyncio.CancelledError:
            log.warning("RunPod cancelled the job: stopping prompt %s in ComfyUI", domain_job.prompt.id)
            stop.set()
            await asyncio.shield(asyncio.to_thread(comfy.cancel, domain_job.prompt.id))
            raise
        except Exception as exc:  # an unforeseen bug must still give the caller one clear line
            log.exception("job failed unexpectedly")
            response = {"error": f"internal_error: {type(exc).__name__}: {exc}", "error_code": "internal_error"}
        if config["job"]["refresh_worker"]:
            response["refresh_worker"] = True
        return response

    return handler


def main() -> None:
    configure_logging()
    try:
        container = build_container()
    except ConfigError as exc:
        print(f"worker configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    runpod.serverless.start({"handler": make_handler(container)})


if __name__ == "__main__":
    main()
