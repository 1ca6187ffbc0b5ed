"""start.sh's worker-comfyui 5.x knobs: COMFY_LOG_LEVEL, tcmalloc (LD_PRELOAD), ComfyUI-Manager's network mode,
NETWORK_VOLUME_DEBUG and PUBLIC_KEY. start.sh runs for real from a copy of scripts/ (sshd's helper replaced by a
recorder), with a ComfyUI stand-in that records its arguments and environment, and a worker stand-in that waits."""
import configparser
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys

import pytest

from deploy.start_harness import ROOT, kill_session, wait_until

# stands in for ComfyUI's main.py: records what it was started with, then waits to be stopped
FAKE_MAIN = """
import json, os, sys, time
with open(os.environ["RECORD"], "w") as out:
    json.dump({"argv": sys.argv[1:], "LD_PRELOAD": os.environ.get("LD_PRELOAD")}, out)
time.sleep(120)
"""


@pytest.fixture
def knobs(tmp_path):
    """(environment, scripts copy, ComfyUI folder) for start.sh with stand-ins for ComfyUI, the worker and sshd."""
    scripts = tmp_path / "scripts"
    shutil.copytree(ROOT / "scripts", scripts)
    (scripts / "start_sshd.sh").write_text(
        f'#!/usr/bin/env bash\necho "port=$1 key=$(cat)" > {tmp_path}/sshd.args\n')
    comfy_dir = tmp_path / "comfyui"
    comfy_dir.mkdir()
    (comfy_dir / "main.py").write_text(FAKE_MAIN)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "worker").write_text("#!/usr/bin/env bash\nexec sleep 120\n")
    # what ldconfig -p prints for the tcmalloc of Debian and Ubuntu
    (tmp_path / "libtcmalloc_minimal.so.4").write_bytes(b"")
    (bin_dir / "ldconfig").write_text(
        "#!/usr/bin/env bash\n"
        f'printf "\\tlibtcmalloc_minimal.so.4 (libc6,x86-64) => {tmp_path}/libtcmalloc_minimal.so.4\\n"\n')
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BUCKET_", "COMFY_", "RUNPOD_", "NETWORK_VOLUME", "PUBLIC_KEY", "SSH_", "LD_PRELOAD"))}
    env.update({"PATH": f"{bin_dir}:{env['PATH']}", "COMFYUI_PYTHON": sys.executable,
                "WORKER_PYTHON": str(bin_dir / "worker"), "COMFY_GPU_FLAG": "--cpu", "COMFYUI_DIR": str(comfy_dir),
                "COMFY_PID_FILE": str(tmp_path / "comfyui.pid"), "RECORD": str(tmp_path / "record.json")})
    return env, scripts, comfy_dir


