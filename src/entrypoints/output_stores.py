"""The output stores the worker answers with, in one table: `OUTPUT_SINK`'s names, how each is made and configured,
which of their settings are secrets, what their answer entries are called, and how to get one for the outputs that
do not fit in RunPod's response. A new store is an adapter and a row here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from adapters.base64_sink import Base64OutputSink
from domain.errors import clip
from domain.ports import OutputSink
from entrypoints import s3_settings
from entrypoints.settings import ConfigError, Settings


@dataclass(frozen=True)
class OutputStore:
    """One store: `inline` stores put the bytes in the answer (base64); the others store them elsewhere and the
    answer's entry gives where, under the `type` `url_type`."""

    name: str
    inline: bool
    make: Callable[[Settings], OutputSink]  # the adapter, made at start (a ConfigError if its settings are refused)
    read: Callable[[Mapping[str, str]], Any] = lambda env: None  # its settings from the environment
    problem: Callable[..., Optional[ConfigError]] = lambda env, chosen, named: None  # (env, chosen=, named=)
    chosen_unnamed: Callable[[Any], bool] = lambda settings: False  # chosen when OUTPUT_SINK names no store
    configured: Callable[[Settings], bool] = lambda settings: True
    url_type: Optional[str] = None
    secret_variables: tuple[str, ...] = ()  # whose values are never logged nor answered
    credential_url_variables: tuple[str, ...] = ()  # URLs whose user:password part is a secret
    overflow_hint: str = ""  # how to configure it, told when an answer is too large for RunPod


def _s3(settings: Settings) -> OutputSink:
    """The S3 sink with its boto3 client made at start, not in the first job; a client boto3 refuses to make is a
    `ConfigError`, whose text the config_error answer redacts."""
    from adapters.s3_sink import S3OutputSink  # boto3 is imported only where S3 is configured

    s3 = settings.s3
    sink = S3OutputSink(
        endpoint_url=s3.endpoint_url or "",
        access_key_id=s3.access_key_id or "",
        secret_access_key=s3.secret_access_key or "",
        bucket_name=s3.bucket_name,
        region=s3.region,
    )
    try:
        sink.prepare()
    except Exception as exc:
        why = f"the S3 client cannot be made from them: {type(exc).__name__}: {clip(str(exc), 300)}"
        raise ConfigError("BUCKET_ENDPOINT_URL, BUCKET_REGION", why) from None
    return sink


STORES: dict[str, OutputStore] = {
    store.name: store
    for store in (
        OutputStore("base64", inline=True, make=lambda settings: Base64OutputSink()),
        OutputStore(
            "s3",
            inline=False,
            make=_s3,
            read=s3_settings.read_s3,
            problem=s3_settings.problem,
            chosen_unnamed=lambda s3: bool(s3.endpoint_url),  # worker-comfyui 5.x: S3 once its endpoint is set
            configured=lambda settings: settings.s3.configured,
            url_type="s3_url",
            secret_variables=("BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY"),
            credential_url_variables=("BUCKET_ENDPOINT_URL",),
            overflow_hint="configure S3 (BUCKET_ENDPOINT_URL...) to get URLs, ",
        ),
    )
}


def chosen(settings: Settings) -> OutputStore:
    """The store `OUTPUT_SINK` names (checked against this table when the settings were read)."""
    return STORES[settings.output.sink]


def overflow(settings: Settings) -> Optional[OutputStore]:
    """With an inline store chosen, the first configured store that is not inline takes what does not fit."""
    if not chosen(settings).inline:
        return None
    return next((store for store in STORES.values() if not store.inline and store.configured(settings)), None)


def url_type(settings: Settings) -> str:
    """The `type` of the entries that give where an output was stored: the chosen store's, else the overflow's."""
    for store in (chosen(settings), overflow(settings)):
        if store is not None and store.url_type:
            return store.url_type
    return "url"


def overflow_hint(settings: Settings) -> str:
    """How to get a store for outputs too large for the answer: the stores that could take them."""
    return "".join(store.overflow_hint for store in STORES.values() if not store.inline)
