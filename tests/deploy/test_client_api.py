"""The caller client against RunPod's real answers, served on loopback: errors, retries, streams, resume, Ctrl-C."""
import base64
import json
import logging
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from comfy_runpod_client.cli import main
from deploy.canned_runpod import Canned, CannedRunpod

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {}}}


def png(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def entry(name: str, node: str = "9") -> dict:
    return {"filename": name, "type": "base64", "data": png(name), "node_id": node}


@pytest.fixture
def api(monkeypatch):
    monkeypatch.setenv("RUNPOD_API_KEY", "key")
    with CannedRunpod() as canned:
        yield canned


@pytest.fixture
def workflow(tmp_path):
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(WORKFLOW))
    return path


def run_client(api, *args, progress=False):
    flags = ["--api-base", api.api_base, "--endpoint", api.endpoint_id, "--poll-interval", "0.05"]
    return main(["run", *args, *flags, *([] if progress else ["--no-progress"])])


def error_lines(caplog):
    return [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]


def completed(job_id="job-1", output=None):
    return Canned(body={"id": job_id, "status": "COMPLETED", "delayTime": 10, "executionTime": 20,
                        "output": output if output is not None else {"images": [entry("a.png")]}})


def test_a_refused_api_key_is_one_line_and_nothing_is_queued(api, workflow, tmp_path, caplog):
    api.answer("POST run", Canned(401, text="Unauthorized"))
    assert run_client(api, str(workflow), "--out", str(tmp_path / "out")) == 3
    assert error_lines(caplog) == ["error: no job queued: POST /v2/ep/run: HTTP 401: RunPod refused the API key; "
                                   "check RUNPOD_API_KEY"]
    assert api.count("POST run") == 1  # a 401 is not retried


def test_an_unknown_job_names_it_and_how_to_resume(api, tmp_path, caplog):
    assert run_client(api, "--resume", "gone-job", "--out", str(tmp_path / "out")) == 3
    [line] = error_lines(caplog)
    assert line.startswith("error: job gone-job: GET /v2/ep/status/gone-job: HTTP 404: RunPod knows no such")
    assert line.endswith("follow it again with --resume gone-job")


def test_a_rate_limit_is_waited_out_as_retry_after_says(api, workflow, tmp_path):
    api.answer("POST run", Canned(429, text="slow down", headers={"Retry-After": "1"}),
               Canned(body={"id": "job-1", "status": "IN_QUEUE"}))
    api.answer("GET status/job-1", Canned(429, text="slow down", headers={"Retry-After": "1"}), completed())
    started = time.monotonic()
    assert run_client(api, str(workflow), "--out", str(tmp_path / "out")) == 0
    assert time.monotonic() - started >= 2  # each Retry-After was honoured, not hammered through
    assert api.count("POST run") == 2 and api.count("GET status/job-1") == 2
    assert (tmp_path / "out/images/a.png").read_text() == "a.png"


def test_server_errors_are_retried_then_reported_with_the_job(api, workflow, tmp_path, caplog):
    api.answer("POST run", Canned(body={"id": "job-1", "status": "IN_QUEUE"}))
    api.answer("GET status/job-1", Canned(500, text="oops"), Canned(502, text="bad gateway"), completed())
    assert run_client(api, str(workflow), "--out", str(tmp_path / "out"), "--retries", "2") == 0
    assert api.count("GET status/job-1") == 3
    api.answer("GET status/job-2", Canned(503, text="down"))
    caplog.clear()
    assert run_client(api, "--resume", "job-2", "--out", str(tmp_path / "out2"), "--retries", "2") == 3
    assert error_lines(caplog) == ["error: job job-2: GET /v2/ep/status/job-2: HTTP 503: RunPod's API is failing, "
                                   "after 2 retries; follow it again with --resume job-2"]
    assert api.count("GET status/job-2") == 3


def test_a_run_that_failed_on_the_server_is_not_sent_twice(api, workflow, tmp_path, caplog):
    api.answer("POST run", Canned(500, text="oops"))
    assert run_client(api, str(workflow), "--out", str(tmp_path / "out"), "--retries", "2") == 3
    assert api.count("POST run") == 1  # a 500 to /run may have queued the job: no second one
    assert error_lines(caplog) == ["error: no job queued: POST /v2/ep/run: HTTP 500: RunPod's API is failing"]


