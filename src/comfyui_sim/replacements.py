"""Node replacement on POST /prompt (ComfyUI 0.14.0+, #12014): deprecated classes rewritten before validation.

As 0.33 app/node_replace_manager.py:61-111 does it, with the core registrations of comfy_extras/nodes_replacements.py.
"""

from .graph import is_link
from .registry import NODES

# comfy_extras/nodes_replacements.py (0.33): old class -> the replacement's as_dict()
REPLACEMENTS: dict = {
    replacement["old_node_id"]: [replacement]
    for replacement in (
        {
            "new_node_id": "ImageScaleToMaxDimension",
            "old_node_id": "ResizeImagesByLongerEdge",
            "old_widget_ids": ["longer_edge"],
            "input_mapping": [
                {"new_id": "image", "old_id": "images"},
                {"new_id": "largest_size", "old_id": "longer_edge"},
                {"new_id": "upscale_method", "set_value": "lanczos"},
            ],
            "output_mapping": [{"new_idx": 0, "old_idx": 0}],
        },
        {
            "new_node_id": "BatchImagesNode",
            "old_node_id": "ImageBatch",
            "old_widget_ids": None,
            "input_mapping": [
                {"new_id": "images.image0", "old_id": "image1"},
                {"new_id": "images.image1", "old_id": "image2"},
            ],
            "output_mapping": None,
        },
        {
            "new_node_id": "ControlNetLoader",
            "old_node_id": "T2IAdapterLoader",
            "old_widget_ids": None,
            "input_mapping": [{"new_id": "control_net_name", "old_id": "t2i_adapter_name"}],
            "output_mapping": None,
        },
        {
            "new_node_id": "SVD_img2vid_Conditioning",
            "old_node_id": "SDV_img2vid_Conditioning",
            "old_widget_ids": None,
            "input_mapping": None,
            "output_mapping": None,
        },
    )
}


def apply_replacements(prompt: dict) -> None:
    """Rewrite, in place, every node whose class is unknown and has a replacement that is known.

    Like ComfyUI, a node to replace without `_meta` raises KeyError (`copy_node_struct`), which aiohttp answers 500.
    """
    connections: dict = {}
    replace = []
    for node_id, node in prompt.items():
        if not isinstance(node, dict) or "class_type" not in node or "inputs" not in node:
            continue
        if node["class_type"] not in NODES and node["class_type"] in REPLACEMENTS:
            replace.append(node_id)
        for input_id, value in node["inputs"].items():
            if is_link(value):
                connections.setdefault(value[0], []).append((node_id, input_id, value[1]))
    for node_id in replace:
        node = prompt[node_id]
        replacement = REPLACEMENTS[node["class_type"]][0]
        if replacement["new_node_id"] not in NODES:
            continue
        new = {**node, "inputs": {}, "_meta": dict(node["_meta"])}
        new["class_type"] = replacement["new_node_id"]
        for mapping in replacement["input_mapping"] or ():
            if "set_value" in mapping:
                new["inputs"][mapping["new_id"]] = mapping["set_value"]
            elif "old_id" in mapping:
                new["inputs"][mapping["new_id"]] = node["inputs"][mapping["old_id"]]
        prompt[node_id] = new
        for target, input_id, old_index in connections.get(node_id, ()) if replacement["output_mapping"] else ():
            for mapping in replacement["output_mapping"]:
                if mapping["old_idx"] == old_index:
                    prompt[target]["inputs"][input_id][1] = mapping["new_idx"]
