"""Reads a RunPod job's raw `input` into the domain's command (`RunWorkflow`) and `Job`, or a clear `InvalidInput`."""

from __future__ import annotations

import binascii
import json
import math
import re
import uuid
from typing import Any, Callable, Optional

from domain.errors import InvalidInput, excerpt
from domain.inputs.limits import InputLimits
from domain.model import InlineFile, InputFile, Job, OutputFormat, Prompt, RunWorkflow
from domain.outputs.formats import FORMAT_ALIASES, IMAGE_FORMATS, MAX_QUALITY, MIN_QUALITY, is_quality
from domain.workflow.ui_format import is_ui_workflow
from entrypoints.base64_text import decode_base64_text
from entrypoints.input_kinds import KINDS
from entrypoints.model_request import parse_models

MAX_NAME_BYTES = 255
MAX_NAME_PARTS = 8  # "a/b/.../f.png": seven folders at most under ComfyUI's input folder
MAX_API_KEY_CHARS = 4096
# JSON objects and lists within each other, counted from input; deeper breaks json.dumps, copy and logging later
MAX_NESTING = 100
# JSON's "\udc80" escape reads as a lone surrogate, a character no UTF-8 text can hold: the answer echoing it, or
# ComfyUI's request carrying it, could not be encoded
_SURROGATE = re.compile("[\ud800-\udfff]")
# characters a multipart upload's file name cannot carry as they are (urllib3 escapes them, ComfyUI then stores
# another name): control characters and the double quote
_UNSENDABLE_IN_NAME = re.compile('[\x00-\x1f\x7f"]')


def parse_request(raw: Any, limits: InputLimits = InputLimits()) -> RunWorkflow:
    """Validate `job["input"]` (an object or a JSON string of one) into the command the use case runs."""
    data = _as_object(raw, "input")
    workflow, ui = _workflow(data.get("workflow"))
    _check_values({**data, "workflow": workflow}, "input")
    inputs = _images(data.get("images"), limits)
    key = data.get("comfy_org_api_key")
    # worker-comfyui 5.x: an empty key means "no key", so the worker's COMFY_ORG_API_KEY is sent instead
    if key is not None and (not isinstance(key, str) or (key and not key.strip())):
        raise InvalidInput("input.comfy_org_api_key must be a non-empty string")
    if key is not None and len(key) > MAX_API_KEY_CHARS:
        raise InvalidInput(f"input.comfy_org_api_key is longer than {MAX_API_KEY_CHARS} characters")
    return RunWorkflow(
        workflow=workflow,
        ui=ui,
        overrides=_overrides(data.get("overrides")),
        inputs=inputs,
        comfy_org_api_key=key or None,
        include_temp=_flag(data, "include_temp"),
        output_format=_output_format(data.get("output_format")),
        validate_only=_flag(data, "validate_only"),
        models=parse_models(data.get("models")),
    )


def new_job(
    job_id: str,
    raw_input: Any,
    *,
    default_api_key: Optional[str] = None,
    limits: InputLimits = InputLimits(),
    client_id: Optional[str] = None,
    new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
) -> Job:
    """Build the job with a prompt id chosen by us, for `client_id` (a fresh one by default)."""
    command = parse_request(raw_input, limits)
    api_key = command.comfy_org_api_key or default_api_key
    extra_data = {"api_key_comfy_org": api_key} if api_key else {}
    workflow = {} if command.ui else command.workflow  # a UI export's API prompt is made when the job runs
    prompt = Prompt(id=new_id(), client_id=client_id or new_id(), workflow=workflow, extra_data=extra_data)
    return Job(id=job_id, command=command, prompt=prompt)


def _flag(data: dict, name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"input.{name} must be true or false, got {type(value).__name__}")
    return value


def _output_format(raw: Any) -> Optional[OutputFormat]:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput('input.output_format must be an object like {"format": "jpeg", "quality": 90}')
    unknown = sorted(set(raw) - {"format", "quality"})
    if unknown:
        raise InvalidInput(f"input.output_format has unknown fields {excerpt(unknown)}: use 'format' and 'quality'")
    fmt = raw.get("format")
    fmt = FORMAT_ALIASES.get(fmt, fmt) if isinstance(fmt, str) else fmt
    if not isinstance(fmt, str) or fmt not in IMAGE_FORMATS:
        raise InvalidInput(f"input.output_format.format must be one of {', '.join(IMAGE_FORMATS)}, got {excerpt(fmt)}")
    quality = raw.get("quality")
    if isinstance(quality, float) and quality.is_integer():  # JSON's 80.0 is the number 80, as JSON Schema reads it
        quality = int(quality)
    if quality is not None and not is_quality(quality):
        raise InvalidInput(
            f"input.output_format.quality must be a whole number from {MIN_QUALITY} to {MAX_QUALITY}, "
            f"got {excerpt(quality)}"
        )
    return OutputFormat(format=fmt, quality=quality)  # type: ignore[arg-type]


