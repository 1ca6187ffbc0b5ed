"""Prompt validation like ComfyUI's validate_prompt (validation_error.json, missing_model_validation.json)."""

import sys
import traceback
from typing import Optional

from .graph import is_link
from .registry import NODES
from .versions import Profile
from .versions import profile as profile_of


def types_match(received, wanted) -> bool:
    if received == wanted or "*" in (received, wanted):
        return True
    if not isinstance(received, str) or not isinstance(wanted, str):
        return False
    return bool({t.strip() for t in received.split(",")} & {t.strip() for t in wanted.split(",")})


def _error(kind: str, message: str, details: str, **extra) -> dict:
    return {"type": kind, "message": message, "details": details, "extra_info": extra}


def _check_value(name, value, input_type, extra, info, skip_limits):
    """Convert a widget value and check min/max/list; returns (value, error or None)."""
    converters = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}
    if isinstance(value, dict) and "__value__" in value:
        value = value["__value__"]
    try:
        if isinstance(input_type, str) and input_type in converters:
            value = converters[input_type](value)
    except Exception as ex:
        return value, _error(
            "invalid_input_type",
            f"Failed to convert an input value to a {input_type} value",
            f"{name}, {value}, {ex}",
            input_name=name,
            input_config=info,
            received_value=value,
            exception_message=str(ex),
        )
    if skip_limits:
        return value, None
    if "min" in extra and value < extra["min"]:
        return value, _error(
            "value_smaller_than_min",
            f"Value {value} smaller than min of {extra['min']}",
            name,
            input_name=name,
            input_config=info,
            received_value=value,
        )
    if "max" in extra and value > extra["max"]:
        return value, _error(
            "value_bigger_than_max",
            f"Value {value} bigger than max of {extra['max']}",
            name,
            input_name=name,
            input_config=info,
            received_value=value,
        )
    if isinstance(input_type, list) or input_type == "COMBO":
        options = extra.get("options", []) if input_type == "COMBO" else input_type
        if value not in options:
            config, listed = (None, f"(list of length {len(options)})") if len(options) > 20 else (info, str(options))
            return value, _error(
                "value_not_in_list",
                "Value not in list",
                f"{name}: '{value}' not in {listed}",
                input_name=name,
                input_config=config,
                received_value=value,
            )
    return value, None


def _cycle(prompt, node_id, validated, visiting) -> tuple:
    """0.20.0+ (#13169, 0.33 execution.py:854-868): every node of a cycle gets a `dependency_cycle` error."""
    path = [*visiting[visiting.index(node_id) :], node_id]
    nodes = list(dict.fromkeys(path))
    details = " -> ".join(f"{n} ({prompt[n]['class_type']})" for n in path)
    for member in nodes:
        error = _error("dependency_cycle", "Dependency cycle detected", details, node_id=member, cycle_nodes=nodes)
        validated[member] = (False, [error], member)
    return validated[node_id]


def validate_inputs(prompt, node_id, validated, dirs, visiting: Optional[list] = None):
    """`visiting` (the nodes on the path here) is given from 0.20.0 on; before, a cycle recurses until Python's
    recursion limit, which ends as `exception_during_inner_validation` (or `exception_during_validation`)."""
    if node_id in validated:
        return validated[node_id]
    if visiting is not None and node_id in visiting:
        return _cycle(prompt, node_id, validated, visiting)
    inputs = prompt[node_id]["inputs"]
    ndef = NODES[prompt[node_id]["class_type"]]
    errors, valid = [], True
    for name, (category, config) in ndef.inputs(dirs).items():
        input_type, extra = config[0], (config[1] if len(config) > 1 else {})
        info = [input_type, extra]
        if name not in inputs:
            if category == "required":
                errors.append(_error("required_input_missing", "Required input is missing", name, input_name=name))
            continue
        value = inputs[name]
        # ComfyUI's validate_inputs takes every list for a link, and refuses one that is not [node_id, slot]
        if isinstance(value, list):
            if not is_link(value):
                errors.append(
                    _error(
                        "bad_linked_input",
                        "Bad linked input, must be a length-2 list of [node_id, slot_index]",
                        name,
                        input_name=name,
                        input_config=info,
                        received_value=value,
                    )
                )
                continue
            source = value[0]
            received = NODES[prompt[source]["class_type"]].output[value[1]]
            if not types_match(received, input_type):
                errors.append(
                    _error(
                        "return_type_mismatch",
                        "Return type mismatch between linked nodes",
                        f"{name}, received_type({received}) mismatch input_type({input_type})",
                        input_name=name,
                        input_config=info,
                        received_type=received,
                        linked_node=value,
                    )
                )
                continue
            try:
                path = None if visiting is None else [*visiting, node_id]
                if validate_inputs(prompt, source, validated, dirs, path)[0] is False:
                    valid = False
            except Exception as ex:
                valid = False
                validated[source] = (
                    False,
                    [
                        _error(
                            "exception_during_inner_validation",
                            "Exception when validating inner node",
                            str(ex),
                            input_name=name,
                            input_config=info,
                            exception_message=str(ex),
                            exception_type=type(ex).__name__,
                            traceback=traceback.format_tb(sys.exc_info()[2]),
                            linked_node=value,
                        )
                    ],
                    source,
                )
            continue
        value, error = _check_value(name, value, input_type, extra, info, name in ndef.validate_inputs)
        if error is None or error["type"] != "invalid_input_type":
            inputs[name] = value
        if error:
            errors.append(error)
    if ndef.validate:
        arguments = {n: inputs[n] for n in ndef.validate_inputs if n in inputs and not isinstance(inputs[n], list)}
        verdict = ndef.validate(dirs, **arguments)
        if verdict is not True:
            for name in arguments:
                details = name if verdict is False else f"{name} - {verdict}"
                errors.append(
                    _error("custom_validation_failed", "Custom validation failed for node", details, input_name=name)
                )
    # 0.20.0+: a cycle found below may already have put an error on this node, joined (0.33 validate_inputs); before,
    # the node's own result replaces whatever the recursion stored
    fresh: tuple = (True, [], node_id)
    earlier = validated.get(node_id, fresh) if visiting is not None else fresh
    result = (earlier[0] and valid and not errors, earlier[1] + [e for e in errors if e not in earlier[1]], node_id)
    validated[node_id] = result
    return result


