"""The download folder's layout (MODEL_DOWNLOAD_DIR): the model files ComfyUI sees, and the worker's own records,
partial files and locks under `.downloads/`, which every worker sharing the folder reads.

    <folder>/<name>              a model file, in place only once whole (a hard link or rename of its partial file)
    .downloads/records/<key>.json   one per file the workers downloaded: its folder, name, source URL, sha256, size
                                    and mtime; the record file's own mtime is the file's last use
    .downloads/partial/<key>.part   the body while it streams (kept to resume an interrupted download)
    .downloads/partial/<key>.json   what that body is: a digest of its full URL, its total size, its validator
    .downloads/locks/<key>.fetch    held alone while a job checks or downloads the file
    .downloads/locks/<key>.use      held shared by the jobs using the file, alone by an eviction

`key` is the sha256 of "<folder>/<name>". The body is not fsynced before it is placed (that would cost a model's
size in disk writes before the job may go on): a process that dies leaves at most a partial file, never a part of a
file under its name; only a crash of the machine itself can lose bytes the page cache still held. A file in place without a record that still describes it (size and
mtime) was not downloaded by a worker: it is used as it is, never replaced and never evicted."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import stat
import threading
import time
from dataclasses import asdict, dataclass
from typing import Iterator, Optional

from domain.errors import InvalidInput, ModelDownloadFailed, clip, excerpt
from domain.inputs.model_requests import folder_problem, name_problem

PRIVATE = ".downloads"
RECORD_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class ModelPaths:
    """Every path of one model file (`folder/name`), checked to stay inside the download folder."""

    folder: str
    name: str
    key: str
    final: str
    partial: str
    partial_meta: str
    record: str
    fetch_lock: str
    use_lock: str

    @property
    def label(self) -> str:
        return clip(f"{self.folder}/{self.name}")


@dataclass(frozen=True)
class Record:
    """What a worker downloaded to `folder/name`; `size` and `mtime_ns` tell whether the file is still that one."""

    folder: str
    name: str
    source: str
    sha256: str
    size: int
    mtime_ns: int
    downloaded_at: float

    def describes(self, info: os.stat_result) -> bool:
        return info.st_size == self.size and info.st_mtime_ns == self.mtime_ns


class ModelFiles:
    """Paths, records and the placing of finished downloads under one download folder."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.records_dir = os.path.join(self.root, PRIVATE, "records")
        self.partial_dir = os.path.join(self.root, PRIVATE, "partial")
        self.locks_dir = os.path.join(self.root, PRIVATE, "locks")
        for folder in (self.records_dir, self.partial_dir, self.locks_dir):
            os.makedirs(folder, exist_ok=True)
        self._tmp_serial = 0
        self._tmp_lock = threading.Lock()

    def paths(self, folder: str, name: str) -> ModelPaths:
        """The paths of `folder/name`; `InvalidInput` for a refused folder or name, `ModelDownloadFailed` when the
        folder leads outside the download folder through a symbolic link."""
        problem = folder_problem(folder)
        if problem:
            raise InvalidInput(f"model folder {excerpt(folder)} {problem}")
        problem = name_problem(name)
        if problem:
            raise InvalidInput(f"model name {excerpt(name)} (folder {folder}) {problem}")
        key = hashlib.sha256(f"{folder}/{name}".encode()).hexdigest()
        paths = ModelPaths(
            folder=folder,
            name=name,
            key=key,
            final=os.path.join(self.root, folder, *name.split("/")),
            partial=os.path.join(self.partial_dir, key + ".part"),
            partial_meta=os.path.join(self.partial_dir, key + ".json"),
            record=os.path.join(self.records_dir, key + ".json"),
            fetch_lock=os.path.join(self.locks_dir, key + ".fetch"),
            use_lock=os.path.join(self.locks_dir, key + ".use"),
        )
        self._check_inside(paths)
        return paths

    def _check_inside(self, paths: ModelPaths) -> None:
        """The file's folder, once symbolic links are resolved, is exactly `<root>/<folder>/<name's folders>`."""
        real_root = os.path.realpath(self.root)
        expected = os.path.join(real_root, paths.folder, *paths.name.split("/")[:-1])
        if os.path.realpath(os.path.dirname(paths.final)) != expected:
            raise ModelDownloadFailed(
                f"model {paths.label}: its folder leads outside MODEL_DOWNLOAD_DIR/{paths.folder} through a "
                "symbolic link; refused",
                data={"folder": paths.folder, "name": paths.name},
            )

    def stat_final(self, paths: ModelPaths) -> Optional[os.stat_result]:
        """The file in place (a symbolic link followed), None when there is none."""
        try:
            info = os.stat(paths.final)
        except FileNotFoundError:
            if os.path.lexists(paths.final):
                raise InvalidInput(f"model {paths.label}: the name is taken by a broken symbolic link") from None
            return None
        except NotADirectoryError:
            raise InvalidInput(f"model {paths.label}: a part of the name is a file, not a folder") from None
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"model {paths.label}: the name is taken by something that is not a file")
        return info

    def read_record(self, paths: ModelPaths) -> Optional[Record]:
        """The record of `paths`, None when there is none or it cannot be read as one."""
        try:
            with open(paths.record, "rb") as handle:
                data = json.loads(handle.read(RECORD_MAX_BYTES))
            record = Record(**data)
        except (OSError, ValueError, TypeError):
            return None
        if (record.folder, record.name) != (paths.folder, paths.name):
            return None
        return record

    def write_record(self, paths: ModelPaths, record: Record) -> None:
        self.write_json(paths.record, asdict(record))
        self.touch(paths)

    def touch(self, paths: ModelPaths) -> None:
        """The file was used now: its record's mtime, the eviction's order (set from the clock in nanoseconds: a
        time the file system picks itself may be a clock tick coarse, too coarse to order two uses)."""
        now_ns = time.time_ns()
        with contextlib.suppress(OSError):
            os.utime(paths.record, ns=(now_ns, now_ns))

    def write_json(self, path: str, data: dict) -> None:
        """Written whole or not at all: a temporary file beside it, flushed, then renamed over it."""
        with self._tmp_lock:
            self._tmp_serial += 1
            tmp = f"{path}.{os.getpid()}.{self._tmp_serial}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def read_json(self, path: str) -> Optional[dict]:
        try:
            with open(path, "rb") as handle:
                data = json.loads(handle.read(RECORD_MAX_BYTES))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def remove_partial(self, paths: ModelPaths) -> None:
        for path in (paths.partial, paths.partial_meta):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def place(self, paths: ModelPaths) -> os.stat_result:
        """Put the finished partial file under its final name, never over a file already there: a hard link (which
        fails when the name exists), or a rename after a check where the file system has no hard links."""
        before = self.folder_times(paths)
        os.makedirs(os.path.dirname(paths.final), exist_ok=True)
        self._check_inside(paths)
        try:
            os.link(paths.partial, paths.final)
        except FileExistsError:
            raise self._taken(paths) from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
                raise
            if os.path.lexists(paths.final):
                raise self._taken(paths) from None
            os.rename(paths.partial, paths.final)
        else:
            os.unlink(paths.partial)
        self.mark_changed(before)
        return os.stat(paths.final)

    def folder_times(self, paths: ModelPaths) -> dict[str, int]:
        """The mtime of each of the file's folders that exists, from its own up to the model folder."""
        times = {}
        folder = os.path.dirname(paths.final)
        for _ in paths.name.split("/"):
            with contextlib.suppress(OSError):
                times[folder] = os.stat(folder).st_mtime_ns
            folder = os.path.dirname(folder)
        return times

    def mark_changed(self, before: dict[str, int]) -> None:
        """ComfyUI keeps each folder's file list until the folder's mtime changes. A file system whose timestamps are
        coarser than the time between ComfyUI's listing and a file's arrival (whole seconds on some network file
        systems) can leave the mtime as it was, and the file unseen: such a folder's mtime is moved on a second."""
        for folder, mtime_ns in before.items():
            with contextlib.suppress(OSError):
                if os.stat(folder).st_mtime_ns == mtime_ns:
                    later = mtime_ns + 1_000_000_000
                    os.utime(folder, ns=(later, later))

    def _taken(self, paths: ModelPaths) -> ModelDownloadFailed:
        return ModelDownloadFailed(
            f"model {paths.label}: a file appeared under the name while it downloaded; it is left as it is",
            data={"folder": paths.folder, "name": paths.name},
        )

    def records(self) -> Iterator[tuple[str, int]]:
        """(key, last use) of every record."""
        with contextlib.suppress(FileNotFoundError), os.scandir(self.records_dir) as entries:
            for entry in entries:
                if entry.name.endswith(".json") and len(entry.name) == 69:
                    with contextlib.suppress(OSError):
                        yield entry.name[:-5], entry.stat().st_mtime_ns

    def partials(self) -> Iterator[tuple[str, int, int]]:
        """(key, size, last write) of every partial file."""
        with contextlib.suppress(FileNotFoundError), os.scandir(self.partial_dir) as entries:
            for entry in entries:
                if entry.name.endswith(".part") and len(entry.name) == 69:
                    with contextlib.suppress(OSError):
                        info = entry.stat()
                        yield entry.name[:-5], info.st_size, info.st_mtime_ns

    def paths_of_key(self, key: str) -> Optional[ModelPaths]:
        """The paths a record names, None when it names none (or not the key it is filed under)."""
        data = self.read_json(os.path.join(self.records_dir, key + ".json"))
        if data is None:
            return None
        try:
            paths = self.paths(data["folder"], data["name"])
        except (KeyError, InvalidInput, ModelDownloadFailed):
            return None
        return paths if paths.key == key else None

    def lock_paths_of_key(self, key: str) -> tuple[str, str]:
        return os.path.join(self.locks_dir, key + ".fetch"), os.path.join(self.locks_dir, key + ".use")
