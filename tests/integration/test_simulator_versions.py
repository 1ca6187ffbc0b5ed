"""The simulator's version profiles answer as those ComfyUI releases do (each switch's source is cited in
comfyui_sim/versions.py); where the real 0.3.64 could be asked, the 0.3.64 profile was checked against it."""
import json
import pathlib
import uuid

import pytest
import requests
import websocket

from comfyui_sim.simulator import ComfySimulator
from comfyui_sim.versions import NEWEST_VERSION, PROFILES, profile

EMPTY = {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 1}}
PREVIEW = {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}


@pytest.fixture(scope="module", params=sorted(PROFILES))
def sim(request):
    with ComfySimulator(version=request.param) as started:
        yield started


def post(sim, body: dict) -> requests.Response:
    return requests.post(f"{sim.base_url}/prompt", json=body, timeout=10)


def test_system_stats_reports_the_version_and_a_prefix_picks_one(sim):
    system = requests.get(f"{sim.base_url}/system_stats", timeout=10).json()["system"]
    assert system["comfyui_version"] == sim.profile.version
    assert profile("0.17").version == "0.17.2" and profile(None).version == "0.8.0"
    assert max(PROFILES, key=lambda v: tuple(map(int, v.split(".")))) == NEWEST_VERSION
    with pytest.raises(ValueError, match="not modelled"):
        profile("0.99")


@pytest.mark.parametrize("chosen", ["ABC", "6F9619FF-8B86-D011-B42D-00C04FC964FF",
                                    "{6f9619ff-8b86-d011-b42d-00c04fc964ff}", "6f9619ff8b86d011b42d00c04fc964ff", 123])
def test_a_prompt_id_that_is_no_canonical_uuid_is_refused_from_0_25(sim, chosen):
    response = post(sim, {"prompt": {"1": EMPTY, "2": PREVIEW}, "prompt_id": chosen})
    if sim.profile.canonical_prompt_id:
        assert response.status_code == 400
        assert response.json()["error"]["type"] == "invalid_prompt_id"
    else:  # before, any value is str()-ed (0.8.0 server.py:872)
        assert response.status_code == 200 and response.json()["prompt_id"] == str(chosen)
    sim.wait_idle()


def test_a_null_prompt_id_is_none_before_0_25_and_a_fresh_one_after(sim):
    response = post(sim, {"prompt": {"1": EMPTY, "2": PREVIEW}, "prompt_id": None})
    minted = response.json()["prompt_id"]
    assert (str(uuid.UUID(minted)) == minted) if sim.profile.canonical_prompt_id else (minted == "None")
    sim.wait_idle()


def test_an_unknown_class_is_missing_node_type_from_0_12(sim):
    error = post(sim, {"prompt": {"1": EMPTY, "5": {"class_type": "Foo", "inputs": {}, "_meta": {"title": "My Foo"}}}}
                 ).json()["error"]
    if sim.profile.missing_node_type:
        assert error == {"type": "missing_node_type", "message": "Node 'My Foo' not found. The custom node may not be "
                         "installed.", "details": "Node ID '#5'",
                         "extra_info": {"node_id": "5", "class_type": "Foo", "node_title": "My Foo"}}
    else:  # recorded from 0.3.64: validation_error.json variants.validation_unknown_class
        assert error == {"type": "invalid_prompt", "message": "Cannot execute because node Foo does not exist.",
                         "details": "Node ID '#5'", "extra_info": {}}


def test_a_cycle_is_a_dependency_cycle_on_each_node_from_0_20(sim):
    cycle = {"1": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}},
             "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
             "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}}
    body = post(sim, {"prompt": cycle}).json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    if sim.profile.dependency_cycle:
        assert sorted(body["node_errors"]) == ["1", "2"]
        [error] = body["node_errors"]["1"]["errors"]
        assert error["type"] == "dependency_cycle" and error["details"] == (
            "2 (ImageInvert) -> 1 (ImageInvert) -> 2 (ImageInvert)")
    else:  # observed on the real 0.3.64: nothing named
        assert body["node_errors"] == {} and body["error"]["details"] == ""


