"""Dry-run validation of an API-format workflow against ComfyUI's /object_info, the way validate_prompt does it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Collection, Mapping, Optional

from domain.errors import clip
from domain.workflow.job_folders import without_job_folders
from domain.workflow.links import is_link
from domain.workflow.node_ids import node_order

# Characters of a message or details kept (in the error line, in its data): ComfyUI's messages repeat caller values.
LINE_PART_LIMIT, MESSAGE_LIMIT = 300, 1000
CONVERTERS = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}


@dataclass(frozen=True)
class Issue:
    """One validation problem, with ComfyUI's type name (`value_not_in_list`, ...) and its message and details."""

    type: str
    message: str
    details: str = ""
    node_id: Optional[str] = None
    class_type: Optional[str] = None
    input: Optional[str] = None
    received: Any = None
    allowed: Optional[tuple] = None  # the declared list, for value_not_in_list

    def line(self) -> str:
        """`node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1`, as ComfyUI's 400 reads."""
        where = f"node {clip(str(self.node_id))}" if self.node_id is not None else ""
        where += f" ({clip(str(self.class_type))})" if self.class_type and where else ""
        where += f" input '{clip(str(self.input))}'" if self.input and where else ""
        message = clip(self.message or self.type, LINE_PART_LIMIT)
        if self.details and self.details != self.input:
            message = f"{message}: {clip(self.details, LINE_PART_LIMIT)}"
        return f"{where}: {message}" if where else message

    def to_data(self) -> dict:
        data = {key: value for key, value in asdict(self).items() if key != "allowed"}
        for key in ("message", "details", "node_id", "class_type", "input", "received"):  # ComfyUI echoes values
            if isinstance(data[key], str):
                data[key] = clip(data[key], MESSAGE_LIMIT)
        return data


def declared(config: Any) -> tuple[Any, Mapping, Optional[list]]:
    """An input declaration's type, options and allowed list: `[[...], {...}]`, `["COMBO", {"options": [...]}]`."""
    config = list(config) if isinstance(config, (list, tuple)) else [config]
    kind = config[0] if config else "*"
    options = config[1] if len(config) > 1 and isinstance(config[1], Mapping) else {}
    if isinstance(kind, (list, tuple)):
        return "COMBO", options, list(kind)
    if kind == "COMBO":
        return "COMBO", options, list(options.get("options") or [])
    return kind, options, None


def types_match(received: Any, wanted: Any) -> bool:
    """ComfyUI's validate_node_input: `*` matches anything, `A,B` unions match any member."""
    if isinstance(received, (list, tuple)):
        received = "COMBO"
    if received == wanted or "*" in (received, wanted) or (wanted == "COMBO" and received == "STRING"):
        return True
    if not isinstance(received, str) or not isinstance(wanted, str):
        return False
    return bool({t.strip() for t in received.split(",")} & {t.strip() for t in wanted.split(",")})


def check_workflow(workflow: Mapping, object_info: Mapping, input_files: Collection[str] = ()) -> list:
    """Every issue ComfyUI would report for this workflow, without queueing it.

    Like ComfyUI, unknown classes are looked for in every node, the rest only in nodes an output node depends
    on. `input_files` are names the job uploads before queueing: upload inputs (LoadImage) accept them.
    """
    issues = []
    for node_id, node in workflow.items():
        class_type = node.get("class_type") if isinstance(node, Mapping) else None
        if class_type is None:
            issues.append(
                Issue(
                    "invalid_prompt",
                    "Cannot execute because a node is missing the class_type property.",
                    f"Node ID '#{node_id}'",
                    node_id=str(node_id),
                )
            )
        elif class_type not in object_info:
            issues.append(
                Issue(
                    "invalid_prompt",
                    f"Cannot execute because node {class_type} does not exist.",
                    f"Node ID '#{node_id}'",
                    node_id=str(node_id),
                    class_type=class_type,
                )
            )
    if issues:
        return issues
    outputs = [node_id for node_id, node in workflow.items() if object_info[node["class_type"]].get("output_node")]
    if not outputs:
        return [Issue("prompt_no_outputs", "Prompt has no outputs")]
    seen: set = set()
    pending = list(outputs)
    while pending:
        node_id = pending.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        node_issues, sources = _check_node(str(node_id), workflow, object_info, input_files)
        issues.extend(node_issues)
        pending.extend(sources)
    return sorted(issues, key=lambda issue: (node_order(issue.node_id), issue.input or ""))


