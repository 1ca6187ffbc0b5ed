"""Reads and checks the worker's configuration from the environment, once, at start (`read_settings`): every bad
value is a `ConfigError` naming its variable."""

from __future__ import annotations

from typing import Mapping

from adapters.pillow_converter import DEFAULT_MAX_PIXELS
from adapters.url_credentials import credentials
from domain.inputs.limits import DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_INPUT_FILES, DEFAULT_MAX_TOTAL_INPUT_BYTES
from entrypoints.output_stores import STORES
from entrypoints.settings import (
    ComfySettings,
    ConfigError,
    FolderSettings,
    InputSettings,
    JobSettings,
    LoggingSettings,
    ModelSettings,
    OutputFormatSettings,
    OutputSettings,
    Settings,
    WarmupSettings,
    WebsocketSettings,
)
from entrypoints.variables import (
    comfy_host,
    five_x_flag,
    flag,
    folder,
    level,
    number,
    optional_number,
    optional_whole,
    shown,
    text,
    workflow_file,
)

DEFAULT_MODEL_MAX_BYTES = 50_000_000_000  # larger than any single checkpoint in common use (a 24 GB fp32 Flux)

# The RunPod SDK's own names (runpod/serverless/modules/rp_logger.py LOG_LEVELS); it has no WARNING or CRITICAL.
_RUNPOD_LEVELS = {
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERROR": "ERROR",
    "CRITICAL": "ERROR",
}
_PYTHON_LEVELS = {
    "DEBUG": "DEBUG",
    "INFO": "INFO",
    "WARN": "WARNING",
    "WARNING": "WARNING",
    "ERROR": "ERROR",
    "CRITICAL": "CRITICAL",
}
_SECRET_VARIABLES = (
    "COMFY_ORG_API_KEY",
    "HF_TOKEN",
    "CIVITAI_TOKEN",
    *(name for store in STORES.values() for name in store.secret_variables),
)
# their user:password part, if any, is a secret too
_URL_VARIABLES = tuple(name for store in STORES.values() for name in store.credential_url_variables)


