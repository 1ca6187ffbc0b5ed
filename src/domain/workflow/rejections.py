"""Turns the issues a workflow check or ComfyUI found into one error, naming a missing model or node class."""

from __future__ import annotations

import difflib
from typing import Any, Mapping, Optional

from domain.errors import ModelMissing, NodeMissing, WorkflowRejected, clip
from domain.inputs.model_requests import MODEL_EXTENSIONS
from domain.workflow.check import Issue, declared
from domain.workflow.model_loaders import loader_folder

# The model folder behind an input of a loader the core table (model_loaders.LOADER_FOLDERS) does not know, a custom
# node's, by the input's name (ComfyUI's folder_paths names, as /models lists them in missing_model_validation.json
# model_routes).
MODEL_FOLDERS = {
    "ckpt_name": "checkpoints",
    "lora_name": "loras",
    "vae_name": "vae",
    "unet_name": "diffusion_models",
    "clip_name": "text_encoders",
    "clip_name1": "text_encoders",
    "clip_name2": "text_encoders",
    "clip_name3": "text_encoders",
    "clip_name4": "text_encoders",
    "control_net_name": "controlnet",
    "style_model_name": "style_models",
    "hypernetwork_name": "hypernetworks",
    "gligen_name": "gligen",
    "audio_encoder_name": "audio_encoders",
    "photomaker_model_name": "photomaker",
}


UNKNOWN_CLASS_TYPES = ("invalid_prompt", "missing_node_type")


def raise_for_issues(issues: list, object_info: Optional[Mapping] = None) -> None:
    """Raise `NodeMissing`, `ModelMissing` or `WorkflowRejected` for the issues (nothing when there are none)."""
    if issues:
        raise error_for_issues(issues, object_info)


def error_for_issues(
    issues: list, object_info: Optional[Mapping] = None, comfy_error: Optional[Mapping] = None
) -> WorkflowRejected:
    """One error for the issues; its first line tells the fix when a node class or a model file is missing.

    `data` is `{"validation_errors": [issue fields...]}` (plus ComfyUI's own top `comfy_error` when it sent one);
    a missing model's entry adds `folder`, `available` (how many files ComfyUI lists) and `closest`.
    """
    entries = [issue.to_data() for issue in issues]
    promoted: dict[int, str] = {}
    # an unknown class: `invalid_prompt` before ComfyUI 0.12.0, `missing_node_type` since
    unknown = [n for n, issue in enumerate(issues) if issue.type in UNKNOWN_CLASS_TYPES and issue.class_type]
    kind: type[WorkflowRejected]
    if unknown:
        kind = NodeMissing
        promoted = {
            n: f"node {clip(str(issues[n].node_id))}: class_type '{clip(str(issues[n].class_type))}' is not installed in this "
            "ComfyUI; a custom node is missing from the worker image"
            for n in unknown
        }
    else:
        for n, issue in enumerate(issues):
            if is_missing_model(issue):
                facts = model_facts(issue, object_info)
                entries[n].update(facts)
                promoted[n] = model_missing_line(issue, facts)
        kind = ModelMissing if promoted else WorkflowRejected
    lines = list(promoted.values()) + [issue.line() for n, issue in enumerate(issues) if n not in promoted]
    data: dict[str, Any] = {"validation_errors": entries}
    if comfy_error:
        data["comfy_error"] = dict(comfy_error)
    return kind("; ".join(lines) or "ComfyUI rejected the workflow", details=lines, data=data)


def looks_like_model_file(value: Any) -> bool:
    return isinstance(value, str) and value.lower().endswith(MODEL_EXTENSIONS)


def model_folder(class_type: Optional[str], input_name: Optional[str]) -> Optional[str]:
    return loader_folder(class_type, input_name) or MODEL_FOLDERS.get(str(input_name))


def is_missing_model(issue: Issue) -> bool:
    """A `value_not_in_list` on a file list: file names allowed or asked for, or a known loader input."""
    if issue.type != "value_not_in_list":
        return False
    return (
        any(looks_like_model_file(v) for v in issue.allowed or ())
        or looks_like_model_file(issue.received)
        or model_folder(issue.class_type, issue.input) is not None
    )


def allowed_values(issue: Issue, object_info: Optional[Mapping]) -> Optional[list]:
    """The list the input allows: the issue's own, else the one /object_info declares."""
    if issue.allowed is not None:
        return list(issue.allowed)
    schema = ((object_info or {}).get(issue.class_type) or {}).get("input") or {}
    for category in ("required", "optional"):
        config = (schema.get(category) or {}).get(issue.input)
        if config is not None:
            return declared(config)[2]
    return None


def model_facts(issue: Issue, object_info: Optional[Mapping]) -> dict:
    allowed = allowed_values(issue, object_info)
    files = [value for value in allowed or () if isinstance(value, str)]
    closest = closest_names(clip(str(issue.received), 1000), files)  # no file name is that long
    return {
        "folder": model_folder(issue.class_type, issue.input),
        "available": None if allowed is None else len(files),
        "closest": closest,
    }


def closest_names(wanted: str, files: list, n: int = 3) -> list:
    """The files whose names look like `wanted`, compared without folder, extension and separators (which most
    model names share, so they are no evidence)."""

    def stem(name: str) -> str:
        base = name.replace("\\", "/").rsplit("/", 1)[-1].lower()
        base = base.rsplit(".", 1)[0] if base.endswith(MODEL_EXTENSIONS) else base
        return "".join(ch for ch in base if ch.isalnum())

    by_stem: dict[str, list] = {}
    for name in files:
        by_stem.setdefault(stem(name), []).append(name)
    matches = difflib.get_close_matches(stem(wanted), list(by_stem), n=n, cutoff=0.5)
    return [name for match in matches for name in by_stem[match]][:n]


def model_missing_line(issue: Issue, facts: Mapping) -> str:
    """`node 4 (CheckpointLoaderSimple) input 'ckpt_name': 'x.safetensors' is not in ComfyUI's models/checkpoints
    (3 files; closest: 'y.safetensors')`."""
    place = f"ComfyUI's models/{facts['folder']}" if facts["folder"] else "the files ComfyUI lists for it"
    count = facts["available"]
    if count is None:
        listing = "ComfyUI did not list them"
    elif count == 0:
        listing = "no files; put the file there or fix the name"
    else:
        names = ", ".join(f"'{name}'" for name in facts["closest"])
        listing = f"{count} file{'s' if count != 1 else ''}; " + (f"closest: {names}" if names else "none close")
    return (
        f"node {clip(str(issue.node_id))} ({clip(str(issue.class_type))}) input '{clip(str(issue.input))}': "
        f"'{clip(str(issue.received))}' is not in "
        f"{place} ({listing})"
    )
