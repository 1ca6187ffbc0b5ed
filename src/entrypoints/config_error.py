"""The handler of a worker whose configuration is wrong: it takes every job and answers it `config_error`."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from entrypoints.job_logging import MAX_JOB_ID_CHARS, current_job_id
from entrypoints.settings import ConfigError

log = logging.getLogger(__name__)


def config_error_handler(problem: ConfigError) -> Callable[[dict], Awaitable[dict[str, Any]]]:
    """Jobs fail where the caller looks, instead of the worker exiting and restarting while jobs sit in the queue."""
    answer = {"error": f"config_error: {problem}", "error_code": "config_error"}

    async def handler(job: dict) -> dict[str, Any]:
        token = current_job_id.set(str(job.get("id", "-"))[:MAX_JOB_ID_CHARS])
        try:
            log.error("job answered config_error: %s is not valid", problem.variable)
            return dict(answer)
        finally:
            current_job_id.reset(token)

    return handler
