"""`ModelStore` over the guarded transport and a download folder shared by jobs and workers (MODEL_DOWNLOAD_DIR):
each file downloaded once, behind a per-file lock, placed whole, recorded, and evicted least recently used."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping, Optional, Sequence
from urllib.parse import urlsplit

import requests

from adapters import model_locks
from adapters.guarded_http import GuardedHttp
from adapters.model_cache import ModelCache
from adapters.model_download import CHUNK_BYTES, ModelDownloader, model_failure
from adapters.model_files import ModelFiles, ModelPaths, Record
from adapters.model_tokens import HostTokens
from adapters.ssrf_guard import Guard, Resolver, system_resolver
from domain.budget import Budget
from domain.errors import InvalidInput, ModelDownloadFailed
from domain.inputs.model_requests import (
    BytesListener,
    ModelPlan,
    ModelReady,
    ModelRequest,
    sha256_problem,
    shown_source,
    source_of,
)

log = logging.getLogger(__name__)

MAX_URL_CHARS = 8192


@dataclass(frozen=True)
class _Found:
    size: int
    ours: bool  # a worker downloaded it (its record describes it)


class HttpModelStore:
    """Model files under `root`, downloaded over http(s) with the SSRF guard (`allow_private` as for input URLs).

    `fetch_timeout_s` bounds connecting and any spell without a whole chunk (1 MiB) of the body; the job's budget
    bounds the whole. `comfy_folder_paths` gives ComfyUI's folders for each model folder name in its search order
    (`GET /internal/folder_paths`); with it, a file ComfyUI finds in another of them is used as it is, and a download
    goes nowhere ComfyUI does not look (when it answers None, ComfyUI did not say: nothing is checked, and it is asked
    again next time). Construction fails with `PinningUnavailable` when requests cannot pin
    connections."""

    def __init__(
        self,
        root: str,
        *,
        max_bytes: int,
        fetch_timeout_s: float,
        allow_private: bool,
        cache_max_bytes: Optional[int] = None,
        hf_token: Optional[str] = None,
        civitai_token: Optional[str] = None,
        max_redirects: int = 10,
        comfy_folder_paths: Optional[Callable[[], Optional[Mapping[str, Sequence[str]]]]] = None,
        session: Optional[requests.Session] = None,
        resolver: Resolver = system_resolver,
        guard: Optional[Guard] = None,
    ) -> None:
        self._files = ModelFiles(root)
        self._comfy_folder_paths = comfy_folder_paths
        self._known_folder_paths: Optional[dict[str, list[str]]] = None
        http = GuardedHttp(
            allow_private=allow_private,
            connect_timeout_s=fetch_timeout_s,
            read_timeout_s=fetch_timeout_s,
            max_redirects=max_redirects,
            session=session,
            resolver=resolver,
            guard=guard,
        )
        tokens = HostTokens(hugging_face=hf_token, civitai=civitai_token)
        self._downloader = ModelDownloader(http, self._files, max_bytes, fetch_timeout_s, tokens)
        self._cache = ModelCache(self._files, cache_max_bytes)
        self._hashes: dict[tuple[int, int, int, int], str] = {}
        self._hashes_lock = threading.Lock()

    def plan(self, request: ModelRequest) -> ModelPlan:
        paths = self._paths(request)
        return "present" if self._found(request, paths, None) else "fetch"

    def ensure(self, request: ModelRequest, budget: Budget, on_progress: BytesListener) -> ModelReady:
        started = time.monotonic()
        paths = self._paths(request)
        waiting = _OtherDownload(self._files, paths, on_progress)
        doing = f"waiting for another job's download of model {paths.label}"
        with model_locks.exclusive(paths.fetch_lock, budget, doing, waiting.report):
            found = self._found(request, paths, budget)
            if found:
                if found.ours:
                    self._files.touch(paths)
                return ModelReady(request, "cached", found.size, time.monotonic() - started)
            streamed = self._downloader.download(
                request, paths, budget, on_progress, lambda n: self._room(request, paths, n)
            )
            want = _wanted(request)
            if want and streamed.sha256 != want:
                self._files.remove_partial(paths)
                raise model_failure(
                    request, paths, f"its sha256 is {streamed.sha256}, not {want} as asked; the download was deleted"
                )
            try:
                info = self._files.place(paths)
            except ModelDownloadFailed:
                self._files.remove_partial(paths)
                raise
            record = Record(
                paths.folder,
                paths.name,
                source_of(request.url),
                streamed.sha256,
                info.st_size,
                info.st_mtime_ns,
                time.time(),
            )
            self._files.write_record(paths, record)
            self._files.remove_partial(paths)
            self._cache.make_room(0)
        seconds = time.monotonic() - started
        log.info("model %s: downloaded from %s (%d bytes, %.1f s)", paths.label, record.source, info.st_size, seconds)
        return ModelReady(request, "downloaded", info.st_size, seconds, streamed.moved)

    @contextlib.contextmanager
    def in_use(self, requests: Iterable[ModelRequest]) -> Iterator[None]:
        held = {paths.key: paths for paths in (self._files.paths(r.folder, r.name) for r in requests)}
        with contextlib.ExitStack() as stack:
            for paths in held.values():
                stack.enter_context(model_locks.shared(paths.use_lock))
            try:
                yield
            finally:
                for paths in held.values():
                    self._files.touch(paths)

    def _paths(self, request: ModelRequest) -> ModelPaths:
        paths = self._files.paths(request.folder, request.name)
        if len(request.url) > MAX_URL_CHARS:
            raise InvalidInput(f"model {paths.label}: the URL is longer than {MAX_URL_CHARS} characters")
        try:
            parts = urlsplit(request.url)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            usable = False
        if not usable:
            raise InvalidInput(f"model {paths.label}: {shown_source(request.url)} is not an http:// or https:// URL")
        if request.sha256 is not None and sha256_problem(request.sha256):
            raise InvalidInput(f"model {paths.label}: sha256 {sha256_problem(request.sha256)}")
        return paths

    def _found(self, request: ModelRequest, paths: ModelPaths, budget: Optional[Budget]) -> Optional[_Found]:
        """The file ComfyUI would load for the request, when there is one that may serve it; `InvalidInput` when the
        name is taken by another file."""
        elsewhere = self._elsewhere(paths)
        if elsewhere is not None:
            return self._not_ours(request, paths, elsewhere, os.stat(elsewhere), budget)
        info = self._files.stat_final(paths)
        if info is None:
            return None
        record = self._files.read_record(paths)
        want = _wanted(request)
        if record is None or not record.describes(info):
            return self._not_ours(request, paths, paths.final, info, budget)
        if want == record.sha256:
            return _Found(info.st_size, ours=True)  # the very bytes asked for, from whichever URL
        if want or record.source != source_of(request.url):
            asked = f"{shown_source(request.url)}" + (f" (sha256 {want})" if want else "")
            raise InvalidInput(
                f"model {paths.label} was downloaded from {record.source} (sha256 {record.sha256}); this job "
                f"asks for it from {asked}. A file other jobs may use is never replaced: give it another name"
            )
        return _Found(info.st_size, ours=True)

    def _not_ours(
        self, request: ModelRequest, paths: ModelPaths, path: str, info: os.stat_result, budget: Optional[Budget]
    ) -> _Found:
        """A file no worker downloaded: used as it is when its sha256 is the one asked for (or none is)."""
        want = _wanted(request)
        if want:
            actual = self._sha_of(paths, path, info, budget)
            if actual != want:
                raise InvalidInput(
                    f"model {paths.label} is already there (not downloaded by a worker) with sha256 {actual}, not "
                    f"{want} as asked; it is never replaced: give the download another name"
                )
        return _Found(info.st_size, ours=False)

    def _elsewhere(self, paths: ModelPaths) -> Optional[str]:
        """The file ComfyUI finds first for `folder/name` when it is in another of ComfyUI's folders than
        MODEL_DOWNLOAD_DIR's (a download there would not be loaded, or would hide it from the jobs that use it)."""
        search = self._search_paths(paths)
        if search is None:
            return None
        ours = os.path.realpath(os.path.join(self._files.root, paths.folder))
        if ours not in search:
            raise model_failure_of(
                paths,
                f"ComfyUI does not look in MODEL_DOWNLOAD_DIR/{paths.folder} for {paths.folder} models (its "
                "extra_model_paths.yaml does not name it): nothing is downloaded where ComfyUI would not see it",
            )
        for folder in search:
            candidate = os.path.join(folder, *paths.name.split("/"))
            if os.path.isfile(candidate):
                return None if folder == ours else candidate
        return None

    def _search_paths(self, paths: ModelPaths) -> Optional[list[str]]:
        """ComfyUI's folders for `paths.folder` in its search order (resolved), None when not told them."""
        if self._comfy_folder_paths is None:
            return None
        if self._known_folder_paths is None:
            told = self._comfy_folder_paths()
            if told is None:
                return None  # ComfyUI did not say: asked again next time
            self._known_folder_paths = {
                folder: [os.path.realpath(path) for path in found] for folder, found in told.items()
            }
        search = self._known_folder_paths.get(paths.folder)
        if search is None:
            raise InvalidInput(f"model folder {paths.folder!r} is not one of ComfyUI's model folders")
        return search

    def _sha_of(self, paths: ModelPaths, path: str, info: os.stat_result, budget: Optional[Budget]) -> str:
        """The sha256 of a file found in place, read once per version of the file (device, inode, size, mtime)."""
        key = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        with self._hashes_lock:
            known = self._hashes.get(key)
        if known:
            return known
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                hasher.update(chunk)
                if budget is not None:
                    budget.check(f"checking the sha256 of model {paths.label}")
        with self._hashes_lock:
            self._hashes[key] = hasher.hexdigest()
        return hasher.hexdigest()

    def _room(self, request: ModelRequest, paths: ModelPaths, needed: Optional[int]) -> None:
        """Before the body: evict for it, and fail early when it cannot fit."""
        if needed is None:
            return
        cap = self._cache.max_bytes
        if cap is not None and needed > cap:
            raise model_failure(request, paths, f"{needed} bytes is over MODEL_CACHE_MAX_BYTES ({cap} bytes)")
        self._cache.make_room(needed)
        free = shutil.disk_usage(self._files.root).free
        if free < needed:
            raise model_failure(
                request, paths, f"{needed} bytes to download, only {free} bytes free in MODEL_DOWNLOAD_DIR"
            )


class _OtherDownload:
    """While another job downloads the file: its partial file's growth, told to this job's progress."""

    def __init__(self, files: ModelFiles, paths: ModelPaths, on_progress: BytesListener) -> None:
        self._files, self._paths, self._on_progress = files, paths, on_progress
        self._last = -1

    def report(self) -> None:
        if self._last == -1:
            log.info("model %s: another job is downloading it or checking it; waiting", self._paths.label)
            self._last = -2
        try:
            size = os.path.getsize(self._paths.partial)
        except OSError:
            return
        if size == self._last:
            return
        self._last = size
        meta = self._files.read_json(self._paths.partial_meta) or {}
        total = meta.get("total")
        self._on_progress(size, total if isinstance(total, int) else None)


def _wanted(request: ModelRequest) -> Optional[str]:
    return request.sha256.lower() if request.sha256 else None


def model_failure_of(paths: ModelPaths, reason: str) -> ModelDownloadFailed:
    return ModelDownloadFailed(f"model {paths.label}: {reason}", data={"folder": paths.folder, "name": paths.name})
