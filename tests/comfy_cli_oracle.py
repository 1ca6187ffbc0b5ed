"""Compares domain.workflow.ui_format with comfy-cli's converter (`comfy_cli.workflow_to_api.convert_ui_to_api`),
node by node, on a folder of UI-format workflows.

Run it with a Python that has comfy-cli (not the project's venv: comfy-cli installs about 340 MB):
    python tests/comfy_cli_oracle.py --templates DIR [--object-info FILE.json[.gz]] [--expect-pinned]
Every difference is sorted into a kind; `--expect-pinned` (for comfyui-workflow-templates 0.1.95 against the
recorded 0.3.64 /object_info) exits 1 unless the differences are exactly the known ones below.
"""
from __future__ import annotations

import argparse
import collections
import copy
import gzip
import json
import logging
import pathlib
import random
import sys
from typing import Optional

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from domain.workflow.ui_format import convert_ui_workflow  # noqa: E402

OBJECT_INFO = ROOT / "tests" / "fixtures" / "comfyui" / "object_info_0.3.64.json.gz"
ABSENT = "<absent>"

# Where comfy-cli 1.23.0 and the editor part on comfyui-workflow-templates 0.1.95 (ComfyUI 0.3.64): each is the
# editor's rule, which this converter follows. (template, node id, input) -> kind
PINNED_DIFFERENCES: dict[tuple[str, str, Optional[str]], str] = {  # input None: the whole node
    **{(t, "65", i): "bypass without a matching input: comfy-cli passes an input of another type"
       for t in ("3d_hunyuan3d_multiview_to_model.json", "3d_hunyuan3d_multiview_to_model_turbo.json")
       for i in ("left", "right")},
    **{("api_google_gemini.json", "1", i): "bypass without a matching input: comfy-cli sends null"
       for i in ("audio", "files", "video")},
    ("api_google_gemini_image.json", "5", "files"): "bypass without a matching input: comfy-cli sends null",
    ("api_openai_chat.json", "3", "files"): "bypass without a matching input: comfy-cli sends null",
    ("api_openai_dall_e_2_t2i.json", "10", "image"): "bypass without a matching input: comfy-cli sends null",
    ("api_openai_dall_e_2_t2i.json", "10", "mask"): "bypass without a matching input: comfy-cli sends null",
    ("api_openai_image_1_i2i.json", "10", "mask"): "bypass without a matching input: comfy-cli sends null",
    ("api_openai_image_1_multi_inputs.json", "1", "mask"): "bypass without a matching input: comfy-cli sends null",
    ("api_openai_image_1_t2i.json", "10", "image"): "bypass without a matching input: comfy-cli sends null",
    ("api_openai_image_1_t2i.json", "10", "mask"): "bypass without a matching input: comfy-cli sends null",
    ("video_wan_vace_14B_ref2v.json", "109", "control_masks"):
        "bypass without a matching input: comfy-cli passes an input of another type",
    **{(t, n, "negative_prompt"): "unlinked forceInput input: comfy-cli sends the default"
       for t, n in (("api_recraft_image_gen_with_color_control.json", "3"),
                    ("api_recraft_image_gen_with_style_control.json", "3"), ("api_recraft_vector_gen.json", "3"),
                    ("api_stability_ai_i2i.json", "8"), ("api_stability_ai_stable_image_ultra_t2i.json", "41"))},
    **{("video_wan2_2_14B_animate.json", "107", i): "class this ComfyUI lacks: comfy-cli guesses its widgets"
       for i in ("bboxes", "coordinates_negative")},
    ("api_stability_ai_audio_to_audio.json", "9", "audio"): "RecordAudio's widget: comfy-cli sends none",
    ("video_humo.json", "68", "audio"): "RecordAudio's widget: comfy-cli sends none",
    ("flux_kontext_dev_basic.json", "142", None): "LoadImageOutput: comfy-cli drops the node",
    ("flux_kontext_dev_basic.json", "146", "image1"): "LoadImageOutput: comfy-cli drops the node",
    **{("default.json", "3", i): "legacy true/false control value: comfy-cli shifts the widgets"
       for i in ("cfg", "denoise", "sampler_name", "scheduler", "steps")},
}


def load_object_info(path: pathlib.Path) -> dict:
    data = path.read_bytes()
    return json.loads(gzip.decompress(data) if path.suffix == ".gz" else data)


