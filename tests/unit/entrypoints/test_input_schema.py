"""docs/input.schema.json and the worker's own input validation agree on valid and invalid samples."""
import json
import pathlib

import jsonschema
import pytest

from domain.errors import InvalidInput
from entrypoints.request import parse_request

SCHEMA = json.loads((pathlib.Path(__file__).resolve().parents[3] / "docs" / "input.schema.json").read_text())
WF = {"1": {"class_type": "EmptyImage", "inputs": {}}}
PNG = "iVBORw0KGgo="

VALID = [
    {"workflow": WF},
    {"workflow": WF, "images": [{"name": "a.png", "image": PNG}, {"name": "b.mp4", "url": "https://x.test/b.mp4"}]},
    {"workflow": WF, "images": [{"name": "a.png", "image": "data:image/png;base64," + PNG}]},
    {"workflow": WF, "include_temp": True, "validate_only": False, "comfy_org_api_key": "k"},
    {"workflow": WF, "output_format": {"format": "jpeg", "quality": 80}},
    {"workflow": WF, "output_format": {"format": "webp"}},
    {"workflow": WF, "images": [{"name": "a/b.png", "image": PNG}]},
    {"workflow": WF, "comfy_org_api_key": ""},
    {"workflow": WF, "models": [{"url": "https://x.test/m/lora.safetensors?download=true", "folder": "loras"}]},
    {"workflow": WF, "models": [{"url": "https://civitai.com/api/download/models/1", "folder": "loras",
                                 "name": "styles/style.SafeTensors", "sha256": "A" * 64}]},
    {"workflow": WF, "models": [{"url": "https://x.test/v1.yaml", "folder": "configs", "name": None, "sha256": None}]},
    {"workflow": WF, "models": [{"url": "https://x.test/My%20Lora%2Esafetensors", "folder": "loras"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/d.pt/?download=1", "folder": "loras"}]},
    {"workflow": WF, "models": []},
    {"workflow": WF, "models": None},
    {"workflow": {"nodes": [], "links": []}},  # a UI export: its shape is the converter's to check
    {"workflow": json.dumps({"nodes": [{"id": 1, "type": "EmptyImage"}], "links": []})},
    {"workflow": WF, "overrides": {"1": {"width": 64}, "Empty Image": {"height": 32}}},
]
INVALID = [
    {},
    {"workflow": {}},
    {"workflow": {"nodes": {}, "links": []}},
    {"workflow": {"1": {"inputs": {}}}},
    {"workflow": WF, "overrides": []},
    {"workflow": WF, "overrides": {"1": {}}},
    {"workflow": WF, "overrides": {"1": 5}},
    {"workflow": WF, "overrides": {"": {"width": 1}}},
    {"workflow": WF, "images": {"name": "a"}},
    {"workflow": WF, "images": [{"name": "../a.png", "image": PNG}]},
    {"workflow": WF, "images": [{"name": "", "image": PNG}]},
    {"workflow": WF, "images": [{"name": "/a.png", "image": PNG}]},
    {"workflow": WF, "images": [{"name": "a//b.png", "image": PNG}]},
    {"workflow": WF, "images": [{"name": "a/ ./b.png", "image": PNG}]},
    {"workflow": WF, "images": [{"name": "a/b/c/d/e/f/g/h/i.png", "image": PNG}]},
    {"workflow": WF, "comfy_org_api_key": " "},
    {"workflow": WF, "images": [{"name": "a.png"}]},
    {"workflow": WF, "images": [{"name": "a.png", "image": PNG, "url": "https://x.test/a"}]},
    {"workflow": WF, "images": [{"name": "a.png", "url": "ftp://x.test/a"}]},
    {"workflow": WF, "include_temp": "yes"},
    {"workflow": WF, "validate_only": 1},
    {"workflow": WF, "output_format": {"format": "gif"}},
    {"workflow": WF, "output_format": {"format": "jpeg", "quality": 0}},
    {"workflow": WF, "output_format": {"format": "jpeg", "quality": 101}},
    {"workflow": WF, "output_format": {"format": "png", "dpi": 72}},
    {"workflow": WF, "output_format": "jpeg"},
    {"workflow": WF, "models": {"url": "https://x.test/a.safetensors", "folder": "loras"}},
    {"workflow": WF, "models": [{"url": "https://civitai.com/api/download/models/1", "folder": "loras"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/", "folder": "loras"}]},
    {"workflow": WF, "models": [{"url": "ftp://x.test/a.safetensors", "folder": "loras"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/a.safetensors", "folder": "custom_nodes"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/a.safetensors", "folder": "../loras"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/a.safetensors", "folder": "loras", "name": "../a.safetensors"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/a.safetensors", "folder": "loras", "name": "a.txt"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/a.safetensors", "folder": "loras", "name": "a\x85.pt"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/a.safetensors", "folder": "loras", "sha256": "abc"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/a.safetensors", "folder": "loras", "hash": "abc"}]},
    {"workflow": WF, "models": [{"url": "https://x.test/a.safetensors"}]},
    {"workflow": WF, "models": [{"url": f"https://x.test/{n}.safetensors", "folder": "loras"} for n in range(33)]},
]


@pytest.mark.parametrize("sample", VALID)
def test_valid_samples_pass_both(sample):
    jsonschema.validate(sample, SCHEMA)
    parse_request(sample)


@pytest.mark.parametrize("sample", INVALID)
def test_invalid_samples_fail_both(sample):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sample, SCHEMA)
    with pytest.raises(InvalidInput):
        parse_request(sample)
