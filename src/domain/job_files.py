"""Each job's own folder in ComfyUI's input, output and temp folders: names rewritten into it, files it leaves."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from domain.model import OutputRef
from domain.workflow_links import is_link

PREFIX_INPUT = "filename_prefix"  # ComfyUI's save nodes take "sub/prefix" and save into that subfolder
# ComfyUI's cache key holds every input in the prompt, its nodes are given only the inputs they declare: an input
# no node declares makes a node run again, as an identical prompt's node would be served from the cache
JOB_INPUT = "job_folder"


def job_folder(prompt_id: str) -> str:
    """The job's folder name: its prompt id (a uuid we chose) is unique, and safe as one path component."""
    return f"job-{prompt_id}"


def into_job_folder(workflow: Mapping[str, Any], folder: str, uploaded: Iterable[str] = ()) -> dict[str, Any]:
    """The workflow with every save node's `filename_prefix`, and every input naming one of the `uploaded` files,
    moved into `folder`: the job's files are its own, and an identical later prompt re-runs its save nodes (only
    those, ComfyUI's cache serves the rest) instead of naming this job's files in its history. A node nothing
    links to (an output node: a preview) that takes no prefix gets the folder as an input it ignores, so that it
    too runs again instead of naming a temp file an earlier job deleted."""
    names = set(uploaded)
    linked = _linked_nodes(workflow)
    moved: dict[str, Any] = {}
    for node_id, node in workflow.items():
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(inputs, Mapping):
            moved[node_id] = node
            continue
        new_inputs = {
            name: f"{folder}/{value}" if isinstance(value, str) and (name == PREFIX_INPUT or value in names) else value
            for name, value in inputs.items()
        }
        if str(node_id) not in linked and not isinstance(inputs.get(PREFIX_INPUT), str):
            new_inputs[JOB_INPUT] = folder
        moved[node_id] = {**node, "inputs": new_inputs}
    return moved


def _linked_nodes(workflow: Mapping[str, Any]) -> set[str]:
    """The nodes some node's input links to."""
    return {
        str(value[0])
        for node in workflow.values()
        if isinstance(node, Mapping) and isinstance(node.get("inputs"), Mapping)
        for value in node["inputs"].values()
        if is_link(value)
    }


def files_to_remove(folder: str, files: Iterable[OutputRef], cached_nodes: Iterable[str]) -> list[OutputRef]:
    """The files the job's prompt wrote outside its own folder (a preview's temp file, a node that takes no
    prefix), but not those of nodes ComfyUI served from its cache, which an earlier job wrote and a later one
    may be served again."""
    cached = set(cached_nodes)
    return [
        ref
        for ref in files
        if ref.folder_type in ("output", "temp")
        and ref.node_id not in cached
        and not (ref.subfolder == folder or ref.subfolder.startswith(folder + "/"))
    ]
