"""Reads and checks the worker's configuration from the environment, once, at start (`read_settings`): every bad
value is a `ConfigError` naming its variable."""

from __future__ import annotations

import ipaddress
import json
import math
import re
import time
from typing import Mapping, Optional
from urllib.parse import urlsplit

from adapters.pillow_converter import DEFAULT_MAX_PIXELS
from adapters.url_credentials import credentials
from domain.errors import excerpt
from domain.inputs.limits import DEFAULT_MAX_INPUT_BYTES, DEFAULT_MAX_INPUT_FILES, DEFAULT_MAX_TOTAL_INPUT_BYTES
from entrypoints.output_stores import STORES
from entrypoints.request import MAX_NESTING
from entrypoints.settings import (
    ComfySettings,
    ConfigError,
    FolderSettings,
    InputSettings,
    JobSettings,
    LoggingSettings,
    OutputFormatSettings,
    OutputSettings,
    S3Settings,
    Settings,
    WarmupSettings,
    WebsocketSettings,
)

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
_SECRET_VARIABLES = ("COMFY_ORG_API_KEY", *(name for store in STORES.values() for name in store.secret_variables))
# their user:password part, if any, is a secret too
_URL_VARIABLES = tuple(name for store in STORES.values() for name in store.credential_url_variables)
_SHOWN_CHARS = 100  # of a bad value, in the config_error line every job answers


def read_settings(env: Mapping[str, str]) -> Settings:
    """Every setting, or `ConfigError` naming the first bad variable. An empty value is the same as an unset one."""
    host = comfy_host(env, "COMFY_HOST", "127.0.0.1:8188")
    s3 = _s3(env)
    sink = text(env, "OUTPUT_SINK").lower() or ("s3" if s3.endpoint_url else "base64")
    if sink not in STORES:
        names = " or ".join(f"'{name}'" for name in STORES)
        raise ConfigError("OUTPUT_SINK", f"{_shown(sink)} is not supported: use {names}")
    missing = _missing_bucket_variables(env)
    if sink == "s3" and not s3.configured:
        raise ConfigError(
            "OUTPUT_SINK" if text(env, "OUTPUT_SINK") else missing[0],
            f"S3 output needs {', '.join(missing)}: without them outputs would be written to a local folder "
            "instead of S3",
        )
    if 0 < len(missing) < len(_BUCKET_VARIABLES):
        raise ConfigError(
            missing[0],
            f"S3 is partly configured: {', '.join(missing)} missing (set all of {', '.join(_BUCKET_VARIABLES)}, "
            "or none)",
        )
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
        s3=s3,
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
    )


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The worker's own secrets as set, whether or not the rest of the configuration is valid (to hide from logs)."""
    values = [value for value in (text(env, name) for name in _SECRET_VARIABLES) if value]
    return values + [value for value in (credentials(text(env, name)) for name in _URL_VARIABLES) if value]


def _s3(env: Mapping[str, str]) -> S3Settings:
    """S3 is configured when all three BUCKET_* values are set, whichever sink is chosen (it is the overflow target)."""
    endpoint = bucket_endpoint(env, "BUCKET_ENDPOINT_URL")
    derived = region_from_endpoint(endpoint) if endpoint else None
    region = text(env, "BUCKET_REGION")
    # botocore's own check (utils.validate_region_name), which otherwise fails as the S3 client is made; rp_upload
    # makes its client with the region it reads in the endpoint, whatever BUCKET_REGION says
    if derived is not None and not _REGION.fullmatch(derived):
        raise ConfigError("BUCKET_ENDPOINT_URL", "names no valid region where rp_upload reads one ('.s3.<region>.')")
    if region and not _REGION.fullmatch(region):
        raise ConfigError("BUCKET_REGION", f"{_shown(region)} is not a region name (letters, digits and '-')")
    return S3Settings(
        configured=not _missing_bucket_variables(env),
        endpoint_url=endpoint or None,
        access_key_id=text(env, "BUCKET_ACCESS_KEY_ID") or None,
        secret_access_key=text(env, "BUCKET_SECRET_ACCESS_KEY") or None,
        # rp_upload's default bucket is the month of the upload (time.strftime("%m-%y")); here: the month of the start.
        bucket_name=text(env, "BUCKET_NAME") or time.strftime("%m-%y"),
        region=region or derived,
    )


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


# ---- one checked value each; every error names its variable; empty or blank is unset ----

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_HOST_PORT = re.compile(r"(?P<host>[^\[\]:]+)(?::(?P<port>[0-9]{1,5}))?")
_BRACKETED = re.compile(r"\[(?P<host>[0-9A-Fa-f:.]+)\](?::(?P<port>[0-9]{1,5}))?")
_REGION = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")
_DNS_NAME = re.compile(r"(?:(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)*(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.?")
MAX_WARMUP_WORKFLOW_BYTES = 50_000_000


def folder(env: Mapping[str, str], name: str) -> Optional[str]:
    """An absolute folder path, or None when unset."""
    value = text(env, name)
    if value and not value.startswith("/"):
        raise ConfigError(name, f"{_shown(value)} is not an absolute path")
    return value or None


