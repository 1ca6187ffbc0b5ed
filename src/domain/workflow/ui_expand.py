"""Flattens a UI workflow into its executable nodes, the way the editor's graphToPrompt sees them.

Each node gets its execution id (UI ids along the path of subgraph instances, joined by ':'), its live input
sockets and its widgets' values after what the editor does before it serialises: promoted subgraph widgets
written into the widgets they stand for, and PrimitiveNode values copied into the widgets they feed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

from domain.errors import InvalidInput, clip, excerpt
from domain.workflow.ui_graph import SUBGRAPH_INPUT_ID, SubgraphDef, UiGraph, UiInput, UiNode, UiWorkflow
from domain.workflow.ui_values import SAVE_NODE_CLASSES
from domain.workflow.ui_widgets import NO_VALUE, NodeLayout, cached_layout, saved_values

VIRTUAL_TYPES = frozenset({"Note", "MarkdownNote", "PrimitiveNode", "Reroute"})  # the editor's own nodes
NEVER, BYPASS = 2, 4  # LGraphEventMode: muted, bypassed
REPLACE_PROPERTY = "Run widget replace on values"  # a PrimitiveNode property
SEARCH_NAME_PROPERTY = "Node name for S&R"  # what `%Name.widget%` looks for first, before titles

MAX_SUBGRAPH_DEPTH = 16
MAX_NODES = 20_000  # executable nodes after expansion: subgraph instances multiply their definitions' nodes


class Socket:
    """A live input: name, type, the link feeding it, and the widget it edits."""

    __slots__ = ("link", "name", "type", "widget")

    def __init__(self, name: str, type_: Any, link: Any, widget: Optional[str]) -> None:
        self.name, self.type, self.link, self.widget = name, type_, link, widget


class ExecNode:
    """One node of the flattened graph; `values` holds its widgets' current values by widget position."""

    def __init__(self, node: UiNode, graph: UiGraph, path: tuple[str, ...], parent: Optional[ExecNode]) -> None:
        self.node, self.graph, self.path, self.parent = node, graph, path, parent
        self.id = ":".join(path)
        self.kind = "missing"  # "class" (in /object_info), "missing", "virtual" or "instance"
        self.layout: Optional[NodeLayout] = None
        self.subgraph: Optional[SubgraphDef] = None
        self.active = True  # for an instance: its inside is expanded (not muted or bypassed)
        self.sockets: list[Socket] = []
        self.output_types: tuple = ()
        self.widget_names: list[str] = []
        self.values: list[Any] = []
        self.promoted: dict[int, int] = {}  # instance: subgraph input -> widget position
        self.children: dict[str, ExecNode] = {}
        self.shown_title = node.title or node.type  # the title the editor shows (set once the kind is known)

    @property
    def muted_or_bypassed(self) -> bool:
        return self.node.mode in (NEVER, BYPASS)

    def title_from(self, object_info: Mapping) -> str:
        """The title the editor shows: the saved one, else the subgraph's name or the class's display name."""
        if self.node.title:
            return self.node.title
        if self.subgraph is not None:
            return self.subgraph.name
        info = object_info.get(self.node.type) if self.kind == "class" else None
        display = info.get("display_name") if isinstance(info, Mapping) else None
        return display if isinstance(display, str) and display else self.node.type

    def widget_index(self, name: Optional[str]) -> Optional[int]:
        if name is None:
            return None
        for index, widget_name in enumerate(self.widget_names):
            if widget_name == name:
                return index
        return None

    def label(self) -> str:
        """`node 12 ('KSampler')`, `node 3 ('VAE Decode') in subgraph node 7` for messages (titles are caller text)."""
        where = f" in subgraph node {clip(':'.join(self.path[:-1]), 80)}" if self.parent else ""
        return f"node {clip(self.node.key, 80)} ({excerpt(self.shown_title, 80)}){where}"


