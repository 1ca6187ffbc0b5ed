"""Prompt validation like ComfyUI's validate_prompt (validation_error.json, missing_model_validation.json)."""

import sys
import traceback
from typing import Optional

from .graph import is_link
from .registry import NODES


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


def validate_inputs(prompt, node_id, validated, dirs):
    if node_id in validated:
        return validated[node_id]
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
                if validate_inputs(prompt, source, validated, dirs)[0] is False:
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
    result = (not errors and valid, errors, node_id)
    validated[node_id] = result
    return result


def validate_prompt(prompt: dict, dirs, targets: Optional[list] = None) -> tuple:
    """Returns (ok, error, outputs_to_execute, node_errors) like ComfyUI; `targets` is partial_execution_targets."""
    outputs = []
    for node_id, entry in prompt.items():
        if not isinstance(entry, dict) or "class_type" not in entry:
            return (
                False,
                _error(
                    "invalid_prompt",
                    "Cannot execute because a node is missing the class_type property.",
                    f"Node ID '#{node_id}'",
                ),
                [],
                {},
            )
        ndef = NODES.get(entry["class_type"])
        if ndef is None:
            return (
                False,
                _error(
                    "invalid_prompt",
                    f"Cannot execute because node {entry['class_type']} does not exist.",
                    f"Node ID '#{node_id}'",
                ),
                [],
                {},
            )
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
            ok, reasons, _ = validate_inputs(prompt, output, validated, dirs)
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
