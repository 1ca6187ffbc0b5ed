"""ComfyUI's recorded 400 bodies and execution_error frames as structured errors."""
import json
import pathlib

import pytest

from adapters.comfy_errors import queued, workflow_rejected
from domain.errors import ModelMissing, NodeMissing, WorkflowRejected
from domain.execution.acceptance import QueuedPrompt

TRANSCRIPTS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "comfyui" / "transcripts"


def transcript(name):
    return json.loads((TRANSCRIPTS / f"{name}.json").read_text())


def body_of(case):
    return transcript("missing_model_validation")["cases"][case]["post_prompt"]["json"]


def variant(name):
    return transcript("validation_error")["variants"][name]["post_prompt"]["json"]


def test_the_recorded_validation_400_keeps_the_first_line_and_structures_each_node_error():
    error = workflow_rejected(transcript("validation_error")["post_prompt"]["json"])
    assert type(error) is WorkflowRejected
    assert error.summary().startswith(
        "workflow_invalid: node 1 (EmptyImage) input 'height': Failed to convert an input value to a INT value: "
        "height, abc, invalid literal for int() with base 10: 'abc'; node 1 (EmptyImage) input 'width': "
        "Value -5 smaller than min of 1; node 2 (ImageScale) input 'upscale_method': Value not in list: "
        "upscale_method: 'no-such-method' not in")
    assert "\n" not in error.summary()
    assert error.details[1] == "node 1 (EmptyImage) input 'width': Value -5 smaller than min of 1"
    assert error.data["validation_errors"][1] == {
        "node_id": "1", "class_type": "EmptyImage", "input": "width", "type": "value_smaller_than_min",
        "message": "Value -5 smaller than min of 1", "details": "width", "received": -5}
    assert [e["type"] for e in error.data["validation_errors"]] == [
        "invalid_input_type", "value_smaller_than_min", "value_not_in_list", "required_input_missing"]
    assert error.data["comfy_error"]["type"] == "prompt_outputs_failed_validation"


def test_the_simulators_width_zero_line_is_unchanged():
    body = {"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                      "details": "", "extra_info": {}},
            "node_errors": {"1": {"class_type": "EmptyImage", "dependent_outputs": ["2"], "errors": [
                {"type": "value_smaller_than_min", "message": "Value 0 smaller than min of 1", "details": "width",
                 "extra_info": {"input_name": "width", "input_config": ["INT", {"min": 1}], "received_value": 0}}]}}}
    assert workflow_rejected(body).summary() == (
        "workflow_invalid: node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1")


@pytest.mark.parametrize("case", ["CheckpointLoaderSimple", "LoraLoader", "VAELoader", "UNETLoader", "CLIPLoader",
                                  "UpscaleModelLoader", "ControlNetLoader", "CLIPVisionLoader", "DualCLIPLoader",
                                  "CheckpointLoaderSimple_empty_string"])
def test_every_recorded_missing_model_body_is_model_missing(case):
    error = workflow_rejected(body_of(case))
    assert isinstance(error, ModelMissing)
    assert error.summary().startswith("model_missing: node ")
    assert "is not in " in error.details[0]
    assert all(entry["available"] is not None for entry in error.data["validation_errors"])


def test_model_missing_names_folder_file_and_count_from_comfyuis_input_config():
    error = workflow_rejected(body_of("VAELoader"))
    assert error.summary() == ("model_missing: node 1 (VAELoader) input 'vae_name': 'sdxl_vae.safetensors' is not "
                               "in ComfyUI's models/vae (1 file; none close)")
    upscale = workflow_rejected(body_of("UpscaleModelLoader"))
    assert upscale.details[0] == ("node 1 (UpscaleModelLoader) input 'model_name': '4x-UltraSharp.pth' is not in "
                                  "ComfyUI's models/upscale_models (no files; put the file there or fix the name)")


