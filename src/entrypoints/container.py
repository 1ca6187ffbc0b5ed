"""The composition root: the one place that reads configuration and picks the adapters."""
from __future__ import annotations

import os
from typing import Mapping, Optional

import requests
from dependency_injector import containers, providers

from adapters.base64_sink import Base64ImageSink
from adapters.comfy_http_api import ComfyHttpApi
from adapters.comfy_view_source import ComfyViewImageSource
from adapters.comfy_websocket_monitor import ComfyWebsocketMonitor, SocketPolicy
from adapters.process_liveness import ProcessLiveness
from adapters.s3_tempfile_sink import S3TempfileImageSink
from entrypoints.settings import read_settings


class Container(containers.DeclarativeContainer):
    """Wires the ports to their adapters; `config.output.sink` selects the image sink."""

    config = providers.Configuration(strict=True)

    http_session = providers.Singleton(requests.Session)

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
        prompt_state=comfy_api.provided.prompt_state,
        policy=providers.Singleton(
            SocketPolicy,
            reconnect_attempts=config.websocket.reconnect_attempts,
            reconnect_delay_s=config.websocket.reconnect_delay_s,
        ),
        trace=config.websocket.trace,
    )

    image_source = providers.Singleton(ComfyViewImageSource, base_url=config.comfy.base_url, session=http_session)

    image_sink = providers.Selector(
        config.output.sink,
        base64=providers.Singleton(Base64ImageSink),
        s3=providers.Singleton(S3TempfileImageSink, bucket_name=config.s3.bucket_name),
    )


def build_container(env: Optional[Mapping[str, str]] = None) -> Container:
    """A container configured from `env` (the process environment by default); `ConfigError` if it is bad."""
    container = Container()
    container.config.from_dict(read_settings(os.environ if env is None else env))
    return container