def test_a_silent_api_times_out_with_the_job_named(api, tmp_path, caplog):
    api.answer("GET status/job-1", Canned(body={"id": "job-1", "status": "IN_PROGRESS"}, delay_s=3))
    assert run_client(api, "--resume", "job-1", "--out", str(tmp_path / "out"), "--http-timeout", "0.5",
                      "--retries", "1") == 3
    [line] = error_lines(caplog)
    assert line.startswith("error: job job-1: GET /v2/ep/status/job-1: no answer within 0.5 s")
    assert line.endswith("--resume job-1")
    assert api.count("GET status/job-1") == 2


def test_resume_follows_a_job_without_queueing_another(api, tmp_path):
    api.answer("GET status/old-job", Canned(body={"id": "old-job", "status": "IN_PROGRESS", "delayTime": 5}),
               completed("old-job"))
    assert run_client(api, "--resume", "old-job", "--out", str(tmp_path / "out")) == 0
    assert api.count("POST run") == 0
    assert json.loads((tmp_path / "out/summary.json").read_text())["id"] == "old-job"


def test_a_streaming_job_saves_each_item_as_it_comes(api, workflow, tmp_path, capsys):
    out = tmp_path / "out"
    items = [{"images": [entry("first.png")]}, {"images": [entry("second.png", "12")]},
             {"timings_ms": {"total": 5}, "errors": ["output_fetch_failed: b.png (node 4): gone"]}]
    on_disk_when_asked = []

    def stream(count):
        on_disk_when_asked.append(sorted(path.name for path in out.rglob("*.png")) if out.exists() else [])
        chunk = items[count - 1: count] if count <= 2 else []
        return Canned(body={"id": "job-1", "status": "IN_PROGRESS", "stream": [{"output": i} for i in chunk]})

    def status(count):
        if count <= 3:
            return Canned(body={"id": "job-1", "status": "IN_QUEUE", "delayTime": count * 4000})
        if count <= 7:
            return Canned(body={"id": "job-1", "status": "IN_PROGRESS", "delayTime": 12000})
        # RunPod's aggregate: the final output is the list of every streamed item
        return Canned(body={"id": "job-1", "status": "COMPLETED", "delayTime": 12000, "output": items})

    api.answer("POST run", Canned(body={"id": "job-1", "status": "IN_QUEUE"}))
    api.answer("GET status/job-1", status)
    api.answer("GET stream/job-1", stream)
    assert run_client(api, str(workflow), "--out", str(out), progress=True) == 0
    assert on_disk_when_asked[1] == ["first.png"] and on_disk_when_asked[2] == ["first.png", "second.png"]
    summary = json.loads((out / "summary.json").read_text())
    assert [(f["path"], f["node_id"]) for f in summary["files"]] == [("images/first.png", "9"),
                                                                    ("images/second.png", "12")]
    assert summary["errors"] == ["output_fetch_failed: b.png (node 4): gone"]
    assert (out / "images/second.png").read_text() == "second.png"
    shown = capsys.readouterr().err
    assert "in queue 8 s" in shown and "started after 12 s in queue" in shown


def test_the_aggregate_alone_is_saved_when_no_item_was_read_from_the_stream(api, workflow, tmp_path):
    items = [{"images": [entry("only.png")]}, {"timings_ms": {"total": 5}}]
    api.answer("POST run", Canned(body={"id": "job-1", "status": "IN_QUEUE"}))
    api.answer("GET status/job-1", completed(output=items))
    assert run_client(api, str(workflow), "--out", str(tmp_path / "out")) == 0
    assert (tmp_path / "out/images/only.png").read_text() == "only.png"
    assert api.count("GET stream/job-1") == 0


def test_the_base_url_comes_from_the_sdks_variable(api, workflow, tmp_path, monkeypatch):
    monkeypatch.setenv("RUNPOD_ENDPOINT_BASE_URL", api.api_base)
    api.answer("POST run", Canned(body={"id": "job-1", "status": "IN_QUEUE"}))
    api.answer("GET status/job-1", completed())
    code = main(["run", str(workflow), "--endpoint", api.endpoint_id, "--poll-interval", "0.05", "--no-progress",
                 "--out", str(tmp_path / "out")])
    assert code == 0 and api.count("POST run") == 1


