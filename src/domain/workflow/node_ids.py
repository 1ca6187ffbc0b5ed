"""The order of ComfyUI node ids: numbers by value, then other ids by text, part by part (`"3:12"`)."""

from __future__ import annotations

from typing import Optional


def node_order(node_id: Optional[str]) -> tuple:
    """A sort key for any node id: ids are any JSON key, so none is converted with int()."""
    return tuple(_part_order(part) for part in (node_id or "").split(":"))


def _part_order(part: str) -> tuple:
    # "²" and "①" are digits to str.isdigit but not to int(), and int() refuses over 4300 digits:
    # ASCII digit runs compare by value as (length without leading zeros, text)
    if part.isascii() and part.isdigit():
        number = part.lstrip("0")
        return (0, len(number), number, part)
    return (1, 0, "", part)
