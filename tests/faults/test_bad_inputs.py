"""The bad-input matrix: each `job["input"]` ends in a clear error code and message through the handler,
no exception escapes, and nothing is written outside the temp dir (ComfyUI is a simulator; nothing is queued)."""
import base64
import json
import os
from typing import Any

import pytest

OK_WORKFLOW: dict[str, dict[str, Any]] = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bad"}},
}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode("ascii")


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"x": value}
    return value


def nested_lists(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def with_node(node) -> dict:
    return {"workflow": {**OK_WORKFLOW, "3": node}}


# node ids that str.isdigit() calls digits and int() refuses: any JSON key is a node id to ComfyUI
ODD_IDS = {"\u00b2": OK_WORKFLOW["1"], "\u2460": {**OK_WORKFLOW["2"], "inputs": {"images": ["\u00b2", 0],
                                                                              "filename_prefix": "odd"}}}
ODD_IDS_INVALID = {"\u00b2": {**OK_WORKFLOW["1"], "inputs": {**OK_WORKFLOW["1"]["inputs"], "width": 0}},
                   "\u2460": {**OK_WORKFLOW["1"], "inputs": {**OK_WORKFLOW["1"]["inputs"], "height": 0}},
                   "\u2462": {**ODD_IDS["\u2460"], "inputs": {"images": ["\u00b2", 0], "filename_prefix": "odd"}},
                   "\u2463": {**ODD_IDS["\u2460"], "inputs": {"images": ["\u2460", 0], "filename_prefix": "odd"}}}
SDK_DEPTH = 990  # about as deep as the RunPod SDK's JSON parser lets a job's input nest


def with_images(*images):
    return {"workflow": OK_WORKFLOW, "images": list(images)}


def image(name="in.png", data=PNG):
    return {"name": name, "image": data}


# (case id, job["input"], error code, a piece of the message)
CASES = [
    ("input-missing", None, "invalid_input", "input is missing"),
    ("input-list", [1, 2], "invalid_input", "must be a JSON object"),
    ("input-number", 42, "invalid_input", "must be a JSON object"),
    ("input-string-not-json", "{not json", "invalid_input", "not valid JSON"),
    ("input-string-json-list", "[1]", "invalid_input", "must be a JSON object"),
    ("workflow-missing", {}, "invalid_input", "input.workflow is missing"),
    ("workflow-empty", {"workflow": {}}, "invalid_input", "input.workflow is empty"),
    ("workflow-list", {"workflow": [1]}, "invalid_input", "must be a JSON object"),
    ("workflow-number", {"workflow": 3}, "invalid_input", "must be a JSON object"),
    ("workflow-string-not-json", {"workflow": "nope"}, "invalid_input", "not valid JSON"),
    ("workflow-ui-format-empty", {"workflow": {"nodes": [], "links": []}}, "invalid_input", "no node ComfyUI would run"),
    ("workflow-ui-format-not-a-list", {"workflow": {"nodes": {}, "links": []}}, "invalid_input", "not a list"),
    ("workflow-node-not-object", {"workflow": {"1": 5}}, "invalid_input", "has no 'class_type'"),
    ("workflow-node-no-class", {"workflow": {"1": {"inputs": {}}}}, "invalid_input", "has no 'class_type'"),
    ("workflow-class-not-string", {"workflow": {"1": {"class_type": 7}}}, "invalid_input", "has no 'class_type'"),
    ("workflow-deep-nesting", {"workflow": nested(500)}, "invalid_input", "has no 'class_type'"),
    ("input-string-deep-nesting", "[" * 100_000 + "]" * 100_000, "invalid_input", "input"),
    ("workflow-string-deep-nesting", {"workflow": '{"a":' * 100_000 + "1" + "}" * 100_000}, "invalid_input",
     "input.workflow"),
    ("node-inputs-list", with_node({"class_type": "EmptyImage", "inputs": [8, 8]}), "invalid_input",
     "node '3': 'inputs' must be an object"),
    ("node-inputs-string", with_node({"class_type": "EmptyImage", "inputs": "8"}), "invalid_input", "got a string"),
    ("node-inputs-null", with_node({"class_type": "EmptyImage", "inputs": None}), "invalid_input", "got null"),
    ("node-ids-unicode-digits-invalid", {"workflow": ODD_IDS_INVALID, "validate_only": True}, "workflow_invalid",
     "node \u00b2 (EmptyImage) input 'width'"),
    ("deep-node-input", with_node({"class_type": "EmptyImage", "inputs": {"width": nested(SDK_DEPTH)}}),
     "invalid_input", "input.workflow is nested deeper than"),
    ("deep-node-input-list", with_node({"class_type": "EmptyImage", "inputs": {"width": nested_lists(SDK_DEPTH)}}),
     "invalid_input", "input.workflow is nested deeper than"),
    ("deep-node-meta", with_node({"class_type": "EmptyImage", "_meta": nested(SDK_DEPTH)}), "invalid_input",
     "input.workflow is nested deeper than"),
    ("deep-workflow-string", {"workflow": json.dumps(OK_WORKFLOW)[:-1] + ', "3": {"class_type": "EmptyImage", '
                                          '"inputs": {"x": ' + "[" * 300 + "]" * 300 + "}}}"},
     "invalid_input", "input.workflow is nested deeper than"),
    ("deep-output-format", {"workflow": OK_WORKFLOW, "output_format": {"format": nested(SDK_DEPTH)}},
     "invalid_input", "input.output_format is nested deeper than"),
    ("deep-images-item", with_images(image(name=nested_lists(SDK_DEPTH))), "invalid_input",
     "input.images is nested deeper than"),
    ("deep-api-key", {"workflow": OK_WORKFLOW, "comfy_org_api_key": nested(SDK_DEPTH)}, "invalid_input",
     "input.comfy_org_api_key is nested deeper than"),
    ("deep-unknown-field", {"workflow": OK_WORKFLOW, "notes": nested_lists(SDK_DEPTH)}, "invalid_input",
     "input.notes is nested deeper than"),
    ("workflow-number-infinity", with_node({"class_type": "EmptyImage", "inputs": {"width": float("inf")}}),
     "invalid_input", "input.workflow holds the number inf, which JSON cannot carry"),
    ("workflow-number-nan", with_node({"class_type": "EmptyImage", "inputs": {"width": float("nan")}}),
     "invalid_input", "holds the number nan"),
    ("input-text-number-1e400", '{"workflow": {"1": {"class_type": "EmptyImage", "inputs": {"width": 1e400}}}}',
     "invalid_input", "holds the number inf"),
    ("workflow-unknown-node", {"workflow": {"1": {"class_type": "NoSuchNode", "inputs": {}}}}, None, "NoSuchNode"),
    ("images-not-list", {"workflow": OK_WORKFLOW, "images": {"a": 1}}, "invalid_input", "must be a list"),
    ("images-item-not-object", with_images("in.png"), "invalid_input", "must be an object"),
    ("name-missing", with_images({"image": PNG}), "invalid_input", "name must be a non-empty string"),
    ("name-empty", with_images(image("")), "invalid_input", "name must be a non-empty string"),
    ("name-blank", with_images(image("   ")), "invalid_input", "name must be a non-empty string"),
    ("name-number", with_images(image(5)), "invalid_input", "name must be a non-empty string"),
    ("name-dotdot", with_images(image("..")), "invalid_input", "'..'"),
    ("name-empty-part", with_images(image("a//b.png")), "invalid_input", "has an empty part"),
    ("name-trailing-slash", with_images(image("sub/")), "invalid_input", "has an empty part"),
    ("name-dotdot-part", with_images(image("sub/../../a.png")), "invalid_input", "'..'"),
    ("name-dot-part", with_images(image("sub/./a.png")), "invalid_input", "names no file: '.' is only dots"),
    ("name-too-deep", with_images(image("a/" * 8 + "b.png")), "invalid_input", "more than 7 folders deep"),
    ("name-backslash", with_images(image("a\\b.png")), "invalid_input", "'\\'"),
    ("name-nul", with_images(image("a\x00.png")), "invalid_input", "NUL"),
    ("name-absolute", with_images(image("/etc/passwd")), "invalid_input", "'/'"),
    ("name-windows-absolute", with_images(image("C:\\x.png")), "invalid_input", "'\\'"),
    ("name-dot", with_images(image(".")), "invalid_input", "names no file"),
    ("name-dots-and-spaces", with_images(image(" . ")), "invalid_input", "names no file"),
    ("name-duplicated", with_images(image("a.png"), image("a.png")), "invalid_input", "used twice"),
    ("name-10k-chars", with_images(image("a" * 10_000 + ".png")), "invalid_input", "name"),
    ("image-missing", with_images({"name": "a.png"}), "invalid_input", "must be a base64 string"),
    ("image-empty", with_images(image(data="")), "invalid_input", "must be a base64 string"),
    ("image-number", with_images(image(data=12)), "invalid_input", "must be a base64 string"),
    ("image-invalid-base64", with_images(image(data="not*base64!")), "invalid_input", "not valid base64"),
    ("image-decodes-empty", with_images(image(data="====")), "invalid_input", "input image"),
    ("image-data-uri-no-base64", with_images(image(data="data:image/png,abc")), "invalid_input", "data URI"),
    ("image-data-uri-no-comma", with_images(image(data="data:image/png;base64")), "invalid_input", "data URI"),
    ("image-and-url", with_images({"name": "a.png", "image": PNG, "url": "http://x"}), "invalid_input", "send one"),
    ("url-ftp-scheme", with_images({"name": "a.png", "url": "ftp://127.0.0.1/a.png"}), "invalid_input", "http://"),
    ("url-file-scheme", with_images({"name": "a.png", "url": "file:///etc/passwd"}), "invalid_input", "http://"),
    ("url-not-string", with_images({"name": "a.png", "url": 5}), "invalid_input", "http://"),
    ("api-key-empty", {"workflow": OK_WORKFLOW, "comfy_org_api_key": " "}, "invalid_input", "comfy_org_api_key"),
    ("api-key-number", {"workflow": OK_WORKFLOW, "comfy_org_api_key": 5}, "invalid_input", "comfy_org_api_key"),
    ("output-format-string", {"workflow": OK_WORKFLOW, "output_format": "png"}, "invalid_input", "output_format"),
    ("output-format-unknown", {"workflow": OK_WORKFLOW, "output_format": {"format": "bmp"}}, "invalid_input", "one of"),
    ("output-format-extra-field", {"workflow": OK_WORKFLOW, "output_format": {"format": "png", "x": 1}},
     "invalid_input", "unknown fields"),
    ("output-format-quality-0", {"workflow": OK_WORKFLOW, "output_format": {"format": "jpeg", "quality": 0}},
     "invalid_input", "quality"),
    ("output-format-quality-bool", {"workflow": OK_WORKFLOW, "output_format": {"format": "jpeg", "quality": True}},
     "invalid_input", "quality"),
    ("output-format-quality-float", {"workflow": OK_WORKFLOW, "output_format": {"format": "jpeg", "quality": 9.5}},
     "invalid_input", "quality"),
    ("include-temp-string", {"workflow": OK_WORKFLOW, "include_temp": "yes"}, "invalid_input", "include_temp"),
    ("include-temp-number", {"workflow": OK_WORKFLOW, "include_temp": 1}, "invalid_input", "include_temp"),
    ("validate-only-string", {"workflow": OK_WORKFLOW, "validate_only": "true"}, "invalid_input", "validate_only"),
    ("validate-only-null", {"workflow": OK_WORKFLOW, "validate_only": None}, "invalid_input", "validate_only"),
]




def files_under(root: str) -> set:
    return {os.path.join(d, f) for d, _, names in os.walk(root) for f in names}


def params():
    for case_id, raw, code, fragment in CASES:
        yield pytest.param(raw, code, fragment, id=case_id)


@pytest.mark.parametrize("raw,code,fragment", list(params()))
def test_bad_input_ends_in_a_clear_error(comfy_sim, leaks, tmp_path, monkeypatch, raw, code, fragment):
    monkeypatch.chdir(tmp_path)
    worker = leaks.worker()
    outputs = os.path.join(comfy_sim.dirs.root, "output")
    before = files_under(outputs)
    response = worker.run(raw)
    assert "error" in response and response["error_code"], response
    assert response["error"].startswith(f"{response['error_code']}: ")
    assert "\n" not in response["error"]
    if code is not None:
        assert response["error_code"] == code, response
    assert fragment in response["error"], response["error"]
    assert files_under(outputs) == before  # nothing ran
    assert list(tmp_path.iterdir()) == [tmp_path / "worker-tmp"]


def test_node_ids_of_unicode_digits_run_and_deliver(comfy_sim, leaks):
    response = leaks.worker().run({"workflow": ODD_IDS})
    assert "error" not in response, response
    assert [(entry["node_id"], entry["type"]) for entry in response["images"]] == [("\u2460", "base64")]
