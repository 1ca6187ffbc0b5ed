"""The handler of a worker whose configuration is wrong: it takes every job and answers it `config_error`."""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable

from domain.errors import clip
from entrypoints.job_logging import job_log_context, redactor
from entrypoints.settings import ConfigError

log = logging.getLogger(__name__)

_SHOWN_CHARS = 300  # of an unexpected failure's text


def as_config_error(failure: Exception) -> ConfigError:
    """A failure while the worker starts (reading its settings, making its adapters) as the `ConfigError` every job
    answers: one that names its variable as it is, any other named by its type, since only the configuration
    differs from one start to the next."""
    if isinstance(failure, ConfigError):
        return failure
    why = f"the worker cannot start with it: {type(failure).__name__}: {clip(str(failure), _SHOWN_CHARS)}"
    return ConfigError("configuration", why)


def config_error_handler(problem: ConfigError) -> Callable[[dict], Awaitable[dict[str, Any]]]:
    """Jobs fail where the caller looks, instead of the worker exiting and restarting while jobs sit in the queue.

    The answer goes through the log redactor (the worker's secrets, URL credentials): a failure's text may quote
    a setting."""
    answer = {"error": redactor(f"config_error: {problem}"), "error_code": "config_error"}

    async def handler(job: dict) -> dict[str, Any]:
        with job_log_context(job):
            log.error("job answered config_error: %s is not valid", problem.variable)
            return dict(answer)

    return handler
