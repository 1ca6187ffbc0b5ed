"""Reads one checked value each from the environment; every error names its variable, empty or blank is unset."""

from __future__ import annotations

import ipaddress
import json
import math
import re
from typing import Mapping, Optional

from domain.errors import excerpt
from entrypoints.request import MAX_NESTING
from entrypoints.settings import ConfigError

SHOWN_CHARS = 100  # of a bad value, in the config_error line every job answers

_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_HOST_PORT = re.compile(r"(?P<host>[^\[\]:]+)(?::(?P<port>[0-9]{1,5}))?")
_BRACKETED = re.compile(r"\[(?P<host>[0-9A-Fa-f:.]+)\](?::(?P<port>[0-9]{1,5}))?")
MAX_WARMUP_WORKFLOW_BYTES = 50_000_000


def folder(env: Mapping[str, str], name: str) -> Optional[str]:
    """An absolute folder path, or None when unset."""
    value = text(env, name)
    if value and not value.startswith("/"):
        raise ConfigError(name, f"{shown(value)} is not an absolute path")
    return value or None


def text(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "").strip()


def shown(raw: str) -> str:
    """A bad value as a message may echo it."""
    return excerpt(raw, SHOWN_CHARS)


def comfy_host(env: Mapping[str, str], name: str, default: str) -> str:
    """`host[:port]`; an IPv6 address only in brackets (`[::1]:8188`), a port from 1 to 65535."""
    raw = text(env, name) or default
    problem = f"{shown(raw)} must be host:port, without a scheme or path (e.g. 127.0.0.1:8188 or [::1]:8188)"
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
        raise ConfigError(name, f"{shown(raw)}: the port must be between 1 and 65535")
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
        raise ConfigError(name, f"{shown(raw)} must be {'a whole number' if integer else 'a number'}") from None
    if not math.isfinite(value):
        raise ConfigError(name, f"{shown(raw)} must be a finite number")
    if minimum is not None and value < minimum:
        raise ConfigError(name, f"{shown(raw)} must be at least {minimum}")
    if above is not None and value <= above:
        raise ConfigError(name, f"{shown(raw)} must be greater than {above}")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"{shown(raw)} must be at most {maximum}")
    return value


def optional_number(env: Mapping[str, str], name: str) -> Optional[float]:
    if not text(env, name):
        return None
    value = number(env, name, 0)
    if value <= 0:
        raise ConfigError(name, "must be greater than 0 (unset it for no deadline)")
    return value


def optional_whole(env: Mapping[str, str], name: str, *, minimum: int = 1) -> Optional[int]:
    """A whole number of at least `minimum`, or None when unset."""
    if not text(env, name):
        return None
    return int(number(env, name, 0, minimum=minimum, integer=True))


def flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = text(env, name).lower()
    if not raw:
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(name, f"{shown(raw)} must be true or false")


def five_x_flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A flag worker-comfyui 5.x also reads, read as it does (`value.lower() == "true"`): any other value is false,
    never a mistake."""
    raw = text(env, name).lower()
    return default if not raw else raw == "true"


def level(env: Mapping[str, str], name: str, default: str, names: Mapping[str, str]) -> str:
    raw = text(env, name).upper() or default
    if raw not in names:
        raise ConfigError(name, f"{shown(text(env, name))} must be one of {', '.join(names)}")
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
        raise ConfigError(name, f"{shown(path)} cannot be read: {exc.strerror or exc}") from None
    if len(raw) > MAX_WARMUP_WORKFLOW_BYTES:
        raise ConfigError(name, f"{shown(path)} is larger than {MAX_WARMUP_WORKFLOW_BYTES:,} bytes")
    try:
        workflow = json.loads(raw)
    except RecursionError:  # json's parser gives up at the interpreter's recursion limit
        raise ConfigError(name, f"{shown(path)} is nested deeper than {MAX_NESTING} levels") from None
    except ValueError as exc:
        raise ConfigError(name, f"{shown(path)} is not valid JSON: {excerpt(str(exc), SHOWN_CHARS)}") from None
    if not isinstance(workflow, dict) or not workflow:
        raise ConfigError(name, f"{shown(path)} must hold a JSON object (a workflow in ComfyUI's API format)")
    if _nesting(workflow) > MAX_NESTING:  # deeper breaks copying the settings, json.dumps and logging later
        raise ConfigError(name, f"{shown(path)} is nested deeper than {MAX_NESTING} levels")
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
