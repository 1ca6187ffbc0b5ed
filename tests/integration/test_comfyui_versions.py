"""The worker's answers on every ComfyUI version it supports (docs/compatibility.md), through the RunPod handler
against the simulator as each version (the `comfy_version` fixture), or the real ComfyUI of a contract run."""
import asyncio
import pathlib
import uuid
from typing import Any

import pytest
import requests

from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from faults.workflows import stalling


def answer(comfy, job_input: dict, **env) -> dict:
    """The job's answer, temp files included: the tests' outputs are previews, which leave no file in a real
    ComfyUI's output folder."""
    settings = {"COMFY_HOST": comfy.host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20", "JOB_TIMEOUT_S": "60", **env}
    handler: Any = make_handler(build_container(settings))
    return asyncio.run(handler({"id": f"v-{uuid.uuid4().hex[:6]}", "input": {"include_temp": True, **job_input}}))


def image(node_id: str, color: int) -> dict:
    """An image made (node `node_id`) and previewed (node `node_id` + "s"): two nodes that run on any version."""
    return {node_id: {"class_type": "EmptyImage",
                      "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": color}},
            f"{node_id}s": {"class_type": "PreviewImage", "inputs": {"images": [node_id, 0]}}}


# one output whose loader names a model ComfyUI lacks: ComfyUI answers 200, drops output 4 and runs output 2s
GOOD_AND_DROPPED = {**image("2", 11),
                    "3": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "no-such-model.safetensors"}},
                    "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 0]}}}


def test_an_output_comfyui_dropped_is_an_error_line_beside_what_ran(comfy_version):
    response = answer(comfy_version, {"workflow": GOOD_AND_DROPPED})

    assert [entry["node_id"] for entry in response["images"]] == ["2s"]
    assert "error" not in response and "error_code" not in response
    [line] = response["errors"]
    assert line.startswith("model_missing: output node 4 (PreviewAny) was not run: node 3 (CheckpointLoaderSimple) "
                           "input 'ckpt_name': 'no-such-model.safetensors' is not in ComfyUI's models/checkpoints")


def test_with_partial_results_off_a_dropped_output_fails_the_job_and_drops_its_prompt(comfy_version):
    response = answer(comfy_version, {"workflow": GOOD_AND_DROPPED}, PARTIAL_RESULTS="false")

    assert response["error_code"] == "model_missing" and "images" not in response
    assert response["error"].startswith("model_missing: ComfyUI would not run output node(s) 4: node 3 "
                                        "(CheckpointLoaderSimple) input 'ckpt_name'")
    assert response["data"]["dropped_outputs"] == ["4"]
    comfy_version.wait_idle()


def test_every_output_refused_is_the_refusal_as_before(comfy_version):
    dropped_only = {key: node for key, node in GOOD_AND_DROPPED.items() if key in ("3", "4")}

    response = answer(comfy_version, {"workflow": dropped_only})

    assert response["error_code"] == "model_missing"
    assert response["error"].startswith("model_missing: node 3 (CheckpointLoaderSimple) input 'ckpt_name'")


def test_an_unknown_class_is_node_missing_naming_node_and_class(comfy_version):
    workflow = {**image("1", 12),
                "5": {"class_type": "NoSuchNode", "inputs": {}, "_meta": {"title": "My Foo"}}}

    response = answer(comfy_version, {"workflow": workflow})

    assert response["error_code"] == "node_missing"
    assert response["error"].startswith("node_missing: node 5: class_type 'NoSuchNode' is not installed")
    # ComfyUI 0.12.0+ names it `missing_node_type`, before `invalid_prompt`
    kind = "missing_node_type" if comfy_version.profile.missing_node_type else "invalid_prompt"
    assert response["data"]["comfy_error"]["type"] == kind


def test_a_class_comfyui_replaces_keeps_the_node_in_the_error(comfy_version):
    # T2IAdapterLoader, retired: ComfyUI 0.14.0+ rewrites it as ControlNetLoader before validating, and a node
    # without `_meta` would make it answer 500 (the worker sends an empty one)
    workflow = {**image("1", 13),
                "6": {"class_type": "T2IAdapterLoader", "inputs": {"t2i_adapter_name": "no-such-adapter.pth"}},
                "7": {"class_type": "PreviewAny", "inputs": {"source": ["6", 0]}}}

    response = answer(comfy_version, {"workflow": workflow})

    if comfy_version.profile.node_replacement:
        assert [entry["node_id"] for entry in response["images"]] == ["1s"]
        [line] = response["errors"]
        assert line.startswith("model_missing: output node 7 (PreviewAny) was not run: node 6 (ControlNetLoader) "
                               "input 'control_net_name': 'no-such-adapter.pth' is not in ComfyUI's models/controlnet")
    else:
        assert response["error"].startswith("node_missing: node 6: class_type 'T2IAdapterLoader' is not installed")


