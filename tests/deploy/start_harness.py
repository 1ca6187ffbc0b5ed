"""Runs scripts/start.sh for real, with the ComfyUI simulator in ComfyUI's place, and finds what it left running."""
import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
START = ROOT / "scripts/start.sh"
# a workflow whose middle node never finishes (until interrupted or the server stops)
STALLING = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
    "2": {"class_type": "SimStall", "inputs": {"image": ["1", 0]}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "stalled"}},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sim_command(port: int) -> str:
    return f"{sys.executable} -m comfyui_sim --host 127.0.0.1 --port {port}"


def base_env(tmp_path: pathlib.Path, comfy_port: int, api_port: int) -> dict:
    """start.sh's environment on this machine: no stray COMFY_/BUCKET_/RUNPOD_ values, the CPU (no preflight)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUCKET_", "COMFY_", "RUNPOD_", "OUTPUT_SINK"))}
    env.update({
        "PYTHON": sys.executable, "PYTHONPATH": str(ROOT / "src"), "COMFY_GPU_FLAG": "--cpu",
        "COMFY_PORT": str(comfy_port), "COMFY_PID_FILE": str(tmp_path / "comfyui.pid"),
        "SERVE_API_LOCALLY": "true", "RP_API_HOST": "127.0.0.1", "RP_API_PORT": str(api_port),
        "COMFY_API_AVAILABLE_MAX_RETRIES": "1000000",
    })
    return env


def launch(env: dict, log: pathlib.Path) -> subprocess.Popen:
    """start.sh as the leader of a new session, so everything it starts can be found and cleaned up."""
    with open(log, "w") as out:
        return subprocess.Popen(["bash", str(START)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def session_pids(sid: int) -> list:
    """Live (non-zombie) processes of the session `sid`, start.sh's own included."""
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def wait_until(condition, what: str, log: pathlib.Path, timeout_s: float = 60.0, process=None) -> None:
    give_up = time.monotonic() + timeout_s
    while time.monotonic() < give_up:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"start.sh exited with {process.returncode} before {what}:\n{log.read_text()}")
        try:
            if condition():
                return
        except (requests.RequestException, OSError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"no {what} within {timeout_s} s:\n{log.read_text()}")


def running_prompts(comfy_port: int) -> list:
    return requests.get(f"http://127.0.0.1:{comfy_port}/queue", timeout=2).json()["queue_running"]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to start.sh (what `docker stop` sends), then whatever is left of its session killed."""
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    finally:
        kill_session(process)


def kill_session(process: subprocess.Popen) -> None:
    """The test's own cleanup: whatever the script left, gone."""
    for pid in session_pids(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass


def started(tmp_path: pathlib.Path, env: dict, scripts: pathlib.Path, also=None) -> tuple:
    """(ComfyUI's record, start.sh's log) once ComfyUI's stand-in started (and `also()` holds); start.sh is stopped
    after."""
    log = tmp_path / "start.log"
    record = tmp_path / "record.json"
    with open(log, "w") as out:
        process = subprocess.Popen(["bash", str(scripts / "start.sh")], env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        wait_until(lambda: record.exists() and record.read_text().endswith("}"), "ComfyUI's start", log,
                   process=process)
        if also is not None:
            wait_until(also, "the condition", log, process=process)
        return json.loads(record.read_text()), log.read_text()
    finally:
        stop(process)
