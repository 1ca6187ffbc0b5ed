"""The RunPod serverless entry: `python -m entrypoints.runpod_handler [--rp_serve_api | --test_input JSON]`."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any, AsyncIterator, Awaitable, Callable, Union

from domain.model import StoredOutput
from domain.response import file_entry
from entrypoints.container import Container, build_container
from entrypoints.job_logging import MAX_JOB_ID_CHARS, configure_logging, current_job_id
from entrypoints.settings import ConfigError, read_settings

log = logging.getLogger(__name__)

Handler = Callable[[dict], Union[Awaitable[dict], AsyncIterator[dict]]]


def make_handler(container: Container) -> Handler:
    """The async handler (or, with STREAM_OUTPUTS, an async generator yielding each output as it is delivered)."""
    runner = container.job_runner()

    async def handler(job: dict) -> dict[str, Any]:
        token = current_job_id.set(str(job.get("id", "-"))[:MAX_JOB_ID_CHARS])
        try:
            return await runner.run(job)
        finally:
            current_job_id.reset(token)

    async def streaming_handler(job: dict) -> AsyncIterator[dict]:
        token = current_job_id.set(str(job.get("id", "-"))[:MAX_JOB_ID_CHARS])
        loop = asyncio.get_running_loop()
        delivered: asyncio.Queue = asyncio.Queue()
        try:

            def on_output(out: StoredOutput) -> None:
                loop.call_soon_threadsafe(delivered.put_nowait, out)

            work = asyncio.ensure_future(runner.run(job, on_output))
            while not (work.done() and delivered.empty()):
                getter = asyncio.ensure_future(delivered.get())
                await asyncio.wait({work, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    out = getter.result()
                    yield {out.ref.kind: [file_entry(out)]}
                else:
                    getter.cancel()
            yield _summary(work.result())
        except asyncio.CancelledError:
            work.cancel()
            await asyncio.wait({work})
            raise
        finally:
            current_job_id.reset(token)

    return streaming_handler if container.config.output.stream() else handler


def _summary(response: dict) -> dict:
    """The streamed job's last item: everything but the file entries already yielded one by one."""
    return {
        key: value
        for key, value in response.items()
        if not (isinstance(value, list) and value and isinstance(value[0], dict) and "filename" in value[0])
        and key != "images"
    }


def main() -> None:
    try:
        settings = read_settings(os.environ)
    except ConfigError as exc:
        print(f"worker configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # The SDK reads RUNPOD_LOG_LEVEL once, when it is first imported: set up logging before that.
    configure_logging(
        settings["logging"]["level"],
        settings["logging"]["runpod_level"],
        secrets=[
            settings["comfy"]["org_api_key"],
            settings["s3"]["access_key_id"],
            settings["s3"]["secret_access_key"],
        ],
    )
    import runpod

    container = build_container(settings=settings)

    handler = make_handler(container)
    warmup = container.config.warmup.workflow()
    if warmup:
        container.job_runner().warm_up(warmup)
    runpod.serverless.start({"handler": handler, "return_aggregate_stream": True})


if __name__ == "__main__":
    main()