def test_a_retired_class_is_replaced_from_0_14_and_without_meta_is_a_500(sim):
    adapter = {"class_type": "T2IAdapterLoader", "inputs": {"t2i_adapter_name": "a.pth"}}
    show = {"class_type": "PreviewAny", "inputs": {"source": ["6", 0]}}
    without_meta = post(sim, {"prompt": {"6": adapter, "7": show}})
    with_meta = post(sim, {"prompt": {"6": {**adapter, "_meta": {"title": "T2I"}}, "7": show}})
    listed = requests.get(f"{sim.base_url}/node_replacements", timeout=10)
    if sim.profile.node_replacement:
        assert without_meta.status_code == 500  # 0.33 app/node_replace_manager.py copy_node_struct: KeyError
        node_errors = with_meta.json()["node_errors"]
        assert node_errors["6"]["class_type"] == "ControlNetLoader"
        assert node_errors["6"]["errors"][0]["extra_info"]["input_name"] == "control_net_name"
        assert listed.json()["T2IAdapterLoader"][0]["new_node_id"] == "ControlNetLoader"
    else:
        assert with_meta.json()["error"]["type"] == "invalid_prompt" and listed.status_code == 404


def test_the_jobs_api_answers_as_the_versions_routes_do(sim):
    unknown = str(uuid.uuid4())
    status = requests.get(f"{sim.base_url}/api/jobs/{unknown}", timeout=10)
    cancel = requests.post(f"{sim.base_url}/api/jobs/{unknown}/cancel", timeout=10)
    if sim.profile.jobs_api:
        assert status.status_code == 404 and status.json() == {"error": "Job not found"}
    else:  # observed on the real 0.3.64: an empty 404
        assert status.status_code == 404 and status.content == b""
    if sim.profile.jobs_cancel:
        assert cancel.status_code == 200 and cancel.json() == {"cancelled": False}
    else:  # observed on the real 0.3.64: the static catch-all's 405
        assert cancel.status_code == 405 and cancel.text == "405: Method Not Allowed"


def test_a_finished_job_reports_its_status(sim):
    prompt_id = str(uuid.uuid4())
    fresh = {**EMPTY, "inputs": {**EMPTY["inputs"], "color": 4242}}  # not served from the cache
    assert post(sim, {"prompt": {"1": fresh, "2": PREVIEW}, "prompt_id": prompt_id}).status_code == 200
    sim.wait_idle()
    job = requests.get(f"{sim.base_url}/api/jobs/{prompt_id}", timeout=10)
    if sim.profile.jobs_api:
        assert job.json()["status"] == "completed" and job.json()["outputs_count"] == 1
    else:
        assert job.status_code == 404


@pytest.mark.parametrize("name, old_type, new_type", [
    ("page.html", "application/octet-stream", "application/octet-stream"),
    ("app.js", "application/javascript; charset=utf-8", "application/octet-stream"),
    ("drawing.svg", "image/svg+xml", "application/octet-stream"),
    ("picture.png", "image/png", "image/png"),
])
def test_view_sends_what_a_browser_would_run_as_an_attachment_from_0_28(sim, name, old_type, new_type):
    (pathlib.Path(sim.dirs.output) / name).write_bytes(b"x")
    response = requests.get(f"{sim.base_url}/view", params={"filename": name, "type": "output"}, timeout=10)
    disposition = response.headers["Content-Disposition"]
    if sim.profile.dangerous_as_attachment:
        assert response.headers["Content-Type"] == new_type
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert disposition.startswith("attachment;") is (new_type == "application/octet-stream")
    else:
        assert response.headers["Content-Type"] == old_type and disposition == f'filename="{name}"'


def test_a_cached_output_is_in_history_without_a_client_id_only_in_0_3_64_and_from_0_28(sim):
    workflow = {"1": EMPTY, "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "h"}}}
    first = post(sim, {"prompt": workflow}).json()["prompt_id"]
    sim.wait_idle()
    second = post(sim, {"prompt": workflow}).json()["prompt_id"]
    sim.wait_idle()
    assert sim.history(first)["outputs"]
    assert bool(sim.history(second)["outputs"]) is not sim.profile.cached_history_needs_client


def test_the_feature_flags_reply_is_the_versions(sim):
    sock = websocket.create_connection(f"ws://{sim.host}/ws?clientId=flags", timeout=10)
    try:
        sock.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
        frames = [json.loads(sock.recv()) for _ in range(2)]
    finally:
        sock.close()
    assert frames[1] == {"type": "feature_flags", "data": sim.profile.server_features}
    assert ("node_replacements" in frames[1]["data"]) is sim.profile.node_replacement
