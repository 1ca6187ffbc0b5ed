"""start.sh's worker-comfyui 5.x knobs: COMFY_LOG_LEVEL, tcmalloc (LD_PRELOAD), ComfyUI-Manager's network mode,
NETWORK_VOLUME_DEBUG and PUBLIC_KEY. start.sh runs for real from a copy of scripts/ (sshd's helper replaced by a
recorder), with a ComfyUI stand-in that records its arguments and environment, and a worker stand-in that waits."""
import configparser
import os
import pathlib
import subprocess

import pytest

from deploy.start_harness import ROOT, started


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
