"""Converts a workflow in ComfyUI's UI format (what the editor saves) to the API format, as the editor's
graphToPrompt (ComfyUI_frontend `src/utils/executionUtil.ts`) does when it queues, against this ComfyUI's
/object_info.

The rules, as implemented here:
- Muted (mode 2) and bypassed (mode 4) nodes are not sent; a bypassed node hands its consumers the input of the
  matching type (the same slot first, then the first input of exactly that type, then the first that fits).
- Note, MarkdownNote, PrimitiveNode and Reroute are the editor's own nodes and are not sent: a PrimitiveNode's
  value goes into every widget it is linked to (over the target's own saved value), a Reroute passes its link on.
- Widget values map to inputs in /object_info's `input_order`, skipping the values of the editor's companion
  widgets (`control_after_generate` after a seed, `control_after_generate` and `control_filter_list` after a combo
  with control, an upload button); a widget whose input is linked keeps its place, and the link wins.
- `widgets_values_named`, when the editor saved it, wins over positions.
- Subgraph instances are expanded: an inner node's id is `"<instance id>:<inner id>"` (nested deeper with more
  parts); the subgraph node's promoted widget values go into the inner widgets they stand for; a muted or
  bypassed subgraph node runs nothing inside.
- Array values are sent as `{"__value__": [...]}`; links to nodes that are not sent are dropped.
- A class /object_info lacks is still sent, with its linked inputs, so ComfyUI reports it by its id.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Optional

from domain.errors import InvalidInput, clip, excerpt
from domain.workflow.ui_expand import ExecNode, Expansion
from domain.workflow.ui_graph import read_workflow
from domain.workflow.ui_links import LinkResolver, Source, Value
from domain.workflow.ui_values import (
    SAVE_NODE_CLASSES,
    PromptTooDeep,
    annotated_path,
    dynamic_prompt,
    text_replacements,
    wrap_array,
)
from domain.workflow.ui_widgets import NO_VALUE, Widget


@dataclass(frozen=True)
class NodeOrigin:
    """The UI node an API node comes from: its ids and titles from the root graph down through subgraph nodes."""

    ui_path: tuple[str, ...]
    titles: tuple[str, ...]

    @property
    def ui_id(self) -> str:
        return ":".join(self.ui_path)

    @property
    def title(self) -> str:
        return self.titles[-1]

    def describe(self) -> str:
        """`node 12 ('KSampler')`, or `node 7:3 ('VAE Decode', in subgraph node 7 'Upscale')`."""
        text = f"node {clip(self.ui_id, 80)} ({excerpt(self.title, 80)}"
        if len(self.ui_path) > 1:
            text += f", in subgraph node {clip(':'.join(self.ui_path[:-1]), 80)} {excerpt(self.titles[-2], 80)}"
        return text + ")"


@dataclass(frozen=True)
class UiConversion:
    """The API-format prompt (`{id: {"inputs", "class_type", "_meta": {"title"}}}`) and each node's UI origin."""

    prompt: dict
    origins: Mapping[str, NodeOrigin]


def is_ui_workflow(value: Any) -> bool:
    """Whether a workflow is in the UI format: an object with a `nodes` list and `links` (an API-format workflow
    is an object of node objects, so its `nodes` could never be a list)."""
    return isinstance(value, Mapping) and isinstance(value.get("nodes"), list) and "links" in value


def convert_ui_workflow(
    workflow: Mapping,
    object_info: Mapping,
    *,
    choose: Optional[Callable[[int], int]] = None,
    now: Optional[Callable[[], datetime]] = None,
) -> UiConversion:
    """The API-format prompt the editor would queue for `workflow` on a ComfyUI with this /object_info.

    `choose(n)` picks one of n choices of a dynamic prompt (`{red|blue}`; random by default), `now()` gives the
    time for `%date:...%` in file name prefixes (the clock by default). A malformed graph raises `InvalidInput`
    naming the UI node.
    """
    converter = _Converter(workflow, object_info, choose or random.randrange, now or datetime.now)
    return converter.convert()