def test_the_dry_run_checks_a_retired_class_as_comfyui_would_run_it(comfy_version):
    workflow = {"6": {"class_type": "T2IAdapterLoader", "inputs": {"t2i_adapter_name": "no-such-adapter.pth"}},
                "7": {"class_type": "PreviewAny", "inputs": {"source": ["6", 0]}}}

    checked, ran = (answer(comfy_version, {"workflow": workflow, "validate_only": dry}) for dry in (True, False))

    assert checked["error"] == ran["error"]
    expected = "model_missing: node 6 (ControlNetLoader)" if comfy_version.profile.node_replacement else (
        "node_missing: node 6: class_type 'T2IAdapterLoader'")
    assert checked["error"].startswith(expected)


def test_a_dependency_cycle_is_refused_naming_its_nodes(comfy_version):
    cycle = {"1": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}},
             "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
             "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}}

    response = answer(comfy_version, {"workflow": cycle})

    # 0.20.0+ names the cycle's nodes (dependency_cycle); before, ComfyUI names none and the worker finds them
    assert response["error_code"] == "workflow_invalid"
    assert response["error"].startswith("workflow_invalid: node ")
    assert "(ImageInvert): Dependency cycle detected: " in response["error"]
    assert {(e["node_id"], e["type"]) for e in response["data"]["validation_errors"]} == {
        ("1", "dependency_cycle"), ("2", "dependency_cycle")}


def test_subgraph_node_ids_run_report_progress_and_name_the_failing_node(comfy_version, mocker):
    progress = mocker.patch("adapters.runpod_progress.send_progress")
    workflow = {"10:1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 3}},
                "10:2": {"class_type": "ImageInvert", "inputs": {"image": ["10:1", 0]}},
                "10:3": {"class_type": "PreviewImage", "inputs": {"images": ["10:2", 0]}},
                "10:4": {"class_type": "ImageToMask", "inputs": {"image": ["10:2", 0], "channel": "alpha"}},
                "10:5": {"class_type": "MaskPreview", "inputs": {"mask": ["10:4", 0]}}}

    # progress updates are sent when RunPod gives the worker a webhook, as it does in production
    response = answer(comfy_version, {"workflow": workflow}, RUNPOD_WEBHOOK_POST_OUTPUT="http://127.0.0.1:9/")

    assert [entry["node_id"] for entry in response["images"]] == ["10:3"]
    assert response["error_code"] == "execution_failed"
    assert response["errors"][-1].startswith("execution_failed: node 10:4 (ImageToMask)")
    nodes = {call.args[1]["node"] for call in progress.call_args_list}
    assert {"10:1", "10:2"} <= nodes


def test_the_job_posts_a_prompt_id_every_version_takes(comfy_version):
    response = answer(comfy_version, {"workflow": image("1", 14)})

    assert [entry["node_id"] for entry in response["images"]] == ["1s"]
    reported = requests.get(f"{comfy_version.base_url}/system_stats", timeout=10).json()["system"]["comfyui_version"]
    assert response["comfyui"]["version"] == reported
    [entry] = requests.get(f"{comfy_version.base_url}/history", params={"max_items": 1}, timeout=10).json().values()
    prompt_id = entry["prompt"][1]
    assert str(uuid.UUID(prompt_id)) == prompt_id  # canonical lowercase, as 0.25.0+ requires


def test_an_image_sent_over_the_socket_comes_back_from_its_node(comfy_version):
    workflow = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 1}},
                "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}}}

    response = answer(comfy_version, {"workflow": workflow})

    [entry] = response["images"]
    assert entry["node_id"] == "2" and entry["content_type"] == "image/png"
    assert entry["filename"] == "websocket_2_00001_.png"


@pytest.mark.parametrize("name, content_type", [("page.html", "text/html"), ("drawing.svg", "image/svg+xml"),
                                                ("app.js", "text/javascript"), ("notes.txt", "text/plain")])
def test_a_saved_file_keeps_its_type_whatever_view_sends(comfy_version, name, content_type):
    (pathlib.Path(comfy_version.dirs.output) / name).write_text("<svg/>")
    workflow = {"1": {"class_type": "SimReportFile", "inputs": {"filename": name, "subfolder": "",
                                                                "folder_type": "output"}}}

    response = answer(comfy_version, {"workflow": workflow})

    [entry] = response["images"]
    if name.endswith(".js") and not comfy_version.profile.dangerous_as_attachment:
        content_type = "application/javascript"  # before 0.28.0 ComfyUI sends its own type for .js, inline
    assert entry["content_type"] == content_type


def test_a_deadline_stops_the_jobs_prompt_by_the_versions_means(comfy_version):
    assert comfy_version.received_cancels == []  # the simulator's record (a contract run skips: SimStall is its own)
    response = answer(comfy_version, {"workflow": stalling("versions_deadline")}, JOB_TIMEOUT_S="2")

    assert response["error_code"] == "timed_out"
    comfy_version.wait_idle(10)
    assert not comfy_version.state.running, "the stalled prompt was not interrupted"
    if comfy_version.profile.jobs_cancel:  # 0.26.0+: one atomic call
        assert comfy_version.received_cancels and comfy_version.received_interrupts == []
    else:  # /queue delete, then /interrupt once /queue shows it running
        assert comfy_version.received_cancels == [] and comfy_version.received_interrupts
