"""MODEL_CACHE_MAX_BYTES: the files the workers downloaded (and their partial files) kept under a size, least
recently used evicted first. A file without a record that describes it is never deleted, nor one a job holds
(`.use` lock) or checks or downloads (`.fetch` lock)."""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Optional

from adapters import model_locks
from adapters.model_files import ModelFiles

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Entry:
    key: str
    size: int
    last_use: int  # nanoseconds
    partial: bool


class ModelCache:
    """Evicts downloaded model files to stay under `max_bytes` (no eviction when None)."""

    def __init__(self, files: ModelFiles, max_bytes: Optional[int]) -> None:
        self._files = files
        self.max_bytes = max_bytes

    def make_room(self, needed: int) -> None:
        """Evict until `needed` more bytes fit under the cap, as far as files not in use allow (the caller's own
        download is safe: it holds that file's fetch lock)."""
        if self.max_bytes is None:
            return
        entries = self._entries()
        total = sum(entry.size for entry in entries)
        for entry in sorted(entries, key=lambda e: e.last_use):
            if total + needed <= self.max_bytes:
                return
            if self._evict(entry):
                total -= entry.size
        if total + needed > self.max_bytes:
            log.warning(
                "downloaded models take %d bytes (with %d more to come), over MODEL_CACHE_MAX_BYTES (%d): "
                "the rest are in use",
                total,
                needed,
                self.max_bytes,
            )

    def _entries(self) -> list[_Entry]:
        entries = []
        for key, last_use in self._files.records():
            paths = self._files.paths_of_key(key)
            record = self._files.read_record(paths) if paths else None
            if paths is None or record is None:
                continue
            with contextlib.suppress(OSError):
                info = os.stat(paths.final)
                if record.describes(info):
                    entries.append(_Entry(key, info.st_size, last_use, partial=False))
        entries += [_Entry(key, size, last_write, partial=True) for key, size, last_write in self._files.partials()]
        return entries

    def _evict(self, entry: _Entry) -> bool:
        """Delete the entry's file when no job holds or fetches it; True when it went."""
        fetch_lock, use_lock = self._files.lock_paths_of_key(entry.key)
        with model_locks.if_free(fetch_lock, use_lock) as free:
            if not free:
                return False
            if entry.partial:
                for suffix in (".part", ".json"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(self._files.partial_dir, entry.key + suffix))
                log.info("evicted a partial download (%d bytes)", entry.size)
                return True
            paths = self._files.paths_of_key(entry.key)
            record = self._files.read_record(paths) if paths else None
            if paths is None or record is None:
                return False
            before = self._files.folder_times(paths)
            try:
                if not record.describes(os.stat(paths.final)):
                    return False  # no longer the file a worker downloaded: someone else's now
                os.unlink(paths.final)
            except FileNotFoundError:
                pass
            self._files.mark_changed(before)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(paths.record)
            log.info("evicted model %s (%d bytes, least recently used)", paths.label, entry.size)
            return True
