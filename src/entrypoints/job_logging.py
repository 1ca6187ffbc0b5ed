"""Logging set-up that puts the current job id on every line."""
from __future__ import annotations

import contextvars
import logging

current_job_id: contextvars.ContextVar[str] = contextvars.ContextVar("current_job_id", default="-")


class JobIdFilter(logging.Filter):
    """Adds `job_id` to each record from the context (asyncio.to_thread carries it into threads)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = current_job_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(JobIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s job=%(job_id)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
