"""Execution order and cache keys, following ComfyUI's ExecutionList and input-signature cache."""

import hashlib
import json
from typing import Callable, Optional


def is_link(value) -> bool:
    """An input that names another node's output: `[node_id, output_slot]`."""
    return isinstance(value, list) and len(value) == 2


def signatures(prompt: dict, is_changed: Callable[[str], object]) -> dict:
    """A cache key per node: class, IS_CHANGED value, widget values and the keys of linked upstream nodes."""
    keys: dict = {}

    def key(node_id: str) -> str:
        if node_id not in keys:
            entry = prompt[node_id]
            inputs = []
            for name, value in sorted(entry.get("inputs", {}).items()):
                if is_link(value) and value[0] in prompt:
                    inputs.append([name, "link", key(value[0]), value[1]])
                else:
                    inputs.append([name, value])
            blob = json.dumps([entry["class_type"], is_changed(node_id), inputs], sort_keys=True, default=repr)
            keys[node_id] = hashlib.sha256(blob.encode()).hexdigest()
        return keys[node_id]

    for node_id in prompt:
        key(node_id)
    return keys


class ExecutionList:
    """Pending nodes in insertion order; output nodes are picked first when ready, like ux_friendly_pick_node."""

    def __init__(self, prompt: dict, is_cached: Callable[[str], bool], is_output: Callable[[str], bool]) -> None:
        self.prompt, self.is_cached, self.is_output = prompt, is_cached, is_output
        self.pending: dict = {}
        self.block_count: dict = {}
        self.blocking: dict = {}

    def add_node(self, node_id: str) -> None:
        stack, links = [node_id], []
        while stack:
            current = stack.pop()
            if current in self.pending:
                continue
            self.pending[current] = True
            self.block_count[current] = 0
            self.blocking[current] = {}
            for value in self.prompt[current].get("inputs", {}).values():
                if is_link(value):
                    if not self.is_cached(value[0]):
                        stack.append(value[0])
                    links.append((value[0], current))
        for source, target in links:
            if not self.is_cached(source) and target not in self.blocking[source]:
                self.blocking[source][target] = True
                self.block_count[target] += 1

    def is_empty(self) -> bool:
        return not self.pending

    def stage(self) -> Optional[str]:
        """The next node to run, or None when every pending node waits on another (a cycle)."""
        ready = [n for n in self.pending if self.block_count[n] == 0]
        if not ready:
            return None
        for candidate in ready:
            if self.is_output(candidate):
                return candidate
        for candidate in ready:
            if any(self.is_output(b) for b in self.blocking[candidate]):
                return candidate
        for candidate in ready:
            if any(self.is_output(b2) for b in self.blocking[candidate] for b2 in self.blocking[b]):
                return candidate
        return ready[0]

    def complete(self, node_id: str) -> None:
        del self.pending[node_id]
        for blocked in self.blocking.pop(node_id):
            self.block_count[blocked] -= 1
