"""Reads a UI-format workflow (what ComfyUI's editor saves) into checked, immutable graph records."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from domain.errors import InvalidInput, clip, excerpt

# The editor's subgraph boundary nodes: links from a subgraph's inputs start at -10, links to its outputs end at -20.
SUBGRAPH_INPUT_ID = "-10"
SUBGRAPH_OUTPUT_ID = "-20"
MAX_DEFINITIONS_DEPTH = 16  # subgraph definitions saved inside subgraph definitions

LinkId = Union[int, str]


@dataclass(frozen=True)
class UiInput:
    """One input slot as saved: its name, type, the link feeding it and the widget it edits (if any)."""

    name: str
    type: Any
    link: Optional[LinkId]
    widget: Optional[str]


@dataclass(frozen=True)
class UiOutput:
    name: str
    type: Any
    links: tuple


@dataclass(frozen=True)
class UiNode:
    """One node as saved; `key` is its id as the API and links spell it (`str(id)`)."""

    key: str
    type: str
    mode: float
    title: Optional[str]
    inputs: tuple[UiInput, ...]
    outputs: tuple[UiOutput, ...]
    widgets_values: Any  # a list (by position), a dict (by name) or None
    widgets_values_named: Optional[Mapping[str, Any]]
    properties: Mapping[str, Any]


@dataclass(frozen=True)
class UiLink:
    origin: str
    origin_slot: int
    target: str


@dataclass(frozen=True)
class UiGraph:
    """The root graph or a subgraph definition's inside: nodes by key in saved order, raw links by id."""

    nodes: Mapping[str, UiNode]
    links: Mapping[LinkId, Any]

    def peek(self, link_id: Optional[LinkId]) -> Optional[UiLink]:
        """The link if it is present and well formed, else None (for passes that do not resolve it)."""
        if link_id is None or link_id not in self.links:
            return None
        raw = self.links[link_id]
        if isinstance(raw, Mapping):
            origin, slot, target = raw.get("origin_id"), raw.get("origin_slot"), raw.get("target_id")
        elif isinstance(raw, list) and len(raw) >= 5:
            origin, slot, target = raw[1], raw[2], raw[3]
        else:
            return None
        origin_key, target_key = _node_key(origin), _node_key(target)
        if origin_key is None or not isinstance(slot, int) or not _is_index(slot):
            return None
        return UiLink(origin_key, slot, target_key or "")

    def link(self, link_id: LinkId, where: Callable[[], str]) -> UiLink:
        """The link `link_id` as `where()` (the consumer, named) uses it; missing or malformed is the caller's
        error."""
        if link_id not in self.links:
            raise InvalidInput(f"{where()}: link {excerpt(link_id, 40)} is not in the workflow's links")
        link = self.peek(link_id)
        if link is None:
            raise InvalidInput(f"{where()}: link {excerpt(link_id, 40)} is malformed")
        return link


@dataclass(frozen=True)
class SubgraphSlot:
    name: str
    type: Any
    link_ids: tuple[LinkId, ...]


@dataclass(frozen=True)
class SubgraphDef:
    id: str
    name: str
    graph: UiGraph
    inputs: tuple[SubgraphSlot, ...]
    outputs: tuple[SubgraphSlot, ...]


@dataclass(frozen=True)
class UiWorkflow:
    graph: UiGraph
    subgraphs: Mapping[str, SubgraphDef]
    group_node_types: frozenset


def read_workflow(workflow: Mapping) -> UiWorkflow:
    """The workflow's root graph and its subgraph definitions; anything malformed raises `InvalidInput`."""
    if not isinstance(workflow.get("nodes"), list):
        raise InvalidInput("the UI workflow's 'nodes' must be a list")
    graph = _read_graph(workflow.get("nodes"), workflow.get("links"), "the workflow")
    subgraphs: dict[str, SubgraphDef] = {}
    _read_definitions(workflow.get("definitions"), subgraphs, 0)
    extra = workflow.get("extra")
    groups = extra.get("groupNodes") if isinstance(extra, Mapping) else None
    group_types = frozenset(
        f"workflow{sep}{name}" for name in (groups if isinstance(groups, Mapping) else {}) for sep in (">", "/")
    )
    return UiWorkflow(graph, subgraphs, group_types)


def _read_definitions(definitions: Any, into: dict[str, SubgraphDef], depth: int) -> None:
    if definitions is None:
        return
    if not isinstance(definitions, Mapping) or not isinstance(definitions.get("subgraphs", []), list):
        raise InvalidInput("the workflow's 'definitions.subgraphs' must be a list")
    if depth > MAX_DEFINITIONS_DEPTH:
        raise InvalidInput(f"subgraph definitions are nested more than {MAX_DEFINITIONS_DEPTH} deep")
    for index, raw in enumerate(definitions.get("subgraphs", [])):
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not raw.get("id"):
            raise InvalidInput(f"subgraph definition {index} has no id")
        sub_id = raw["id"]
        where = f"subgraph {excerpt(sub_id, 60)}"
        if sub_id not in into:  # the editor keeps the first definition of an id
            into[sub_id] = SubgraphDef(
                id=sub_id,
                name=raw["name"] if isinstance(raw.get("name"), str) else sub_id,
                graph=_read_graph(raw.get("nodes"), raw.get("links"), where),
                inputs=_read_slots(raw.get("inputs"), where, "inputs"),
                outputs=_read_slots(raw.get("outputs"), where, "outputs"),
            )
        _read_definitions(raw.get("definitions"), into, depth + 1)


