"""docs/errors.md agrees with the code: every code the worker can answer is there, and each example line is one the
code builds (its message matches the f-string the code raises it with)."""
import ast
import inspect
import json
import pathlib
import re
from typing import Any, Optional

import pytest

from domain import errors
from domain.workflow.check import check_workflow
from domain.workflow.rejections import raise_for_issues
from entrypoints.environment import read_settings
from entrypoints.request import parse_request
from entrypoints.settings import LIMIT_VARIABLES, ConfigError

ROOT = pathlib.Path(__file__).resolve().parents[2]
ERRORS_DOC = (ROOT / "docs" / "errors.md").read_text()
SOURCES = sorted((ROOT / "src").glob("*/**/*.py"))
WORKER_SOURCES = [path for path in SOURCES if path.relative_to(ROOT / "src").parts[0] in
                  ("domain", "adapters", "entrypoints")]
CLASS_CODES = {name: cls.code for name, cls in vars(errors).items()
               if inspect.isclass(cls) and issubclass(cls, errors.WorkerError) and cls is not errors.WorkerError}


def literal_codes() -> set:
    """Codes the worker writes by hand: `"error": f"<code>: ..."` and `"error_code": "<code>"`."""
    found = set()
    for path in WORKER_SOURCES:
        found |= set(re.findall(r'"error_code": "([a-z_]+)"', path.read_text()))
        found |= set(re.findall(r'"error": f"([a-z_]+): ', path.read_text()))
    return found


def template(node: ast.expr) -> Optional[str]:
    """A regex for the strings an f-string (or a + of them) builds; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(re.escape(part.value) if isinstance(part, ast.Constant) and isinstance(part.value, str)
                       else ".+?" for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = template(node.left), template(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.IfExp):
        return ".*?"
    return None


def as_answered(pattern: str) -> str:
    """The use case names its limits; the answer names the variables that set them (entrypoints.answers)."""
    for limit, variable in LIMIT_VARIABLES.items():
        pattern = pattern.replace(re.escape(limit), re.escape(variable))
    return pattern


def message_templates() -> dict[str, list[str]]:
    """code -> regexes of the messages the code raises it with (`SomeError(f"...")`, `"error": f"code: ..."`)."""
    found: dict[str, list[str]] = {}
    for path in WORKER_SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CLASS_CODES:
                pattern = template(node.args[0]) if node.args else None
                if pattern:
                    pattern = as_answered(pattern)
                    found.setdefault(CLASS_CODES[node.func.id], []).append(pattern)
            if isinstance(node, ast.ClassDef) and node.name in CLASS_CODES:
                # an error that builds its own message: `super().__init__(f"...")`; one that sets `self.code` takes
                # any code (NothingDelivered: the first failure's)
                sets_code = any(isinstance(n, ast.Attribute) and n.attr == "code" and isinstance(n.ctx, ast.Store)
                                for n in ast.walk(node))
                for call in ast.walk(node):
                    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                            and call.func.attr == "__init__" and call.args):
                        pattern = template(call.args[0])
                        if pattern:
                            found.setdefault("*" if sets_code else CLASS_CODES[node.name], []).append(pattern)
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "error" and isinstance(value, ast.JoinedStr):
                        pattern = template(value)
                        # `"error": f"internal_error: ..."`, or f"{first.code}: ..." for any code
                        code = re.match(r"([a-z_]+|\.\+\?):\\ ", pattern) if pattern else None
                        if pattern and code:
                            name = "*" if code.group(1) == ".+?" else code.group(1)
                            found.setdefault(name, []).append(pattern[code.end():])
    return found


def documented_lines() -> list:
    """Every `"error": "<code>: <message>"` example of errors.md, decoded from its JSON string."""
    return [json.loads(f'"{raw}"') for raw in re.findall(r'"error": "((?:[^"\\]|\\.)*)"', ERRORS_DOC)]


def test_every_code_the_worker_answers_is_in_the_errors_doc():
    codes = set(CLASS_CODES.values()) | literal_codes()
    assert {"internal_error", "config_error", "invalid_input", "output_not_converted"} <= codes
    missing = sorted(code for code in codes if f"`{code}`" not in ERRORS_DOC)
    assert not missing, missing


def test_the_success_statuses_are_in_the_api_doc():
    statuses = set()
    for path in WORKER_SOURCES:
        statuses |= set(re.findall(r'"status"\]? ?[:=] "([a-z_]+)"', path.read_text()))
    assert {"valid", "success_no_images"} <= statuses
    api_doc = (ROOT / "docs" / "api.md").read_text()
    assert all(f'"status": "{status}"' in api_doc for status in statuses), statuses


# The validation lines, built by the dry run from a small /object_info (ComfyUI's HTTP 400 reads the same)
OBJECT_INFO = {
    "EmptyImage": {"input": {"required": {"width": ["INT", {"min": 1}], "height": ["INT", {"min": 1}],
                                          "batch_size": ["INT", {"min": 1}], "color": ["INT", {"min": 0}]}},
                   "output": ["IMAGE"], "output_node": False},
    "SaveImage": {"input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}}, "output": [],
                  "output_node": True},
    "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [["flux1-dev.safetensors",
                                                                     "sd_xl_base_1.0.safetensors",
                                                                     "v1-5-pruned-emaonly.ckpt"]]}},
                               "output": ["MODEL", "CLIP", "VAE"], "output_node": False},
    "ModelSave": {"input": {"required": {"model": ["MODEL"]}}, "output": [], "output_node": True},
}
SAVE = {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}
EMPTY: dict[str, Any] = {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}}
WORKFLOWS = [
    {"1": {**EMPTY, "inputs": {**EMPTY["inputs"], "width": 0}}, "9": SAVE},
    {"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
     "9": {"class_type": "ModelSave", "inputs": {"model": ["4", 0]}}},
    {"1": {"class_type": "NoSuchNode", "inputs": {}}, "9": SAVE},
]


def built_lines() -> set:
    """Lines made by running the code: the dry run's validation errors, a refused input, a bad variable."""
    lines = set()
    for workflow in WORKFLOWS:
        with pytest.raises(errors.WorkerError) as caught:
            raise_for_issues(check_workflow(workflow, OBJECT_INFO), OBJECT_INFO)
        lines.add(caught.value.summary())
    with pytest.raises(errors.InvalidInput) as caught:
        parse_request({"workflow": {"3": {"class_type": "KSampler", "inputs": []}}})
    lines.add(caught.value.summary())
    with pytest.raises(ConfigError) as config:
        read_settings({"OUTPUT_SINK": "ftp"})
    lines.add(f"config_error: {config.value}")
    return lines


