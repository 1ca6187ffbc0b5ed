"""Validation of `job["input"]`."""
import json

import pytest

from domain.errors import InvalidInput
from domain.inputs.limits import InputLimits
from domain.model import FileUrl, InlineFile, InputFile, OutputFormat, RunWorkflow
from entrypoints.request import new_job, parse_request

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}


def test_accepts_an_object_or_a_json_string():
    assert parse_request({"workflow": WORKFLOW}).workflow == WORKFLOW
    assert parse_request(json.dumps({"workflow": WORKFLOW})).workflow == WORKFLOW


@pytest.mark.parametrize(
    "raw, message",
    [
        (None, "input is missing"),
        ("{not json", "not valid JSON"),
        ([1], "must be a JSON object"),
        ({}, "input.workflow is missing"),
        ({"workflow": {}}, "input.workflow is empty"),
        ({"workflow": {"1": {"inputs": {}}}}, "has no 'class_type'"),
        ({"workflow": {"nodes": {}, "links": [], "version": 0.4}}, "'nodes' is an object, not a list"),
        ({"workflow": {"nodes": [{}, 3], "links": []}}, "nodes\\[1\\] is a number, not an object"),
        ({"workflow": {"nodes": [], "links": "x"}}, "'links' is a string, not a list"),
        ({"workflow": {"nodes": [], "links": [], "definitions": []}}, "'definitions' is a list, not an object"),
        ({"workflow": WORKFLOW, "overrides": {"1": {}}}, "overrides\\['1'\\] must be a non-empty object"),
        ({"workflow": WORKFLOW, "images": {"name": "a"}}, "must be a list"),
        ({"workflow": WORKFLOW, "comfy_org_api_key": 5}, "comfy_org_api_key"),
        ({"workflow": WORKFLOW, "comfy_org_api_key": " "}, "comfy_org_api_key"),
        ({"workflow": WORKFLOW, "include_temp": "yes"}, "input.include_temp must be true or false, got str"),
        ({"workflow": WORKFLOW, "validate_only": 1}, "input.validate_only must be true or false, got int"),
        ({"workflow": WORKFLOW, "output_format": "jpeg"}, "output_format must be an object"),
        ({"workflow": WORKFLOW, "output_format": {"format": "gif"}}, "one of png, jpeg, webp, got 'gif'"),
        ({"workflow": WORKFLOW, "output_format": {}}, "one of png, jpeg, webp, got None"),
        ({"workflow": WORKFLOW, "output_format": {"format": "png", "size": 3}}, "unknown fields \\['size'\\]"),
        ({"workflow": WORKFLOW, "output_format": {"format": "webp", "quality": 0}}, "quality must be a whole number"),
        ({"workflow": WORKFLOW, "output_format": {"format": "webp", "quality": 101}}, "quality must be"),
        ({"workflow": WORKFLOW, "output_format": {"format": "webp", "quality": 9.5}}, "quality must be"),
        ({"workflow": WORKFLOW, "output_format": {"format": "webp", "quality": True}}, "quality must be"),
        ({"workflow": WORKFLOW, "images": ["a.png"]}, "images\\[0\\] must be an object"),
    ],
)
def test_refuses_bad_input_with_a_clear_message(raw, message):
    with pytest.raises(InvalidInput, match=message):
        parse_request(raw)


@pytest.mark.parametrize("name", ["", "  ", "/a.png", "a\\b.png", "..png", "x\x00.png", None, 3])
def test_refuses_unsafe_image_names(name):
    with pytest.raises(InvalidInput, match=r"input.images\[0\].name"):
        parse_request({"workflow": WORKFLOW, "images": [{"name": name, "image": "aGk="}]})


@pytest.mark.parametrize("name", ["sub/a.png", "a/b/c/d/e/f/g/h.png", "sub dir/.hidden/a b.png", "\u00e9t\u00e9/a.png"])
def test_names_with_folders_are_paths_in_the_input_folder(name):
    parsed = parse_request({"workflow": WORKFLOW, "images": [{"name": name, "image": "aGk="}]})
    assert parsed.inputs[0].name == name


@pytest.mark.parametrize(("name", "said"), [
    ("/a.png", "must not start with '/'"),
    ("/etc/passwd", "must not start with '/'"),
    ("sub/../a.png", "must not contain '..'"),
    ("../a.png", "must not contain '..'"),
    ("a//b.png", "has an empty part"),
    ("sub/", "has an empty part"),
    ("sub\\a.png", "must not contain '\\'"),
    ("sub/\x00a.png", "NUL"),
    ("./a.png", "names no file: '.' is only dots and spaces"),
    ("sub/ . /a.png", "names no file: ' . ' is only dots and spaces"),
    ("sub/ ", "names no file: ' ' is only dots and spaces"),
    ("a/b/c/d/e/f/g/h/i.png", "more than 7 folders deep"),
    ("d" * 100 + "/" + "e" * 100 + "/" + "a" * 60, "longer than 255 bytes"),
])
def test_refuses_names_that_leave_the_input_folder_or_name_no_file(name, said):
    with pytest.raises(InvalidInput, match=r"input.images\[0\].name") as caught:
        parse_request({"workflow": WORKFLOW, "images": [{"name": name, "image": "aGk="}]})
    assert said in str(caught.value)


