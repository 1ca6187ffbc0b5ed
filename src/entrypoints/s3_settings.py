"""S3's settings, read from worker-comfyui 5.x's BUCKET_* variables: an output store of the table in
`entrypoints.output_stores` (the sink, or where outputs too large for the answer go)."""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass
from typing import Mapping, Optional
from urllib.parse import urlsplit

from entrypoints.settings import ConfigError
from entrypoints.variables import shown, text

BUCKET_VARIABLES = ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY")
_REGION = re.compile(r"(?![0-9]+$)(?!-)[a-zA-Z0-9-]{1,63}(?<!-)")

_DNS_NAME = re.compile(r"(?:(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.)*(?!-)[A-Za-z0-9-]{1,63}(?<!-)\.?")


@dataclass(frozen=True)
class S3Settings:
    configured: bool
    endpoint_url: Optional[str]
    access_key_id: Optional[str]
    secret_access_key: Optional[str]
    bucket_name: str
    region: Optional[str]


def read_s3(env: Mapping[str, str]) -> S3Settings:
    """S3 is configured when all three BUCKET_* values are set, whichever sink is chosen (it is the overflow target)."""
    endpoint = bucket_endpoint(env, "BUCKET_ENDPOINT_URL")
    derived = region_from_endpoint(endpoint) if endpoint else None
    region = text(env, "BUCKET_REGION")
    # botocore's own check (utils.validate_region_name), which otherwise fails as the S3 client is made; rp_upload
    # makes its client with the region it reads in the endpoint, whatever BUCKET_REGION says
    if derived is not None and not _REGION.fullmatch(derived):
        raise ConfigError("BUCKET_ENDPOINT_URL", "names no valid region where rp_upload reads one ('.s3.<region>.')")
    if region and not _REGION.fullmatch(region):
        raise ConfigError("BUCKET_REGION", f"{shown(region)} is not a region name (letters, digits and '-')")
    return S3Settings(
        configured=not missing_variables(env),
        endpoint_url=endpoint or None,
        access_key_id=text(env, "BUCKET_ACCESS_KEY_ID") or None,
        secret_access_key=text(env, "BUCKET_SECRET_ACCESS_KEY") or None,
        # rp_upload's default bucket is the month of the upload (time.strftime("%m-%y")); here: the month of the start.
        bucket_name=text(env, "BUCKET_NAME") or time.strftime("%m-%y"),
        region=region or derived,
    )


def _missing_bucket_variables(env: Mapping[str, str]) -> list[str]:
    return [name for name in BUCKET_VARIABLES if not text(env, name)]


def missing_variables(env: Mapping[str, str]) -> list[str]:
    return [name for name in BUCKET_VARIABLES if not text(env, name)]


def problem(env: Mapping[str, str], *, chosen: bool, named: bool) -> Optional[ConfigError]:
    """What is wrong with S3's variables: chosen (`named` by OUTPUT_SINK, or by its endpoint) without all of them,
    or some of them set and not all."""
    missing = missing_variables(env)
    if chosen and missing:
        return ConfigError(
            "OUTPUT_SINK" if named else missing[0],
            f"S3 output needs {', '.join(missing)}: without them outputs would be written to a local folder "
            "instead of S3",
        )
    if 0 < len(missing) < len(BUCKET_VARIABLES):
        return ConfigError(
            missing[0],
            f"S3 is partly configured: {', '.join(missing)} missing (set all of {', '.join(BUCKET_VARIABLES)}, "
            "or none)",
        )
    return None


def region_from_endpoint(endpoint_url: str) -> Optional[str]:
    """The region as rp_upload.extract_region_from_url finds it (AWS/Backblaze `.s3.<region>.`, DigitalOcean)."""
    if ".s3." in endpoint_url:
        return endpoint_url.split(".s3.")[1].split(".")[0]
    netloc = endpoint_url.split("://", 1)[-1].split("/", 1)[0]
    if netloc.endswith(".digitaloceanspaces.com"):
        return endpoint_url.split(".")[1].split(".digitaloceanspaces.com")[0]
    return None


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
