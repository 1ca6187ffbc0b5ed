"""check_workflow and raise_for_issues against /object_info entries and 400 bodies recorded from ComfyUI."""
import json
import pathlib

import pytest

from domain.errors import ModelMissing, NodeMissing, WorkflowRejected
from domain.workflow.check import Issue, check_workflow
from domain.workflow.rejections import error_for_issues, raise_for_issues

TRANSCRIPTS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "comfyui" / "transcripts"


def transcript(name):
    return json.loads((TRANSCRIPTS / f"{name}.json").read_text())


def recorded_object_info():
    """Every /object_info entry the transcripts hold (http_probes and missing_model_validation)."""
    info = {}
    probes = transcript("http_probes")
    for key in ("object_info_SaveImage", "object_info_EmptyImage"):
        info.update(probes[key]["json"])
    for probe in transcript("missing_model_validation")["object_info"].values():
        info.update(probe["json"])
    return info


def image_scale_from_400_body():
    """ImageScale's declarations as validation_error.json's 400 body quotes them (input_config)."""
    return {"input": {"required": {"image": ["IMAGE"], "upscale_method": [["nearest-exact", "bilinear", "area",
                                   "bicubic", "lanczos"], {}], "width": ["INT", {"default": 512, "min": 0, "max": 16384}],
                                   "height": ["INT", {"default": 512, "min": 0, "max": 16384}],
                                   "crop": [["disabled", "center"]]}},
            "output": ["IMAGE"], "output_node": False}


@pytest.fixture
def info():
    return {**recorded_object_info(), "ImageScale": image_scale_from_400_body(),
            "LoadImage": {"input": {"required": {"image": [["present.png"], {"image_upload": True}]}},
                          "output": ["IMAGE", "MASK"], "output_node": False}}


def fields(issue):
    return (issue.node_id, issue.class_type, issue.input, issue.type, issue.message, issue.details)


def recorded_fields(body):
    return sorted((node_id, node["class_type"], e["extra_info"].get("input_name"), e["type"], e["message"], e["details"])
                  for node_id, node in body["node_errors"].items() for e in node["errors"])


def test_the_recorded_validation_errors_are_found_with_comfyuis_types_messages_and_details(info):
    recorded = transcript("validation_error")
    issues = check_workflow(recorded["request"]["prompt"], info)
    assert sorted(map(fields, issues)) == recorded_fields(recorded["post_prompt"]["json"])
    assert {issue.received for issue in issues} == {"abc", -5, "no-such-method", None}


def test_loader_given_a_missing_file_is_model_missing(info):
    case = transcript("missing_model_validation")["cases"]["CheckpointLoaderSimple_to_PreviewAny"]
    issues = check_workflow(case["request"]["prompt"], info)
    assert sorted(map(fields, issues)) == recorded_fields(case["post_prompt"]["json"])
    with pytest.raises(ModelMissing) as caught:
        raise_for_issues(issues, info)
    assert caught.value.summary() == (
        "model_missing: node 1 (CheckpointLoaderSimple) input 'ckpt_name': 'sd_xl_base_1.0.safetensors' is not in "
        "ComfyUI's models/checkpoints (no files; put the file there or fix the name)")
    entry = caught.value.data["validation_errors"][0]
    assert entry == {"type": "value_not_in_list", "message": "Value not in list", "node_id": "1",
                     "details": "ckpt_name: 'sd_xl_base_1.0.safetensors' not in []", "class_type": "CheckpointLoaderSimple",
                     "input": "ckpt_name", "received": "sd_xl_base_1.0.safetensors", "folder": "checkpoints",
                     "available": 0, "closest": []}


