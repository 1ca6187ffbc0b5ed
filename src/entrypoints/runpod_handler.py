"""The RunPod serverless entry: `python -m entrypoints.runpod_handler [--rp_serve_api | --test_input JSON]`."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Optional, Union

from domain.model import StoredOutput
from entrypoints.answers import sendable
from entrypoints.config_error import as_config_error, config_error_handler
from entrypoints.container import Container, build_container
from entrypoints.environment import read_settings, secret_values
from entrypoints.job_logging import configure_logging, job_log_context
from entrypoints.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[dict], Union[Awaitable[dict], AsyncIterator[dict]]]


def make_handler(
    container: Container, start_config: Optional[dict] = None, *, streaming: Optional[bool] = None
) -> Handler:
    """The async handler (or, with STREAM_OUTPUTS, an async generator yielding each output as it is delivered).

    `start_config` is the dict given to `runpod.serverless.start`: for a generator the SDK takes no
    `refresh_worker` from the items, only from that dict, which it reads once the job's last item is out.
    `streaming` overrides STREAM_OUTPUTS (False for the SDK's local test, which cannot run a generator).
    """
    runner = container.job_runner()

    async def handler(job: dict) -> dict[str, Any]:
        with job_log_context(job):
            return (await runner.run(job)).answer

    async def streaming_handler(job: dict) -> AsyncIterator[dict]:
        with job_log_context(job):
            async for item in _streamed(job):
                yield item

    async def _streamed(job: dict) -> AsyncIterator[dict]:
        loop = asyncio.get_running_loop()
        delivered: asyncio.Queue = asyncio.Queue()

        def on_output(out: StoredOutput) -> None:
            loop.call_soon_threadsafe(delivered.put_nowait, sendable(runner.answers.stream_item(out)))

        work = asyncio.ensure_future(runner.run(job, on_output))
        try:
            while not (work.done() and delivered.empty()):
                getter = asyncio.ensure_future(delivered.get())
                await asyncio.wait({work, getter}, return_when=asyncio.FIRST_COMPLETED)
                if getter.done():
                    yield getter.result()
                else:
                    getter.cancel()
            answered = work.result()
            summary = answered.answer
            summary.pop("refresh_worker", None)  # the SDK reads it from the start config for a generator
            if answered.replace_worker and start_config is not None:
                log.warning("this job asks for a fresh worker: RunPod replaces this one once the job's result is sent")
                start_config["refresh_worker"] = True
            yield summary
        except asyncio.CancelledError:
            work.cancel()
            await asyncio.wait({work})
            raise

    stream = container.config.output.stream() if streaming is None else streaming
    return streaming_handler if stream else handler


def main() -> None:
    """Start taking jobs; whatever the configuration makes fail at start is answered `config_error` on every job,
    the worker never exits because of it (on RunPod an exiting worker is restarted while its jobs wait)."""
    try:
        settings = read_settings(os.environ)
    except Exception as failure:
        _serve_config_error(failure)
        return
    # The SDK reads RUNPOD_LOG_LEVEL once, when it is first imported: set up logging before that.
    configure_logging(settings.logging.level, settings.logging.runpod_level, secrets=secret_values(os.environ))
    import runpod

    if settings.job.refresh_worker:
        log.warning("REFRESH_WORKER is true: every job will now replace the worker after it ends (5.x ignored it)")
    try:
        container, start_config = _started(settings)
    except Exception as failure:
        _serve_config_error(failure)
        return
    if settings.job.max_concurrency > 1:
        log.info("taking up to %d jobs at once (MAX_CONCURRENCY)", settings.job.max_concurrency)
    if settings.warmup.workflow:
        _warm_up(container, settings.warmup.workflow)
    runpod.serverless.start(start_config)


def _started(settings: Settings) -> tuple[Container, dict[str, Any]]:
    """The container with its adapters made (the job runner makes them all) and the SDK's start config."""
    container = build_container(settings=settings)
    start_config: dict[str, Any] = {
        "return_aggregate_stream": True,
        "concurrency_modifier": container.job_runner().concurrency,
    }
    streaming = settings.output.stream
    if streaming and _runs_local_test(sys.argv, os.environ):
        log.info(
            "STREAM_OUTPUTS: the SDK's local test runs the handler once as a function; the outputs come in one answer"
        )
        streaming = False
    start_config["handler"] = make_handler(container, start_config, streaming=streaming)
    return container, start_config


def _runs_local_test(argv: list[str], env: Mapping[str, str]) -> bool:
    """Whether `runpod.serverless.start` will run one test job (`--test_input`, else test_input.json when no RunPod
    job URL is set) rather than serve: its local test awaits the handler and never iterates a generator."""
    from runpod.serverless import parser

    args, _ = parser.parse_known_args(argv[1:])
    if args.rp_serve_api or env.get("RUNPOD_REALTIME_PORT", "0") not in ("", "0"):
        return False
    return bool(args.test_input) or env.get("RUNPOD_WEBHOOK_GET_JOB") is None


def _warm_up(container: Container, workflow: dict) -> None:
    """A warm-up that fails is only logged: the jobs still run, and say what fails for them."""
    try:
        container.job_runner().warm_up(workflow)
    except Exception:
        log.exception("the warm-up workflow failed unexpectedly")


def _serve_config_error(failure: Exception) -> None:
    """A bad variable: the worker still takes jobs (else RunPod restarts it in a loop, jobs waiting unanswered) and
    answers each one `config_error`; logging keeps its defaults, since its own variables may be the bad ones. The
    traceback of a failure that is not a `ConfigError` is logged, redacted as every line is."""
    configure_logging(secrets=secret_values(os.environ))
    import runpod

    problem = as_config_error(failure)
    log.error(
        "configuration error, every job will fail with config_error: %s",
        problem,
        exc_info=None if problem is failure else failure,
    )
    runpod.serverless.start({"handler": config_error_handler(problem)})


if __name__ == "__main__":
    main()
