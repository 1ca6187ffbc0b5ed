"""Each job's own folder in ComfyUI's input, output and temp folders: names rewritten into it, the files the job
can prove it made, and other jobs' folders kept out of what it is told."""

from __future__ import annotations

import re
from typing import Any, Collection, Iterable, Mapping, Optional

from domain.errors import WorkerError
from domain.model import OutputRef

PREFIX_INPUT = "filename_prefix"  # ComfyUI's save nodes take "sub/prefix" and save into that subfolder
# ComfyUI's cache key holds every input in the prompt, its nodes are given only the inputs they declare: an input
# no node declares makes a node run again, as an identical prompt's node would be served from the cache
JOB_INPUT = "job_folder"
# Core nodes whose every run writes a new file into ComfyUI's temp folder, under a name no other run takes
# (nodes.py PreviewImage, comfy_extras/nodes_mask.py MaskPreview, nodes_audio.py PreviewAudio: a random
# prefix and the next free counter): a temp file such a node reports for a run of this prompt is the job's own.
FRESH_TEMP_WRITERS = frozenset({"PreviewImage", "MaskPreview", "PreviewAudio"})
_ANY_JOB_FOLDER = re.compile(r"job-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HIDDEN_JOB_FOLDER = "job-…"


def job_folder(prompt_id: str) -> str:
    """The job's folder name: its prompt id (a uuid we chose) is unique, and safe as one path component."""
    return f"job-{prompt_id}"


def inputs_into_folder(workflow: Mapping[str, Any], folder: str, uploaded: Iterable[str]) -> dict[str, Any]:
    """The workflow with every input naming one of the `uploaded` files moved into `folder`, where they are
    uploaded: jobs in flight together never read each other's, nor a file someone else put in ComfyUI's input
    folder under the same name."""
    names = set(uploaded)
    if not names:
        return dict(workflow)
    return _rewritten(workflow, lambda name, value: f"{folder}/{value}" if value in names else value)


def outputs_into_folder(workflow: Mapping[str, Any], folder: str, output_nodes: Collection[str]) -> dict[str, Any]:
    """The workflow with every save node's `filename_prefix` moved into `folder`, and every other output node
    given the folder as an input it ignores: each output node runs again for this job (ComfyUI's cache serves
    only the rest), so that what the job's outputs name are files the job made."""
    moved = _rewritten(workflow, lambda name, value: f"{folder}/{value}" if name == PREFIX_INPUT else value)
    for node_id in output_nodes:
        node = moved.get(node_id)
        if not isinstance(node, Mapping):
            continue
        inputs = node.get("inputs")
        if isinstance(inputs, Mapping) and not isinstance(inputs.get(PREFIX_INPUT), str):
            moved[node_id] = {**node, "inputs": {**inputs, JOB_INPUT: folder}}
    return moved


def _rewritten(workflow: Mapping[str, Any], rewrite: Any) -> dict[str, Any]:
    moved: dict[str, Any] = {}
    for node_id, node in workflow.items():
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(inputs, Mapping):
            moved[node_id] = node
            continue
        moved[node_id] = {
            **node,
            "inputs": {
                name: rewrite(name, value) if isinstance(value, str) else value for name, value in inputs.items()
            },
        }
    return moved


def fresh_temp_files(
    workflow: Mapping[str, Any], files: Iterable[OutputRef], cached_nodes: Optional[Collection[str]]
) -> list[OutputRef]:
    """The temp files outside the job's folder that the job can prove it made: those a core preview node of its
    prompt reported, when it is known that ComfyUI ran that node (not served it from its cache, which names an
    earlier prompt's file). Nothing when which nodes were cached is not known."""
    if cached_nodes is None:
        return []
    cached = set(cached_nodes)
    fresh: dict[OutputRef, None] = {}
    for ref in files:
        node = workflow.get(ref.node_id)
        class_type = node.get("class_type") if isinstance(node, Mapping) else None
        if (
            ref.folder_type == "temp"
            and class_type in FRESH_TEMP_WRITERS
            and ref.node_id not in cached
            and not ref.subfolder
            and "/" not in ref.filename
        ):
            fresh[ref] = None
    return list(fresh)


def names_other_job(value: str, own_folder: str) -> bool:
    """Whether `value` names a job folder other than `own_folder`."""
    return any(match.group() != own_folder for match in _ANY_JOB_FOLDER.finditer(value))


def without_job_folders(choices: Iterable[Any]) -> list[Any]:
    """A list of choices ComfyUI offers (an input folder's files or subfolders) without the entries in job
    folders: they are other jobs' files, or this job's own, which it names by the names it uploaded."""
    return [choice for choice in choices if not (isinstance(choice, str) and _ANY_JOB_FOLDER.search(choice))]


def hide_other_jobs(value: Any, own_folder: str) -> Any:
    """`value` (text, or lists and objects of it) with every other job's folder name replaced by `job-…`."""
    if isinstance(value, str):
        if "job-" not in value:
            return value
        return _ANY_JOB_FOLDER.sub(lambda m: m.group() if m.group() == own_folder else HIDDEN_JOB_FOLDER, value)
    if isinstance(value, (list, tuple)):
        return [hide_other_jobs(item, own_folder) for item in value]
    if isinstance(value, Mapping):
        return {key: hide_other_jobs(item, own_folder) for key, item in value.items()}
    return value


def hide_other_jobs_in(error: WorkerError, own_folder: str) -> WorkerError:
    """The error with other jobs' folders hidden in its message, details and data, whatever ComfyUI's text said
    (the choice lists it echoes are filtered where they are read; this is the last word)."""
    error.message = hide_other_jobs(error.message, own_folder)
    error.details = hide_other_jobs(error.details, own_folder)
    error.data = hide_other_jobs(error.data, own_folder)
    error.args = (error.message,)
    return error
