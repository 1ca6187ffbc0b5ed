"""Uploads a job's input files into its own folder of ComfyUI's input folder, each read by its kind's reader."""

from __future__ import annotations

import functools
import logging

from domain.budget import Budget
from domain.errors import InvalidInput
from domain.execution.reachability import when_back
from domain.model import InlineFile, Job
from domain.services import Services

log = logging.getLogger(__name__)


def upload_inputs(job: Job, svc: Services, budget: Budget, folder: str) -> None:
    """Inline files were bounded when the request was read; each file read here gets what the total leaves."""
    held = sum(len(item.source.data) for item in job.command.inputs if isinstance(item.source, InlineFile))
    for item in job.command.inputs:
        budget.check(f"uploading input {item.name}")
        if isinstance(item.source, InlineFile):
            data = item.source.data
        else:
            reader = svc.readers.get(type(item.source))
            if reader is None:
                described = getattr(type(item.source), "described", type(item.source).__name__)
                raise InvalidInput(f"input {item.name!r} gives {described}, but this worker cannot read such inputs")
            data = reader.read(item.source, budget, svc.limits.left_for(item.name, held))
            held += len(data)
            log.info("read input %s (%d bytes)", item.name, len(data))
        name = f"{folder}/{item.name}"
        when_back(svc.comfy, budget, functools.partial(svc.comfy.upload_input, name, data, budget))
        log.info("uploaded input %s (%d bytes)", item.name, len(data))