def _unknown_class(node_id: str, entry, profile: Profile) -> dict:
    """The top error for a node without a class ComfyUI knows (0.3.64 execution.py:969-987; from 0.12.0,
    `missing_node_type`: 0.33 execution.py:1131-1161)."""
    class_type = entry.get("class_type") if isinstance(entry, dict) else None
    if not profile.missing_node_type:
        if class_type is None:
            message = "Cannot execute because a node is missing the class_type property."
        else:
            message = f"Cannot execute because node {class_type} does not exist."
        return _error("invalid_prompt", message, f"Node ID '#{node_id}'")
    meta = entry.get("_meta") if isinstance(entry, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    if class_type is None:
        title = meta.get("title")
        message = (
            f"Node '{title or f'ID #{node_id}'}' has no class_type. The workflow may be corrupted or a custom node "
            "is missing."
        )
    else:
        title = meta.get("title", class_type)
        message = f"Node '{title}' not found. The custom node may not be installed."
    return _error(
        "missing_node_type",
        message,
        f"Node ID '#{node_id}'",
        node_id=node_id,
        class_type=class_type,
        node_title=title,
    )


def validate_prompt(prompt: dict, dirs, targets: Optional[list] = None, profile: Optional[Profile] = None) -> tuple:
    """Returns (ok, error, outputs_to_execute, node_errors) like ComfyUI; `targets` is partial_execution_targets."""
    profile = profile or profile_of()
    outputs = []
    for node_id, entry in prompt.items():
        if not isinstance(entry, dict) or "class_type" not in entry or entry["class_type"] not in NODES:
            return False, _unknown_class(node_id, entry, profile), [], {}
        ndef = NODES[entry["class_type"]]
        if ndef.output_node and (targets is None or node_id in targets):
            outputs.append(node_id)
    if not outputs:
        return False, _error("prompt_no_outputs", "Prompt has no outputs", ""), [], {}
    good: list = []
    failures: list = []
    node_errors: dict = {}
    validated: dict = {}
    for output in outputs:
        try:
            ok, reasons, _ = validate_inputs(prompt, output, validated, dirs, [] if profile.dependency_cycle else None)
        except Exception as ex:
            ok, reasons = (
                False,
                [
                    _error(
                        "exception_during_validation",
                        "Exception when validating node",
                        str(ex),
                        exception_type=type(ex).__name__,
                        traceback=traceback.format_tb(sys.exc_info()[2]),
                    )
                ],
            )
            validated[output] = (False, reasons, output)
        if ok:
            good.append(output)
            continue
        failures.append(reasons)
        for node_id, (node_ok, node_reasons, _) in validated.items():
            if node_ok is not True and node_reasons:
                entry = node_errors.setdefault(
                    node_id,
                    {"errors": node_reasons, "dependent_outputs": [], "class_type": prompt[node_id]["class_type"]},
                )
                entry["dependent_outputs"].append(output)
    if not good:
        details = "\n".join(f"{e['message']}: {e['details']}" for reasons in failures for e in reasons)
        return (
            False,
            _error("prompt_outputs_failed_validation", "Prompt outputs failed validation", details),
            [],
            node_errors,
        )
    return True, None, good, node_errors
