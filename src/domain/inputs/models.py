"""A job's model files, before its prompt is queued: `input.models` and the loaders' URLs in one list, checked against
ComfyUI's model folders, planned for a dry run, or made available one after the other with progress."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Collection, ContextManager, Mapping, Optional, Sequence

from domain.budget import Budget
from domain.errors import InvalidInput
from domain.execution.progress import DownloadProgress, ProgressListener
from domain.inputs.model_requests import (
    NOT_MODEL_FOLDERS,
    ModelPlanned,
    ModelReady,
    ModelRequest,
    shown_source,
    source_of,
)
from domain.ports import ComfyApi, ModelStore
from domain.workflow.model_loaders import loader_models

log = logging.getLogger(__name__)

MAX_MODELS = 32  # model files one job may ask for
MODELS_OFF = "model downloads are off on this worker"


@dataclass(frozen=True)
class JobModels:
    """The job's model files and the store that serves them (none at all for most jobs)."""

    requests: tuple[ModelRequest, ...] = ()
    store: Optional[ModelStore] = None

    def in_use(self) -> ContextManager[None]:
        """Held from before the files are made available until the prompt is over: eviction leaves them alone."""
        return self.store.in_use(self.requests) if self.store is not None else nullcontext()

    def plan(self) -> tuple[ModelPlanned, ...]:
        return plan_models(self.requests, self.store) if self.store is not None else ()

    def make_available(
        self,
        budget: Budget,
        on_progress: Optional[ProgressListener],
        clock: Callable[[], float],
        started_at: float,
    ) -> tuple[ModelReady, ...]:
        if self.store is None:
            return ()
        return make_available(self.requests, self.store, budget, on_progress, clock, started_at)


def job_models(
    workflow: Mapping[str, Any],
    listed: Sequence[ModelRequest],
    store: Optional[ModelStore],
    off: str,
    comfy: ComfyApi,
    budget: Budget,
) -> tuple[Mapping[str, Any], JobModels]:
    """The workflow with its loaders' URLs replaced by file names, and every model file the job needs (checked
    against ComfyUI's model folders, which are asked for only when there is one)."""
    found = loader_models(workflow)
    requests = needed_models(listed, found.models)
    if not requests:
        return workflow, JobModels()
    serving = store_for(requests, store, off)
    check_folders(requests, comfy.model_folders(budget))
    return found.workflow, JobModels(requests, serving)


def needed_models(listed: Sequence[ModelRequest], from_loaders: Sequence[ModelRequest]) -> tuple[ModelRequest, ...]:
    """Every file the job needs once: `input.models` first, then the loaders' URLs. Two asks for one `folder/name`
    are one file when they name the same source (scheme, host and path) or the same sha256; otherwise the job is
    refused, naming both."""
    merged: dict[tuple[str, str], ModelRequest] = {}
    for request in (*listed, *from_loaders):
        key = (request.folder, request.name)
        known = merged.get(key)
        merged[key] = request if known is None else _one_file(known, request)
    if len(merged) > MAX_MODELS:
        raise InvalidInput(f"the job asks for {len(merged)} model files; at most {MAX_MODELS} are allowed")
    return tuple(merged.values())


def _one_file(known: ModelRequest, other: ModelRequest) -> ModelRequest:
    want, also = (known.sha256 or "").lower(), (other.sha256 or "").lower()
    same_bytes = bool(want) and want == also
    if (want and also and want != also) or (source_of(known.url) != source_of(other.url) and not same_bytes):
        raise InvalidInput(
            f"model {known.folder}/{known.name} is asked for twice: from {_described(known)} and from "
            f"{_described(other)}; one name is one file"
        )
    return known if want or not also else other


def _described(request: ModelRequest) -> str:
    return shown_source(request.url) + (f" (sha256 {request.sha256.lower()})" if request.sha256 else "")


def check_folders(models: Sequence[ModelRequest], comfy_folders: Collection[str]) -> None:
    """`InvalidInput` for a file whose folder is not one of ComfyUI's model folders (`GET /models`)."""
    known = sorted(set(comfy_folders) - NOT_MODEL_FOLDERS)
    for request in models:
        if request.folder not in known:
            raise InvalidInput(
                f"model {request.folder}/{request.name}: {request.folder!r} is not one of this ComfyUI's model "
                f"folders ({', '.join(known)})"
            )


def store_for(models: Sequence[ModelRequest], store: Optional[ModelStore], off: str) -> ModelStore:
    """The store that serves the job's files; `InvalidInput` (saying how to turn downloads on) when there is none."""
    if store is None:
        first = models[0]
        raise InvalidInput(f"the job asks for model {first.folder}/{first.name} by URL, but {off}")
    return store


def plan_models(models: Sequence[ModelRequest], store: ModelStore) -> tuple[ModelPlanned, ...]:
    """What a run would do for each file; nothing is downloaded (`InvalidInput` for a name taken by another file)."""
    return tuple(ModelPlanned(request, store.plan(request)) for request in models)


def make_available(
    models: Sequence[ModelRequest],
    store: ModelStore,
    budget: Budget,
    on_progress: Optional[ProgressListener],
    clock: Callable[[], float],
    started_at: float,
) -> tuple[ModelReady, ...]:
    """Each file in its folder, downloaded when missing (one after the other, each download told as progress);
    `ModelDownloadFailed`, `InvalidInput`, or the budget's `Cancelled` / `JobTimedOut` end the job before anything is
    queued."""
    progress = DownloadProgress(on_progress, len(models), clock=clock, started_at=started_at)
    ready = []
    for index, request in enumerate(models):
        budget.check(f"making model {request.folder}/{request.name} available")
        done = store.ensure(request, budget, progress.listener_for(index, f"{request.folder}/{request.name}"))
        log.info(
            "model %s/%s: %s (%d bytes, %d moved, %.1f s)",
            request.folder,
            request.name,
            done.outcome,
            done.size_bytes,
            done.bytes_moved,
            done.seconds,
        )
        ready.append(done)
    return tuple(ready)