def test_refuses_duplicated_names():
    images = [{"name": "a.png", "image": "aGk="}, {"name": "a.png", "image": "aGk="}]
    with pytest.raises(InvalidInput, match="used twice"):
        parse_request({"workflow": WORKFLOW, "images": images})


@pytest.mark.parametrize("image, message", [("%%%", "not valid base64"), ("", "must be a base64 string"),
                                            ("data:image/png,aGk=", "data URI")])
def test_refuses_bad_base64(image, message):
    with pytest.raises(InvalidInput, match=message):
        parse_request({"workflow": WORKFLOW, "images": [{"name": "a.png", "image": image}]})


def test_base64_over_the_size_cap_is_refused():
    with pytest.raises(InvalidInput, match="over max_input_bytes \\(4 bytes\\)"):
        parse_request({"workflow": WORKFLOW, "images": [{"name": "a.png", "image": "aGVsbG8="}]}, InputLimits(max_input_bytes=4))
    huge = "A" * 100  # refused by its length before it is decoded
    with pytest.raises(InvalidInput, match="max_input_bytes"):
        parse_request({"workflow": WORKFLOW, "images": [{"name": "a.png", "image": huge}]}, InputLimits(max_input_bytes=4))
    at_cap = parse_request({"workflow": WORKFLOW, "images": [{"name": "a.png", "image": "aGVsbA=="}]}, InputLimits(max_input_bytes=4))
    assert at_cap.inputs[0].source == InlineFile(b"hell")


def test_url_entries_are_kept_for_download():
    images = [{"name": "a.png", "url": "https://example.com/a.png?sig=1"}, {"name": "b.png", "image": "aGk="}]
    parsed = parse_request({"workflow": WORKFLOW, "images": images})
    assert parsed.inputs == (InputFile("a.png", FileUrl("https://example.com/a.png?sig=1")),
                             InputFile("b.png", InlineFile(b"hi")))
    assert "sig=1" not in repr(parsed)


@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file://host/a.png", "", None, 5])
def test_refuses_urls_that_are_not_http(url):
    with pytest.raises(InvalidInput, match=r"input.images\[0\].url must be an http"):
        parse_request({"workflow": WORKFLOW, "images": [{"name": "a.png", "url": url}]})


def test_refuses_an_entry_with_both_image_and_url():
    images = [{"name": "a.png", "image": "aGk=", "url": "https://example.com/a.png"}]
    with pytest.raises(InvalidInput, match="both 'image' and 'url'"):
        parse_request({"workflow": WORKFLOW, "images": images})


def test_options_default_off_and_are_read():
    assert parse_request({"workflow": WORKFLOW}) == RunWorkflow(workflow=WORKFLOW)
    parsed = parse_request({"workflow": WORKFLOW, "include_temp": True, "validate_only": True,
                              "output_format": {"format": "jpg", "quality": 90}})
    assert (parsed.include_temp, parsed.validate_only) == (True, True)
    assert parsed.output_format == OutputFormat("jpeg", 90)
    assert parse_request({"workflow": WORKFLOW, "output_format": {"format": "webp"}}).output_format == \
        OutputFormat("webp")


def test_decodes_plain_and_data_uri_base64():
    images = [{"name": "a.png", "image": "aGk="}, {"name": "b.png", "image": "data:image/png;base64,aG\nk="}]
    parsed = parse_request({"workflow": WORKFLOW, "images": images})
    assert [(i.name, i.source.data) for i in parsed.inputs] == [("a.png", b"hi"), ("b.png", b"hi")]


def test_api_key_goes_to_extra_data_and_never_into_reprs():
    job = new_job("j", {"workflow": WORKFLOW, "comfy_org_api_key": "secret-key"})
    assert job.prompt.extra_data == {"api_key_comfy_org": "secret-key"}
    assert "secret-key" not in repr(job)


def test_env_default_key_is_used_when_the_input_has_none():
    assert new_job("j", {"workflow": WORKFLOW}, default_api_key="k").prompt.extra_data == {"api_key_comfy_org": "k"}
    assert new_job("j", {"workflow": WORKFLOW}).prompt.extra_data == {}


def test_an_empty_key_means_the_workers_key_as_in_worker_comfyui_5():
    job = new_job("j", {"workflow": WORKFLOW, "comfy_org_api_key": ""}, default_api_key="k")
    assert job.prompt.extra_data == {"api_key_comfy_org": "k"}
    assert new_job("j", {"workflow": WORKFLOW, "comfy_org_api_key": ""}).prompt.extra_data == {}


def test_each_job_gets_fresh_ids():
    a, b = new_job("j", {"workflow": WORKFLOW}), new_job("j", {"workflow": WORKFLOW})
    assert len({a.prompt.id, a.prompt.client_id, b.prompt.id, b.prompt.client_id}) == 4


def test_a_ui_export_is_taken_as_it_is_with_its_overrides_and_converted_when_the_job_runs():
    ui = {"nodes": [{"id": 3, "type": "EmptyImage", "widgets_values": [8, 8, 1, 0]}], "links": [], "version": 0.4}
    for workflow in (ui, json.dumps(ui)):
        command = parse_request({"workflow": workflow, "overrides": {"Empty Image": {"width": 64}}})
        assert command.ui and command.workflow == ui and command.overrides == {"Empty Image": {"width": 64}}
    api = parse_request({"workflow": WORKFLOW})
    assert not api.ui and api.overrides == {}
