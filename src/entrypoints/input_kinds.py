"""The kinds of input file a request may give besides inline base64, in one table: the field of an `input.images`
item that gives each, how its value is read into the domain's input, and the reader the container makes for it.
A new kind is an adapter and a row here."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from adapters.http_input_fetcher import HttpInputFetcher, PinningUnavailable
from domain.errors import InvalidInput
from domain.model import FileUrl
from domain.ports import InputReader
from entrypoints.settings import Settings

log = logging.getLogger(__name__)

MAX_URL_CHARS = 8192  # what common HTTP servers accept in a request line


@dataclass(frozen=True)
class InputKind:
    """One kind: `field` names it in an `input.images` item; `parse` reads the field's value (the item's index for
    messages) into the value the use case hands to the kind's reader; `reader` makes that reader at start (None
    when it cannot be had: such inputs are then refused)."""

    field: str
    source_type: type
    parse: Callable[[Any, int], object]
    reader: Callable[[Settings], Optional[InputReader]]


def _url(value: Any, index: int) -> FileUrl:
    if not isinstance(value, str) or not value.lower().startswith(("http://", "https://")):
        raise InvalidInput(f"input.images[{index}].url must be an http:// or https:// URL")
    if len(value) > MAX_URL_CHARS:  # URL parsers hold the interpreter for a second on 10 MB
        raise InvalidInput(f"input.images[{index}].url is longer than {MAX_URL_CHARS} characters")
    return FileUrl(value)


def _url_reader(settings: Settings) -> Optional[InputReader]:
    """The URL input fetcher, or None (URL inputs refused) when the installed requests cannot pin connections."""
    inputs = settings.inputs
    try:
        return HttpInputFetcher(
            max_bytes=inputs.max_bytes, allow_private=inputs.allow_private, fetch_timeout_s=inputs.fetch_timeout_s
        )
    except PinningUnavailable as exc:
        log.error("URL inputs are refused: %s", exc)
        return None


KINDS: dict[str, InputKind] = {kind.field: kind for kind in (InputKind("url", FileUrl, _url, _url_reader),)}


def readers(settings: Settings) -> dict[type, InputReader]:
    """The reader of each kind, by the type of its value; a kind whose reader cannot be had is left out."""
    made = {kind.source_type: kind.reader(settings) for kind in KINDS.values()}
    return {source_type: reader for source_type, reader in made.items() if reader is not None}
