"""start.sh's model download folder (MODEL_DOWNLOAD_DIR, registered with ComfyUI when it is not one ComfyUI reads)
and ComfyUI's output copied to COMFY_LOG_FILE, which the worker reads to say why ComfyUI stopped."""
import pathlib

import requests
import yaml

from deploy.start_harness import base_env, free_port, launch, started, stop, wait_until


def test_comfyuis_output_is_also_written_to_the_log_file(knobs, tmp_path):
    env, scripts, _ = knobs
    log_file = tmp_path / "comfyui.log"
    _, log = started(tmp_path, env, scripts,
                     also=lambda: "comfyui stand-in: started" in log_file.read_text())
    assert "comfyui stand-in: started" in log, "and still to the container's output"


def test_downloads_go_to_comfyuis_own_models_folder_without_a_volume(knobs, tmp_path):
    env, scripts, comfy_dir = knobs
    record, _ = started(tmp_path, env, scripts)
    volume = pathlib.Path("/runpod-volume")
    expected = "/runpod-volume/models" if volume.is_dir() else f"{comfy_dir}/models"
    assert record["MODEL_DOWNLOAD_DIR"] == expected
    assert "--extra-model-paths-config" not in record["argv"], "ComfyUI reads both folders already"


def test_another_download_folder_is_registered_with_comfyui(knobs, tmp_path):
    env, scripts, _ = knobs
    folder = tmp_path / "downloads"
    record, _ = started(tmp_path, env | {"MODEL_DOWNLOAD_DIR": str(folder)}, scripts)
    argv = record["argv"]
    assert record["MODEL_DOWNLOAD_DIR"] == str(folder)
    paths = yaml.safe_load(pathlib.Path(argv[argv.index("--extra-model-paths-config") + 1]).read_text())
    [entry] = paths.values()
    assert entry["base_path"] == str(folder)
    assert entry["loras"] == "loras" and entry["checkpoints"] == "checkpoints" and entry["vae"] == "vae"


def test_downloads_off_registers_nothing(knobs, tmp_path):
    env, scripts, _ = knobs
    record, _ = started(tmp_path, env | {"MODEL_DOWNLOAD_DIR": "off"}, scripts)
    assert record["MODEL_DOWNLOAD_DIR"] == "off" and "--extra-model-paths-config" not in record["argv"]


def test_a_comfyui_that_fails_to_start_is_answered_with_the_reason_its_log_gives(tmp_path):
    comfy_port, api_port = free_port(), free_port()
    failing = "echo 'ASSETS_STARTUP_FAILED: in_use'; echo 'Another ComfyUI holds the database lock.'; exit 1"
    env = base_env(tmp_path, comfy_port, api_port) | {
        "COMFYUI_CMD": f"bash {tmp_path / 'fail.sh'}",
        "COMFY_LOG_FILE": str(tmp_path / "comfyui.log"), "COMFY_EXIT_GRACE_S": "60"}
    (tmp_path / "fail.sh").write_text(failing + "\n")
    log = tmp_path / "start.log"
    process = launch(env, log)
    try:
        url = f"http://127.0.0.1:{api_port}"
        wait_until(lambda: requests.get(url + "/docs", timeout=2).ok, "the local API", log, process=process)
        answer = requests.post(url + "/runsync", json={"input": {"workflow": {
            "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 0}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "x"}}}}},
            timeout=120).json()
        assert answer["status"] == "FAILED", answer
        assert answer["error"].startswith("comfy_process_died") and "ASSETS_STARTUP_FAILED: in_use" in answer["error"]
    finally:
        stop(process)
