"""Node registry: each node's input schema, output types and implementation, plus /object_info rendering."""

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

NODES: dict[str, "NodeDef"] = {}


@dataclass
class NodeDef:
    """A node class. `is_changed(inputs, ctx)` is folded into the cache key like IS_CHANGED; `validate(dirs,
    **inputs)` returns True or a message like VALIDATE_INPUTS, and the inputs it takes (`validate_inputs`) skip
    the min/max/list checks, as in ComfyUI."""

    name: str
    required: dict
    optional: dict = field(default_factory=dict)
    hidden: dict = field(default_factory=dict)
    output: tuple = ()
    output_name: Optional[tuple] = None
    output_node: bool = False
    category: str = "image"
    display_name: Any = None  # False: shown as null, as some v3 nodes are (missing_model_validation.json)
    description: str = ""
    python_module: str = "nodes"
    output_tooltips: Optional[list] = None
    fn: Optional[Callable] = None
    is_changed: Optional[Callable] = None
    validate: Optional[Callable] = None
    validate_inputs: tuple = ()

    def resolved(self, section: dict, dirs: Any) -> dict:
        """An input section with file lists (callables of `dirs`) filled in, as ComfyUI builds them per request."""
        return {name: cfg(dirs) if callable(cfg) else cfg for name, cfg in section.items()}

    def inputs(self, dirs: Any) -> dict:
        """The required and optional inputs with their category, in declaration order."""
        out = {name: ("required", cfg) for name, cfg in self.resolved(self.required, dirs).items()}
        out.update({name: ("optional", cfg) for name, cfg in self.resolved(self.optional, dirs).items()})
        return out

    def object_info(self, dirs: Any) -> dict:
        """The /object_info entry (key order as http_probes.json object_info_SaveImage shows)."""
        required = self.resolved(self.required, dirs)
        inputs = {"required": required}
        order = {"required": list(required)}
        if self.optional:
            inputs["optional"], order["optional"] = self.optional, list(self.optional)
        if self.hidden:
            inputs["hidden"], order["hidden"] = self.hidden, list(self.hidden)
        info = {
            "input": inputs,
            "input_order": order,
            "output": list(self.output),
            "output_is_list": [False] * len(self.output),
            "output_name": list(self.output_name or self.output),
            "name": self.name,
            "display_name": None if self.display_name is False else self.display_name or self.name,
            "description": self.description,
            "python_module": self.python_module,
            "category": self.category,
            "output_node": self.output_node,
        }
        if self.output_tooltips:
            info["output_tooltips"] = self.output_tooltips
        return info


def node(name: str, **spec: Any) -> Callable:
    """Register the decorated function as the implementation of node class `name`."""

    def register(fn: Callable) -> Callable:
        NODES[name] = NodeDef(name=name, fn=fn, **spec)
        return fn

    return register


def schema_only(name: str, **spec: Any) -> None:
    """Register a node that validates like ComfyUI's but cannot run here (model loaders without weights)."""
    NODES[name] = NodeDef(name=name, fn=None, **spec)


def INT(default: int, lo: int, hi: int, **extra: Any) -> list:
    return ["INT", {"default": default, "min": lo, "max": hi, **extra}]


def FLOAT(default: float, lo: float, hi: float, step: float, **extra: Any) -> list:
    return ["FLOAT", {"default": default, "min": lo, "max": hi, "step": step, **extra}]


def STRING(default: str, **extra: Any) -> list:
    return ["STRING", {"default": default, **extra}]


class NodeError(Exception):
    """A node failed at run time; execution_error carries its message and type."""
