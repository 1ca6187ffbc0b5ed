"""Retired node classes as ComfyUI 0.14.0+ rewrites them before validating a prompt (`GET /node_replacements`),
so that a dry run checks what ComfyUI would run (0.33 app/node_replace_manager.py apply_replacements)."""

from __future__ import annotations

import copy
from typing import Any, Collection, Mapping

from domain.workflow.links import is_link


def with_replacements(
    workflow: Mapping[str, Any], replacements: Mapping[str, Any], known: Collection[str]
) -> dict[str, Any]:
    """The workflow with each node whose class is not `known` but has a replacement rewritten as ComfyUI does: the
    first replacement, only when its class is known; its inputs from `input_mapping` (`set_value`, or the old
    input `old_id`), and the links from it renumbered by `output_mapping`."""
    rewritten = {node_id: node for node_id, node in workflow.items()}
    links_from: dict[str, list[tuple[str, str]]] = {}
    for node_id, node in workflow.items():
        given = node.get("inputs") if isinstance(node, Mapping) else None
        for name, value in given.items() if isinstance(given, Mapping) else ():
            if is_link(value):
                links_from.setdefault(str(value[0]), []).append((str(node_id), name))
    for node_id, node in workflow.items():
        if not isinstance(node, Mapping) or not isinstance(node.get("inputs"), Mapping):
            continue
        class_type = node.get("class_type")
        choices = replacements.get(class_type) if isinstance(class_type, str) and class_type not in known else None
        first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], Mapping) else None
        if first is None or first.get("new_node_id") not in known:
            continue
        mapped: dict[str, Any] = {}
        for mapping in first.get("input_mapping") or ():
            if isinstance(mapping, Mapping) and "set_value" in mapping:
                mapped[str(mapping.get("new_id"))] = mapping["set_value"]
            elif isinstance(mapping, Mapping) and mapping.get("old_id") in node["inputs"]:
                mapped[str(mapping.get("new_id"))] = node["inputs"][mapping["old_id"]]
        rewritten[node_id] = {**node, "class_type": first["new_node_id"], "inputs": mapped}
        for target, name in links_from.get(str(node_id), ()):
            old_slot = workflow[target]["inputs"][name][1]
            for mapping in first.get("output_mapping") or ():
                if isinstance(mapping, Mapping) and mapping.get("old_idx") == old_slot:
                    moved = copy.deepcopy(rewritten[target])
                    moved["inputs"][name] = [moved["inputs"][name][0], mapping.get("new_idx")]
                    rewritten[target] = moved
    return rewritten