def interrupted_client(api, workflow, reply: str):
    """The client as a user runs it, interrupted while its job runs, answering `reply` to its question."""
    api.answer("POST run", Canned(body={"id": "job-1", "status": "IN_QUEUE"}))
    api.answer("GET status/job-1", Canned(body={"id": "job-1", "status": "IN_PROGRESS"}))
    api.answer("POST cancel/job-1", Canned(body={"id": "job-1", "status": "CANCELLED"}))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RUNPOD_API_KEY": "key"}
    process = subprocess.Popen(
        [sys.executable, "-m", "comfy_runpod_client", "run", str(workflow), "--endpoint", api.endpoint_id,
         "--api-base", api.api_base, "--poll-interval", "0.05", "--no-progress"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        give_up = time.monotonic() + 60
        while api.count("GET status/job-1") < 2 and time.monotonic() < give_up:
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        printed, _ = process.communicate(reply, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, printed


def test_ctrl_c_asks_and_cancels_on_yes(api, workflow):
    code, printed = interrupted_client(api, workflow, "y\n")
    assert code == 130, printed
    assert "cancel job job-1 on the endpoint? [Y/n]" in printed
    assert "job job-1: cancel sent, status CANCELLED" in printed
    assert api.count("POST cancel/job-1") == 1


def test_ctrl_c_answered_no_leaves_the_job_running(api, workflow):
    code, printed = interrupted_client(api, workflow, "n\n")
    assert code == 130, printed
    assert "job job-1 keeps running; follow it again with --resume job-1" in printed
    assert api.count("POST cancel/job-1") == 0


def test_a_failed_streaming_job_the_local_api_answers_completed_is_reported_failed(api, workflow, tmp_path, caplog):
    """The SDK's local /runsync lists a generator's items as COMPLETED, a failed job's error answer last."""
    error = "execution_failed: node 4 (ImageToMask): IndexError: index 3 is out of bounds"
    items = [{"images": [entry("first.png", "3")]},
             {"error": error, "error_code": "execution_failed", "details": [], "data": {}}]
    api.answer("POST runsync", Canned(body={"id": "test-1", "status": "COMPLETED", "output": items}))
    out = tmp_path / "out"
    code = main(["run", str(workflow), "--url", f"{api.api_base}/{api.endpoint_id}", "--out", str(out),
                 "--no-progress"])
    assert code == 1
    assert error_lines(caplog) == [f"job test-1 FAILED: {error}"]
    assert (out / "images/first.png").read_text() == "first.png"  # what was delivered before the failure
    assert json.loads((out / "summary.json").read_text())["status"] == "FAILED"


def test_models_given_as_url_and_folder_go_into_the_request(api, workflow, tmp_path):
    api.answer("POST run", Canned(body={"id": "job-1", "status": "IN_QUEUE"}))
    api.answer("GET status/job-1", completed())
    assert run_client(api, str(workflow), "--model", "https://h:8443/repo/x.safetensors?download=1:loras",
                      "--model", "https://h/v.pt:vae", "--out", str(tmp_path / "out")) == 0
    [body] = [body for call, body in zip(api.calls, api.bodies, strict=True) if call.startswith("POST")]
    assert body["input"]["models"] == [{"url": "https://h:8443/repo/x.safetensors?download=1", "folder": "loras"},
                                       {"url": "https://h/v.pt", "folder": "vae"}]


@pytest.mark.parametrize("bad", ["https://h/x.safetensors", "x.safetensors:loras", "https://h/x.pt:", "https://h:a/b"])
def test_a_model_that_is_not_url_and_folder_is_a_usage_error(api, workflow, bad, capsys):
    with pytest.raises(SystemExit) as caught:
        run_client(api, str(workflow), "--model", bad)
    assert caught.value.code == 2 and "is not URL:FOLDER" in capsys.readouterr().err
    assert api.count("POST run") == 0


def test_the_bar_shows_a_models_download():
    from comfy_runpod_client.progress import downloading

    assert downloading({"stage": "download", "model": "loras/x.safetensors", "models_done": 0, "models_total": 2,
                        "bytes_done": 120_000_000, "bytes_total": 465_000_000}) == \
        "downloading loras/x.safetensors (1/2) 120/465 MB"
    assert downloading({"stage": "download", "model": "vae/a.pt", "models_done": 1, "models_total": 2,
                        "bytes_done": 5_000_000, "bytes_total": None}) == "downloading vae/a.pt (2/2) 5 MB"
