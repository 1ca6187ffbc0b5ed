"""The one reading of a workflow input that names another node's output: `[node_id, output_slot]`."""

from __future__ import annotations

from typing import Any


def is_link(value: Any) -> bool:
    """Whether an API-format input value is a link: a list of two, the second a whole number (not a boolean)."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int) and not isinstance(value[1], bool)
