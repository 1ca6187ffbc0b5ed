"""Reads `input.models` (the model files a job needs, each downloaded from its URL when missing) into the command's
`ModelRequest`s, or a clear `InvalidInput`."""

from __future__ import annotations

from typing import Any

from domain.errors import InvalidInput, excerpt
from domain.inputs.model_requests import (
    ModelRequest,
    default_name,
    extension_problem,
    folder_problem,
    name_problem,
    sha256_problem,
)
from domain.inputs.models import MAX_MODELS
from entrypoints.input_kinds import MAX_URL_CHARS

FIELDS = ("url", "folder", "name", "sha256")
_SHAPE = '{"url": "https://…/x.safetensors", "folder": "loras"} (with "name" and "sha256" if you like)'


def parse_models(raw: Any) -> tuple[ModelRequest, ...]:
    """`input.models`, each item checked on its own (the folder against ComfyUI's list and the names against the
    files already there are checked when the job runs)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(f"input.models must be a list of objects like {_SHAPE}")
    if len(raw) > MAX_MODELS:
        raise InvalidInput(f"input.models has {len(raw)} items; at most {MAX_MODELS} are allowed")
    return tuple(_model(item, index) for index, item in enumerate(raw))


def _model(item: Any, index: int) -> ModelRequest:
    where = f"input.models[{index}]"
    if not isinstance(item, dict):
        raise InvalidInput(f"{where} must be an object like {_SHAPE}")
    unknown = sorted(str(key) for key in item if key not in FIELDS)
    if unknown:
        raise InvalidInput(f"{where} has unknown fields {excerpt(unknown)}: use {', '.join(FIELDS)}")
    url = item.get("url")
    if not isinstance(url, str) or not url[:8].lower().startswith(("http://", "https://")):
        raise InvalidInput(f"{where}.url must be an http:// or https:// URL")
    if len(url) > MAX_URL_CHARS:
        raise InvalidInput(f"{where}.url is longer than {MAX_URL_CHARS} characters")
    folder = item.get("folder")
    problem = folder_problem(folder)
    if problem:
        raise InvalidInput(f"{where}.folder {excerpt(folder)} {problem}")
    given = item.get("name")
    name = default_name(url) if given is None else given
    problem = name_problem(name) or extension_problem(name)
    if problem:
        if given is not None:
            raise InvalidInput(f"{where}.name {excerpt(name)} {problem}")
        raise InvalidInput(f"{where}.url's last part {excerpt(name)} (the name when 'name' is not given) {problem}")
    sha256 = item.get("sha256")
    if sha256 is not None and sha256_problem(sha256):
        raise InvalidInput(f"{where}.sha256 {sha256_problem(sha256)}")
    return ModelRequest(url, str(folder), name, sha256.lower() if isinstance(sha256, str) else None)