def test_each_example_line_is_built_by_the_code():
    templates = message_templates()
    lines = [line for line in documented_lines() if not line.startswith("<code>")]
    assert len(lines) >= 15
    built = built_lines()
    assert len(built) == 5 and built <= set(lines), built - set(lines)
    unmatched = []
    for line in set(lines) - built:
        code, _, message = line.partition(": ")
        if not any(re.fullmatch(pattern, message, flags=re.DOTALL) for pattern in templates.get(code, []) + templates.get("*", [])):
            unmatched.append(line)
    assert not unmatched, "\n".join(unmatched)


def test_refresh_worker_is_never_shown_in_an_answer():
    """The SDK takes `refresh_worker` out of the handler's answer (it becomes stopPod): callers never see it."""
    for doc in ("docs/errors.md", "docs/api.md", "README.md"):
        assert '"refresh_worker"' not in (ROOT / doc).read_text(), doc


def test_the_readme_says_what_a_caller_sees_of_a_failure_wherever_the_worker_runs():
    """runpod 1.12: on RunPod the result's `error` (the rest goes as its `output`), the local API's FAILED answer
    `{id, status, error}`, --test_input's one printed line (tests/e2e/test_runsync.py checks the last two)."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    section = readme[readme.index("## A failed job"):readme.index("## Documentation")]
    for where in ("| RunPod (`/runsync`, `/status/<id>`) |", "| the SDK's local API (`--rp_serve_api`) |",
                  "| `--test_input` |", "| `make run` |"):
        assert where in section, where
    assert "count on `error` only" in section and "its `job failed` line carries" in section