def test_a_long_list_left_out_by_comfyui_comes_from_object_info():
    files = [f"model_{n:02}.safetensors" for n in range(25)] + ["sd_xl_base_1.0.safetensors"]
    body = {"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation"},
            "node_errors": {"4": {"class_type": "CheckpointLoaderSimple", "errors": [{
                "type": "value_not_in_list", "message": "Value not in list",
                "details": "ckpt_name: 'sdxl.safetensors' not in (list of length 26)",
                "extra_info": {"input_name": "ckpt_name", "input_config": None, "received_value": "sdxl.safetensors"}}]}}}
    object_info = {"CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [files, {}]}}}}
    assert workflow_rejected(body, object_info).summary() == (
        "model_missing: node 4 (CheckpointLoaderSimple) input 'ckpt_name': 'sdxl.safetensors' is not in ComfyUI's "
        "models/checkpoints (26 files; closest: 'sd_xl_base_1.0.safetensors')")
    assert "ComfyUI did not list them" in workflow_rejected(body).summary()


def test_a_missing_input_is_not_a_missing_model():
    error = workflow_rejected(body_of("CheckpointLoaderSimple_missing_input"))
    assert type(error) is WorkflowRejected
    assert error.summary() == "workflow_invalid: node 1 (CheckpointLoaderSimple) input 'ckpt_name': Required input is missing"


def test_an_unknown_class_is_node_missing():
    error = workflow_rejected(variant("validation_unknown_class"))
    assert isinstance(error, NodeMissing)
    assert error.summary() == ("node_missing: node 1: class_type 'NoSuchNode' is not installed in this ComfyUI; "
                               "a custom node is missing from the worker image")
    assert error.data["validation_errors"][0]["class_type"] == "NoSuchNode"


@pytest.mark.parametrize("name,line", [
    ("validation_no_outputs", "workflow_invalid: Prompt has no outputs"),
    ("no_prompt_key", "workflow_invalid: No prompt provided: No prompt provided"),
    ("validation_missing_file", "workflow_invalid: node 1 (LoadImage) input 'image': Custom validation failed for "
                                "node: image - Invalid image file: does_not_exist.png"),
    ("validation_bad_link", "workflow_invalid: node 2 (SaveImage): Exception when validating node: '99'"),
])
def test_other_recorded_rejections_keep_comfyuis_words(name, line):
    error = workflow_rejected(variant(name))
    assert type(error) is WorkflowRejected and error.summary() == line


def test_a_body_that_is_not_json_is_still_an_error():
    assert workflow_rejected("500 Internal Server Error").summary().startswith("workflow_invalid: ComfyUI rejected")


# ComfyUI 0.12.0+ (0.17.2 execution.py:1023,1040): an unknown class, its title from _meta
MISSING_NODE_TYPE = {"error": {"type": "missing_node_type",
                               "message": "Node 'My Foo' not found. The custom node may not be installed.",
                               "details": "Node ID '#5'",
                               "extra_info": {"node_id": "5", "class_type": "Foo", "node_title": "My Foo"}},
                     "node_errors": {}}


def test_missing_node_type_is_node_missing_naming_node_and_class():
    error = workflow_rejected(MISSING_NODE_TYPE)
    assert type(error) is NodeMissing
    assert error.summary().startswith("node_missing: node 5: class_type 'Foo' is not installed in this ComfyUI")
    assert error.data["comfy_error"]["type"] == "missing_node_type"


def test_a_node_without_class_type_on_a_new_comfyui_is_refused_naming_the_node():
    body = {"error": {"type": "missing_node_type", "details": "Node ID '#7'",
                      "message": "Node 'ID #7' has no class_type. The workflow may be corrupted or a custom node is "
                                 "missing.", "extra_info": {"node_id": "7", "class_type": None, "node_title": None}},
            "node_errors": {}}
    error = workflow_rejected(body)
    assert type(error) is WorkflowRejected
    assert error.data["validation_errors"][0]["node_id"] == "7"


def test_a_refusal_that_names_no_node_names_the_cycle_of_the_workflow():
    # ComfyUI before 0.20.0 (observed on 0.3.64): validation recursed until Python's limit, nothing named
    body = {"error": {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                      "details": "", "extra_info": {}}, "node_errors": {}}
    workflow = {"1": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}},
                "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
                "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}}
    error = workflow_rejected(body, None, workflow)
    assert error.summary() == (
        "workflow_invalid: node 1 (ImageInvert): Dependency cycle detected: 1 (ImageInvert) -> 2 (ImageInvert) -> "
        "1 (ImageInvert); node 2 (ImageInvert): Dependency cycle detected: 1 (ImageInvert) -> 2 (ImageInvert) -> "
        "1 (ImageInvert)")
    assert workflow_rejected(body, None, {"1": workflow["3"]}).summary() == (
        "workflow_invalid: Prompt outputs failed validation")


def test_a_200_with_node_errors_is_the_outputs_comfyui_dropped():
    # 0.3.64 execution.py:1006-1073, server.py:705-709: the good outputs run, node_errors tells the others
    workflow = {"2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
                "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "x.safetensors"}},
                "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}}
    body = {"prompt_id": "p", "number": 7, "node_errors": {"3": {
        "errors": [{"type": "value_not_in_list", "message": "Value not in list",
                    "details": "ckpt_name: 'x.safetensors' not in (list of length 30)",
                    "extra_info": {"input_name": "ckpt_name", "input_config": None, "received_value": "x.safetensors"}}],
        "dependent_outputs": ["4"], "class_type": "CheckpointLoaderSimple"}}}
    files = [f"model_{n}.safetensors" for n in range(30)]
    info = {"CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [files, {}]}}}}

    answer = queued(body, workflow, info)

    assert answer.number == 7.0
    [dropped] = answer.dropped
    assert (dropped.node_id, dropped.class_type) == ("4", "PreviewAny")
    assert dropped.issues[0].allowed == tuple(files)  # the list ComfyUI left out, from /object_info
    assert queued({"prompt_id": "p", "number": 8, "node_errors": {}}, workflow) == QueuedPrompt(8.0)
