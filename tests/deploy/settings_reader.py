"""Which variables the worker reads (src/entrypoints/environment.py and the modules it reads them with), and their
defaults, found in their syntax trees."""
import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
READERS = [ROOT / "src/entrypoints" / name for name in ("environment.py", "variables.py", "s3_settings.py")]
_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# set by RunPod itself in every worker, never by the endpoint's owner
PLATFORM = {"RUNPOD_WEBHOOK_POST_OUTPUT", "RUNPOD_WEBHOOK_GET_JOB", "RUNPOD_WEBHOOK_PING", "RUNPOD_POD_ID",
            "RUNPOD_AI_API_KEY", "RUNPOD_WEBHOOK_POST_STREAM", "RUNPOD_ENDPOINT_ID"}


def read_variables() -> set:
    """Every upper-case NAME_LIKE string constant: robust to new readers and helper functions."""
    return {node.value for path in READERS for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _NAME.match(node.value)} - PLATFORM


def defaults() -> dict:
    """NAME -> default for `env.get("NAME", default)` and `_helper(env, "NAME", default, ...)` calls; a default
    given by a name (a constant settings.py imports, such as the domain's DEFAULT_MAX_INPUT_BYTES) is its value."""
    import entrypoints.environment

    found = {}
    for node in (node for path in READERS for node in ast.walk(ast.parse(path.read_text()))):
        if not isinstance(node, ast.Call):
            continue
        args = node.args
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and len(args) == 2:
            name, default = args
        elif isinstance(node.func, ast.Name) and len(args) >= 3 and isinstance(args[0], ast.Name):
            name, default = args[1], args[2]
        else:
            continue
        if isinstance(default, ast.Name) and hasattr(entrypoints.environment, default.id):
            default = ast.Constant(getattr(entrypoints.environment, default.id))
        if isinstance(name, ast.Constant) and isinstance(default, ast.Constant) and _NAME.match(str(name.value)):
            found[name.value] = default.value
    return found
