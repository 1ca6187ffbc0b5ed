"""Retired classes rewritten as ComfyUI 0.14.0+ does before validating (0.33 app/node_replace_manager.py)."""
from domain.workflow.replacements import with_replacements

# comfy_extras/nodes_replacements.py (0.33), as GET /node_replacements lists them
LONGER_EDGE = {"new_node_id": "ImageScaleToMaxDimension", "old_node_id": "ResizeImagesByLongerEdge",
               "old_widget_ids": ["longer_edge"],
               "input_mapping": [{"new_id": "image", "old_id": "images"}, {"new_id": "largest_size", "old_id": "longer_edge"},
                                 {"new_id": "upscale_method", "set_value": "lanczos"}],
               "output_mapping": [{"new_idx": 0, "old_idx": 0}]}
REPLACEMENTS = {"ResizeImagesByLongerEdge": [LONGER_EDGE],
                "Gone": [{"new_node_id": "AlsoGone", "old_node_id": "Gone", "input_mapping": None}]}
KNOWN = {"LoadImage", "ImageScaleToMaxDimension", "SaveImage"}


def test_a_retired_class_becomes_its_replacement_with_its_inputs_mapped():
    workflow = {"1": {"class_type": "LoadImage", "inputs": {"image": "a.png"}},
                "2": {"class_type": "ResizeImagesByLongerEdge", "inputs": {"images": ["1", 0], "longer_edge": 512},
                      "_meta": {"title": "Resize"}},
                "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0]}}}

    rewritten = with_replacements(workflow, REPLACEMENTS, KNOWN)

    assert rewritten["2"] == {"class_type": "ImageScaleToMaxDimension", "_meta": {"title": "Resize"},
                              "inputs": {"image": ["1", 0], "largest_size": 512, "upscale_method": "lanczos"}}
    assert rewritten["3"] == workflow["3"] and rewritten["1"] is workflow["1"]
    assert workflow["2"]["class_type"] == "ResizeImagesByLongerEdge"  # the caller's workflow is left as it was


def test_a_known_class_or_a_replacement_comfyui_lacks_is_left_alone():
    workflow = {"1": {"class_type": "Gone", "inputs": {}}, "2": {"class_type": "LoadImage", "inputs": {}}}
    assert with_replacements(workflow, REPLACEMENTS, KNOWN) == workflow
    assert with_replacements(workflow, {"LoadImage": [LONGER_EDGE]}, KNOWN) == workflow
