"""Odd but parseable input is the caller's `invalid_input`: node `inputs` that are not objects, deep nesting,
numbers JSON cannot carry, image names that name no file."""
import json
import pathlib

import jsonschema
import pytest

from domain.errors import InvalidInput
from entrypoints.request import MAX_NESTING, parse_request

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}
PNG = "iVBORw0KGgo="
SCHEMA = json.loads((pathlib.Path(__file__).resolve().parents[3] / "docs" / "input.schema.json").read_text())


def nested(depth: int) -> list:
    """`depth` lists within each other."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize("inputs, said", [([8], "a list"), ("8", "a string"), (None, "null"), (8, "a number"),
                                          (True, "a boolean")])
def test_node_inputs_must_be_an_object(inputs, said):
    workflow = {**WORKFLOW, "2": {"class_type": "EmptyImage", "inputs": inputs}}
    with pytest.raises(InvalidInput, match=f"node '2': 'inputs' must be an object of input names and values, got {said}$"):
        parse_request({"workflow": workflow})


def test_a_node_without_inputs_is_comfyuis_to_judge():
    assert parse_request({"workflow": {"1": {"class_type": "EmptyImage"}}}).workflow == {
        "1": {"class_type": "EmptyImage"}}


def test_nesting_up_to_the_limit_is_accepted_one_more_is_refused():
    # input itself is the first level, its field the second
    assert parse_request({"workflow": WORKFLOW, "notes": nested(MAX_NESTING - 1)})
    with pytest.raises(InvalidInput, match=f"^input.notes is nested deeper than {MAX_NESTING} levels"):
        parse_request({"workflow": WORKFLOW, "notes": nested(MAX_NESTING)})


def test_workflow_values_count_from_the_input():
    inputs = {"width": {"__value__": nested(MAX_NESTING - 5)}}  # input, workflow, node, inputs, width's object
    assert parse_request({"workflow": {"1": {"class_type": "EmptyImage", "inputs": inputs}}})
    inputs = {"width": {"__value__": nested(MAX_NESTING - 4)}}
    with pytest.raises(InvalidInput, match=r"^input\.workflow is nested deeper"):
        parse_request({"workflow": {"1": {"class_type": "EmptyImage", "inputs": inputs}}})


def test_a_workflow_sent_as_text_is_checked_once_parsed():
    text = json.dumps({"1": {"class_type": "EmptyImage", "inputs": {"width": nested(MAX_NESTING)}}})
    with pytest.raises(InvalidInput, match=r"^input\.workflow is nested deeper"):
        parse_request({"workflow": text})


def test_nesting_far_beyond_the_recursion_limit_is_refused_without_recursing():
    with pytest.raises(InvalidInput, match="nested deeper"):
        parse_request({"workflow": WORKFLOW, "output_format": nested(200_000)})


@pytest.mark.parametrize("text", ["1e400", "-1e400", "Infinity", "NaN"])
def test_numbers_json_cannot_carry_are_refused_wherever_they_are(text):
    # Python's JSON parser, like the SDK's, reads these as floats that json.dumps(allow_nan=False) refuses
    for where in ('{"workflow": {"1": {"class_type": "EmptyImage", "inputs": {"width": %s}}}}',
                  '{"workflow": {"1": {"class_type": "EmptyImage", "inputs": {"x": [[{"y": %s}]]}}}}',
                  '{"workflow": {"1": {"class_type": "EmptyImage", "_meta": %s}}}',
                  '{"workflow": {"1": {"class_type": "EmptyImage"}}, "notes": %s}'):
        with pytest.raises(InvalidInput, match=r"holds the number (-?inf|nan), which JSON cannot carry"):
            parse_request(where % text)


def test_large_finite_numbers_are_numbers():
    assert parse_request('{"workflow": {"1": {"class_type": "EmptyImage", "inputs": {"seed": 1e300, "n": %s}}}}'
                           % ("9" * 400))


def test_wide_input_is_not_deep():
    assert parse_request({"workflow": WORKFLOW, "notes": [[0] * 1000 for _ in range(1000)]})


@pytest.mark.parametrize("name", [".", " . ", "...", "\u00a0.", ". ."])
def test_image_names_of_dots_and_spaces_name_no_file(name):
    sample = {"workflow": WORKFLOW, "images": [{"name": name, "image": PNG}]}
    with pytest.raises(InvalidInput, match=r"input.images\[0\].name"):
        parse_request(sample)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(sample, SCHEMA)


@pytest.mark.parametrize("name", [".hidden", "a.", "a .png", "_"])
def test_names_with_a_dot_and_more_are_files(name):
    sample = {"workflow": WORKFLOW, "images": [{"name": name, "image": PNG}]}
    assert parse_request(sample).inputs[0].name == name
    jsonschema.validate(sample, SCHEMA)


@pytest.mark.parametrize("name", ["a\nb.png", "a\rb.png", 'a"b.png', "tab\t.png", "bell\x07.png", "del\x7f.png"])
def test_an_image_name_a_multipart_upload_cannot_carry_as_it_is_is_refused(name):
    # urllib3 escapes these in the upload's file name, so ComfyUI would store (and the workflow name) another file
    with pytest.raises(InvalidInput, match=r"must not contain a control character \(a line break, a tab\) or '\"'"):
        parse_request({"workflow": WORKFLOW, "images": [{"name": name, "image": PNG}]})


@pytest.mark.parametrize("where", ["value", "key", "deep value", "image name", "top key"])
def test_a_lone_surrogate_anywhere_in_the_input_is_refused(where):
    bad = "x\udc80y"
    job_input = {
        "value": {"workflow": {"1": {"class_type": "PreviewAny", "inputs": {"source": bad}}}},
        "key": {"workflow": {"1": {"class_type": "EmptyImage", "inputs": {bad: 8}}}},
        "deep value": {"workflow": WORKFLOW, "notes": [[{"a": [bad]}]]},
        "image name": {"workflow": WORKFLOW, "images": [{"name": bad, "image": PNG}]},
        "top key": {"workflow": WORKFLOW, bad: 1},
    }[where]
    with pytest.raises(InvalidInput, match="lone surrogate") as caught:
        parse_request(job_input)
    caught.value.summary().encode("utf-8")  # the refusal itself can be sent


def test_text_in_any_language_is_still_text():
    job_input = {"workflow": {"1": {"class_type": "PreviewAny", "inputs": {"source": "猫 🐈 café"}}}}
    assert parse_request(job_input).workflow["1"]["inputs"]["source"] == "猫 🐈 café"
