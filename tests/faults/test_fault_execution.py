"""Fault matrix, execution rows: node errors, outside interrupts, deadline, stall, noise on the socket,
other clients' traffic, a fully cached re-run, a failing input upload."""
import base64
import io

import requests
from PIL import Image

from comfyui_sim import junk
from faults.workflows import chain, failing, outputs, stalling
from integration.sim_job import wait_until


def test_execution_error_is_execution_failed_naming_the_node(comfy_sim, leaks):
    response = leaks.worker().run({"workflow": failing("exec_error")})
    assert response["error_code"] == "execution_failed"
    assert response["error"].startswith("execution_failed: node 2 (ImageToMask): IndexError")


def test_interrupt_by_another_client_is_interrupted(comfy_sim, leaks):
    def interrupt():
        wait_until(lambda: comfy_sim.state.running, 20)
        requests.post(f"{comfy_sim.base_url}/interrupt", json={}, timeout=10)
    response = leaks.worker().run({"workflow": stalling("interrupted")}, during=interrupt)
    assert response["error_code"] == "interrupted"
    assert response["error"].startswith("interrupted: ComfyUI interrupted the prompt at node 2 (SimStall)")


def test_deadline_is_timed_out_and_the_prompt_leaves_the_queue(comfy_sim, leaks):
    response = leaks.worker(JOB_TIMEOUT_S="1.5").run({"workflow": stalling("deadline")})
    assert response["error_code"] == "timed_out"
    assert response["error"].startswith("timed_out: the job's deadline passed while")


def test_stall_is_stalled_naming_the_node(comfy_sim, leaks):
    response = leaks.worker(policy={"stall_timeout_s": 1.0}).run({"workflow": stalling("stall")})
    assert response["error_code"] == "stalled", response
    assert "in node 2" in response["error"]
    assert response["data"]["node_id"] == "2"


def test_malformed_and_unknown_frames_are_skipped(comfy_sim, leaks):
    comfy_sim.faults.inject_frames = junk.everything()
    response = leaks.worker().run({"workflow": outputs("noise", 2)})
    assert [e["node_id"] for e in response["images"]] == ["2", "3"], response
    assert "errors" not in response
    assert all("foreign" not in e["filename"] for e in response["images"])


def test_other_clients_traffic_and_prompts_queued_ahead(comfy_sim, leaks):
    comfy_sim.faults.node_delay_s = 0.1
    comfy_sim.faults.inject_frames = junk.foreign_prompt_frames() + junk.foreign_binary() + [junk.broadcast_text()]
    foreign = comfy_sim.queue_foreign(chain("ahead", 4), count=2)
    response = leaks.worker().run({"workflow": chain("behind")})
    assert [e["node_id"] for e in response["images"]] == ["3"], response
    assert response["images"][0]["filename"].startswith("behind_")
    assert all(comfy_sim.history(p)["status"]["completed"] for p in foreign)


def test_a_fully_cached_rerun_returns_the_files_again(comfy_sim, leaks):
    worker = leaks.worker()
    first = worker.run({"workflow": chain("cached")})
    second = worker.run({"workflow": chain("cached")})
    assert [e["filename"] for e in second["images"]] == [e["filename"] for e in first["images"]]
    assert second["images"][0]["sha256"] == first["images"][0]["sha256"]


def png_base64() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def test_a_failing_input_upload_is_comfy_error(comfy_sim, leaks):
    comfy_sim.faults.upload_status = 500
    workflow = {"1": {"class_type": "LoadImage", "inputs": {"image": "in.png"}},
                "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "upload"}}}
    response = leaks.worker().run({"workflow": workflow, "images": [{"name": "in.png", "image": png_base64()}]})
    assert response["error_code"] == "comfy_error", response
    assert "HTTP 500" in response["error"] and "/upload/image" in response["error"]


