"""Where an input's link really comes from, as the editor's ExecutableNodeDTO resolves it.

Reroutes and other editor nodes pass their input through, a bypassed node hands on the input of the matching
type (the same slot first), subgraph boundaries are crossed both ways, and a subgraph input left unlinked gives
the subgraph node's promoted widget value. The walk is a loop, with a visited set against cycles and a step
budget shared by the whole conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

from domain.errors import InvalidInput, excerpt
from domain.workflow.ui_expand import BYPASS, ExecNode
from domain.workflow.ui_graph import SUBGRAPH_INPUT_ID
from domain.workflow.ui_values import js_string
from domain.workflow.ui_widgets import NO_VALUE

MAX_STEPS = 1_000_000  # link hops for the whole workflow


@dataclass(frozen=True)
class Source:
    """An output of an executable node: `[node_id, slot]` in the prompt."""

    node_id: str
    slot: int


@dataclass(frozen=True)
class Value:
    """A widget value that stands in for the link (a promoted subgraph widget)."""

    value: Any


Resolved = Optional[Union[Source, Value]]


class LinkResolver:
    def __init__(self, nodes: dict[str, ExecNode]) -> None:
        self.nodes = nodes
        self.steps_left = MAX_STEPS

    def resolve_input(self, node: ExecNode, index: int) -> Resolved:
        """What feeds input `index` of `node`: an output, a value, or nothing (the widget's own value stands)."""
        visited: set[tuple[str, str, int]] = set()
        state: tuple[str, ExecNode, int, Any] = ("input", node, index, None)
        while True:
            direction, current, slot, type_ = state
            self._step(node, visited, (current.id, direction, slot))
            if direction == "input":
                step = self._from_input(current, slot, type_)
            else:
                step = self._from_output(current, slot, type_)
            if not isinstance(step, tuple):
                return step
            state = step

    def _from_input(self, node: ExecNode, index: int, type_: Any) -> Union[Resolved, tuple]:
        socket = node.sockets[index]
        if socket.link is None:
            return None
        link = node.graph.link(socket.link, lambda: f"{node.label()} input {excerpt(socket.name, 60)}")
        if node.parent is not None and link.origin == SUBGRAPH_INPUT_ID:
            return self._subgraph_input(node.parent, link.origin_slot, node, socket.name)
        origin = node.parent.children.get(link.origin) if node.parent else self.nodes.get(link.origin)
        if origin is None:
            raise InvalidInput(
                f"{node.label()} input {excerpt(socket.name, 60)}: its link comes from node "
                f"{excerpt(link.origin, 60)}, which is not in the workflow"
            )
        return ("output", origin, link.origin_slot, socket.type if type_ is None else type_)

    def _from_output(self, node: ExecNode, slot: int, type_: Any) -> Union[Resolved, tuple]:
        if node.node.mode == BYPASS:
            matching = bypass_slot(node, slot, type_)
            return None if matching < 0 else ("input", node, matching, None)
        if node.kind == "instance":
            return self._subgraph_output(node, slot, type_)
        if node.kind == "virtual":
            return ("input", node, slot, type_) if slot < len(node.sockets) else None
        return Source(node.id, slot)

    def _subgraph_input(self, instance: ExecNode, k: int, inner: ExecNode, name: str) -> Union[Resolved, tuple]:
        if k >= len(instance.sockets):
            raise InvalidInput(
                f"{inner.label()} input {excerpt(name, 60)}: its link comes from subgraph input {k}, "
                f"which the subgraph node does not have"
            )
        if instance.sockets[k].link is not None:
            return ("input", instance, k, None)
        position = instance.promoted.get(k)
        if position is None or instance.values[position] is NO_VALUE:
            return None  # no promoted widget (or one of a class this ComfyUI lacks): the inner widget's value stands
        return Value(instance.values[position])

    def _subgraph_output(self, instance: ExecNode, slot: int, type_: Any) -> Union[Resolved, tuple]:
        if not instance.active:  # a muted subgraph node: the link stays, and goes with the node
            return Source(instance.id, slot)
        subgraph = instance.subgraph
        assert subgraph is not None
        if slot >= len(subgraph.outputs):
            raise InvalidInput(f"{instance.label()}: a link uses output {slot}, which its subgraph does not have")
        # the first of the output's links that exists (the editor skips ids its subgraph no longer has)
        link_id = next((i for i in subgraph.outputs[slot].link_ids if i in subgraph.graph.links), None)
        if link_id is None:
            return None
        where = f"output {excerpt(subgraph.outputs[slot].name, 60)}"
        link = subgraph.graph.link(link_id, lambda: f"{instance.label()} {where}")
        if link.origin == SUBGRAPH_INPUT_ID:  # an input wired straight to an output
            return self._subgraph_input(instance, link.origin_slot, instance, where)
        inner = instance.children.get(link.origin)
        if inner is None:
            raise InvalidInput(
                f"{instance.label()} {where}: it comes from node {excerpt(link.origin, 60)}, "
                f"which its subgraph does not have"
            )
        return ("output", inner, link.origin_slot, type_)

    def _step(self, node: ExecNode, visited: set, key: tuple[str, str, int]) -> None:
        if key in visited:
            raise InvalidInput(f"{node.label()}: its links go round in a circle (through node {excerpt(key[0], 60)})")
        visited.add(key)
        self.steps_left -= 1
        if self.steps_left < 0:
            raise InvalidInput("the workflow's links are too many or too long to follow")


def bypass_slot(node: ExecNode, slot: int, type_: Any) -> int:
    """The input a bypassed node passes to output `slot` for a consumer of type `type_`, or -1: the same slot if its
    type fits, else the first input of exactly that type, else the first that fits (getBypassSlotIndex)."""
    inputs, outputs = node.sockets, node.output_types
    if slot >= len(outputs):
        return -1
    output_type = outputs[slot]
    if type_ == "*" or type_ == "":
        return slot if len(inputs) > slot else 0 if inputs else -1
    if slot < len(inputs) and fits(inputs[slot].type, output_type) and fits(inputs[slot].type, type_):
        return slot
    for index, socket in enumerate(inputs):
        if socket.type == type_ and type(socket.type) is type(type_):
            return index
    for index, socket in enumerate(inputs):
        if fits(socket.type, output_type) and fits(socket.type, type_):
            return index
    return -1


def fits(type_a: Any, type_b: Any) -> bool:
    """LiteGraph.isValidConnection: `*`, empty or missing types fit anything; `A,B` lists fit any member."""
    if type_a == "" or type_a == "*":
        type_a = 0
    if type_b == "" or type_b == "*":
        type_b = 0
    if not type_a or not type_b or type_a == type_b:
        return True
    text_a, text_b = js_string(type_a).lower(), js_string(type_b).lower()
    if "," not in text_a and "," not in text_b:
        return text_a == text_b
    return any(fits(a, b) for a in text_a.split(",") for b in text_b.split(","))
