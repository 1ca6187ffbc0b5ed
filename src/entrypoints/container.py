"""The composition root: the one place that reads configuration and picks the adapters."""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Callable, Mapping, Optional

import requests

from entrypoints.lean_imports import without_unused_integrations

with without_unused_integrations():
    from dependency_injector import containers, providers

from adapters.comfy_http_api import ComfyHttpApi
from adapters.comfy_log import ComfyLog
from adapters.comfy_view_source import ComfyViewOutputSource
from adapters.comfy_websocket_monitor import ComfyWebsocketMonitor
from adapters.folder_cleaner import FolderCleaner
from adapters.pillow_converter import PillowImageConverter
from adapters.process_liveness import ProcessLiveness
from domain.execution.follow import FollowPolicy
from domain.inputs.limits import InputLimits
from domain.services import Services
from entrypoints import input_kinds, model_downloads, output_stores
from entrypoints.answers import RunPodAnswers
from entrypoints.environment import read_settings
from entrypoints.job_runner import JobRunner
from entrypoints.settings import FolderSettings, Settings

log = logging.getLogger(__name__)


def _comfy_session() -> requests.Session:
    """One keep-alive session to the ComfyUI beside the worker: no proxy or .netrc from the environment, which
    requests would otherwise look up on every call."""
    session = requests.Session()
    session.trust_env = False
    return session


def _overflow_name(settings: Settings) -> str:
    store = output_stores.overflow(settings)
    return store.name if store is not None else "none"


def _store_sinks(settings: providers.Provider) -> dict[str, providers.Provider]:
    """One provider per output store of the table, each made only when it is chosen (or is the overflow)."""
    return {name: providers.Singleton(store.make, settings) for name, store in output_stores.STORES.items()}


def _cleaner(folders: FolderSettings) -> Optional[FolderCleaner]:
    if not folders.active:
        return None
    return FolderCleaner(input_dir=folders.input_dir, output_dir=folders.output_dir, temp_dir=folders.temp_dir)


def _output_folders(cleaner: Optional[FolderCleaner], max_concurrency: int) -> bool:
    """Jobs save into folders of their own (their inputs always are) when their files are deleted, or when several
    are in flight at once."""
    return cleaner is not None or max_concurrency > 1


def _progress(enabled: bool) -> Optional[Callable[[dict, dict], None]]:
    if not enabled:
        return None
    from adapters.runpod_progress import send_progress

    return send_progress


class Container(containers.DeclarativeContainer):
    """Wires the ports to their adapters; `config.output.sink` selects the output store (`output_stores.STORES`)."""

    settings = providers.Dependency(instance_of=Settings)  # the typed settings, given when the container is made
    config = providers.Configuration(strict=True)  # the same `Settings` as a dict: its fields by the same names

    http_session = providers.Singleton(_comfy_session)

    comfy_api = providers.Singleton(
        ComfyHttpApi,
        base_url=config.comfy.base_url,
        session=http_session,
        ready_interval_s=config.comfy.ready_interval_s,
        ready_max_retries=config.comfy.ready_max_retries,
        liveness=providers.Singleton(ProcessLiveness, config.comfy.pid_file),
        log=providers.Singleton(ComfyLog, config.comfy.log_file),
    )

    execution_monitor = providers.Singleton(
        ComfyWebsocketMonitor,
        host=config.comfy.host,
        ping_interval_s=config.websocket.ping_interval_s,
        # a ping unanswered by the time the next one is due means the socket is lost
        pong_timeout_s=config.websocket.ping_interval_s,
        trace=config.websocket.trace,
    )

    follow_policy = providers.Singleton(
        FollowPolicy,
        reconnect_attempts=config.websocket.reconnect_attempts,
        reconnect_delay_s=config.websocket.reconnect_delay_s,
        silence_check_s=config.comfy.silence_check_s,
        stall_timeout_s=config.job.stall_timeout_s,
    )

    output_source = providers.Singleton(ComfyViewOutputSource, base_url=config.comfy.base_url, session=http_session)

    _sinks = _store_sinks(settings)
    output_sink = providers.Selector(config.output.sink, **_sinks)
    overflow_sink = providers.Selector(
        providers.Callable(_overflow_name, settings), none=providers.Object(None), **_sinks
    )

    models = providers.Singleton(model_downloads.model_downloads, settings, comfy_api.provided.folder_paths)

    folder_cleaner = providers.Singleton(_cleaner, providers.Callable(lambda s: s.folders, settings))

    services = providers.Singleton(
        Services,
        comfy=comfy_api,
        monitor=execution_monitor,
        source=output_source,
        sink=output_sink,
        answer_format=providers.Singleton(RunPodAnswers, url_type=providers.Callable(output_stores.url_type, settings)),
        partial_results=config.job.partial_results,
        cleaner=folder_cleaner,
        output_folders=providers.Callable(_output_folders, folder_cleaner, config.job.max_concurrency),
        policy=follow_policy,
        concurrency=config.output.concurrency,
        max_response_bytes=config.output.max_response_bytes,
        overflow=overflow_sink,
        overflow_hint=providers.Callable(output_stores.overflow_hint, settings),
        converter=providers.Singleton(PillowImageConverter, max_pixels=config.output_format.max_pixels),
        readers=providers.Singleton(input_kinds.readers, settings),
        models=models.provided.store,
        models_off=models.provided.off,
        limits=providers.Singleton(
            InputLimits,
            max_input_bytes=config.inputs.max_bytes,
            max_input_files=config.inputs.max_files,
            max_total_input_bytes=config.inputs.max_total_bytes,
        ),
    )

    job_runner = providers.Singleton(
        JobRunner,
        services=services,
        timeout_s=config.job.timeout_s,
        default_api_key=config.comfy.org_api_key,
        refresh_worker=config.job.refresh_worker,
        progress=providers.Callable(_progress, config.job.progress_updates),
        max_concurrency=config.job.max_concurrency,
    )


def build_container(env: Optional[Mapping[str, str]] = None, *, settings: Optional[Settings] = None) -> Container:
    """A container configured from `settings`, else read from `env` (the process environment by default)."""
    if settings is None:
        settings = read_settings(os.environ if env is None else env)
    container = Container(settings=providers.Object(settings))
    container.config.from_dict(dataclasses.asdict(settings))
    return container