def test_model_missing_names_the_closest_files_and_how_many_there_are(info):
    info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"] = [
        ["sd_xl_base_1.0.safetensors", "v1-5-pruned-emaonly.ckpt", "flux1-dev.safetensors"], {}]
    workflow = {"4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sdxl.safetensors"}},
                "5": {"class_type": "PreviewAny", "inputs": {"source": ["4", 0]}}}
    with pytest.raises(ModelMissing) as caught:
        raise_for_issues(check_workflow(workflow, info), info)
    assert caught.value.summary() == (
        "model_missing: node 4 (CheckpointLoaderSimple) input 'ckpt_name': 'sdxl.safetensors' is not in ComfyUI's "
        "models/checkpoints (3 files; closest: 'sd_xl_base_1.0.safetensors')")


@pytest.mark.parametrize("case,inputs", [("VAELoader", ["vae_name"]), ("DualCLIPLoader", ["clip_name1", "clip_name2"]),
                                         ("LoraLoader", ["ckpt_name", "lora_name"]),
                                         ("UpscaleModelLoader", ["model_name"]),
                                         ("CheckpointLoaderSimple_empty_string", ["ckpt_name"])])
def test_every_recorded_missing_file_case_is_model_missing(info, case, inputs):
    recorded = transcript("missing_model_validation")["cases"][case]
    info.update({"EmptyImage": info["EmptyImage"], "ImageUpscaleWithModel": {
        "input": {"required": {"upscale_model": ["UPSCALE_MODEL"], "image": ["IMAGE"]}}, "output": ["IMAGE"]},
        "EmptyLatentImage": {"input": {"required": {}}, "output": ["LATENT"]},
        "VAEDecode": {"input": {"required": {"samples": ["LATENT"], "vae": ["VAE"]}}, "output": ["IMAGE"]}})
    issues = check_workflow(recorded["request"]["prompt"], info)
    assert sorted(map(fields, issues)) == recorded_fields(recorded["post_prompt"]["json"])
    with pytest.raises(ModelMissing) as caught:
        raise_for_issues(issues, info)
    assert sorted(entry["input"] for entry in caught.value.data["validation_errors"]) == inputs


def test_pixel_space_vae_is_valid_and_a_missing_input_is_not_a_missing_model(info):
    cases = transcript("missing_model_validation")["cases"]
    assert check_workflow(cases["VAELoader_pixel_space_ok"]["request"]["prompt"], info) == []
    missing = check_workflow(cases["CheckpointLoaderSimple_missing_input"]["request"]["prompt"], info)
    with pytest.raises(WorkflowRejected) as caught:
        raise_for_issues(missing, info)
    assert type(caught.value) is WorkflowRejected
    assert caught.value.summary() == ("workflow_invalid: node 1 (CheckpointLoaderSimple) input 'ckpt_name': "
                                      "Required input is missing")


def test_an_unknown_class_is_node_missing(info):
    workflow = transcript("validation_error")["variants"]["validation_unknown_class"]["request"]["prompt"]
    issues = check_workflow(workflow, info)
    assert [(i.type, i.node_id, i.class_type, i.message) for i in issues] == [
        ("invalid_prompt", "1", "NoSuchNode", "Cannot execute because node NoSuchNode does not exist.")]
    with pytest.raises(NodeMissing) as caught:
        raise_for_issues(issues, info)
    assert caught.value.summary() == ("node_missing: node 1: class_type 'NoSuchNode' is not installed in this ComfyUI; "
                                      "a custom node is missing from the worker image")


def test_a_workflow_without_output_nodes(info):
    workflow = transcript("validation_error")["variants"]["validation_no_outputs"]["request"]["prompt"]
    issues = check_workflow(workflow, info)
    assert [(i.type, i.message) for i in issues] == [("prompt_no_outputs", "Prompt has no outputs")]
    with pytest.raises(WorkflowRejected) as caught:
        raise_for_issues(issues)
    assert caught.value.summary() == "workflow_invalid: Prompt has no outputs"


