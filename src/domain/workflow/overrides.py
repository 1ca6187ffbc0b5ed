"""The caller's overrides, applied to the API-format prompt: `{node id or exact title: {input: value}}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.errors import InvalidInput, clip, excerpt

MAX_SHOWN_NAMES = 10


def apply_overrides(
    prompt: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]], object_info: Mapping[str, Any]
) -> dict[str, Any]:
    """The prompt with each override's values set on its node: a node is named by its id or, when no node has that
    id, by its exact title (`_meta.title`, the editor's title); a value replaces a link as it replaces a value.
    An unknown node or input, or a title two nodes share, is `InvalidInput` naming it; nothing is changed then."""
    result = {node_id: dict(node) for node_id, node in prompt.items()}
    titles: dict[str, list[str]] = {}
    for node_id, node in prompt.items():
        title = (node.get("_meta") or {}).get("title") if isinstance(node, Mapping) else None
        if isinstance(title, str):
            titles.setdefault(title, []).append(str(node_id))
    for key, values in overrides.items():
        node_id = _node_named(key, result, titles)
        node = result[node_id]
        known = _input_names(node, object_info)
        unknown = [name for name in values if name not in known]
        if unknown:
            raise InvalidInput(
                f"input.overrides[{excerpt(key)}]: node {clip(node_id)} ({clip(str(node.get('class_type')))}) has no "
                f"input {excerpt(unknown[0])}; its inputs: {_listed(sorted(known))}"
            )
        node["inputs"] = {**(node.get("inputs") or {}), **values}
    return result


def _node_named(key: str, prompt: Mapping[str, Any], titles: Mapping[str, list[str]]) -> str:
    if key in prompt:
        return key
    matches = titles.get(key, [])
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise InvalidInput(
            f"input.overrides[{excerpt(key)}]: nodes {_listed(matches)} share that title: name the node by its id"
        )
    raise InvalidInput(
        f"input.overrides[{excerpt(key)}] names no node of the workflow: use a node id or a node's exact title"
    )


def _input_names(node: Mapping[str, Any], object_info: Mapping[str, Any]) -> set[str]:
    """The inputs a node takes: those its class declares in /object_info, and those the workflow gives it."""
    names = set(node.get("inputs") or {})
    schema = (object_info.get(str(node.get("class_type"))) or {}).get("input") or {}
    for category in ("required", "optional"):
        section = schema.get(category)
        if isinstance(section, Mapping):
            names.update(section)
    return names


def _listed(names: list[str]) -> str:
    shown = ", ".join(excerpt(name, 60) for name in names[:MAX_SHOWN_NAMES])
    return shown + (f" and {len(names) - MAX_SHOWN_NAMES} more" if len(names) > MAX_SHOWN_NAMES else "")