def read_settings(env: Mapping[str, str]) -> Settings:
    """Every setting, or `ConfigError` naming the first bad variable. An empty value is the same as an unset one."""
    host = comfy_host(env, "COMFY_HOST", "127.0.0.1:8188")
    stores = {name: store.read(env) for name, store in STORES.items()}
    named = text(env, "OUTPUT_SINK").lower()
    sink = named or next((name for name, store in STORES.items() if store.chosen_unnamed(stores[name])), "base64")
    if sink not in STORES:
        names = " or ".join(f"'{name}'" for name in STORES)
        raise ConfigError("OUTPUT_SINK", f"{shown(sink)} is not supported: use {names}")
    for name in sorted(STORES, key=lambda name: name != sink):  # the chosen store's problem first
        problem = STORES[name].problem(env, chosen=name == sink, named=bool(named))
        if problem is not None:
            raise problem
    return Settings(
        comfy=ComfySettings(
            host=host,
            base_url=f"http://{host}",
            # worker-comfyui 5.x waits max(1, value) ms between probes: 0 and below are 1 ms, not a mistake.
            ready_interval_s=max(1.0, number(env, "COMFY_API_AVAILABLE_INTERVAL_MS", 50)) / 1000.0,
            # 5.x reads 0 (and below) as "no limit": the wait lasts while the PID file's process lives, 500 probes
            # without a PID file (5.8.3+).
            ready_max_retries=max(0, int(number(env, "COMFY_API_AVAILABLE_MAX_RETRIES", 1200, integer=True))),
            pid_file=text(env, "COMFY_PID_FILE") or None,
            log_file=text(env, "COMFY_LOG_FILE") or None,
            org_api_key=text(env, "COMFY_ORG_API_KEY") or None,
            silence_check_s=number(env, "COMFY_SILENCE_CHECK_S", 60, above=0),
        ),
        websocket=WebsocketSettings(
            reconnect_attempts=int(number(env, "WEBSOCKET_RECONNECT_ATTEMPTS", 5, minimum=0, integer=True)),
            reconnect_delay_s=number(env, "WEBSOCKET_RECONNECT_DELAY_S", 3, minimum=0),
            ping_interval_s=number(env, "WEBSOCKET_PING_INTERVAL_S", 3, above=0),
            trace=five_x_flag(env, "WEBSOCKET_TRACE", False),
        ),
        output=OutputSettings(
            sink=sink,
            concurrency=int(number(env, "OUTPUT_CONCURRENCY", 4, minimum=1, maximum=32, integer=True)),
            max_response_bytes=int(number(env, "MAX_RESPONSE_BYTES", 10_000_000, minimum=1000, integer=True)),
            stream=flag(env, "STREAM_OUTPUTS", False),
        ),
        s3=stores["s3"],
        output_format=OutputFormatSettings(
            max_pixels=int(number(env, "OUTPUT_FORMAT_MAX_PIXELS", DEFAULT_MAX_PIXELS, minimum=1, integer=True)),
        ),
        inputs=InputSettings(
            max_bytes=int(number(env, "INPUT_MAX_BYTES", DEFAULT_MAX_INPUT_BYTES, minimum=1, integer=True)),
            allow_private=flag(env, "INPUT_URL_ALLOW_PRIVATE", False),
            fetch_timeout_s=number(env, "INPUT_FETCH_TIMEOUT_S", 120, above=0),
            max_files=int(number(env, "INPUT_MAX_FILES", DEFAULT_MAX_INPUT_FILES, minimum=0, integer=True)),
            max_total_bytes=int(
                number(env, "INPUT_MAX_TOTAL_BYTES", DEFAULT_MAX_TOTAL_INPUT_BYTES, minimum=1, integer=True)
            ),
        ),
        warmup=WarmupSettings(workflow=workflow_file(env, "WARMUP_WORKFLOW")),
        logging=LoggingSettings(
            level=level(env, "LOG_LEVEL", "INFO", _PYTHON_LEVELS),
            runpod_level=level(env, "RUNPOD_LOG_LEVEL", "INFO", _RUNPOD_LEVELS),
        ),
        job=JobSettings(
            timeout_s=optional_number(env, "JOB_TIMEOUT_S"),
            stall_timeout_s=number(env, "COMFY_STALL_TIMEOUT_S", 900, above=0),
            refresh_worker=five_x_flag(env, "REFRESH_WORKER", False),
            progress_updates=bool(env.get("RUNPOD_WEBHOOK_POST_OUTPUT")),
            partial_results=flag(env, "PARTIAL_RESULTS", True),
            max_concurrency=int(number(env, "MAX_CONCURRENCY", 1, minimum=1, maximum=8, integer=True)),
        ),
        folders=FolderSettings(
            input_dir=folder(env, "COMFY_INPUT_DIR"),
            output_dir=folder(env, "COMFY_OUTPUT_DIR"),
            temp_dir=folder(env, "COMFY_TEMP_DIR"),
            cleanup=flag(env, "CLEANUP_JOB_FILES", True),
        ),
        models=ModelSettings(
            download_dir=None
            if text(env, "MODEL_DOWNLOAD_DIR").lower() == "off"
            else folder(env, "MODEL_DOWNLOAD_DIR"),
            max_bytes=int(number(env, "MODEL_MAX_BYTES", DEFAULT_MODEL_MAX_BYTES, minimum=1, integer=True)),
            fetch_timeout_s=number(env, "MODEL_FETCH_TIMEOUT_S", 60, above=0),
            cache_max_bytes=optional_whole(env, "MODEL_CACHE_MAX_BYTES"),
            hf_token=text(env, "HF_TOKEN") or None,
            civitai_token=text(env, "CIVITAI_TOKEN") or None,
        ),
    )


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The worker's own secrets as set, whether or not the rest of the configuration is valid (to hide from logs)."""
    values = [value for value in (text(env, name) for name in _SECRET_VARIABLES) if value]
    return values + [value for value in (credentials(text(env, name)) for name in _URL_VARIABLES) if value]