@pytest.mark.parametrize("link,kind,details", [
    (["99", 0], "bad_linked_input", "images: node 99 is not in the workflow"),
    (["1", 1], "bad_linked_input", "images: node 1 has no output slot 1 (1 outputs)"),
    (["1"], "bad_linked_input", "images"),
    (["1", "0"], "bad_linked_input", "images"),
    (["2", 0], "return_type_mismatch", "images, received_type(MODEL) mismatch input_type(IMAGE)"),
])
def test_links_must_point_at_existing_nodes_slots_and_types(info, link, kind, details):
    workflow = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
                "2": {"class_type": "UNETLoader", "inputs": {"unet_name": "x", "weight_dtype": "default"}},
                "3": {"class_type": "SaveImage", "inputs": {"images": link, "filename_prefix": "x"}}}
    issues = check_workflow(workflow, info)
    assert [(i.node_id, i.input, i.type, i.details) for i in issues] == [("3", "images", kind, details)]


def test_any_type_accepts_every_link_and_unreachable_nodes_are_not_checked(info):
    workflow = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
                "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}},
                "3": {"class_type": "EmptyImage", "inputs": {"width": -1}}}
    assert check_workflow(workflow, info) == []


def test_ranges_of_ints_and_floats_and_the_combo_options_shape(info):
    workflow = {"1": {"class_type": "EmptyImage", "inputs": {"width": 20000, "height": 8, "batch_size": 0, "color": 0}},
                "2": {"class_type": "LoraLoaderModelOnly", "inputs": {"model": ["3", 0], "lora_name": [],
                                                                         "strength_model": 1000.0}},
                "3": {"class_type": "UNETLoader", "inputs": {"unet_name": "u.gguf", "weight_dtype": "default"}},
                "4": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}},
                "5": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}},
                "6": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "4x.pth"}},
                "7": {"class_type": "PreviewAny", "inputs": {"source": ["6", 0]}}}
    found = {(i.node_id, i.input, i.type, i.message) for i in check_workflow(workflow, info)}
    assert found == {("1", "width", "value_bigger_than_max", "Value 20000 bigger than max of 16384"),
                     ("1", "batch_size", "value_smaller_than_min", "Value 0 smaller than min of 1"),
                     ("2", "lora_name", "bad_linked_input", "Bad linked input, must be a length-2 list of "
                                                           "[node_id, slot_index]"),
                     ("2", "strength_model", "value_bigger_than_max", "Value 1000.0 bigger than max of 100.0"),
                     ("3", "unet_name", "value_not_in_list", "Value not in list"),
                     ("6", "model_name", "value_not_in_list", "Value not in list")}
    assert found and all("\n" not in line for line in error_for_issues(check_workflow(workflow, info)).details)


def test_upload_inputs_accept_the_jobs_own_files(info):
    workflow = {"1": {"class_type": "LoadImage", "inputs": {"image": "job.png"}},
                "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}
    assert [i.type for i in check_workflow(workflow, info)] == ["value_not_in_list"]
    assert check_workflow(workflow, info, input_files={"job.png"}) == []
    workflow["1"]["inputs"]["image"] = "present.png"
    assert check_workflow(workflow, info) == []


def test_long_lists_are_summarised_and_a_non_file_list_stays_workflow_invalid():
    info = {"Pick": {"input": {"required": {"mode": [[f"mode{n}" for n in range(30)]]}}, "output": [],
                     "output_node": True}}
    issues = check_workflow({"1": {"class_type": "Pick", "inputs": {"mode": "other"}}}, info)
    assert issues[0].details == "mode: 'other' not in (list of length 30)"
    error = error_for_issues(issues, info)
    assert type(error) is WorkflowRejected
    assert error.summary() == "workflow_invalid: node 1 (Pick) input 'mode': Value not in list: mode: 'other' not in (list of length 30)"


def test_node_missing_comes_first_and_nothing_is_raised_without_issues():
    raise_for_issues([])
    issues = [Issue("value_not_in_list", "Value not in list", node_id="2", class_type="VAELoader", input="vae_name",
                    received="a.safetensors", allowed=()),
              Issue("invalid_prompt", "Cannot execute because node X does not exist.", node_id="1", class_type="X")]
    error = error_for_issues(issues)
    assert isinstance(error, NodeMissing) and error.details[0].startswith("node 1: class_type 'X' is not installed")
    assert len(error.details) == 2
