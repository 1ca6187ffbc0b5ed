"""Reads and checks the worker's configuration from the environment, once, at start."""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional


class ConfigError(ValueError):
    """A configuration value that would make the worker misbehave; the worker must not start."""


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
_HOST = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$|^[A-Za-z0-9.\-]+$")


def read_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Every setting as a plain dict for the container, or `ConfigError` naming the bad variable."""
    host = env.get("COMFY_HOST", "127.0.0.1:8188").strip()
    if not _HOST.match(host):
        raise ConfigError(f"COMFY_HOST={host!r} must be host:port, without a scheme or path (e.g. 127.0.0.1:8188)")
    endpoint = env.get("BUCKET_ENDPOINT_URL", "").strip()
    sink = env.get("OUTPUT_SINK", "").strip().lower() or ("s3" if endpoint else "base64")
    if sink not in ("base64", "s3"):
        raise ConfigError(f"OUTPUT_SINK={sink!r} is not supported: use 'base64' or 's3'")
    if sink == "s3":
        missing = [name for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY")
                   if not env.get(name, "").strip()]
        if missing:
            raise ConfigError(
                f"OUTPUT_SINK=s3 needs {', '.join(missing)}: without them outputs would be written to a "
                "local folder instead of S3"
            )
        if not endpoint.startswith(("http://", "https://")):
            raise ConfigError(f"BUCKET_ENDPOINT_URL={endpoint!r} must start with http:// or https://")
    return {
        "comfy": {
            "host": host,
            "base_url": f"http://{host}",
            "ready_interval_s": _number(env, "COMFY_API_AVAILABLE_INTERVAL_MS", 50, minimum=1) / 1000.0,
            "ready_max_retries": int(_number(env, "COMFY_API_AVAILABLE_MAX_RETRIES", 1200, minimum=1, integer=True)),
            "pid_file": env.get("COMFY_PID_FILE", "").strip() or None,
            "org_api_key": env.get("COMFY_ORG_API_KEY", "").strip() or None,
            "silence_check_s": 60.0,
        },
        "websocket": {
            "ping_interval_s": 5.0,
            "reconnect_attempts": int(_number(env, "WEBSOCKET_RECONNECT_ATTEMPTS", 5, minimum=0, integer=True)),
            "reconnect_delay_s": _number(env, "WEBSOCKET_RECONNECT_DELAY_S", 3, minimum=0),
            "trace": _flag(env, "WEBSOCKET_TRACE", False),
        },
        "output": {"sink": sink, "concurrency": 4, "max_response_bytes": 10_000_000, "stream": False},
        "s3": {"bucket_name": env.get("BUCKET_NAME", "").strip() or None, "configured": sink == "s3"},
        "inputs": {"max_bytes": 50_000_000, "allow_private": _flag(env, "INPUT_URL_ALLOW_PRIVATE", False)},
        "warmup": {"workflow": None},
        "job": {
            "timeout_s": _optional_number(env, "JOB_TIMEOUT_S"),
            "refresh_worker": _flag(env, "REFRESH_WORKER", False),
            "stall_timeout_s": 900.0,
            "progress_updates": bool(env.get("RUNPOD_WEBHOOK_POST_OUTPUT")),
        },
    }


def _number(env: Mapping[str, str], name: str, default: float, *, minimum: float, integer: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name}={raw!r} must be {kind}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _optional_number(env: Mapping[str, str], name: str) -> Optional[float]:
    if not env.get(name, "").strip():
        return None
    value = _number(env, name, 0, minimum=0)
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0 (unset it for no deadline)")
    return value


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} must be true or false")