def _as_object(raw: Any, what: str) -> dict:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{what} is a string but not valid JSON: {exc}") from exc
        except RecursionError:
            raise InvalidInput(f"{what} is a string of JSON nested too deeply") from None
    if raw is None:
        raise InvalidInput(f"{what} is missing")
    if not isinstance(raw, dict):
        raise InvalidInput(f"{what} must be a JSON object, got {type(raw).__name__}")
    return raw


def _workflow(raw: Any) -> tuple[dict, bool]:
    """The workflow, and whether it is the editor's UI export (`nodes` and `links`: the use case converts it; its
    own reader checks its shape) rather than the API format, checked here."""
    if raw is None:
        raise InvalidInput(
            "input.workflow is missing: send the workflow as ComfyUI's editor saves it, or its API export"
        )
    workflow = _as_object(raw, "input.workflow")
    if is_ui_workflow(workflow):
        _check_ui_shape(workflow)
        return workflow, True
    if "nodes" in workflow and "links" in workflow:
        raise InvalidInput(
            "input.workflow has 'nodes' and 'links' like a workflow ComfyUI's editor saves, but its 'nodes' is "
            f"{_json_type(workflow['nodes'])}, not a list"
        )
    if not workflow:
        raise InvalidInput("input.workflow is empty")
    for node_id, node in workflow.items():
        if not isinstance(node, dict) or not isinstance(node.get("class_type"), str):
            raise InvalidInput(
                f"input.workflow node {excerpt(node_id)} has no 'class_type': "
                "is this ComfyUI's API format (Workflow > Export (API))?"
            )
        inputs = node.get("inputs", {})  # a missing 'inputs' is ComfyUI's to refuse (it reads node['inputs'])
        if not isinstance(inputs, dict):
            raise InvalidInput(
                f"input.workflow node {str(node_id)[:40]!r}: 'inputs' must be an object of input names and values, "
                f"got {_json_type(inputs)}"
            )
    return workflow, False


def _check_ui_shape(workflow: dict) -> None:
    """The top of a UI workflow as input.schema.json states it; the converter reads the rest."""
    for index, node in enumerate(workflow["nodes"]):
        if not isinstance(node, dict):
            raise InvalidInput(f"input.workflow nodes[{index}] is {_json_type(node)}, not an object")
    if not isinstance(workflow["links"], (list, dict, type(None))):
        raise InvalidInput(f"input.workflow 'links' is {_json_type(workflow['links'])}, not a list")
    if not isinstance(workflow.get("definitions"), (dict, type(None))):
        raise InvalidInput(f"input.workflow 'definitions' is {_json_type(workflow['definitions'])}, not an object")


