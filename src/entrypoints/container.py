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

from adapters.base64_sink import Base64ImageSink
from adapters.comfy_http_api import ComfyHttpApi
from adapters.comfy_view_source import ComfyViewImageSource
from adapters.comfy_websocket_monitor import ComfyWebsocketMonitor
from adapters.folder_cleaner import FolderCleaner
from adapters.http_input_fetcher import HttpInputFetcher, PinningUnavailable
from adapters.pillow_converter import PillowImageConverter
from adapters.process_liveness import ProcessLiveness
from adapters.s3_sink import S3ImageSink
from domain.errors import clip
from domain.execution.follow import FollowPolicy
from domain.run_job import Services
from entrypoints.answers import RunPodAnswerFormat
from entrypoints.job_runner import JobRunner
from entrypoints.settings import ConfigError, Settings, read_settings

log = logging.getLogger(__name__)


def _comfy_session() -> requests.Session:
    """One keep-alive session to the ComfyUI beside the worker: no proxy or .netrc from the environment, which
    requests would otherwise look up on every call."""
    session = requests.Session()
    session.trust_env = False
    return session


def _s3_sink(
    *, endpoint_url: str, access_key_id: str, secret_access_key: str, bucket_name: str, region: Optional[str]
) -> S3ImageSink:
    """The S3 sink with its boto3 client made at start, not in the first job (S3 mode only); a client boto3 refuses
    to make is a `ConfigError`, whose text the config_error answer redacts."""
    sink = S3ImageSink(
        endpoint_url=endpoint_url,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
        bucket_name=bucket_name,
        region=region,
    )
    try:
        sink.prepare()
    except Exception as exc:
        why = f"the S3 client cannot be made from them: {type(exc).__name__}: {clip(str(exc), 300)}"
        raise ConfigError("BUCKET_ENDPOINT_URL, BUCKET_REGION", why) from None
    return sink


def _input_fetcher(*, max_bytes: int, allow_private: bool, fetch_timeout_s: float) -> Optional[HttpInputFetcher]:
    """The URL input fetcher, or None (URL inputs refused) when the installed requests cannot pin connections."""
    try:
        return HttpInputFetcher(max_bytes=max_bytes, allow_private=allow_private, fetch_timeout_s=fetch_timeout_s)
    except PinningUnavailable as exc:
        log.error("URL inputs are refused: %s", exc)
        return None


def _overflow(sink: str, configured: bool, s3: Callable[[], object]) -> Optional[object]:
    """In base64 mode with S3 configured, S3 takes the outputs that do not fit in RunPod's response."""
    return s3() if sink == "base64" and configured else None


def _cleaner(
    input_dir: Optional[str], output_dir: Optional[str], temp_dir: Optional[str], cleanup: bool
) -> Optional[FolderCleaner]:
    if not cleanup or not any((input_dir, output_dir, temp_dir)):
        return None
    return FolderCleaner(input_dir=input_dir, output_dir=output_dir, temp_dir=temp_dir)


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
    """Wires the ports to their adapters; `config.output.sink` selects the image sink."""

    config = providers.Configuration(strict=True)  # `Settings` as a dict: its fields by the same names

    http_session = providers.Singleton(_comfy_session)

    comfy_api = providers.Singleton(
        ComfyHttpApi,
        base_url=config.comfy.base_url,
        session=http_session,
        ready_interval_s=config.comfy.ready_interval_s,
        ready_max_retries=config.comfy.ready_max_retries,
        liveness=providers.Singleton(ProcessLiveness, config.comfy.pid_file),
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

    image_source = providers.Singleton(ComfyViewImageSource, base_url=config.comfy.base_url, session=http_session)

    s3_sink = providers.Singleton(
        _s3_sink,
        endpoint_url=config.s3.endpoint_url,
        access_key_id=config.s3.access_key_id,
        secret_access_key=config.s3.secret_access_key,
        bucket_name=config.s3.bucket_name,
        region=config.s3.region,
    )

    image_sink = providers.Selector(config.output.sink, base64=providers.Singleton(Base64ImageSink), s3=s3_sink)

    overflow_sink = providers.Singleton(_overflow, config.output.sink, config.s3.configured, s3_sink.provider)

    folder_cleaner = providers.Singleton(
        _cleaner, config.folders.input_dir, config.folders.output_dir, config.folders.temp_dir, config.folders.cleanup
    )

    services = providers.Singleton(
        Services,
        comfy=comfy_api,
        monitor=execution_monitor,
        source=image_source,
        sink=image_sink,
        answer=providers.Object(RunPodAnswerFormat()),
        partial_results=config.job.partial_results,
        cleaner=folder_cleaner,
        output_folders=providers.Callable(_output_folders, folder_cleaner, config.job.max_concurrency),
        policy=follow_policy,
        concurrency=config.output.concurrency,
        max_response_bytes=config.output.max_response_bytes,
        overflow=overflow_sink,
        converter=providers.Singleton(PillowImageConverter, max_pixels=config.output_format.max_pixels),
        fetcher=providers.Singleton(
            _input_fetcher,
            max_bytes=config.inputs.max_bytes,
            allow_private=config.inputs.allow_private,
            fetch_timeout_s=config.inputs.fetch_timeout_s,
        ),
        max_input_total_bytes=config.inputs.max_total_bytes,
    )

    job_runner = providers.Singleton(
        JobRunner,
        services=services,
        timeout_s=config.job.timeout_s,
        default_api_key=config.comfy.org_api_key,
        max_input_bytes=config.inputs.max_bytes,
        max_input_files=config.inputs.max_files,
        max_total_input_bytes=config.inputs.max_total_bytes,
        refresh_worker=config.job.refresh_worker,
        progress=providers.Callable(_progress, config.job.progress_updates),
        max_concurrency=config.job.max_concurrency,
    )


def build_container(env: Optional[Mapping[str, str]] = None, *, settings: Optional[Settings] = None) -> Container:
    """A container configured from `settings`, else read from `env` (the process environment by default)."""
    if settings is None:
        settings = read_settings(os.environ if env is None else env)
    container = Container()
    container.config.from_dict(dataclasses.asdict(settings))
    return container
