"""Reads and checks the worker's configuration from the environment, once, at start."""

from __future__ import annotations

import ipaddress
import json
import math
import re
import time
from typing import Any, Mapping, Optional


class ConfigError(ValueError):
    """A configuration value that would make the worker misbehave; the worker must not start."""


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
_BUCKET_VARIABLES = ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY")


def read_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Every setting as a plain dict for the container, or `ConfigError` naming the bad variable."""
    host = comfy_host(env, "COMFY_HOST", "127.0.0.1:8188")
    s3 = _s3(env)
    sink = text(env, "OUTPUT_SINK").lower() or ("s3" if s3["endpoint_url"] else "base64")
    if sink not in ("base64", "s3"):
        raise ConfigError(f"OUTPUT_SINK={sink!r} is not supported: use 'base64' or 's3'")
    if sink == "s3" and not s3["configured"]:
        raise ConfigError(
            f"OUTPUT_SINK=s3 needs {', '.join(_missing_bucket_variables(env))}: without them outputs would be "
            "written to a local folder instead of S3"
        )
    missing = _missing_bucket_variables(env)
    if 0 < len(missing) < len(_BUCKET_VARIABLES):
        raise ConfigError(
            f"S3 is partly configured: {', '.join(missing)} missing (set all of "
            f"{', '.join(_BUCKET_VARIABLES)}, or none)"
        )
    return {
        "comfy": {
            "host": host,
            "base_url": f"http://{host}",
            "ready_interval_s": number(env, "COMFY_API_AVAILABLE_INTERVAL_MS", 50, minimum=1) / 1000.0,
            # 0 = no retry limit: wait as long as ComfyUI's process (PID file) lives, or for ever without one.
            "ready_max_retries": int(number(env, "COMFY_API_AVAILABLE_MAX_RETRIES", 1200, minimum=0, integer=True)),
            "pid_file": text(env, "COMFY_PID_FILE") or None,
            "org_api_key": text(env, "COMFY_ORG_API_KEY") or None,
            "silence_check_s": number(env, "COMFY_SILENCE_CHECK_S", 60, above=0),
        },
        "websocket": {
            "reconnect_attempts": int(number(env, "WEBSOCKET_RECONNECT_ATTEMPTS", 5, minimum=0, integer=True)),
            "reconnect_delay_s": number(env, "WEBSOCKET_RECONNECT_DELAY_S", 3, minimum=0),
            "ping_interval_s": number(env, "WEBSOCKET_PING_INTERVAL_S", 3, above=0),
            "trace": flag(env, "WEBSOCKET_TRACE", False),
        },
        "output": {
            "sink": sink,
            "concurrency": int(number(env, "OUTPUT_CONCURRENCY", 4, minimum=1, maximum=32, integer=True)),
            "max_response_bytes": int(number(env, "MAX_RESPONSE_BYTES", 10_000_000, minimum=1000, integer=True)),
            "stream": flag(env, "STREAM_OUTPUTS", False),
        },
        "s3": s3,
        "inputs": {
            "max_bytes": int(number(env, "INPUT_MAX_BYTES", 50_000_000, minimum=1, integer=True)),
            "allow_private": flag(env, "INPUT_URL_ALLOW_PRIVATE", False),
            "fetch_timeout_s": number(env, "INPUT_FETCH_TIMEOUT_S", 120, above=0),
            "max_files": int(number(env, "INPUT_MAX_FILES", 64, minimum=0, integer=True)),
            "max_total_bytes": int(number(env, "INPUT_MAX_TOTAL_BYTES", 200_000_000, minimum=1, integer=True)),
        },
        "warmup": {"workflow": workflow_file(env, "WARMUP_WORKFLOW")},
        "logging": {
            "level": level(env, "LOG_LEVEL", "INFO", _PYTHON_LEVELS),
            "runpod_level": level(env, "RUNPOD_LOG_LEVEL", "INFO", _RUNPOD_LEVELS),
        },
        "job": {
            "timeout_s": optional_number(env, "JOB_TIMEOUT_S"),
            "stall_timeout_s": number(env, "COMFY_STALL_TIMEOUT_S", 900, above=0),
            "refresh_worker": flag(env, "REFRESH_WORKER", False),
            "progress_updates": bool(env.get("RUNPOD_WEBHOOK_POST_OUTPUT")),
        },
    }


def _s3(env: Mapping[str, str]) -> dict[str, Any]:
    """S3 is configured when all three BUCKET_* values are set, whichever sink is chosen (it is the overflow target)."""
    endpoint = text(env, "BUCKET_ENDPOINT_URL")
    missing = _missing_bucket_variables(env)
    if endpoint and not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"BUCKET_ENDPOINT_URL={endpoint!r} must start with http:// or https://")
    return {
        "configured": not missing,
        "endpoint_url": endpoint or None,
        "access_key_id": text(env, "BUCKET_ACCESS_KEY_ID") or None,
        "secret_access_key": text(env, "BUCKET_SECRET_ACCESS_KEY") or None,
        # rp_upload's default bucket is the month of the upload (time.strftime("%m-%y")); here: the month of the start.
        "bucket_name": text(env, "BUCKET_NAME") or time.strftime("%m-%y"),
        "region": text(env, "BUCKET_REGION") or (region_from_endpoint(endpoint) if endpoint else None),
    }


def _missing_bucket_variables(env: Mapping[str, str]) -> list[str]:
    return [name for name in _BUCKET_VARIABLES if not text(env, name)]


def region_from_endpoint(endpoint_url: str) -> Optional[str]:
    """The region as rp_upload.extract_region_from_url finds it (AWS/Backblaze `.s3.<region>.`, DigitalOcean)."""
    if ".s3." in endpoint_url:
        return endpoint_url.split(".s3.")[1].split(".")[0]
    netloc = endpoint_url.split("://", 1)[-1].split("/", 1)[0]
    if netloc.endswith(".digitaloceanspaces.com"):
        return endpoint_url.split(".")[1].split(".digitaloceanspaces.com")[0]
    return None


# ---- one checked value each; every error names its variable ----

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_HOST_PORT = re.compile(r"(?P<host>[^\[\]:]+)(?::(?P<port>\d+))?")
_BRACKETED = re.compile(r"\[(?P<host>[0-9A-Fa-f:.]+)\](?::(?P<port>\d+))?")


def text(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def comfy_host(env: Mapping[str, str], name: str, default: str) -> str:
    """`host[:port]`; an IPv6 address only in brackets (`[::1]:8188`), a port from 1 to 65535."""
    raw = text(env, name) or default
    problem = f"{name}={raw!r} must be host:port, without a scheme or path (e.g. 127.0.0.1:8188 or [::1]:8188)"
    match = _BRACKETED.fullmatch(raw) or _HOST_PORT.fullmatch(raw)
    if not match:
        raise ConfigError(problem)
    host, port = match.group("host"), match.group("port")
    if raw.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(f"{problem}: {host!r} is not an IPv6 address") from None
    elif not _HOST_NAME.fullmatch(host):
        raise ConfigError(problem)
    if port is not None and not 1 <= int(port) <= 65535:
        raise ConfigError(f"{name}={raw!r}: the port must be between 1 and 65535")
    return raw


def number(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: Optional[float] = None,
    above: Optional[float] = None,
    maximum: Optional[float] = None,
    integer: bool = False,
) -> float:
    """A finite number (`nan` and `inf` refused) within its bounds, or `default` when unset."""
    raw = text(env, name)
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} must be {'a whole number' if integer else 'a number'}") from None
    if not math.isfinite(value):
        raise ConfigError(f"{name}={raw!r} must be a finite number")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    if above is not None and value <= above:
        raise ConfigError(f"{name}={raw!r} must be greater than {above}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={raw!r} must be at most {maximum}")
    return value


def optional_number(env: Mapping[str, str], name: str) -> Optional[float]:
    if not text(env, name):
        return None
    value = number(env, name, 0)
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0 (unset it for no deadline)")
    return value


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")


def level(env: Mapping[str, str], name: str, default: str, names: Mapping[str, str]) -> str:
    raw = text(env, name).upper() or default
    if raw not in names:
        raise ConfigError(f"{name}={env.get(name)!r} must be one of {', '.join(names)}")
    return names[raw]


def workflow_file(env: Mapping[str, str], name: str) -> Optional[dict]:
    """The API-format workflow JSON object at the path, or None when unset."""
    path = text(env, name)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            workflow = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"{name}={path!r} cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{name}={path!r} is not valid JSON: {exc}") from None
    if not isinstance(workflow, dict) or not workflow:
        raise ConfigError(f"{name}={path!r} must hold a JSON object (a workflow in ComfyUI's API format)")
    return workflow
