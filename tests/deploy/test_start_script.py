"""scripts/start.sh run for real, with the ComfyUI simulator in ComfyUI's place."""
import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest
import requests

from deploy.start_harness import free_port, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "test_input.json").read_text())["input"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def started(tmp_path):
    comfy_port, api_port = free_port(), free_port()
    pid_file, log = tmp_path / "comfyui.pid", tmp_path / "start.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUCKET_", "COMFY_", "RUNPOD_", "OUTPUT_SINK"))}
    env.update({
        "PYTHON": sys.executable, "PYTHONPATH": str(ROOT / "src"), "COMFY_GPU_FLAG": "--cpu",
        # the worker keeps answering (with the reason) this long after ComfyUI died
        "COMFY_EXIT_GRACE_S": "60",
        "COMFYUI_CMD": f"{sys.executable} -m comfyui_sim --host 127.0.0.1 --port {comfy_port}",
        "COMFY_PORT": str(comfy_port), "COMFY_PID_FILE": str(pid_file),
        "SERVE_API_LOCALLY": "true", "RP_API_HOST": "127.0.0.1", "RP_API_PORT": str(api_port),
        # only ComfyUI's death, seen through the PID file, can end the readiness wait early
        "COMFY_API_AVAILABLE_MAX_RETRIES": "1000000",
    })
    with open(log, "w") as out:
        process = subprocess.Popen(["bash", str(ROOT / "scripts/start.sh")], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{api_port}"
    try:
        wait_until(lambda: requests.get(url + "/docs", timeout=2).ok, "local API", log, process=process)
        yield {"url": url, "pid_file": pid_file, "process": process, "log": log}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)


def runsync(url: str, job_input: dict) -> dict:
    response = requests.post(url + "/runsync", json={"input": job_input}, timeout=180)
    response.raise_for_status()
    return response.json()


def test_start_script_writes_the_pid_file_and_the_worker_answers(started):
    pid = int(started["pid_file"].read_text())
    cmdline = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"comfyui_sim" in cmdline
    answer = runsync(started["url"], SAMPLE)
    assert answer["status"] == "COMPLETED", started["log"].read_text()
    assert len(answer["output"]["images"]) == 3


def test_killing_comfyui_makes_the_next_job_fail_fast(started):
    assert runsync(started["url"], SAMPLE)["status"] == "COMPLETED"
    pid = int(started["pid_file"].read_text())
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not alive(pid) or pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z",
               "dead ComfyUI", started["log"], process=started["process"])
    answer = runsync(started["url"], SAMPLE)
    assert answer["status"] == "FAILED"
    # comfy_process_died is the code another change introduces; comfy_unreachable is today's
    assert answer["error"].split(":", 1)[0] in ("comfy_process_died", "comfy_unreachable"), answer
