"""Property: docs/input.schema.json accepts exactly the inputs the worker's parser accepts."""
import json
import pathlib

import jsonschema
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from entrypoints.request import parse_request

SCHEMA = json.loads((pathlib.Path(__file__).resolve().parents[3] / "docs" / "input.schema.json").read_text())
PNG = "iVBORw0KGgo="


def unique_item_properties(validator, names, instance, schema):
    """ajv-keywords' `uniqueItemProperties`: no two items of the list share a value of one of `names`."""
    if not validator.is_type(instance, "array"):
        return
    for name in names:
        values = [item[name] for item in instance if isinstance(item, dict) and name in item]
        if len(values) != len(set(map(json.dumps, values))):
            yield jsonschema.ValidationError(f"two items share a {name!r}")


def max_utf8_bytes(validator, limit, instance, schema):
    """The schema's `maxUtf8Bytes`: a string of at most `limit` bytes in UTF-8."""
    if validator.is_type(instance, "string") and len(instance.encode("utf-8", errors="replace")) > limit:
        yield jsonschema.ValidationError(f"more than {limit} bytes in UTF-8")


Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                         {"uniqueItemProperties": unique_item_properties,
                                          "maxUtf8Bytes": max_utf8_bytes})
VALIDATOR = Validator(SCHEMA)
# a JSON string is checked against its `contentSchema` once decoded, as draft 2020-12 lets a validator do
WORKFLOW_AS_TEXT = next((branch for branch in SCHEMA["properties"]["workflow"].get("anyOf", [])
                         if branch.get("contentMediaType") == "application/json"), None)


def decoded_workflow_accepted(text: str) -> bool:
    if WORKFLOW_AS_TEXT is None:
        return False
    try:
        decoded = json.loads(text)
    except ValueError:
        return False
    return Validator({**WORKFLOW_AS_TEXT["contentSchema"], "$defs": SCHEMA.get("$defs", {})}).is_valid(decoded)


def schema_accepts(sample) -> bool:
    if not VALIDATOR.is_valid(sample):
        return False
    workflow = sample.get("workflow")
    return decoded_workflow_accepted(workflow) if isinstance(workflow, str) else True


def parser_accepts(sample) -> bool:
    try:
        parse_request(sample)
    except InvalidInput:
        return False
    return True


def mostly(plausible, odd):
    return st.integers(0, 5).flatmap(lambda draw: odd if draw == 0 else plausible)


odd = (st.none() | st.booleans() | st.integers(-2, 200) | st.floats(allow_nan=False, allow_infinity=False)
       | st.text(max_size=6) | st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3), st.none(),
                                                                                    max_size=2))
names = st.sampled_from(["a.png", "b.mp4", "a.png", "..", ".", " ", "a..b", "a/b", "a\\b", "x\x00", "a\nb",
                         "\u00e9t\u00e9.png", "\u3000", " . ", "\u00e9" * 200, "x" * 255, "x" * 256, ".hidden", ""])
nodes = st.fixed_dictionaries({}, optional={"class_type": mostly(st.sampled_from(["EmptyImage", "SaveImage", ""]), odd),
                                            "inputs": mostly(st.dictionaries(st.text(max_size=3), st.integers(),
                                                                             max_size=2), odd),
                                            "_meta": odd})
workflow_objects = st.dictionaries(st.sampled_from(["1", "2", "nodes", "links", "\u00b2"]), mostly(nodes, odd),
                                   max_size=3)
ui_workflow_objects = st.fixed_dictionaries(
    {"nodes": mostly(st.lists(mostly(st.fixed_dictionaries({"id": st.integers(1, 3), "type": st.just("EmptyImage")}),
                                     odd), max_size=2), odd)},
    optional={"links": mostly(st.lists(st.lists(st.integers(), max_size=6), max_size=2) | st.just({}), odd),
              "definitions": mostly(st.fixed_dictionaries({"subgraphs": st.just([])}), odd), "version": odd})
workflow_objects = workflow_objects | ui_workflow_objects
workflows = mostly(workflow_objects | workflow_objects.map(json.dumps) | st.sampled_from(["{", "[]", "null"]), odd)
base64ish = st.text(alphabet="QUJD+/=\n \t\u3000*", max_size=10)
image_items = st.fixed_dictionaries({}, optional={
    "name": mostly(names | st.text(alphabet=" .\n/\\\x00a\u00e9\u3000", max_size=4), odd),
    "image": mostly(st.sampled_from([PNG, "data:image/png;base64," + PNG, "not*base64", "====", "data:x", "", " "])
                    | base64ish | st.tuples(st.sampled_from(["data:image/png;base64,", "data:;base64,", "data:a,b;base64,",
                                                             "data:image/png,"]), base64ish).map("".join), odd),
    "url": mostly(st.sampled_from(["https://x.test/a.png", "HTTP://x.test/a", "ftp://x.test/a", ""]), odd)})
model_items = st.fixed_dictionaries({}, optional={
    "url": mostly(st.sampled_from(["https://x.test/a.safetensors", "HTTP://x.test/m/b.CKPT?x=1#f", "https://x.test/",
                                   "https://civitai.com/api/download/models/1", "ftp://x.test/a.pt", "", "https://h",
                                   "https://x.test/c%2Esafetensors", "https://x.test/d.pt/"]), odd),
    "folder": mostly(st.sampled_from(["loras", "checkpoints", "custom_nodes", "../x", "", "a b", "x" * 65, "loras\n",
                                      "_x.y-z"]), odd),
    "name": mostly(st.sampled_from(["a.safetensors", "sub/b.PT", "a.txt", "../a.pt", "a..b.pt", " .pt", ".pt",
                                    "x" * 252 + ".pt", "\u00e9" * 130 + ".pt", "a\x85.pt", "/a.pt", "a//b.pt",
                                    "a/ /b.pt", "a\\b.pt", "v1.yaml", "a.pt/"]) | st.none(), odd),
    "sha256": mostly(st.sampled_from(["a" * 64, "A" * 64, "abc", "g" * 64, "a" * 64 + "\n"]) | st.none(), odd),
    "hash": odd,
})
job_inputs = st.fixed_dictionaries({}, optional={
    "workflow": workflows,
    "images": mostly(st.lists(mostly(image_items, odd), max_size=3), odd),
    "comfy_org_api_key": mostly(st.sampled_from(["key", "", " ", "\t", "k" * 4096, "k" * 4097]), odd),
    "include_temp": mostly(st.booleans(), odd),
    "validate_only": mostly(st.booleans(), odd),
    "output_format": mostly(st.fixed_dictionaries({}, optional={
        "format": mostly(st.sampled_from(["png", "jpg", "jpeg", "webp", "gif", "PNG"]), odd),
        "quality": mostly(st.integers(-1, 101) | st.sampled_from([80.0, 80.5, True]), odd),
        "dpi": odd}), odd),
    "models": mostly(st.lists(mostly(model_items, odd), max_size=2), odd),
    "notes": odd,
})


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_inputs)
def test_schema_valid_is_parser_accepted(sample):
    note(f"schema: {schema_accepts(sample)}, parser: {parser_accepts(sample)}")
    assert schema_accepts(sample) == parser_accepts(sample)