class Expansion:
    """Builds the executable nodes of a workflow against /object_info."""

    def __init__(self, workflow: UiWorkflow, object_info: Mapping, replace_text: Callable[[str], str]) -> None:
        self.workflow, self.object_info, self.replace_text = workflow, object_info, replace_text
        self.nodes: dict[str, ExecNode] = {}  # every executable node by execution id, in expansion order
        self._layouts: dict[str, NodeLayout] = {}
        self._base: dict[int, list] = {}  # saved widget values per UI node (a definition's nodes are shared)
        self._sources: dict[str, list[tuple[int, str, str]]] = {}  # promoted widgets per subgraph definition
        self._by_search_name: dict[str, ExecNode] = {}  # the first node of each search name, and of each title
        self._by_title: dict[str, ExecNode] = {}

    def find_named(self, name: str) -> Optional[ExecNode]:
        """The node `%name.widget%` means: the first whose "Node name for S&R" is `name`, else whose title is."""
        return self._by_search_name.get(name) or self._by_title.get(name)

    def expand(self) -> dict[str, ExecNode]:
        self._instantiate(self.workflow.graph, (), None, ())
        return self.nodes

    def layout(self, class_type: str) -> NodeLayout:
        if class_type not in self._layouts:
            self._layouts[class_type] = cached_layout(class_type, self.object_info[class_type])
        return self._layouts[class_type]

    def _instantiate(
        self, graph: UiGraph, prefix: tuple[str, ...], parent: Optional[ExecNode], inside: tuple[str, ...]
    ) -> None:
        siblings: dict[str, ExecNode] = {}
        for node in graph.nodes.values():
            exec_node = self._exec_node(node, graph, (*prefix, node.key), parent)
            if exec_node.id in self.nodes:
                raise InvalidInput(f"{exec_node.label()}: its id {excerpt(exec_node.id, 80)} is used twice")
            if len(self.nodes) >= MAX_NODES:
                raise InvalidInput(f"the workflow has more than {MAX_NODES:,} nodes once its subgraphs are expanded")
            self.nodes[exec_node.id] = siblings[node.key] = exec_node
            self._by_title.setdefault(exec_node.shown_title, exec_node)
            search_name = _search_name(exec_node)
            if search_name is not None:
                self._by_search_name.setdefault(search_name, exec_node)
        if parent is not None:
            parent.children = siblings
            self._take_promoted_values(parent, siblings.values())
        consumers: dict[str, list[tuple[ExecNode, Socket]]] = {}  # who each node feeds, for the primitives
        for exec_node in siblings.values():
            for socket in exec_node.sockets:
                link = graph.peek(socket.link)
                if link is not None and link.origin in siblings:
                    consumers.setdefault(link.origin, []).append((exec_node, socket))
        for exec_node in siblings.values():
            if exec_node.node.type == "PrimitiveNode":
                self._apply_primitive(exec_node, consumers.get(exec_node.node.key, []))
        for exec_node in siblings.values():
            if exec_node.kind != "instance" or not exec_node.active:
                continue
            subgraph = exec_node.subgraph
            assert subgraph is not None
            if subgraph.id in inside:
                raise InvalidInput(f"{exec_node.label()}: subgraph {excerpt(subgraph.name, 80)} contains itself")
            if len(inside) >= MAX_SUBGRAPH_DEPTH:
                raise InvalidInput(f"{exec_node.label()}: subgraphs are nested more than {MAX_SUBGRAPH_DEPTH} deep")
            self._instantiate(subgraph.graph, exec_node.path, exec_node, (*inside, subgraph.id))

    def _exec_node(self, node: UiNode, graph: UiGraph, path: tuple[str, ...], parent: Optional[ExecNode]) -> ExecNode:
        exec_node = ExecNode(node, graph, path, parent)
        saved = _inputs_by_name(node.inputs)
        subgraph = self.workflow.subgraphs.get(node.type)
        if subgraph is not None:
            exec_node.kind, exec_node.subgraph = "instance", subgraph
            exec_node.active = not exec_node.muted_or_bypassed
            sources = self._promoted_sources(subgraph, ())
            promoted = {k for k, _key, _widget in sources}
            exec_node.sockets = [
                Socket(slot.name, slot.type, _link(saved.get(slot.name)), slot.name if k in promoted else None)
                for k, slot in enumerate(subgraph.inputs)
            ]
            exec_node.output_types = tuple(slot.type for slot in subgraph.outputs)
            exec_node.widget_names = [subgraph.inputs[k].name for k, _key, _widget in sources]
            exec_node.values = list(self._base_values(node, subgraph=subgraph))
            exec_node.promoted = {k: position for position, (k, _key, _widget) in enumerate(sources)}
        elif node.type in VIRTUAL_TYPES:
            exec_node.kind = "virtual"
            exec_node.sockets = [Socket(i.name, i.type, i.link, i.widget) for i in node.inputs]
            exec_node.output_types = tuple(output.type for output in node.outputs)
        elif isinstance(self.object_info.get(node.type), Mapping):
            layout = self.layout(node.type)
            exec_node.kind, exec_node.layout = "class", layout
            exec_node.sockets = [Socket(s.name, s.type, _link(saved.get(s.name)), s.widget) for s in layout.sockets]
            known = {socket.name for socket in layout.sockets}
            exec_node.sockets += [Socket(i.name, i.type, i.link, None) for i in node.inputs if i.name not in known]
            # the editor keeps saved outputs past the definition's (zip of both lists)
            exec_node.output_types = layout.output_types + tuple(
                o.type for o in node.outputs[len(layout.output_types) :]
            )
            exec_node.widget_names = [widget.name for widget in layout.widgets]
            exec_node.values = list(self._base_values(node))
        else:  # a class this ComfyUI lacks: sent as saved, so ComfyUI names it
            exec_node.sockets = [Socket(i.name, i.type, i.link, None) for i in node.inputs]
            exec_node.output_types = tuple(output.type for output in node.outputs)
        exec_node.shown_title = exec_node.title_from(self.object_info)
        return exec_node

    def _base_values(self, node: UiNode, subgraph: Optional[SubgraphDef] = None) -> list:
        """The node's widget values as loaded from the save (shared by every instance of a definition)."""
        cached = self._base.get(id(node))
        if cached is not None:
            return cached
        if subgraph is None:
            layout = self.layout(node.type)
            values = saved_values(layout, node.widgets_values, node.widgets_values_named)
            sampler = layout.widget_index("sampler_name") if node.type in ("KSampler", "KSamplerAdvanced") else None
            if sampler is not None and isinstance(values[sampler], str) and values[sampler].startswith("sample_"):
                values[sampler] = values[sampler][len("sample_") :]  # the editor's fix for the oldest saves
        else:
            values = self._promoted_base_values(node, subgraph)
        self._base[id(node)] = values
        return values

    def _promoted_base_values(self, node: UiNode, subgraph: SubgraphDef) -> list:
        # a subgraph node's widgets_values: one value per promoted input in the definition's input order; newer
        # editors accept an extra value after a promoted widget with a control companion when the list is longer
        sources = self._promoted_sources(subgraph, ())
        values = node.widgets_values
        named = node.widgets_values_named if isinstance(node.widgets_values_named, Mapping) else {}
        by_name = values if isinstance(values, Mapping) else {}
        positional = values if isinstance(values, list) else []
        extra_slots = len(positional) > len(sources)
        result, position = [], 0
        for k, key, widget in sources:
            name = subgraph.inputs[k].name
            value = self._source_value(subgraph, key, widget)
            if position < len(positional):
                value = positional[position]
            if name in by_name:
                value = by_name[name]
            if name in named:
                value = named[name]
            result.append(value)
            position += 2 if extra_slots and self._source_has_control(subgraph, key, widget, ()) else 1
        return result

    def _source_value(self, subgraph: SubgraphDef, key: str, widget: str) -> Any:
        inner = subgraph.graph.nodes[key]
        inner_sub = self.workflow.subgraphs.get(inner.type)
        if inner_sub is None and not isinstance(self.object_info.get(inner.type), Mapping):
            return NO_VALUE
        if inner_sub is not None:
            values, names = self._base_values(inner, inner_sub), self._promoted_names(inner_sub)
        else:
            values, names = self._base_values(inner), [w.name for w in self.layout(inner.type).widgets]
        return values[names.index(widget)] if widget in names else NO_VALUE

    def _source_has_control(self, subgraph: SubgraphDef, key: str, widget: str, seen: tuple[str, ...]) -> bool:
        inner = subgraph.graph.nodes[key]
        inner_sub = self.workflow.subgraphs.get(inner.type)
        if inner_sub is None and not isinstance(self.object_info.get(inner.type), Mapping):
            return False
        if inner_sub is None:
            layout = self.layout(inner.type)
            index = layout.widget_index(widget)
            return index is not None and layout.widgets[index].has_control
        if inner_sub.id in seen or len(seen) >= MAX_SUBGRAPH_DEPTH:
            return False
        for k, inner_key, inner_widget in self._promoted_sources(inner_sub, ()):
            if inner_sub.inputs[k].name == widget:
                return self._source_has_control(inner_sub, inner_key, inner_widget, (*seen, inner_sub.id))
        return False

    def _promoted_names(self, subgraph: SubgraphDef) -> list[str]:
        return [subgraph.inputs[k].name for k, _key, _widget in self._promoted_sources(subgraph, ())]

    def _promoted_sources(self, subgraph: SubgraphDef, seen: tuple[str, ...]) -> list[tuple[int, str, str]]:
        """For each subgraph input that feeds a widget inside: (input index, inner node key, widget name). The
        first of the input's links that reaches a widget decides, as in SubgraphNode's configure."""
        cached = self._sources.get(subgraph.id)
        if cached is not None:
            return cached
        if subgraph.id in seen or len(seen) >= MAX_SUBGRAPH_DEPTH:
            return []  # a definition inside itself: refused when it is expanded
        sources = []
        for k, slot in enumerate(subgraph.inputs):
            for link_id in slot.link_ids:
                found = self._widget_behind(subgraph, link_id, (*seen, subgraph.id))
                if found is not None:
                    sources.append((k, *found))
                    break
        self._sources[subgraph.id] = sources
        return sources

    def _widget_behind(self, subgraph: SubgraphDef, link_id: Any, seen: tuple[str, ...]) -> Optional[tuple[str, str]]:
        link = subgraph.graph.peek(link_id)
        inner = subgraph.graph.nodes.get(link.target) if link is not None else None
        if inner is None:
            return None
        slot = next((i for i in inner.inputs if i.link == link_id), None)
        if slot is None:
            return None
        inner_sub = self.workflow.subgraphs.get(inner.type)
        if inner_sub is not None:
            names = [inner_sub.inputs[k].name for k, _key, _widget in self._promoted_sources(inner_sub, seen)]
            return (inner.key, slot.name) if slot.name in names else None
        if inner.type in VIRTUAL_TYPES:
            return None
        if not isinstance(self.object_info.get(inner.type), Mapping):  # a class this ComfyUI lacks: as saved
            return (inner.key, slot.widget) if slot.widget is not None else None
        layout = self.layout(inner.type)
        socket = next((s for s in layout.sockets if s.name == slot.name), None)
        if socket is None or socket.widget is None or layout.widget_index(socket.widget) is None:
            return None
        return inner.key, socket.widget

    def _take_promoted_values(self, instance: ExecNode, inside: Any) -> None:
        """SubgraphNode.serialize: a promoted widget's value goes into every widget its subgraph input feeds."""
        for exec_node in inside:
            for socket in exec_node.sockets:
                position = exec_node.widget_index(socket.widget)
                if socket.link is None or position is None:
                    continue
                link = exec_node.graph.peek(socket.link)
                if link is None or link.origin != SUBGRAPH_INPUT_ID or link.origin_slot not in instance.promoted:
                    continue
                value = instance.values[instance.promoted[link.origin_slot]]
                if value is not NO_VALUE:  # unknown when it stands for a widget of a class this ComfyUI lacks
                    exec_node.values[position] = value

    def _apply_primitive(self, primitive: ExecNode, consumers: list[tuple[ExecNode, Socket]]) -> None:
        """PrimitiveNode.applyToGraph: its value replaces the value of every widget it is linked to."""
        if not consumers:
            return
        order = _output_order(primitive.node)
        targets = sorted(
            ((order.get(socket.link, len(order)), node, socket) for node, socket in consumers), key=lambda t: t[0]
        )
        values = primitive.node.widgets_values
        if isinstance(values, list) and values:
            value = values[0]
        else:  # no saved value: the primitive starts from its first target's value
            _order, first, socket = targets[0]
            position = first.widget_index(socket.widget)
            if position is None:
                return
            value = first.values[position]
        if value and isinstance(value, str) and primitive.node.properties.get(REPLACE_PROPERTY):
            value = self.replace_text(value)
        primitive.widget_names, primitive.values = ["value"], [value]
        for _order, target, socket in targets:
            position = target.widget_index(socket.widget)
            if position is not None:
                target.values[position] = value


def _inputs_by_name(inputs: tuple[UiInput, ...]) -> dict[str, UiInput]:
    return {slot.name: slot for slot in inputs}  # a later input of the same name wins, as in the editor's Map


def _link(slot: Optional[UiInput]) -> Any:
    return slot.link if slot is not None else None


def _output_order(primitive: UiNode) -> dict[Any, int]:
    """Where each of the primitive's links stands in its saved output (the editor applies them in that order)."""
    links = primitive.outputs[0].links if primitive.outputs else ()
    order: dict[Any, int] = {}
    for position, link_id in enumerate(links):
        order.setdefault(link_id, position)
    return order


def _search_name(node: ExecNode) -> Optional[str]:
    name = node.node.properties.get(SEARCH_NAME_PROPERTY)
    if isinstance(name, str):
        return name
    # the editor gives every node of a ComfyUI class this property, but for the save nodes it handles itself
    return node.node.type if node.kind == "class" and node.node.type not in SAVE_NODE_CLASSES else None