def started(tmp_path: pathlib.Path, env: dict, scripts: pathlib.Path) -> tuple:
    """(ComfyUI's record, start.sh's log) once ComfyUI's stand-in started; start.sh is stopped after."""
    log = tmp_path / "start.log"
    record = tmp_path / "record.json"
    with open(log, "w") as out:
        process = subprocess.Popen(["bash", str(scripts / "start.sh")], env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        wait_until(lambda: record.exists() and record.read_text().endswith("}"), "ComfyUI's start", log,
                   process=process)
        return json.loads(record.read_text()), log.read_text()
    finally:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        finally:
            kill_session(process)


@pytest.mark.parametrize(("value", "verbose"), [
    ("", None), ("DEBUG", "DEBUG"), ("warning", "WARNING"), ("WARN", "WARNING"), ("chatty", None)])
def test_comfy_log_level_becomes_comfyuis_verbose_level(knobs, tmp_path, value, verbose):
    env, scripts, _ = knobs
    record, log = started(tmp_path, env | {"COMFY_LOG_LEVEL": value}, scripts)
    argv = record["argv"]
    assert (argv[argv.index("--verbose") + 1] if "--verbose" in argv else None) == verbose
    assert ("COMFY_LOG_LEVEL='chatty' is not" in log) is (value == "chatty"), "a bad level is named, not fatal"


@pytest.mark.parametrize(("extra", "preload"), [
    ({}, "{tmp}/libtcmalloc_minimal.so.4"),
    ({"COMFY_TCMALLOC": "false"}, None),
    ({"COMFY_TCMALLOC": "maybe"}, "{tmp}/libtcmalloc_minimal.so.4"),  # a bad value keeps the default, with a warning
    ({"LD_PRELOAD": "/opt/mine.so"}, "/opt/mine.so"),
])
def test_comfyui_runs_with_tcmalloc_preloaded_unless_told_otherwise(knobs, tmp_path, extra, preload):
    env, scripts, _ = knobs
    record, _ = started(tmp_path, env | extra, scripts)
    assert record["LD_PRELOAD"] == (preload.format(tmp=tmp_path) if preload else None)


def test_no_tcmalloc_in_the_image_means_no_preload(knobs, tmp_path):
    env, scripts, _ = knobs
    (pathlib.Path(env["PATH"].split(":")[0]) / "ldconfig").write_text("#!/usr/bin/env bash\necho 'libc.so.6'\n")
    record, log = started(tmp_path, env, scripts)
    assert record["LD_PRELOAD"] is None and "LD_PRELOAD" not in log


def network_modes(user_dir: pathlib.Path) -> dict:
    modes = {}
    for layout in ("__manager/config.ini", "default/ComfyUI-Manager/config.ini"):
        config = configparser.ConfigParser()
        config.read(user_dir / layout)
        modes[layout] = config.get("default", "network_mode", fallback=None)
    return modes


@pytest.mark.parametrize(("mode", "written"), [("", "offline"), ("public", "public"), ("OFFLINE", "offline")])
def test_comfyui_manager_is_set_to_its_network_mode_before_comfyui_starts(knobs, tmp_path, mode, written):
    env, scripts, comfy_dir = knobs
    legacy = comfy_dir / "user/default/ComfyUI-Manager/config.ini"
    legacy.parent.mkdir(parents=True)
    legacy.write_text("[default]\nnetwork_mode = public\nsecurity_level = weak\n")
    started(tmp_path, env | {"COMFY_MANAGER_NETWORK_MODE": mode}, scripts)
    assert set(network_modes(comfy_dir / "user").values()) == {written}
    assert "security_level = weak" in legacy.read_text(), "the Manager's other settings are kept"


def test_the_manager_mode_follows_a_user_directory_moved_by_comfyui_args(knobs, tmp_path):
    env, scripts, comfy_dir = knobs
    user_dir = tmp_path / "elsewhere"
    user_dir.mkdir()
    started(tmp_path, env | {"COMFYUI_ARGS": f"--user-directory={user_dir}"}, scripts)
    assert set(network_modes(user_dir).values()) == {"offline"}
    assert not (comfy_dir / "user").exists()


def test_a_bad_manager_mode_is_logged_and_comfyui_still_starts(knobs, tmp_path):
    env, scripts, _ = knobs
    _, log = started(tmp_path, env | {"COMFY_MANAGER_NETWORK_MODE": "online"}, scripts)
    assert "'online' is not one of public, private, offline, personal_cloud" in log


@pytest.mark.parametrize(("value", "reported"), [("true", True), ("TRUE", True), ("", False), ("false", False)])
def test_network_volume_debug_logs_the_volume_report_before_comfyui(knobs, tmp_path, value, reported):
    env, scripts, comfy_dir = knobs
    volume = tmp_path / "volume"
    (volume / "models/checkpoints").mkdir(parents=True)
    (volume / "models/checkpoints/sd15.safetensors").write_bytes(b"0" * 2048)
    (comfy_dir / "extra_model_paths.yaml").write_text(
        (scripts / "extra_model_paths.yaml").read_text().replace("/runpod-volume", str(volume)))
    _, log = started(tmp_path, env | {"NETWORK_VOLUME_DEBUG": value}, scripts)
    assert ("network_volume: checkpoints: 1 in" in log) is reported
    if reported:
        assert log.index("network_volume: summary") < log.index("starting ComfyUI")


@pytest.mark.parametrize(("extra", "args"), [
    ({"PUBLIC_KEY": "ssh-ed25519 AAAAC3Nza test@host"}, "port=22 key=ssh-ed25519 AAAAC3Nza test@host"),
    ({"PUBLIC_KEY": "ssh-ed25519 AAAAC3Nza", "SSH_PORT": "2222"}, "port=2222 key=ssh-ed25519 AAAAC3Nza"),
    ({}, None),
])
def test_public_key_starts_sshd_with_that_key(knobs, tmp_path, extra, args):
    env, scripts, _ = knobs
    started(tmp_path, env | extra, scripts)
    recorded = tmp_path / "sshd.args"
    assert (recorded.read_text().strip() if recorded.exists() else None) == args


def test_sshd_that_does_not_start_leaves_the_worker_starting(knobs, tmp_path):
    env, scripts, _ = knobs
    (scripts / "start_sshd.sh").write_text("#!/usr/bin/env bash\necho 'no sshd' >&2\nexit 2\n")
    record, log = started(tmp_path, env | {"PUBLIC_KEY": "ssh-ed25519 AAAA"}, scripts)
    assert record["argv"] and "sshd could not be started" in log


@pytest.mark.parametrize(("port", "key", "problem"), [
    ("0", "ssh-ed25519 AAAA", "is not a port"), ("65536", "ssh-ed25519 AAAA", "is not a port"),
    ("22", "hunter2", "does not look like an OpenSSH public key")])
def test_the_sshd_helper_refuses_a_bad_port_or_key_before_touching_anything(tmp_path, port, key, problem):
    result = subprocess.run(["bash", str(ROOT / "scripts/start_sshd.sh"), port], input=key, capture_output=True,
                            text=True, timeout=30, env=os.environ | {"HOME": str(tmp_path)})
    assert result.returncode == 2 and problem in result.stderr
    assert not (tmp_path / ".ssh").exists()