def differences(workflow: dict, object_info: dict, convert_ui_to_api) -> list[tuple]:
    """(node id, input or None, ours, theirs) for every node and input the two converters disagree on."""
    ours = convert_ui_workflow(workflow, object_info, choose=lambda n: 0).prompt
    random.seed(0)  # comfy-cli resolves dynamic prompts with `random`
    theirs = convert_ui_to_api(copy.deepcopy(workflow), object_info)
    found = []
    for node_id in sorted(set(ours) | set(theirs)):
        a, b = ours.get(node_id), theirs.get(node_id)
        if a is None or b is None:
            found.append((node_id, None, ABSENT if a is None else a["class_type"],
                          ABSENT if b is None else b["class_type"]))
            continue
        for name in sorted(set(a["inputs"]) | set(b["inputs"])):
            value_a, value_b = a["inputs"].get(name, ABSENT), b["inputs"].get(name, ABSENT)
            if value_a != value_b:
                found.append((node_id, name, value_a, value_b))
    return found


def kind_of(name: str, difference: tuple, workflow: dict, object_info: dict) -> str:
    """A coarse kind for a difference outside the pinned list."""
    known = PINNED_DIFFERENCES.get((name, difference[0], difference[1]))
    if known:
        return known
    node_id, input_name, ours, theirs = difference
    node = _ui_node(workflow, node_id)
    class_type = node.get("type") if node else None
    if class_type not in object_info:
        return "class this ComfyUI lacks: comfy-cli guesses its widgets"
    declared = object_info[class_type].get("input", {})
    if input_name is not None and not any(input_name in (declared.get(c) or {}) for c in ("required", "optional")):
        return "input the class does not declare (ComfyUI ignores it)"
    named = node.get("widgets_values_named") if node else None
    if isinstance(named, dict) and input_name in named and ours == named[input_name]:
        return "widgets_values_named over positions"
    if len(node_id.split(":")) > 1 and isinstance(ours, str) and "{" in ours and isinstance(theirs, str):
        return "promoted text: the editor sends it without resolving {a|b}, comfy-cli resolves it"
    if ours == ABSENT:
        return "comfy-cli sends an input the editor leaves out"
    if theirs == ABSENT:
        return "comfy-cli leaves out an input the editor sends"
    return "value"


def _ui_node(workflow: dict, node_id: str):
    graph_nodes = workflow.get("nodes", [])
    parts = node_id.split(":")
    definitions = {d.get("id"): d for d in (workflow.get("definitions") or {}).get("subgraphs", [])}
    node = None
    for part in parts:
        node = next((n for n in graph_nodes if str(n.get("id")) == part), None)
        if node is None:
            return None
        graph_nodes = definitions.get(node.get("type"), {}).get("nodes", [])
    return node


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", type=pathlib.Path, required=True)
    parser.add_argument("--object-info", type=pathlib.Path, default=OBJECT_INFO)
    parser.add_argument("--expect-pinned", action="store_true")
    parser.add_argument("--show", type=int, default=5, help="examples printed per kind")
    args = parser.parse_args(argv)
    from comfy_cli.workflow_to_api import convert_ui_to_api

    logging.disable(logging.CRITICAL)
    object_info = load_object_info(args.object_info)
    kinds: collections.Counter = collections.Counter()
    examples = collections.defaultdict(list)
    found_pinned = {}
    compared = identical = 0
    for path in sorted(args.templates.glob("*.json")):
        workflow = json.loads(path.read_text())
        if path.name.startswith("index") or not isinstance(workflow, dict) or "nodes" not in workflow:
            continue
        compared += 1
        found = differences(workflow, object_info, convert_ui_to_api)
        identical += not found
        for difference in found:
            kind = kind_of(path.name, difference, workflow, object_info)
            kinds[kind] += 1
            examples[kind].append((path.name, *difference))
            found_pinned[(path.name, difference[0], difference[1])] = kind
    print(f"{compared} workflows compared, {identical} identical, {sum(kinds.values())} differences")
    for kind, count in kinds.most_common():
        print(f"  {count:5}  {kind}")
        for example in examples[kind][: args.show]:
            print("           ", str(example)[:160])
    if args.expect_pinned:
        unexpected = set(found_pinned) - set(PINNED_DIFFERENCES)
        missing = set(PINNED_DIFFERENCES) - set(found_pinned)
        for key in sorted(unexpected, key=str):
            print("unexpected difference:", key)
        for key in sorted(missing, key=str):
            print("known difference no longer seen:", key)
        return 1 if unexpected or missing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
