"""The workflow's file choices (inputs /object_info declares as a list, or with an upload button) kept inside
ComfyUI's folders and out of other jobs' folders: ComfyUI joins their value to its folder as given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from domain.errors import InvalidInput, clip, excerpt
from domain.workflow.check import declared
from domain.workflow.job_folders import hide_other_jobs, names_other_job

# folder_paths.annotated_filepath: "name [output]" reads from the output folder (also [input], [temp])
_ANNOTATIONS = (" [output]", " [input]", " [temp]")


@dataclass(frozen=True)
class Suspect:
    """A string value that would leave ComfyUI's folders, or enter another job's, if its input is a file choice."""

    node_id: str
    class_type: str
    input: str
    value: str
    why: str


def suspects(workflow: Mapping[str, Any], own_folder: str) -> list[Suspect]:
    """Every string input value that is an absolute path, has a '..' part, or names another job's folder
    (no /object_info needed: most workflows have none, and then nothing more is asked)."""
    found = []
    for node_id, node in workflow.items():
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(inputs, Mapping):
            continue
        for name, value in inputs.items():
            for text in _strings(value):
                why = _why(text, own_folder)
                if why is not None:
                    found.append(Suspect(str(node_id), str(node.get("class_type")), str(name), text, why))
    return found


def refuse_file_choices(found: list[Suspect], object_info: Mapping[str, Any], own_folder: str) -> None:
    """Raise `InvalidInput` for the first suspect whose input its class declares as a file choice."""
    for suspect in found:
        if _is_file_choice(object_info.get(suspect.class_type), suspect.input):
            shown = excerpt(hide_other_jobs(suspect.value, own_folder))
            raise InvalidInput(
                f"node {clip(suspect.node_id)} ({clip(suspect.class_type)}) input '{clip(suspect.input)}': "
                f"{shown} {suspect.why}"
            )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping) and isinstance(value.get("__value__"), list):  # a list value, as the editor sends it
        return [item for item in value["__value__"] if isinstance(item, str)]
    return []


def _why(value: str, own_folder: str) -> Optional[str]:
    path = value
    for annotation in _ANNOTATIONS:
        if path.endswith(annotation):
            path = path[: -len(annotation)]
            break
    if path.startswith(("/", "\\")):
        return "is an absolute path: a file choice names a file inside ComfyUI's folders"
    if ".." in path and ".." in path.replace("\\", "/").split("/"):
        return "has a '..' part: a file choice names a file inside ComfyUI's folders"
    if "job-" in path and names_other_job(path, own_folder):
        return "names another job's folder: a job reads only its own files"
    return None


def _is_file_choice(class_info: Any, input_name: str) -> bool:
    """A list (COMBO) input, or one with an upload button (`image_upload`, `audio_upload`, ...): ComfyUI's
    loaders take their value as a path under its folders, some without checking it against their list."""
    schema = class_info.get("input") if isinstance(class_info, Mapping) else None
    if not isinstance(schema, Mapping):
        return False
    for category in ("required", "optional"):
        section = schema.get(category)
        config = section.get(input_name) if isinstance(section, Mapping) else None
        if config is not None:
            kind, options, _ = declared(config)
            return kind == "COMBO" or any(str(key).endswith("_upload") for key in options)
    return False
