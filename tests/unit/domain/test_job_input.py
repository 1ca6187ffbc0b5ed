"""Validation of `job["input"]`."""
import json

import pytest

from domain.errors import InvalidInput
from domain.job_input import new_job, parse_job_input

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}


def test_accepts_an_object_or_a_json_string():
    assert parse_job_input({"workflow": WORKFLOW}).workflow == WORKFLOW
    assert parse_job_input(json.dumps({"workflow": WORKFLOW})).workflow == WORKFLOW


@pytest.mark.parametrize(
    "raw, message",
    [
        (None, "input is missing"),
        ("{not json", "not valid JSON"),
        ([1], "must be a JSON object"),
        ({}, "input.workflow is missing"),
        ({"workflow": {}}, "input.workflow is empty"),
        ({"workflow": {"1": {"inputs": {}}}}, "has no 'class_type'"),
        ({"workflow": {"nodes": [], "links": [], "version": 0.4}}, "Export \\(API\\)"),
        ({"workflow": WORKFLOW, "images": {"name": "a"}}, "must be a list"),
        ({"workflow": WORKFLOW, "comfy_org_api_key": 5}, "comfy_org_api_key"),
    ],
)
def test_refuses_bad_input_with_a_clear_message(raw, message):
    with pytest.raises(InvalidInput, match=message):
        parse_job_input(raw)


@pytest.mark.parametrize("name", ["", "  ", "a/b.png", "a\\b.png", "..png", "x\x00.png", None, 3])
def test_refuses_unsafe_image_names(name):
    with pytest.raises(InvalidInput, match=r"input.images\[0\].name"):
        parse_job_input({"workflow": WORKFLOW, "images": [{"name": name, "image": "aGk="}]})


def test_refuses_duplicated_names():
    images = [{"name": "a.png", "image": "aGk="}, {"name": "a.png", "image": "aGk="}]
    with pytest.raises(InvalidInput, match="used twice"):
        parse_job_input({"workflow": WORKFLOW, "images": images})


@pytest.mark.parametrize("image, message", [("%%%", "not valid base64"), ("", "must be a base64 string"),
                                            ("data:image/png,aGk=", "data URI")])
def test_refuses_bad_base64(image, message):
    with pytest.raises(InvalidInput, match=message):
        parse_job_input({"workflow": WORKFLOW, "images": [{"name": "a.png", "image": image}]})


def test_decodes_plain_and_data_uri_base64():
    images = [{"name": "a.png", "image": "aGk="}, {"name": "b.png", "image": "data:image/png;base64,aG\nk="}]
    parsed = parse_job_input({"workflow": WORKFLOW, "images": images})
    assert [(i.name, i.data) for i in parsed.images] == [("a.png", b"hi"), ("b.png", b"hi")]


def test_api_key_goes_to_extra_data_and_never_into_reprs():
    job = new_job("j", {"workflow": WORKFLOW, "comfy_org_api_key": "secret-key"})
    assert job.prompt.extra_data == {"api_key_comfy_org": "secret-key"}
    assert "secret-key" not in repr(job)


def test_env_default_key_is_used_when_the_input_has_none():
    assert new_job("j", {"workflow": WORKFLOW}, default_api_key="k").prompt.extra_data == {"api_key_comfy_org": "k"}
    assert new_job("j", {"workflow": WORKFLOW}).prompt.extra_data == {}


def test_each_job_gets_fresh_ids():
    a, b = new_job("j", {"workflow": WORKFLOW}), new_job("j", {"workflow": WORKFLOW})
    assert len({a.prompt.id, a.prompt.client_id, b.prompt.id, b.prompt.client_id}) == 4
