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
