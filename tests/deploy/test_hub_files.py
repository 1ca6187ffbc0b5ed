"""`.runpod/hub.json` and `.runpod/tests.json` agree with the configuration the code reads."""
import json
import os
import re
import subprocess
import sys
import warnings

import requests

from deploy.settings_reader import ROOT, defaults, read_variables
from deploy.start_harness import base_env, free_port, launch, sim_command, stop, wait_until
from entrypoints.environment import read_settings

HUB = json.loads((ROOT / ".runpod/hub.json").read_text())
TESTS = json.loads((ROOT / ".runpod/tests.json").read_text())
# announced by changes in progress; listed here until settings.py reads them and hub.json documents them
ANNOUNCED = {"RUNPOD_LOG_LEVEL", "OUTPUT_CONCURRENCY", "MAX_RESPONSE_BYTES", "STREAM_OUTPUTS",
             "COMFY_STALL_TIMEOUT_S", "INPUT_MAX_BYTES", "INPUT_URL_ALLOW_PRIVATE", "WARMUP_WORKFLOW"}
MODEL_LOADERS = ("Checkpoint", "Loader", "LoRA", "Lora", "UNET", "CLIP", "ControlNet")


def hub_env() -> dict:
    return {item["key"]: item["input"] for item in HUB["config"]["env"]}


def read_by_start_script() -> set:
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "scripts/start.sh").read_text()))


# hub defaults the start script supplies when they are left empty
SUPPLIED_BY_START_SCRIPT = {"COMFY_HOST": "", "COMFY_PID_FILE": "", "COMFY_LOG_FILE": ""}


def test_hub_lists_every_variable_the_code_reads_and_no_other():
    read, listed = read_variables(), set(hub_env())
    assert read, "no variable found in settings.py: the reader needs updating"
    missing = read - listed
    if missing & ANNOUNCED:
        warnings.warn(f"hub.json does not yet document {sorted(missing & ANNOUNCED)}", stacklevel=2)
    assert missing - ANNOUNCED == set(), f"read by the code but missing from hub.json: {sorted(missing - ANNOUNCED)}"
    unread = listed - read - read_by_start_script()
    assert unread == set(), f"in hub.json but read by no code: {sorted(unread)}"


def test_hub_defaults_and_types_match_the_code():
    for name, default in defaults().items():
        entry = hub_env().get(name)
        if entry is None:
            continue
        expected = ("true" if default else "false") if isinstance(default, bool) else default
        shown = entry["default"]
        if SUPPLIED_BY_START_SCRIPT.get(name) == shown:
            continue
        if isinstance(shown, bool):
            shown = "true" if shown else "false"
        assert str(shown).strip() == str(expected).strip(), f"{name}: hub {shown!r}, code {expected!r}"
    for name, entry in hub_env().items():
        assert entry["type"] in ("string", "number", "boolean"), name
        assert entry["description"] and entry["name"], name


def hub_default_env() -> dict:
    """What the Hub sets: every variable, with its default, empty ones included (booleans as their values)."""
    env = {}
    for name, entry in hub_env().items():
        default = entry["default"]
        if isinstance(default, bool):
            default = entry.get("trueValue", "true") if default else entry.get("falseValue", "false")
        env[name] = "" if default is None else str(default)
    return env


def test_hub_defaults_are_a_configuration_the_code_accepts():
    settings = read_settings(hub_default_env())
    assert settings.output.sink == "base64" and settings.comfy.host == "127.0.0.1:8188"
    assert settings.job.timeout_s is None
    assert settings == read_settings({}), "an empty hub default must read as the variable's default"


def test_every_numeric_hub_field_has_a_number_default():
    """An empty number field is sent as it is: only strings may default to empty."""
    for name, entry in hub_env().items():
        if entry["type"] == "number":
            assert isinstance(entry["default"], (int, float)) and not isinstance(entry["default"], bool), name


def test_hub_defaults_give_a_working_worker(tmp_path):
    """Every hub.json default, empty or not, set as the Hub sets it: the image's start script serves jobs."""
    comfy_port, api_port = free_port(), free_port()
    env = base_env(tmp_path, comfy_port, api_port) | hub_default_env()
    # the Hub's empty COMFY_PID_FILE makes start.sh use /tmp/comfyui.pid: a stale one would outlive the test
    env.update({"COMFYUI_CMD": sim_command(comfy_port), "SERVE_API_LOCALLY": "true",
                "COMFY_PID_FILE": str(tmp_path / "comfyui.pid")})
    log = tmp_path / "start.log"
    process = launch(env, log)
    url = f"http://127.0.0.1:{api_port}"
    try:
        wait_until(lambda: requests.get(url + "/docs", timeout=2).ok, "the local API", log, process=process)
        job = json.loads((ROOT / "test_input.json").read_text())
        answer = requests.post(url + "/runsync", json=job, timeout=120).json()
        assert answer["status"] == "COMPLETED", (answer, log.read_text())
    finally:
        stop(process)


def test_the_hub_entry_file_runs_the_worker(comfy_sim):
    """handler.py at the root (the Hub requires it) runs the real entrypoint: one job with --test_input."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BUCKET_", "COMFY_", "RUNPOD_", "OUTPUT_SINK"))}
    env["COMFY_HOST"] = comfy_sim.base_url.split("://", 1)[1]
    env.pop("PYTHONPATH", None)
    job = (ROOT / "test_input.json").read_text()
    result = subprocess.run([sys.executable, str(ROOT / "handler.py"), "--test_input", job], cwd=ROOT / "docs",
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "sample_orange" in result.stdout + result.stderr and '"error"' not in result.stdout


def test_hub_has_an_icon_and_the_hub_files_at_the_root():
    icon = HUB["iconUrl"]
    assert icon and (icon.startswith("https://") or (ROOT / icon).is_file()), icon
    for required in ("handler.py", "Dockerfile", "README.md"):
        assert (ROOT / required).is_file() or (ROOT / ".runpod" / required).is_file(), required


def test_hub_has_a_gpu_configuration():
    config = HUB["config"]
    assert HUB["title"] and HUB["description"] and HUB["type"] == "serverless"
    assert config["runsOn"] == "GPU" and config["gpuCount"] >= 1 and config["gpuIds"]
    assert config["allowedCudaVersions"] and config["containerDiskInGb"] > 0


def test_hub_tests_and_test_input_are_model_free_and_valid():
    from entrypoints.request import new_job
    inputs = [test["input"] for test in TESTS["tests"]]
    inputs.append(json.loads((ROOT / "test_input.json").read_text())["input"])
    # a cold pull of the image and ComfyUI's start come before the job (worker-comfyui 5.x gives 300000 ms)
    assert TESTS["tests"] and all(test["timeout"] >= 300_000 for test in TESTS["tests"])
    for index, job_input in enumerate(inputs):
        new_job(f"hub-{index}", job_input, default_api_key=None)
        classes = [node["class_type"] for node in job_input["workflow"].values()]
        assert not any(marker in name for name in classes for marker in MODEL_LOADERS), classes
    for item in TESTS["config"]["env"]:
        assert item["key"] in read_variables()
