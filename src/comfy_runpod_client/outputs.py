"""Writes every output entry of a job's answer to a folder, and a summary.json beside them."""

from __future__ import annotations

import base64
import json
import pathlib
import re
from typing import Any

import requests

_SAFE_NAME = re.compile(r"^[A-Za-z0-9._ \-()\[\]]+$")


def is_entry_list(value: Any) -> bool:
    """The shape of `images` (and `gifs`, `audio`, `text`, ...): a list of dicts with `type` and `data`."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "data" in item and "type" in item for item in value)
    )


def save_outputs(answer: dict, folder: pathlib.Path) -> dict:
    """Writes the files of a COMPLETED answer under `folder/<key>/`; returns the summary it also writes."""
    output = answer.get("output") or {}
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for key, entries in sorted(output.items()):
        if not is_entry_list(entries):
            continue
        for index, entry in enumerate(entries):
            path = _free_path(folder / key, _file_name(entry, key, index))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_content(entry))
            files.append(
                {
                    "key": key,
                    "node_id": entry.get("node_id"),
                    "type": entry["type"],
                    "content_type": entry.get("content_type"),
                    "path": str(path.relative_to(folder)),
                    "bytes": path.stat().st_size,
                }
            )
    summary = {
        "id": answer.get("id"),
        "status": answer.get("status"),
        "files": files,
        "errors": list(output.get("errors", [])) if isinstance(output, dict) else [],
    }
    if isinstance(output, dict) and "status" in output:
        summary["output_status"] = output["status"]
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _file_name(entry: dict, key: str, index: int) -> str:
    name = pathlib.PurePosixPath(str(entry.get("filename") or "")).name
    if not name or name in (".", "..") or not _SAFE_NAME.match(name):
        return f"{key}_{index}"
    return name


def _free_path(directory: pathlib.Path, name: str) -> pathlib.Path:
    path, stem, suffix, number = directory / name, pathlib.Path(name).stem, pathlib.Path(name).suffix, 1
    while path.exists():
        path, number = directory / f"{stem}_{number}{suffix}", number + 1
    return path


def _content(entry: dict) -> bytes:
    kind, data = entry["type"], entry["data"]
    if kind == "base64":
        return base64.b64decode(data)
    if kind == "s3_url" or (isinstance(data, str) and data.startswith(("http://", "https://"))):
        response = requests.get(data, timeout=300)
        response.raise_for_status()
        return response.content
    return data.encode("utf-8") if isinstance(data, str) else json.dumps(data).encode("utf-8")
