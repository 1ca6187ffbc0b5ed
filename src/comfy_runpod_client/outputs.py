"""Writes every output entry of a job's answer to a folder, and a summary.json beside them."""

from __future__ import annotations

import base64
import json
import os
import pathlib
import re
import tempfile
from typing import Any, Optional

import requests

# a name is one path component: letters, digits and a few marks; anything else (separators, NUL, ':') is "_"
_UNSAFE_CHARACTERS = re.compile(r"[^\w.\- ()\[\]]")
_MAX_NAME_BYTES = 200  # file systems refuse over 255
DEFAULT_MAX_DOWNLOAD_BYTES = 4_000_000_000  # of one s3_url output
DOWNLOAD_TIMEOUT_S = 300  # to connect, and between two reads
_CHUNK_BYTES = 1 << 20


class DownloadFailed(Exception):
    """An `s3_url` output that could not be saved: its file is not written, the other outputs are."""


def is_entry_list(value: Any) -> bool:
    """The shape of `images` (and `gifs`, `audio`, `text`, ...): a list of dicts with `type` and `data`."""
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "data" in item and "type" in item for item in value)
    )


class OutputWriter:
    """Writes outputs as they come (a whole answer's, or a streamed job's items one by one), then the summary."""

    def __init__(self, folder: pathlib.Path, *, max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES) -> None:
        self.folder = folder
        self.max_download_bytes = max_download_bytes
        self.files: list[dict] = []
        self.failed: list[dict] = []  # outputs that could not be saved (a download refused or over the cap)
        self.errors: list[Any] = []
        self.output_status: Optional[Any] = None

    def add(self, output: Any) -> list[dict]:
        """Writes every entry of `output` (an answer's output, a streamed item, or a list of items)."""
        if isinstance(output, list):
            return [record for item in output for record in self.add(item)]
        if not isinstance(output, dict):
            return []
        self.folder.mkdir(parents=True, exist_ok=True)
        written = [self._write(key, entries) for key, entries in sorted(output.items()) if is_entry_list(entries)]
        if isinstance(output.get("errors"), list):
            self.errors.extend(output["errors"])
        if "status" in output:
            self.output_status = output["status"]
        records = [record for group in written for record in group]
        self.files.extend(records)
        return records

    def finish(self, answer: dict) -> dict:
        """Writes summary.json for the job's final answer and returns it."""
        summary: dict = {
            "id": answer.get("id"),
            "status": answer.get("status"),
            "files": self.files,
            "failed": self.failed,
            "errors": self.errors,
        }
        if self.output_status is not None:
            summary["output_status"] = self.output_status
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary

    def _write(self, key: str, entries: list) -> list[dict]:
        directory = _key_directory(self.folder, key)
        records: list[dict] = []
        for entry in entries:
            name = _file_name(entry, directory.name, len(self.files) + len(records))
            path = _inside(self.folder, _free_path(directory, name))
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._save(entry, path)
            except DownloadFailed as exc:
                self.failed.append({"key": key, "node_id": entry.get("node_id"), "filename": name, "error": str(exc)})
                continue
            records.append(
                {
                    "key": key,
                    "node_id": entry.get("node_id"),
                    "type": entry["type"],
                    "content_type": entry.get("content_type"),
                    "path": str(path.relative_to(self.folder)),
                    "bytes": path.stat().st_size,
                }
            )
        return records

    def _save(self, entry: dict, path: pathlib.Path) -> None:
        """An entry's bytes to `path`: base64 decoded, an `s3_url` downloaded, anything else (a `text` entry, even
        one that reads like a URL) written as it is."""
        kind, data = entry["type"], entry["data"]
        if kind == "s3_url":
            _download(data, path, self.max_download_bytes)
        elif kind == "base64":
            path.write_bytes(base64.b64decode(data))
        else:
            path.write_bytes(data.encode("utf-8") if isinstance(data, str) else json.dumps(data).encode("utf-8"))


def save_outputs(answer: dict, folder: pathlib.Path, *, max_download_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES) -> dict:
    """Writes the files of a COMPLETED answer under `folder/<key>/`; returns the summary it also writes."""
    writer = OutputWriter(folder, max_download_bytes=max_download_bytes)
    writer.add(answer.get("output") or {})
    return writer.finish(answer)


def safe_name(text: Any, fallback: str) -> str:
    """`text` as one harmless path component: no separator, no leading dot, no NUL, not empty, the extension kept."""
    name = _UNSAFE_CHARACTERS.sub("_", str(text)).strip(" .")
    name = name or fallback
    stem, dot, suffix = name.rpartition(".")
    stem, suffix = (stem, dot + suffix) if dot and len(suffix) <= 15 else (name, "")
    while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[: max(1, len(stem) // 2)]
    return stem + suffix


def _key_directory(folder: pathlib.Path, key: str) -> pathlib.Path:
    name = safe_name(key, "output")
    return _inside(folder, folder / (f"{name}_" if name == "summary.json" else name))


def _file_name(entry: dict, key: str, index: int) -> str:
    base = re.split(r"[/\\]", str(entry.get("filename") or ""))[-1]  # the last component, of a Windows path too
    return safe_name(base, f"{key}_{index}")


def _inside(folder: pathlib.Path, path: pathlib.Path) -> pathlib.Path:
    """`path` if it resolves inside `folder` (a symbolic link may point elsewhere), else an error."""
    if not path.resolve().is_relative_to(folder.resolve()):
        raise ValueError(f"refusing to write {path}: it resolves outside {folder}")
    return path


def _free_path(directory: pathlib.Path, name: str) -> pathlib.Path:
    path, stem, suffix, number = directory / name, pathlib.Path(name).stem, pathlib.Path(name).suffix, 1
    while path.exists():
        path, number = directory / f"{stem}_{number}{suffix}", number + 1
    return path


def _download(url: Any, path: pathlib.Path, max_bytes: int) -> None:
    """Streams `url` into a hidden file beside `path`, renamed to `path` once whole; over `max_bytes` (announced or
    counted) or failing, nothing is left."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise DownloadFailed("its s3_url is not an http(s) URL")
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed by the with below, removed on failure)
        dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    try:
        with handle, requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT_S) as response:
            if response.status_code != 200:
                raise DownloadFailed(f"the URL answered HTTP {response.status_code}")
            announced = response.headers.get("Content-Length", "")
            if announced.isascii() and announced.isdigit() and (len(announced) > 19 or int(announced) > max_bytes):
                raise DownloadFailed(_over_cap(max_bytes))
            written = 0
            for chunk in response.iter_content(_CHUNK_BYTES):
                written += len(chunk)
                if written > max_bytes:
                    raise DownloadFailed(_over_cap(max_bytes))
                handle.write(chunk)
        os.replace(handle.name, path)
    except requests.RequestException as exc:
        _remove(handle.name)
        raise DownloadFailed(f"the download failed: {type(exc).__name__}") from exc
    except BaseException:
        _remove(handle.name)
        raise


def _over_cap(max_bytes: int) -> str:
    return f"over the {max_bytes:,}-byte download cap (--max-download-bytes)"


def _remove(name: str) -> None:
    try:
        os.unlink(name)
    except FileNotFoundError:
        pass
