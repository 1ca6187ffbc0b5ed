"""Property: any JSON at `parse_request` either parses or raises the worker's own `InvalidInput`, and any
job input through the handler answers a result or an error code docs/errors.md lists, never `internal_error`."""
import json
import pathlib
import re

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from comfyui_sim.simulator import ComfySimulator
from domain.errors import InvalidInput
from domain.inputs.limits import InputLimits
from entrypoints.request import parse_request
from faults.harness import Worker

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=30)
fields = st.sampled_from(["workflow", "images", "comfy_org_api_key", "include_temp", "output_format",
                          "validate_only", "name", "image", "url", "class_type", "inputs", "format", "quality"])
shaped = st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                      | st.dictionaries(fields | st.text(max_size=4), children, max_size=5), max_leaves=40)


def parses_or_refuses(raw) -> None:
    try:
        parse_request(raw, InputLimits(max_input_bytes=10_000))
    except InvalidInput as exc:
        assert exc.summary().startswith("invalid_input: ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values | shaped)
def test_any_json_value_parses_or_is_invalid_input(raw):
    parses_or_refuses(raw)


@settings(max_examples=200, deadline=None)
@given(json_values | shaped)
def test_any_json_text_parses_or_is_invalid_input(raw):
    parses_or_refuses(json.dumps(raw))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=50))
def test_any_text_parses_or_is_invalid_input(raw):
    parses_or_refuses(raw)



# Through the handler against the simulator: any JSON in any field, nodes of any shape. The answer is a result
# or an error whose code docs/errors.md lists; internal_error is never one of them.
ERRORS_DOC = pathlib.Path(__file__).resolve().parents[2] / "docs" / "errors.md"
CODES_TABLE = ERRORS_DOC.read_text().split("## Whose fault, at a glance", 1)[1].split("\n## ", 1)[0]
DOCUMENTED_CODES = frozenset(re.findall(r"^\| `([a-z_]+)` \|", CODES_TABLE, flags=re.MULTILINE))

NODE_IDS = st.sampled_from(["1", "2", "3", "10", "\u00b2", "\u2460", "3:1", "", "1" * 5000]) | st.text(max_size=3)
# light simulator nodes, and names no ComfyUI has
CLASSES = st.sampled_from(["EmptyImage", "SaveImage", "PreviewImage", "PreviewAny", "LoadImage", "GetImageSize",
                           "SaveImageWebsocket", "NoSuchNode"]) | st.text(max_size=6)
# small numbers: a valid EmptyImage of 16384x16384 would test the simulator's memory, not the worker
small_scalars = (st.none() | st.booleans() | st.integers(-3, 64) | st.floats(allow_nan=False)
                 | st.sampled_from(["in.png", "x", "\u00b2", "1e400"]) | st.text(max_size=8))
links = st.lists(NODE_IDS | st.integers(-2, 12), min_size=2, max_size=2).map(lambda pair: [pair[0], pair[1]])
input_values = st.recursive(small_scalars | links, lambda children: st.lists(children, max_size=3)
                            | st.dictionaries(st.sampled_from(["__value__", "a"]), children, max_size=2),
                            max_leaves=8)
node_inputs = st.dictionaries(st.sampled_from(["width", "height", "batch_size", "color", "images", "image",
                                               "filename_prefix", "source", "upload"]) | st.text(max_size=4),
                              input_values, max_size=5)


def mostly(plausible, odd=json_values | shaped):
    """Nine draws in ten are plausible, so most examples get past the first checks to the later ones."""
    return st.integers(0, 9).flatmap(lambda draw: odd if draw == 0 else plausible)


nodes = st.fixed_dictionaries({"class_type": mostly(CLASSES)},
                              optional={"inputs": mostly(node_inputs), "_meta": json_values})
OK_WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
               "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "property"}}}
workflows = mostly(st.dictionaries(NODE_IDS, mostly(nodes), max_size=3).map(lambda extra: {**OK_WORKFLOW, **extra}))
image_items = st.fixed_dictionaries({}, optional={
    "name": mostly(st.sampled_from(["in.png", ".", " . ", "a/b.png", "\u00b2.png", ""])),
    "image": mostly(st.sampled_from([PNG, "data:image/png;base64," + PNG, "not*base64", "===="])),
    "url": mostly(st.sampled_from(["http://127.0.0.1:1/in.png", "ftp://x/in.png"]))})
job_inputs = st.fixed_dictionaries({"workflow": workflows}, optional={
    "images": mostly(st.lists(mostly(image_items), max_size=3)),
    "comfy_org_api_key": mostly(st.just("key")),
    "include_temp": mostly(st.booleans()),
    "validate_only": mostly(st.booleans()),
    "output_format": mostly(st.fixed_dictionaries({}, optional={
        "format": mostly(st.sampled_from(["png", "jpg", "jpeg", "webp", "gif"])),
        "quality": mostly(st.integers(-1, 101))})),
    "notes": json_values,
})


@pytest.fixture(scope="module")
def worker(tmp_path_factory):
    sim = ComfySimulator(port=0).start()
    # no PID file: a process-died answer would only tell of this machine's leftovers
    no_pid_file = str(tmp_path_factory.mktemp("pid") / "comfyui.pid")
    handler_worker = Worker(sim.host, JOB_TIMEOUT_S="60", COMFY_PID_FILE=no_pid_file)
    try:
        yield handler_worker
    finally:
        handler_worker.close()
        sim.stop()


def test_the_error_codes_are_read_from_the_docs():
    assert {"invalid_input", "input_fetch_failed", "workflow_invalid", "node_missing", "timed_out"} <= DOCUMENTED_CODES
    assert "internal_error" not in DOCUMENTED_CODES
    assert "class_type" not in DOCUMENTED_CODES  # a field of another table


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(job_input=job_inputs)
def test_any_job_input_answers_a_documented_code(worker, job_input):
    response = worker.run(job_input, job_id="property")
    event(response.get("error_code", "answered"))
    if "error" in response:
        assert response["error_code"] in DOCUMENTED_CODES, response["error"][:300]
        assert response["error"].startswith(f"{response['error_code']}: ")
