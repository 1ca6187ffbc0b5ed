"""Sends a running job's progress to RunPod with the SDK's fire-and-forget `progress_update`."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def send_progress(job: dict, update: dict) -> None:
    """Best effort: a failed update is logged and never fails the job."""
    from runpod.serverless import progress_update

    try:
        progress_update(job, update)
    except Exception as exc:  # the SDK posts in the background; any failure here is only logged
        log.debug("progress update failed: %s", exc)