def text(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def _shown(raw: str) -> str:
    return excerpt(raw, _SHOWN_CHARS)


def comfy_host(env: Mapping[str, str], name: str, default: str) -> str:
    """`host[:port]`; an IPv6 address only in brackets (`[::1]:8188`), a port from 1 to 65535."""
    raw = text(env, name) or default
    problem = f"{_shown(raw)} must be host:port, without a scheme or path (e.g. 127.0.0.1:8188 or [::1]:8188)"
    match = _BRACKETED.fullmatch(raw) or _HOST_PORT.fullmatch(raw)
    if not match:
        raise ConfigError(name, problem)
    host, port = match.group("host"), match.group("port")
    if raw.startswith("["):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigError(name, f"{problem}: {host!r} is not an IPv6 address") from None
    elif not _HOST_NAME.fullmatch(host):
        raise ConfigError(name, problem)
    if port is not None and not 1 <= int(port) <= 65535:
        raise ConfigError(name, f"{_shown(raw)}: the port must be between 1 and 65535")
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
        raise ConfigError(name, f"{_shown(raw)} must be {'a whole number' if integer else 'a number'}") from None
    if not math.isfinite(value):
        raise ConfigError(name, f"{_shown(raw)} must be a finite number")
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"{_shown(raw)} must be at least {minimum}")
    if above is not None and value <= above:
        raise ConfigError(name, f"{_shown(raw)} must be greater than {above}")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"{_shown(raw)} must be at most {maximum}")
    return value


def optional_number(env: Mapping[str, str], name: str) -> Optional[float]:
    if not text(env, name):
        return None
    value = number(env, name, 0)
    if value <= 0:
        raise ConfigError(name, "must be greater than 0 (unset it for no deadline)")
    return value


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = text(env, name).lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(name, f"{_shown(raw)} must be true or false")


def five_x_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A flag worker-comfyui 5.x also reads, read as it does (`value.lower() == "true"`): any other value is false,
    never a mistake."""
    raw = text(env, name).lower()
    return default if not raw else raw == "true"


def level(env: Mapping[str, str], name: str, default: str, names: Mapping[str, str]) -> str:
    raw = text(env, name).upper() or default
    if raw not in names:
        raise ConfigError(name, f"{_shown(text(env, name))} must be one of {', '.join(names)}")
    return names[raw]


def workflow_file(env: Mapping[str, str], name: str) -> Optional[dict]:
    """The API-format workflow JSON object at the path, or None when unset; as large and as deeply nested as a
    job's workflow may be."""
    path = text(env, name)
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_WARMUP_WORKFLOW_BYTES + 1)
    except OSError as exc:
        raise ConfigError(name, f"{_shown(path)} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_WARMUP_WORKFLOW_BYTES:
        raise ConfigError(name, f"{_shown(path)} is larger than {MAX_WARMUP_WORKFLOW_BYTES:,} bytes")
    try:
        workflow = json.loads(raw)
    except RecursionError:  # json's parser gives up at the interpreter's recursion limit
        raise ConfigError(name, f"{_shown(path)} is nested deeper than {MAX_NESTING} levels") from None
    except ValueError as exc:
        raise ConfigError(name, f"{_shown(path)} is not valid JSON: {excerpt(str(exc), _SHOWN_CHARS)}") from None
    if not isinstance(workflow, dict) or not workflow:
        raise ConfigError(name, f"{_shown(path)} must hold a JSON object (a workflow in ComfyUI's API format)")
    if _nesting(workflow) > MAX_NESTING:  # deeper breaks copying the settings, json.dumps and logging later
        raise ConfigError(name, f"{_shown(path)} is nested deeper than {MAX_NESTING} levels")
    return workflow


def _nesting(value: object) -> int:
    """How deep objects and lists nest in `value`, counted without recursion."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        for child in item.values() if isinstance(item, dict) else item if isinstance(item, list) else ():
            if isinstance(child, (dict, list)):
                pending.append((child, depth + 1))
    return deepest


def bucket_endpoint(env: Mapping[str, str], name: str) -> str:
    """An http(s) URL with a host name or address, and no credentials in it (S3 has its own variables for them);
    the value is never echoed, since it may hold credentials."""
    raw = text(env, name)
    if not raw:
        return raw
    if not raw.startswith(("http://", "https://")):
        raise ConfigError(name, "must start with http:// or https://")
    try:
        parts = urlsplit(raw)
        host, _port = parts.hostname or "", parts.port
    except ValueError:
        raise ConfigError(name, "is not a valid URL (its host or port cannot be read)") from None
    if "@" in parts.netloc:
        raise ConfigError(
            name, "must not hold credentials (user:password@): set BUCKET_ACCESS_KEY_ID and BUCKET_SECRET_ACCESS_KEY"
        )
    if not (_DNS_NAME.fullmatch(host) or _is_ipv6(host)) or len(host) > 255 or any(c.isspace() for c in raw):
        raise ConfigError(
            name, "must be a URL with a valid host name and no spaces, e.g. https://s3.us-east-1.amazonaws.com"
        )
    return raw


def _is_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True