def _check_node(node_id: str, workflow: Mapping, object_info: Mapping, input_files: Collection[str]):
    node = workflow[node_id]
    class_type, values = node["class_type"], node.get("inputs") or {}
    schema = object_info[class_type].get("input") or {}
    issues, sources = [], []
    for category in ("required", "optional"):
        for name, config in (schema.get(category) or {}).items():
            issue = None
            if name not in values:
                if category == "required":
                    issue = Issue("required_input_missing", "Required input is missing", name)
            elif isinstance(values[name], list):
                issue, source = _check_link(name, values[name], config, workflow, object_info)
                sources += [source] if source is not None else []
            else:
                issue = _check_value(name, values[name], config, input_files)
            if issue is not None:
                issues.append(Issue(**{**asdict(issue), "node_id": node_id, "class_type": class_type, "input": name}))
    return issues, sources


def _check_link(name: str, link: list, config: Any, workflow: Mapping, object_info: Mapping):
    if not is_link(link):
        return Issue(
            "bad_linked_input",
            "Bad linked input, must be a length-2 list of [node_id, slot_index]",
            name,
            received=link,
        ), None
    source, slot = str(link[0]), link[1]
    if source not in workflow:
        return Issue(
            "bad_linked_input", "Bad linked input", f"{name}: node {source} is not in the workflow", received=link
        ), None
    outputs = list(object_info[workflow[source]["class_type"]].get("output") or [])
    if not 0 <= slot < len(outputs):
        return Issue(
            "bad_linked_input",
            "Bad linked input",
            f"{name}: node {source} has no output slot {slot} ({len(outputs)} outputs)",
            received=link,
        ), None
    wanted = declared(config)[0]
    if not types_match(outputs[slot], wanted):
        # like ComfyUI, the linked node is not validated after a mismatch
        return Issue(
            "return_type_mismatch",
            "Return type mismatch between linked nodes",
            f"{name}, received_type({outputs[slot]}) mismatch input_type({wanted})",
            received=link,
        ), None
    return None, source


def _check_value(name: str, value: Any, config: Any, input_files: Collection[str]) -> Optional[Issue]:
    kind, options, allowed = declared(config)
    if isinstance(value, Mapping) and "__value__" in value:
        value = value["__value__"]
    try:
        if kind in CONVERTERS:
            value = CONVERTERS[kind](value)
    except (TypeError, ValueError, OverflowError) as exc:  # int(1e400): JSON's 1e400 is infinity
        return Issue(
            "invalid_input_type",
            f"Failed to convert an input value to a {kind} value",
            f"{name}, {clip(str(value))}, {clip(str(exc))}",
            received=value,
        )
    if "min" in options and _compare(value, options["min"]) < 0:
        return Issue(
            "value_smaller_than_min", f"Value {value} smaller than min of {options['min']}", name, received=value
        )
    if "max" in options and _compare(value, options["max"]) > 0:
        return Issue(
            "value_bigger_than_max", f"Value {value} bigger than max of {options['max']}", name, received=value
        )
    uploads = any(key.endswith("_upload") for key in options)
    if allowed is not None:
        allowed = without_job_folders(allowed)  # other jobs' uploads: never listed to a job
    if allowed is not None and value not in allowed and not (uploads and value in input_files):
        listed = f"(list of length {len(allowed)})" if len(allowed) > 20 else str(allowed)
        return Issue(
            "value_not_in_list",
            "Value not in list",
            f"{name}: '{clip(str(value))}' not in {listed}",
            received=value,
            allowed=tuple(allowed),
        )
    return None


def _compare(value: Any, limit: Any) -> int:
    try:
        return (value > limit) - (value < limit)
    except TypeError:
        return 0
