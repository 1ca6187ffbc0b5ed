"""check_workflow with the simulator's /object_info finds what ComfyUI (recorded) and the simulator reject."""
import json
import pathlib

import pytest
import requests

from adapters.comfy_errors import workflow_rejected
from domain.workflow.check import check_workflow
from domain.workflow.rejections import error_for_issues

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "comfyui"
# ComfyUI answers a link to a missing node with a KeyError (exception_during_validation, no input name);
# the dry run names the input and calls it what it is.
OUR_NAMES = {"exception_during_validation": "bad_linked_input"}


def recorded_rejections():
    validation = json.loads((FIXTURES / "transcripts" / "validation_error.json").read_text())
    cases = {"validation_error": (validation["request"]["prompt"], validation["post_prompt"])}
    for name, variant in validation["variants"].items():
        if isinstance(variant.get("request"), dict) and "prompt" in variant["request"]:
            cases[name] = (variant["request"]["prompt"], variant["post_prompt"])
    models = json.loads((FIXTURES / "transcripts" / "missing_model_validation.json").read_text())
    for name, case in models["cases"].items():
        cases[f"missing_model_{name}"] = (case["request"]["prompt"], case["post_prompt"])
    return cases


CASES = recorded_rejections()


def node_types(body):
    if not body.get("node_errors"):
        return {(None, body["error"]["type"])} if "error" in body else set()
    return {(node_id, OUR_NAMES.get(e["type"], e["type"])) for node_id, node in body["node_errors"].items()
            for e in node["errors"]}


def found(issues):
    return {(None if i.type == "prompt_no_outputs" else i.node_id, i.type) for i in issues
            if i.type != "invalid_prompt"} | {(None, "invalid_prompt") for i in issues if i.type == "invalid_prompt"}


@pytest.fixture
def object_info(comfy_sim):
    return requests.get(comfy_sim.base_url + "/object_info", timeout=10).json()


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_dry_run_agrees_with_comfyui_and_the_simulator(comfy_sim, object_info, name):
    if name == "validation_missing_file":
        pytest.skip("LoadImage's file check is ComfyUI's custom validation; the dry run takes the job's own files")
    workflow, recorded = CASES[name]
    issues = check_workflow(workflow, object_info)
    assert found(issues) == node_types(recorded["json"])
    answer = requests.post(comfy_sim.base_url + "/prompt", json={"prompt": workflow}, timeout=10)
    if answer.status_code == 400:
        assert found(issues) == node_types(answer.json())
        assert type(error_for_issues(issues, object_info)) is type(workflow_rejected(answer.json(), object_info))
    else:
        # ComfyUI 0.3.64 queues a few workflows that 0.8 (the recording) refuses, such as a loader whose model
        # list is empty: the dry run keeps to the recording, which names the missing file before any GPU work.
        assert answer.status_code == 200


def test_every_recorded_runnable_workflow_passes(object_info):
    checked = 0
    for path in sorted((FIXTURES / "workflows").glob("*.json")):
        workflow = json.loads(path.read_text())
        if path.stem.startswith(("validation_", "missing_model_validation_")) and "pixel_space_ok" not in path.stem:
            continue
        if any(node["class_type"] not in object_info for node in workflow.values()):
            continue  # nodes the simulator does not implement (audio, video)
        uploads = {node["inputs"]["image"] for node in workflow.values() if node["class_type"] == "LoadImage"}
        assert check_workflow(workflow, object_info, input_files=uploads) == [], path.name
        checked += 1
    assert checked > 30
