"""start.sh's choices for ComfyUI: the command it builds, the address the worker dials, the GPU preflight."""
import json
import pathlib
import subprocess
import textwrap

import pytest
import requests

from deploy.start_harness import ROOT, START, base_env, free_port, launch, stop, wait_until

SAMPLE = json.loads((ROOT / "test_input.json").read_text())["input"]
# stands in for ComfyUI's main.py: records its arguments, then serves the simulator where it was told to listen
FAKE_MAIN = """
import json, os, runpy, sys
args = sys.argv[1:]
argv_file = os.environ["ARGV_FILE"]
folders = {name: os.environ.get(name) for name in ("COMFY_INPUT_DIR", "COMFY_OUTPUT_DIR", "COMFY_TEMP_DIR")}
with open(argv_file, "w") as out:
    json.dump(args + [folders], out)
sys.argv = ["comfyui_sim", "--host", args[args.index("--listen") + 1], "--port", args[args.index("--port") + 1]]
runpy.run_module("comfyui_sim", run_name="__main__")
"""


def fake_comfyui(tmp_path: pathlib.Path) -> dict:
    comfy_dir = tmp_path / "comfyui"
    comfy_dir.mkdir()
    (comfy_dir / "main.py").write_text(FAKE_MAIN)
    return {"COMFYUI_DIR": str(comfy_dir), "ARGV_FILE": str(tmp_path / "argv.json")}


def comfyui_args(tmp_path: pathlib.Path, log: pathlib.Path, process) -> list:
    argv = tmp_path / "argv.json"
    wait_until(argv.exists, "ComfyUI's arguments", log, process=process)
    wait_until(lambda: argv.read_text().startswith("["), "ComfyUI's arguments", log, process=process)
    return json.loads(argv.read_text())[:-1]


def comfyui_folders(tmp_path: pathlib.Path) -> dict:
    """The folders start.sh named for the worker's cleanup (as ComfyUI's process saw its environment)."""
    return json.loads((tmp_path / "argv.json").read_text())[-1]


def test_default_command_moves_the_worker_with_comfyui_and_drops_metadata(tmp_path):
    comfy_port, api_port = free_port(), free_port()
    env = base_env(tmp_path, comfy_port, api_port) | fake_comfyui(tmp_path)
    log = tmp_path / "start.log"
    process = launch(env, log)
    try:
        args = comfyui_args(tmp_path, log, process)
        # SERVE_API_LOCALLY: ComfyUI's UI can be opened from outside; the worker dials the port ComfyUI got
        assert args[args.index("--listen") + 1] == "0.0.0.0" and args[args.index("--port") + 1] == str(comfy_port)
        assert "--disable-metadata" in args and "--cpu" in args
        comfy_dir = env["COMFYUI_DIR"]
        assert comfyui_folders(tmp_path) == {"COMFY_INPUT_DIR": f"{comfy_dir}/input",
                                             "COMFY_OUTPUT_DIR": f"{comfy_dir}/output",
                                             "COMFY_TEMP_DIR": f"{comfy_dir}/temp"}
        url = f"http://127.0.0.1:{api_port}"
        wait_until(lambda: requests.get(url + "/docs", timeout=2).ok, "the local API", log, process=process)
        answer = requests.post(url + "/runsync", json={"input": SAMPLE}, timeout=120).json()
        assert answer["status"] == "COMPLETED", (answer, log.read_text())
    finally:
        stop(process)


@pytest.mark.parametrize(("extra", "listen", "metadata_kept"), [
    ({"COMFY_KEEP_METADATA": "yes"}, "0.0.0.0", True),
    ({"COMFY_LISTEN": "127.0.0.1", "COMFY_KEEP_METADATA": "0"}, "127.0.0.1", False),
    ({"SERVE_API_LOCALLY": "off"}, "127.0.0.1", False),
])
def test_metadata_and_listen_address_follow_the_variables(tmp_path, extra, listen, metadata_kept):
    env = base_env(tmp_path, free_port(), free_port()) | fake_comfyui(tmp_path) | extra
    log = tmp_path / "start.log"
    process = launch(env, log)
    try:
        args = comfyui_args(tmp_path, log, process)
        assert args[args.index("--listen") + 1] == listen
        assert ("--disable-metadata" not in args) is metadata_kept
    finally:
        stop(process)


def test_folders_moved_by_comfyui_args_are_not_guessed(tmp_path):
    env = base_env(tmp_path, free_port(), free_port()) | fake_comfyui(tmp_path) | {
        "COMFYUI_ARGS": f"--output-directory {tmp_path / 'elsewhere'}"}
    log = tmp_path / "start.log"
    process = launch(env, log)
    try:
        comfyui_args(tmp_path, log, process)
        assert comfyui_folders(tmp_path) == dict.fromkeys(("COMFY_INPUT_DIR", "COMFY_OUTPUT_DIR", "COMFY_TEMP_DIR"))
    finally:
        stop(process)


def fake_torch(tmp_path: pathlib.Path, available: bool) -> str:
    package = tmp_path / "fake_torch" / "torch"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(f"""
        __version__ = "0.0+fake"
        class version:
            cuda = "12.6"
        class cuda:
            @staticmethod
            def is_available():
                return {available}
            @staticmethod
            def device_count():
                return 1
            @staticmethod
            def get_device_name(index):
                return "Fake GPU"
        def zeros(*args, **kwargs):
            return [0.0]
    """))
    return str(package.parent)


def preflight_env(tmp_path: pathlib.Path, available: bool, gpu_flag: str) -> dict:
    comfy_port = free_port()
    env = base_env(tmp_path, comfy_port, free_port())
    env.update({"COMFY_GPU_FLAG": gpu_flag, "COMFYUI_CMD": f"{env['PYTHON']} -m comfyui_sim --port {comfy_port}",
                "PYTHONPATH": f"{fake_torch(tmp_path, available)}:{env['PYTHONPATH']}"})
    return env


def test_a_host_without_a_working_gpu_takes_no_jobs(tmp_path):
    result = subprocess.run(["bash", str(START)], env=preflight_env(tmp_path, False, "--nvidia"),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("gpu_preflight:")]
    assert len(lines) == 1 and "GPU unusable" in lines[0] and "CUDA is not available" in lines[0], result.stderr
    assert not (tmp_path / "comfyui.pid").exists(), "ComfyUI must not start on a broken GPU host"
    assert "starting the worker" not in result.stdout


@pytest.mark.parametrize(("available", "gpu_flag"), [(True, "--nvidia"), (False, "--cpu")])
def test_a_working_gpu_or_a_cpu_image_starts(tmp_path, available, gpu_flag):
    log = tmp_path / "start.log"
    process = launch(preflight_env(tmp_path, available, gpu_flag), log)
    try:
        wait_until((tmp_path / "comfyui.pid").exists, "ComfyUI started", log, process=process)
        if gpu_flag == "--nvidia":
            assert "gpu_preflight: 1 CUDA device(s), first: Fake GPU" in log.read_text()
        else:
            assert "gpu_preflight" not in log.read_text()
    finally:
        stop(process)