class _Converter:
    def __init__(self, workflow: Mapping, object_info: Mapping, choose: Callable[[int], int], now: Callable) -> None:
        self.workflow = read_workflow(workflow)
        self.object_info = object_info
        self.choose, self.now = choose, now
        self.expansion = Expansion(self.workflow, object_info, self._replace_text)
        self.nodes: dict[str, ExecNode] = {}

    def convert(self) -> UiConversion:
        self.nodes = self.expansion.expand()
        resolver = LinkResolver(self.nodes)
        prompt: dict[str, dict] = {}
        origins: dict[str, NodeOrigin] = {}
        for node in self.nodes.values():
            if node.kind in ("virtual", "instance") or node.muted_or_bypassed:
                continue
            if node.node.type in self.workflow.group_node_types:
                raise InvalidInput(
                    f"{node.label()} is a legacy group node; open the workflow in ComfyUI, convert the group node "
                    f"to a subgraph and save it again"
                )
            inputs = self._widget_inputs(node)
            for index, socket in enumerate(node.sockets):
                if socket.link is None:
                    continue
                resolved = resolver.resolve_input(node, index)
                if isinstance(resolved, Source):
                    inputs[socket.name] = [resolved.node_id, resolved.slot]
                elif isinstance(resolved, Value):
                    inputs[socket.name] = wrap_array(resolved.value)
            prompt[node.id] = {"inputs": inputs, "class_type": node.node.type, "_meta": {"title": self._title(node)}}
            origins[node.id] = NodeOrigin(node.path, self._titles(node))
        for entry in prompt.values():  # the editor drops links to nodes it did not send (muted ones)
            inputs = entry["inputs"]
            for name in [n for n, v in inputs.items() if isinstance(v, list) and len(v) == 2 and v[0] not in prompt]:
                del inputs[name]
        return UiConversion(prompt, origins)

    def _widget_inputs(self, node: ExecNode) -> dict[str, Any]:
        inputs: dict[str, Any] = {}
        if node.layout is None:
            return inputs
        for widget, value in zip(node.layout.widgets, node.values, strict=True):
            if not widget.sent or not widget.name or widget.name not in node.layout.declared or value is NO_VALUE:
                continue
            inputs[widget.name] = wrap_array(self._queued_value(node, widget, value))
        return inputs

    def _queued_value(self, node: ExecNode, widget: Widget, value: Any) -> Any:
        """A widget's value as the editor serialises it when it queues (its serializeValue)."""
        if widget.dynamic_prompts and isinstance(value, str):
            try:
                return dynamic_prompt(value, self.choose)
            except PromptTooDeep as exc:
                raise InvalidInput(f"{node.label()} input {excerpt(widget.name, 60)}: {exc}") from None
        if widget.name == "filename_prefix" and node.node.type in SAVE_NODE_CLASSES and isinstance(value, str):
            return self._replace_text(value)
        if widget.upload_folder is not None:
            return annotated_path(value, widget.upload_folder)
        return value

    def _replace_text(self, text: str) -> str:
        if "%" not in text:
            return text
        return text_replacements(text, self._widget_value_of, self.now)

    def _widget_value_of(self, node_name: str, widget_name: str) -> Optional[Any]:
        """`%Node.widget%`: a widget's value on the first node with that search name (else that title)."""
        node = self.expansion.find_named(node_name)
        position = node.widget_index(widget_name) if node is not None else None
        if node is None or position is None or node.values[position] is NO_VALUE:
            return None
        return node.values[position]

    def _title(self, node: ExecNode) -> str:
        return node.shown_title

    def _titles(self, node: ExecNode) -> tuple[str, ...]:
        titles = []
        current: Optional[ExecNode] = node
        while current is not None:
            titles.append(self._title(current))
            current = current.parent
        return tuple(reversed(titles))
