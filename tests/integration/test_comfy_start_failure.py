"""A ComfyUI that fails to start is reported with the reason its log gives (ASSETS_STARTUP_FAILED and the like),
at once and asking for a fresh worker, as the start script's COMFY_LOG_FILE and COMFY_PID_FILE tell it."""
import asyncio
import subprocess
import sys
from typing import Any

from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from loopback import free_port
from unit.adapters.test_comfy_log import ASSETS_IN_USE

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
            "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}
# what a ComfyUI whose asset database another one holds does (index main.py stop_startup): log at ERROR, exit 1
FAILURE = ASSETS_IN_USE[ASSETS_IN_USE.index("ASSETS_STARTUP_FAILED") :].rstrip()
STOP_STARTUP = f"import logging, sys; logging.error({FAILURE!r}); sys.exit(1)"


def run_comfyui(tmp_path, script: str):
    """The stand-in ComfyUI, its output in the log file and its PID in the PID file, as the start script keeps them."""
    log, pid_file = tmp_path / "comfyui.log", tmp_path / "comfyui.pid"
    with open(log, "w") as output:
        child = subprocess.Popen([sys.executable, "-c", script], stdout=output, stderr=subprocess.STDOUT)
        pid_file.write_text(str(child.pid))
        assert child.wait(30) == 1
    return log, pid_file


def answer(log, pid_file) -> dict:
    container = build_container({"COMFY_HOST": f"127.0.0.1:{free_port()}", "COMFY_API_AVAILABLE_INTERVAL_MS": "20",
                                 "COMFY_API_AVAILABLE_MAX_RETRIES": "0", "COMFY_PID_FILE": str(pid_file),
                                 "COMFY_LOG_FILE": str(log), "JOB_TIMEOUT_S": "30"})
    handler: Any = make_handler(container)
    return asyncio.run(handler({"id": "start", "input": {"workflow": WORKFLOW}}))


def test_a_start_stopped_by_a_held_asset_database_names_the_kind_and_its_log(tmp_path):
    log, pid_file = run_comfyui(tmp_path, STOP_STARTUP)

    response = answer(log, pid_file)

    assert response["error_code"] == "comfy_process_died" and response["refresh_worker"] is True
    assert "it stopped with: ASSETS_STARTUP_FAILED: in_use Another ComfyUI is already using this database" in (
        response["error"])
    assert response["details"][-1] == "Or start ComfyUI without the assets system: --disable-assets"


def test_a_start_that_died_otherwise_gives_its_last_line(tmp_path):
    log, pid_file = run_comfyui(tmp_path, "import sys; print('loading'); sys.exit('ModuleNotFoundError: No module named x')")

    response = answer(log, pid_file)

    assert response["error_code"] == "comfy_process_died"
    assert response["error"].endswith("its log ends: ModuleNotFoundError: No module named x")
    assert response["details"] == ["loading", "ModuleNotFoundError: No module named x"]
