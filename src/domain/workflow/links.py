"""Links between a workflow's nodes: the one reading of an input that names another node's output (`[node_id,
output_slot]`), which nodes are linked to, and which run."""

from __future__ import annotations

from typing import Any, Mapping


def is_link(value: Any) -> bool:
    """Whether an API-format input value is a link: a list of two, the second a whole number (not a boolean)."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[1], int) and not isinstance(value[1], bool)


def linked_sources(workflow: Mapping[str, Any]) -> set[str]:
    """The nodes some node's input links to."""
    return {
        str(value[0])
        for node in workflow.values()
        if isinstance(node, Mapping) and isinstance(node.get("inputs"), Mapping)
        for value in node["inputs"].values()
        if is_link(value)
    }


def nodes_to_run(workflow: Mapping[str, Any]) -> set[str]:
    """The nodes ComfyUI runs for the prompt's outputs: every node a final (unconsumed) node depends on."""
    consumed = linked_sources(workflow)
    pending = [str(node_id) for node_id in workflow if str(node_id) not in consumed]
    seen: set[str] = set()
    while pending:
        node_id = pending.pop()
        if node_id in seen or node_id not in workflow:
            continue
        seen.add(node_id)
        node = workflow[node_id]
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if isinstance(inputs, Mapping):
            pending.extend(str(value[0]) for value in inputs.values() if is_link(value))
    return seen


def upstream(workflow: Mapping[str, Any], node_id: str) -> list[str]:
    """`node_id` and every node it links to, directly or not."""
    seen: dict[str, None] = {}
    pending = [node_id]
    while pending:
        current = pending.pop()
        if current not in seen:
            seen[current] = None
            pending.extend(_sources(workflow, current))
    return list(seen)


def link_cycle(workflow: Mapping[str, Any]) -> list[str]:
    """A cycle of links, as node ids with the first repeated at the end (`["1", "2", "1"]`), or [] when there is
    none. ComfyUI before 0.20.0 refuses such a prompt without naming a node (its validation recursed until Python's
    limit): this names them."""
    done: set[str] = set()
    for start in workflow:
        if start in done:
            continue
        path, on_path = [str(start)], {str(start)}
        pending = [iter(_sources(workflow, str(start)))]
        while pending:
            source = next(pending[-1], None)
            if source is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                pending.pop()
            elif source in on_path:
                return [*path[path.index(source) :], source]
            elif source not in done and source in workflow:
                path.append(source)
                on_path.add(source)
                pending.append(iter(_sources(workflow, source)))
    return []


def _sources(workflow: Mapping[str, Any], node_id: str) -> list[str]:
    node = workflow.get(node_id)
    inputs = node.get("inputs") if isinstance(node, Mapping) else None
    return [str(value[0]) for value in inputs.values() if is_link(value)] if isinstance(inputs, Mapping) else []