def _overrides(raw: Any) -> dict[str, dict[str, Any]]:
    """`{"<node id or exact title>": {"<input name>": value, ...}, ...}`; which nodes and inputs exist is the use
    case's to tell, against the workflow and /object_info."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput('input.overrides must be an object like {"KSampler": {"seed": 42}, "6": {"text": "a cat"}}')
    for key, values in raw.items():
        if not key:
            raise InvalidInput("input.overrides has an empty node name: use a node id or a node's exact title")
        if not isinstance(values, dict) or not values:
            raise InvalidInput(
                f"input.overrides[{excerpt(key)}] must be a non-empty object of input names and values, "
                f"got {_json_type(values)}"
            )
        if any(not name for name in values):
            raise InvalidInput(f"input.overrides[{excerpt(key)}] has an empty input name")
    return raw


def _check_values(data: dict, what: str) -> None:
    """One pass over every value, no recursion: objects and lists nest at most MAX_NESTING deep, and each
    number is one JSON can carry (JSON parsers read NaN, Infinity and 1e400 as floats ComfyUI is never sent)."""
    pending: list = [({key: value}, 1, key) for key, value in data.items()]
    while pending:
        item, depth, field = pending.pop()
        if depth > MAX_NESTING:
            raise InvalidInput(
                f"{what}.{_shown_field(field)} is nested deeper than {MAX_NESTING} levels of objects and lists"
            )
        if isinstance(item, dict):
            for key in item:
                if isinstance(key, str) and has_surrogate(key):
                    raise InvalidInput(f"{what}.{_shown_field(field)} has a key {_NOT_UTF8}")
        for child in item.values() if isinstance(item, dict) else item:
            if isinstance(child, (dict, list)):
                pending.append((child, depth + 1, field))
            elif isinstance(child, float) and not math.isfinite(child):
                raise InvalidInput(f"{what}.{_shown_field(field)} holds the number {child}, which JSON cannot carry")
            elif isinstance(child, str) and has_surrogate(child):
                raise InvalidInput(f"{what}.{_shown_field(field)} holds a string {_NOT_UTF8}")


_NOT_UTF8 = "with a lone surrogate (a \\ud800-\\udfff escape not part of a pair), which is not text: send UTF-8"


def has_surrogate(text: str) -> bool:
    """Whether `text` holds a lone surrogate (ASCII text, the usual case, is told apart without a search)."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def _shown_field(field: Any) -> str:
    text = str(field)[:40]
    return ascii(text)[1:-1] if has_surrogate(text) else text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _images(raw: Any, limits: InputLimits) -> tuple[InputFile, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise InvalidInput("input.images must be a list of {name, image} or {name, url} objects")
    limits.check_count(len(raw), "input.images")
    seen: set[str] = set()
    images = []
    total = 0
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            raise InvalidInput(f"input.images[{index}] must be an object with 'name' and 'image' (or 'url')")
        name = _image_name(item.get("name"), index)
        if name in seen:
            raise InvalidInput(f"input.images[{index}]: the name {name!r} is used twice")
        seen.add(name)
        given = [field for field in ("image", *KINDS) if field in item]
        if len(given) > 1:
            fields = " and ".join(f"'{field}'" for field in given)
            raise InvalidInput(f"input.images[{index}] ({name!r}) gives both {fields}: send one")
        if given and given[0] in KINDS:
            images.append(InputFile(name, KINDS[given[0]].parse(item[given[0]], index)))
        else:
            total += _decoded_length(item.get("image"))
            limits.check_inline_total(total, name)
            images.append(InputFile(name, InlineFile(_decode_base64(item.get("image"), name, limits))))
    return tuple(images)


def _decoded_length(value: Any) -> int:
    """How many bytes base64 text decodes to, told from its length before decoding (0 for a non-string)."""
    if not isinstance(value, str):
        return 0
    start = value.find(",") + 1 if value.startswith("data:") else 0
    symbols = len(value) - start - sum(value.count(space, start) for space in " \t\n\r\v\f")
    padding = value[max(start, len(value) - 64) :].rstrip()[-2:].count("=")
    return max(0, symbols * 3 // 4 - padding)


def _image_name(name: Any, index: int) -> str:
    """A file name, or a path of folders and a file name under ComfyUI's input folder ("sub/a.png")."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"input.images[{index}].name must be a non-empty string")
    if len(name.encode("utf-8", errors="replace")) > MAX_NAME_BYTES:
        raise InvalidInput(f"input.images[{index}].name is longer than {MAX_NAME_BYTES} bytes (file systems refuse it)")
    for bad, label in (("\\", "'\\'"), ("..", "'..'"), ("\x00", "a NUL byte")):
        if bad in name:
            raise InvalidInput(f"input.images[{index}].name {name!r} must not contain {label}")
    if _UNSENDABLE_IN_NAME.search(name):
        raise InvalidInput(
            f"input.images[{index}].name {name!r} must not contain a control character (a line break, a tab) or '\"'"
        )
    if name.startswith("/"):
        raise InvalidInput(
            f"input.images[{index}].name {name!r} must not start with '/': names are paths in ComfyUI's input folder"
        )
    parts = name.split("/")
    if "" in parts:
        raise InvalidInput(f"input.images[{index}].name {name!r} has an empty part: a '/' at its end or two in a row")
    if len(parts) > MAX_NAME_PARTS:
        raise InvalidInput(f"input.images[{index}].name {name!r} is more than {MAX_NAME_PARTS - 1} folders deep")
    for part in parts:
        if not part.replace(".", "").strip():
            what = "it is" if part == name else f"{part!r} is"
            raise InvalidInput(f"input.images[{index}].name {name!r} names no file: {what} only dots and spaces")
    return name


def _decode_base64(value: Any, name: str, limits: InputLimits) -> bytes:
    if not isinstance(value, str) or not value or value.isspace():  # strip() would copy text that ends in a newline
        raise InvalidInput(f"input image {name!r}: 'image' must be a base64 string")
    if value.startswith("data:"):
        header, sep, value = value.partition(",")
        if not sep or not header.endswith(";base64"):
            raise InvalidInput(f"input image {name!r}: a data URI must be of the form data:<type>;base64,<data>")
    too_big = limits.too_large(name)
    if len(value) > 2 * (limits.max_input_bytes * 4 // 3 + 4):
        raise too_big
    try:
        data = decode_base64_text(value)  # no string per line of the text (20 MB of MIME lines: 270k strings)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"input image {name!r} is not valid base64: {exc}") from exc
    if not data:
        raise InvalidInput(f"input image {name!r} is empty")
    if len(data) > limits.max_input_bytes:
        raise too_big
    return data
