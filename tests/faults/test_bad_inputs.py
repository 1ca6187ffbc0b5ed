"""The bad-input matrix: each `job["input"]` ends in a clear error code and message through the handler,
no exception escapes, and nothing is written outside the temp dir (ComfyUI is a simulator; nothing is queued)."""
import asyncio
import base64
import os

import pytest

pytestmark = pytest.mark.faults

OK_WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
               "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bad"}}}
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 32).decode("ascii")


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"x": value}
    return value


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
    ("workflow-ui-format", {"workflow": {"nodes": [], "links": []}}, "invalid_input", "Export (API)"),
    ("workflow-node-not-object", {"workflow": {"1": 5}}, "invalid_input", "has no 'class_type'"),
    ("workflow-node-no-class", {"workflow": {"1": {"inputs": {}}}}, "invalid_input", "has no 'class_type'"),
    ("workflow-class-not-string", {"workflow": {"1": {"class_type": 7}}}, "invalid_input", "has no 'class_type'"),
    ("workflow-deep-nesting", {"workflow": nested(500)}, "invalid_input", "has no 'class_type'"),
    ("input-string-deep-nesting", "[" * 100_000 + "]" * 100_000, "invalid_input", "input"),
    ("workflow-string-deep-nesting", {"workflow": '{"a":' * 100_000 + "1" + "}" * 100_000}, "invalid_input",
     "input.workflow"),
    ("workflow-unknown-node", {"workflow": {"1": {"class_type": "NoSuchNode", "inputs": {}}}}, None, "NoSuchNode"),
    ("images-not-list", {"workflow": OK_WORKFLOW, "images": {"a": 1}}, "invalid_input", "must be a list"),
    ("images-item-not-object", with_images("in.png"), "invalid_input", "must be an object"),
    ("name-missing", with_images({"image": PNG}), "invalid_input", "name must be a non-empty string"),
    ("name-empty", with_images(image("")), "invalid_input", "name must be a non-empty string"),
    ("name-blank", with_images(image("   ")), "invalid_input", "name must be a non-empty string"),
    ("name-number", with_images(image(5)), "invalid_input", "name must be a non-empty string"),
    ("name-dotdot", with_images(image("..")), "invalid_input", "'..'"),
    ("name-slash", with_images(image("a/b.png")), "invalid_input", "'/'"),
    ("name-backslash", with_images(image("a\\b.png")), "invalid_input", "'\\'"),
    ("name-nul", with_images(image("a\x00.png")), "invalid_input", "NUL"),
    ("name-absolute", with_images(image("/etc/passwd")), "invalid_input", "'/'"),
    ("name-windows-absolute", with_images(image("C:\\x.png")), "invalid_input", "'\\'"),
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
