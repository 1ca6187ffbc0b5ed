"""Credentials written into URLs (`scheme://user:password@host`): hidden in any text, found in one URL."""

from __future__ import annotations

import re
from typing import Optional

HIDDEN = "***"
# From a scheme's '://' to the authority's last '@' (a password may hold a raw '@', as URL parsers read it): the
# authority ends at '/', '?', '#' or whitespace, and at a quote, so that a URL quoted in a repr or in JSON does not
# run into the next value. Each match starts at a '://', whose '/' ends any earlier run: linear in the text's length.
_CREDENTIALS = re.compile(r"(://)[^\s/?#'\"]*@")
_CREDENTIALS_CUT = re.compile(r"(://)[^\s/?#@'\"]*\Z")  # a text cut inside an authority: it may be user:password


def hide_credentials(text: str, *, cut: bool = False) -> str:
    """`text` with the `user:password` of every URL in it replaced by `***`; with `cut` (the text was cut short), an
    authority running to the end of the text is hidden too, since its '@' may be what was cut off."""
    text = _CREDENTIALS.sub(rf"\1{HIDDEN}@", text)
    return _CREDENTIALS_CUT.sub(rf"\1{HIDDEN}", text) if cut else text


def credentials(url: str) -> Optional[str]:
    """What stands between `://` and the last '@' of one URL (its `user:password`, whatever characters the password
    holds), or None: the widest reading, for a value to hide wherever it appears."""
    _, scheme, rest = url.partition("://")
    words = rest.split(None, 1)
    if not scheme or not words:
        return None
    return words[0].rpartition("@")[0] or None
