"""The caller client and a STREAM_OUTPUTS worker through the RunPod stand-in and the local API: each item saved."""
import json

from PIL import Image

from comfy_runpod_client.cli import main
from e2e.test_client_standin import sample_files


def test_a_streaming_endpoint_saves_every_streamed_output(comfy_sim, runpod_standin, production_worker, tmp_path,
                                                          monkeypatch):
    worker = production_worker(runpod_standin, {"COMFY_HOST": comfy_sim.host, "STREAM_OUTPUTS": "true"})
    monkeypatch.setenv("RUNPOD_API_KEY", runpod_standin.api_key)
    monkeypatch.setenv("RUNPOD_ENDPOINT_BASE_URL", runpod_standin.api_base)
    workflow, image = sample_files(tmp_path)
    code = main(["run", str(workflow), "--image", str(image), "--endpoint", runpod_standin.endpoint_id,
                 "--poll-interval", "0.1", "--no-progress", "--out", str(tmp_path / "out")])
    assert code == 0, worker.output()
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["status"] == "COMPLETED" and summary["errors"] == []
    # in the order the worker delivered them, which is not always the workflow's
    files = sorted(summary["files"], key=lambda f: f["node_id"])
    assert [(f["key"], f["node_id"]) for f in files] == [("images", "3"), ("images", "5"), ("images", "5")]
    assert [Image.open(tmp_path / "out" / f["path"]).size for f in files] == [(64, 64), (128, 96), (128, 96)]


def test_the_local_api_of_a_streaming_worker_answers_a_list_the_client_saves(comfy_sim, start_worker, tmp_path):
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "STREAM_OUTPUTS": "true"})
    workflow, image = sample_files(tmp_path)
    code = main(["run", str(workflow), "--image", str(image), "--url", worker.url, "--no-progress",
                 "--out", str(tmp_path / "out")])
    assert code == 0
    assert len(list((tmp_path / "out" / "images").iterdir())) == 3
