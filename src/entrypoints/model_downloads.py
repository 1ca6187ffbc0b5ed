"""The model store the container makes when MODEL_DOWNLOAD_DIR is set, and what a job that asks for a model file is
told when there is none."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

from adapters.http_model_store import HttpModelStore
from adapters.pinned_connections import PinningUnavailable
from domain.ports import ModelStore
from entrypoints.settings import Settings

log = logging.getLogger(__name__)

FolderPaths = Callable[[], Optional[Mapping[str, Sequence[str]]]]
TURN_ON = (
    "set MODEL_DOWNLOAD_DIR to a folder ComfyUI reads models from (the image sets it to /runpod-volume/models when a "
    "network volume is mounted, else to ComfyUI's models folder)"
)


@dataclass(frozen=True)
class ModelDownloads:
    """The store (None: downloads are off) and, when there is none, why and what turns downloads on."""

    store: Optional[ModelStore]
    off: str


def model_downloads(settings: Settings, comfy_folder_paths: FolderPaths) -> ModelDownloads:
    """The store over MODEL_DOWNLOAD_DIR; none when it is unset or cannot be used (then logged)."""
    models = settings.models
    if models.download_dir is None:
        return ModelDownloads(None, f"model downloads are off on this worker: {TURN_ON}")
    try:
        store = HttpModelStore(
            models.download_dir,
            max_bytes=models.max_bytes,
            fetch_timeout_s=models.fetch_timeout_s,
            allow_private=settings.inputs.allow_private,
            cache_max_bytes=models.cache_max_bytes,
            hf_token=models.hf_token,
            civitai_token=models.civitai_token,
            comfy_folder_paths=comfy_folder_paths,
        )
    except (PinningUnavailable, OSError) as exc:
        log.error("model downloads are off: MODEL_DOWNLOAD_DIR=%s cannot be used: %s", models.download_dir, exc)
        return ModelDownloads(
            None, f"model downloads are off on this worker: MODEL_DOWNLOAD_DIR cannot be used ({exc})"
        )
    return ModelDownloads(store, "")
