"""The caller client end to end: RunPod stand-in or the SDK's local API, the worker, the ComfyUI simulator."""
import base64
import json
import os
import signal
import subprocess
import sys

import pytest
import requests
from PIL import Image

from comfy_runpod_client.transport import RunpodEndpoint
from e2e.test_production_loop import invert_chain, tiled_workflow
from processes import end_process_group
from runpod_standin.worker_process import ROOT

SAMPLE = json.loads((ROOT / "test_input.json").read_text())["input"]


@pytest.fixture
def client():
    """Starts `python -m comfy_runpod_client ARGS`; every client started is ended with the test, whatever its outcome."""
    started = []

    def start(*args: str, env: dict) -> subprocess.Popen:
        full_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}
        process = subprocess.Popen([sys.executable, "-m", "comfy_runpod_client", *args], env=full_env, cwd=ROOT,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        started.append(process)
        return process

    yield start
    for process in started:
        end_process_group(process, grace_s=5)
        if process.stdout is not None:
            process.stdout.close()


def sample_files(tmp_path):
    """test_input.json split as a user has it: the workflow file and the image file beside it."""
    (tmp_path / "workflow.json").write_text(json.dumps(SAMPLE["workflow"]))
    image = SAMPLE["images"][0]
    (tmp_path / image["name"]).write_bytes(base64.b64decode(image["image"].split(",", 1)[1]))
    return tmp_path / "workflow.json", tmp_path / image["name"]


def endpoint_args(standin) -> list:
    return ["--endpoint", standin.endpoint_id, "--api-base", standin.api_base, "--poll-interval", "0.2"]


def test_client_runs_a_workflow_on_the_endpoint_and_saves_every_output(comfy_sim, runpod_standin,
                                                                       production_worker, client, tmp_path):
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    workflow, image = sample_files(tmp_path)
    run = client("run", str(workflow), "--image", str(image), *endpoint_args(runpod_standin),
                 "--out", str(tmp_path / "out"), env={"RUNPOD_API_KEY": runpod_standin.api_key})
    printed, _ = run.communicate(timeout=180)
    assert run.returncode == 0, printed + worker.output()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "COMPLETED" and summary["errors"] == []
    assert [(f["key"], f["node_id"]) for f in summary["files"]] == [("images", "3"), ("images", "5"), ("images", "5")]
    sizes = [Image.open(tmp_path / "out" / f["path"]).size for f in summary["files"]]
    assert sizes == [(64, 64), (128, 96), (128, 96)]


def test_client_feeds_the_bar_with_the_workers_progress_updates(comfy_sim, runpod_standin, production_worker):
    production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    endpoint = RunpodEndpoint(runpod_standin.api_base, runpod_standin.endpoint_id, runpod_standin.api_key,
                              poll_interval_s=0.05)
    comfy_sim.faults.node_delay_s = {"VAEEncodeTiled": 1.0, "VAEDecodeTiled": 1.0}
    seen = []
    answer = endpoint.run({"workflow": tiled_workflow()}, seen.append)
    assert answer["status"] == "COMPLETED"
    assert seen and all({"node", "node_class", "nodes_done", "nodes_total", "step", "steps", "percent", "elapsed_s"} <= set(update) for update in seen)
    in_order = [u["percent"] for u in sorted(seen, key=lambda u: (u["elapsed_s"], u["percent"]))]
    assert in_order == sorted(in_order)


def test_ctrl_c_cancels_the_job(comfy_sim, runpod_standin, production_worker, client, tmp_path):
    comfy_sim.faults.node_delay_s = {"ImageInvert": 0.5}
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    (tmp_path / "slow.json").write_text(json.dumps(invert_chain(40)))
    run = client("run", str(tmp_path / "slow.json"), *endpoint_args(runpod_standin), "--no-progress",
                 env={"RUNPOD_API_KEY": runpod_standin.api_key})
    job = runpod_standin.wait_for(
        lambda: next((j for j in runpod_standin.book.jobs.values() if j.status == "IN_PROGRESS"), None),
        what="job in progress")
    run.send_signal(signal.SIGINT)
    printed, _ = run.communicate(timeout=60)
    assert run.returncode == 130, printed
    assert "cancel sent, status CANCELLED" in printed
    assert job.status == "CANCELLED", worker.output()


def test_client_against_the_local_api(comfy_sim, start_worker, client, tmp_path):
    worker = start_worker({"COMFY_HOST": comfy_sim.host})
    workflow, image = sample_files(tmp_path)
    run = client("run", str(workflow), "--image", str(image), "--url", worker.url, "--out", str(tmp_path / "out"),
                 env={})
    printed, _ = run.communicate(timeout=180)
    assert run.returncode == 0, printed
    assert len(list((tmp_path / "out" / "images").iterdir())) == 3


def test_client_reports_a_failed_job(comfy_sim, runpod_standin, production_worker, client, tmp_path):
    production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host})
    bad = {"1": {"class_type": "EmptyImage", "inputs": {"width": 0, "height": 8, "batch_size": 1, "color": 0}},
           "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bad"}}}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    run = client("run", str(tmp_path / "bad.json"), *endpoint_args(runpod_standin), "--out", str(tmp_path / "out"),
                 env={"RUNPOD_API_KEY": runpod_standin.api_key})
    printed, _ = run.communicate(timeout=180)
    assert run.returncode == 1
    assert "FAILED: workflow_invalid: node 1 (EmptyImage)" in printed
    assert not (tmp_path / "out").exists()
    assert requests.get(f"{runpod_standin.api_base}/{runpod_standin.endpoint_id}/health",
                        headers={"Authorization": runpod_standin.api_key}, timeout=10).json()["jobs"]["failed"] == 1