def _read_slots(raw: Any, where: str, kind: str) -> tuple[SubgraphSlot, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(f"{where}: '{kind}' must be a list")
    slots = []
    for index, slot in enumerate(raw):
        if not isinstance(slot, Mapping) or not isinstance(slot.get("name"), str):
            raise InvalidInput(f"{where}: {kind}[{index}] has no name")
        link_ids = slot.get("linkIds") or []
        if not isinstance(link_ids, list) or not all(_is_link_id(link_id) for link_id in link_ids):
            raise InvalidInput(f"{where}: {kind}[{index}] ({excerpt(slot['name'], 60)}) has malformed linkIds")
        slots.append(SubgraphSlot(slot["name"], slot.get("type"), tuple(link_ids)))
    return tuple(slots)


def _read_graph(raw_nodes: Any, raw_links: Any, where: str) -> UiGraph:
    if raw_nodes is None:
        raw_nodes = []
    if not isinstance(raw_nodes, list):
        raise InvalidInput(f"{where}: 'nodes' must be a list")
    nodes: dict[str, UiNode] = {}
    for index, raw in enumerate(raw_nodes):
        node = _read_node(raw, f"{where}: nodes[{index}]")
        if node.key in nodes:
            raise InvalidInput(f"{where}: two nodes have the id {clip(node.key, 80)}")
        nodes[node.key] = node
    return UiGraph(nodes, _index_links(raw_links, where))


def _index_links(raw_links: Any, where: str) -> dict[LinkId, Any]:
    if raw_links is None:
        return {}
    if isinstance(raw_links, Mapping):  # some savers keep links as an object keyed by id
        raw_links = list(raw_links.values())
    if not isinstance(raw_links, list):
        raise InvalidInput(f"{where}: 'links' must be a list")
    links: dict[LinkId, Any] = {}
    for raw in raw_links:
        link_id = raw.get("id") if isinstance(raw, Mapping) else raw[0] if isinstance(raw, list) and raw else None
        if isinstance(link_id, (int, str)) and _is_link_id(link_id):
            links[link_id] = raw  # a later link with the same id replaces the earlier one, as in the editor
    return links


class _NodeLabel:
    """`node 12 ('KSampler')` for messages, formatted only when one is raised (titles are caller text)."""

    __slots__ = ("key", "title")

    def __init__(self, key: str, title: str) -> None:
        self.key, self.title = key, title

    def __str__(self) -> str:
        return f"node {clip(self.key, 80)} ({excerpt(self.title, 80)})"


def _read_node(raw: Any, where: str) -> UiNode:
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"{where} is not an object")
    key = _node_key(raw.get("id"))
    if key is None:
        raise InvalidInput(f"{where} has no valid id (got {excerpt(raw.get('id'), 40)})")
    node_type, title = raw.get("type"), raw.get("title")
    title = title if isinstance(title, str) and title else None
    if not isinstance(node_type, str) or not node_type:
        raise InvalidInput(f"node {clip(key, 80)} ({excerpt(title, 80)}) has no type")
    label = _NodeLabel(key, title or node_type)
    mode = raw.get("mode", 0)
    if not isinstance(mode, (int, float)) or isinstance(mode, bool):
        raise InvalidInput(f"{label}: 'mode' must be a number")
    values, named = raw.get("widgets_values"), raw.get("widgets_values_named")
    if values is not None and not isinstance(values, (list, Mapping)):
        raise InvalidInput(f"{label}: 'widgets_values' must be a list")
    if named is not None and not isinstance(named, Mapping):
        raise InvalidInput(f"{label}: 'widgets_values_named' must be an object")
    properties = raw.get("properties")
    return UiNode(
        key=key,
        type=node_type,
        mode=mode,
        title=title,
        inputs=_read_inputs(raw.get("inputs"), label),
        outputs=_read_outputs(raw.get("outputs"), label),
        widgets_values=values,
        widgets_values_named=named,
        properties=properties if isinstance(properties, Mapping) else {},
    )


def _read_inputs(raw: Any, label: _NodeLabel) -> tuple[UiInput, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(f"{label}: 'inputs' must be a list")
    inputs = []
    for index, slot in enumerate(raw):
        if not isinstance(slot, Mapping) or not isinstance(slot.get("name"), str):
            raise InvalidInput(f"{label}: inputs[{index}] has no name")
        link = slot.get("link")
        if link is not None and not _is_link_id(link):
            raise InvalidInput(f"{label}: input {excerpt(slot['name'], 60)} has a malformed link {excerpt(link, 40)}")
        widget = slot.get("widget")
        widget_name = widget.get("name") if isinstance(widget, Mapping) else None
        inputs.append(
            UiInput(slot["name"], slot.get("type"), link, widget_name if isinstance(widget_name, str) else None)
        )
    return tuple(inputs)


def _read_outputs(raw: Any, label: _NodeLabel) -> tuple[UiOutput, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput(f"{label}: 'outputs' must be a list")
    outputs = []
    for slot in raw:
        slot = slot if isinstance(slot, Mapping) else {}
        links = slot.get("links")
        name = slot.get("name")
        outputs.append(
            UiOutput(
                name if isinstance(name, str) else "",
                slot.get("type"),
                tuple(link for link in links if _is_link_id(link)) if isinstance(links, list) else (),
            )
        )
    return tuple(outputs)


def _node_key(node_id: Any) -> Optional[str]:
    """A node id as the editor spells it in a prompt (`String(id)`): whole numbers and non-empty text only."""
    if isinstance(node_id, bool):
        return None
    if isinstance(node_id, int):
        return str(node_id)
    if isinstance(node_id, float) and math.isfinite(node_id) and node_id.is_integer() and abs(node_id) < 2**53:
        return str(int(node_id))
    if isinstance(node_id, str) and node_id and len(node_id) <= 200:
        return node_id
    return None


def _is_link_id(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (
        isinstance(value, str) and 0 < len(value) <= 200
    )


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1_000_000
