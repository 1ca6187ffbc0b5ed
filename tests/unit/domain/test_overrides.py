"""Overrides by node id or exact title, applied after a UI workflow is converted; errors name UI nodes."""
import pytest

from domain.errors import InvalidInput, WorkflowRejected
from domain.model import RunWorkflow
from domain.workflow.overrides import apply_overrides
from domain.workflow.prepare import prepare, with_ui_names
from domain.workflow.ui_format import NodeOrigin

INFO = {
    "EmptyImage": {"input": {"required": {"width": ["INT", {}], "height": ["INT", {}], "batch_size": ["INT", {}],
                                          "color": ["INT", {}]}},
                   "input_order": {"required": ["width", "height", "batch_size", "color"]}, "output": ["IMAGE"]},
    "ImageInvert": {"input": {"required": {"image": ["IMAGE"]}}, "input_order": {"required": ["image"]},
                    "output": ["IMAGE"]},
    "SaveImage": {"input": {"required": {"images": ["IMAGE"], "filename_prefix": ["STRING", {}]}},
                  "input_order": {"required": ["images", "filename_prefix"]}, "output": [], "output_node": True},
}
PROMPT = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0},
          "_meta": {"title": "Canvas"}},
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}, "_meta": {"title": "Invert"}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"},
          "_meta": {"title": "Save"}},
    "4": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "y"},
          "_meta": {"title": "Save"}},
}


def test_a_node_is_named_by_its_id_or_its_exact_title_and_a_value_replaces_a_link():
    done = apply_overrides(PROMPT, {"Canvas": {"width": 64}, "3": {"filename_prefix": "z"},
                                    "Invert": {"image": ["4", 0]}, "4": {"images": None}}, INFO)
    assert done["1"]["inputs"]["width"] == 64 and done["3"]["inputs"]["filename_prefix"] == "z"
    assert done["4"]["inputs"]["images"] is None and done["2"]["inputs"]["image"] == ["4", 0]
    assert PROMPT["1"]["inputs"]["width"] == 8  # the prompt given is not changed


@pytest.mark.parametrize("overrides, said", [
    ({"Canvass": {"width": 1}}, r"overrides\['Canvass'\] names no node"),
    ({"Save": {"filename_prefix": "a"}}, r"nodes '3', '4' share that title: name the node by its id"),
    ({"Canvas": {"widht": 1}}, r"node 1 \(EmptyImage\) has no input 'widht'; its inputs: 'batch_size', 'color', "),
])
def test_an_unknown_node_or_input_or_a_shared_title_is_refused(overrides, said):
    with pytest.raises(InvalidInput, match=said):
        apply_overrides(PROMPT, overrides, INFO)


def test_a_class_object_info_lacks_takes_the_inputs_the_workflow_gives_it():
    prompt = {"9": {"class_type": "Custom", "inputs": {"text": "a"}, "_meta": {"title": "Mine"}}}
    assert apply_overrides(prompt, {"Mine": {"text": "b"}}, INFO)["9"]["inputs"] == {"text": "b"}
    with pytest.raises(InvalidInput, match="has no input 'other'"):
        apply_overrides(prompt, {"9": {"other": 1}}, INFO)


def test_a_ui_workflow_is_converted_then_overridden_by_title():
    ui = {"nodes": [{"id": 5, "type": "EmptyImage", "title": "Canvas", "widgets_values": [8, 8, 1, 0], "inputs": [],
                     "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}]},
                    {"id": 6, "type": "SaveImage", "widgets_values": ["ui"], "outputs": [],
                     "inputs": [{"name": "images", "type": "IMAGE", "link": 1}]}],
          "links": [[1, 5, 0, 6, 0, "IMAGE"]]}
    prepared = prepare(RunWorkflow(workflow=ui, ui=True, overrides={"Canvas": {"width": 64}}), INFO)
    assert prepared.prompt["5"]["inputs"] == {"width": 64, "height": 8, "batch_size": 1, "color": 0}
    assert prepared.prompt["6"]["inputs"] == {"images": ["5", 0], "filename_prefix": "ui"}
    assert prepared.origins["5"].title == "Canvas"


def test_an_api_workflow_without_overrides_is_left_as_it_is():
    assert prepare(RunWorkflow(workflow=PROMPT), INFO).prompt == PROMPT


def test_errors_name_the_nodes_of_a_ui_workflow_by_their_ui_id_and_title():
    origins = {"7:3": NodeOrigin(("7", "3"), ("Upscale", "VAE Decode")), "12": NodeOrigin(("12",), ("Sampler",))}
    error = WorkflowRejected("node 7:3 (VAEDecode) input 'vae': Required input is missing; node 12: bad",
                             details=["node 7:3 (VAEDecode) input 'vae': Required input is missing", "node 99: x"])
    with_ui_names(error, origins)
    assert error.summary() == ("workflow_invalid: node 7:3 ('VAE Decode', in subgraph node 7 'Upscale') (VAEDecode) "
                               "input 'vae': Required input is missing; node 12 ('Sampler'): bad")
    assert error.details[1] == "node 99: x"
