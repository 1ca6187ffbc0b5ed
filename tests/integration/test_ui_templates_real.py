"""Contract run (COMFY_TEST_URL): converted editor templates against a real ComfyUI 0.3.64.

The server's own validation refuses the converted templates for the reasons the dry-run check gives, and the
editor's default template (a text-to-image SD1.5 graph, rewritten to 64x64 and 2 steps) runs for real when the
server has an SD1.5 checkpoint (the random one the project's tooling builds will do).
"""
import copy
import json
import pathlib
import random
import time
import uuid

import comfyui_workflow_templates
import pytest
import requests

from contract import COMFY_TEST_URL, real_comfy
from domain.workflow.check import check_workflow
from domain.workflow.links import is_link
from domain.workflow.ui_format import convert_ui_workflow

pytestmark = pytest.mark.skipif(not COMFY_TEST_URL, reason="needs a real ComfyUI (COMFY_TEST_URL)")

TEMPLATES = pathlib.Path(comfyui_workflow_templates.get_templates_path())
# ComfyUI 0.3.64 refuses an upload input's missing file in the node's own check, and checks a value against a
# list only for the old list form of a combo, not for ["COMBO", {"options": [...]}]
FILE_ERRORS = {"value_not_in_list", "custom_validation_failed"}


@pytest.fixture(scope="module")
def server():
    comfy = real_comfy()
    return comfy.base_url, requests.get(f"{comfy.base_url}/object_info", timeout=60).json()


def depends_on(prompt: dict, node_id: str) -> set:
    seen, pending = set(), [node_id]
    while pending:
        current = pending.pop()
        if current in seen or current not in prompt:
            continue
        seen.add(current)
        pending += [str(value[0]) for value in prompt[current]["inputs"].values() if is_link(value)]
    return seen


def normalized(errors) -> set:
    return {(node_id, "file" if kind in FILE_ERRORS else kind, name) for node_id, kind, name in errors}


def unchecked_by_the_server(error, object_info, prompt) -> bool:
    node_id, kind, name = error
    config = object_info[prompt[node_id]["class_type"]]["input"]
    spec = (config.get("required") or {}).get(name) or (config.get("optional") or {}).get(name)
    return kind == "file" and spec is not None and len(spec) > 0 and spec[0] == "COMBO"


def test_the_real_server_refuses_converted_templates_where_the_check_does(server):
    base_url, object_info = server
    posted, disagreements = 0, []
    for path in sorted(TEMPLATES.glob("*.json")):
        if path.name.startswith("index"):
            continue
        prompt = convert_ui_workflow(json.loads(path.read_text()), object_info, choose=lambda n: 0).prompt
        if any(node["class_type"] not in object_info for node in prompt.values()):
            continue
        issues = check_workflow(prompt, object_info)
        flagged = {i.node_id for i in issues
                   if not unchecked_by_the_server((i.node_id, "file" if i.type in FILE_ERRORS else i.type, i.input),
                                                  object_info, prompt)}
        outputs = [i for i, node in prompt.items() if object_info[node["class_type"]].get("output_node")]
        if not issues or any(not depends_on(prompt, output) & flagged for output in outputs):
            continue  # ComfyUI would run the outputs that validate: not sent
        answer = requests.post(f"{base_url}/prompt", json={"prompt": prompt, "client_id": "ui-templates"}, timeout=60)
        assert answer.status_code == 400, (path.name, answer.text[:300])
        posted += 1
        theirs = {(node_id, error["type"], (error.get("extra_info") or {}).get("input_name"))
                  for node_id, entry in answer.json().get("node_errors", {}).items() for error in entry["errors"]}
        theirs = normalized(theirs)
        ours = {error for error in normalized((i.node_id, i.type, i.input) for i in issues)
                if error in theirs or not unchecked_by_the_server(error, object_info, prompt)}
        if ours != theirs:
            disagreements.append((path.name, sorted(ours, key=str), sorted(theirs, key=str)))
    assert posted >= 100
    assert disagreements == []


def test_the_editors_default_template_runs_on_the_real_server(server):
    base_url, object_info = server
    checkpoints = [name for name in object_info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
                   if "sd15" in name.lower() or "v1-5" in name.lower()]
    if not checkpoints:
        pytest.skip("the server has no SD1.5 checkpoint")
    workflow = copy.deepcopy(json.loads((TEMPLATES / "default.json").read_text()))
    for node in workflow["nodes"]:
        if node["type"] == "EmptyLatentImage":
            node["widgets_values"] = [64, 64, 1]
        elif node["type"] == "KSampler":  # a new seed each run: ComfyUI would answer a repeated prompt from its cache
            node["widgets_values"][0:3] = [random.randrange(2**32), True, 2]  # seed, (legacy boolean) control, steps
        elif node["type"] == "CheckpointLoaderSimple":
            node["widgets_values"] = [checkpoints[0]]
    prompt = convert_ui_workflow(workflow, object_info, choose=lambda n: 0).prompt
    assert prompt["3"]["inputs"]["steps"] == 2 and prompt["5"]["inputs"]["width"] == 64
    answer = requests.post(f"{base_url}/prompt", json={"prompt": prompt, "client_id": str(uuid.uuid4())}, timeout=60)
    assert answer.status_code == 200, answer.text[:500]
    prompt_id = answer.json()["prompt_id"]
    give_up = time.monotonic() + 600
    while time.monotonic() < give_up:
        entry = requests.get(f"{base_url}/history/{prompt_id}", timeout=30).json().get(prompt_id)
        if entry and entry.get("status", {}).get("completed"):
            break
        time.sleep(1)
    else:
        pytest.fail("the prompt did not finish within 600 s")
    assert entry["status"]["status_str"] == "success"
    assert entry["outputs"]["9"]["images"], entry["outputs"]


def test_the_editors_default_template_runs_through_the_worker_as_saved_with_overrides(server):
    """The worker takes the template as the editor saved it, converts it against the server's /object_info and
    runs it; the overrides (by title) shrink it to 64x64 and 2 steps and pick the server's SD1.5 checkpoint."""
    import asyncio

    from entrypoints.container import build_container
    from entrypoints.runpod_handler import make_handler

    base_url, object_info = server
    checkpoints = [name for name in object_info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0]
                   if "sd15" in name.lower() or "v1-5" in name.lower()]
    if not checkpoints:
        pytest.skip("the server has no SD1.5 checkpoint")
    workflow = json.loads((TEMPLATES / "default.json").read_text())
    overrides = {"Empty Latent Image": {"width": 64, "height": 64}, "KSampler": {"steps": 2,
                 "seed": random.randrange(2**32)}, "Load Checkpoint": {"ckpt_name": checkpoints[0]}}
    handler = make_handler(build_container({"COMFY_HOST": base_url.split("://", 1)[1]}))
    answer = asyncio.run(handler({"id": "template-run", "input": {"workflow": workflow, "overrides": overrides}}))
    assert "error" not in answer, answer.get("error")
    [image] = answer["images"]
    assert image["node_id"] == "9" and image["content_type"] == "image/png" and image["size_bytes"] > 0
    dry = asyncio.run(handler({"id": "template-dry", "input": {"workflow": workflow, "overrides": overrides,
                                                               "validate_only": True}}))
    assert dry["status"] == "valid" and dry["workflow_api"]["3"]["inputs"]["steps"] == 2
