"""A node's failure as ComfyUI reports it in execution_error: message, exception type, traceback, inputs."""

import traceback


def type_name(kind: type) -> str:
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def shown(value):
    return value if value is None or isinstance(value, (int, float, bool, str)) else str(value)


def node_failure(node_id: str, ex: Exception, inputs: dict) -> dict:
    return {
        "node_id": node_id,
        "exception_message": f"{ex}\n",
        "exception_type": type_name(type(ex)),
        "traceback": traceback.format_tb(ex.__traceback__),
        "current_inputs": {name: [shown(value)] for name, value in inputs.items()},
    }
