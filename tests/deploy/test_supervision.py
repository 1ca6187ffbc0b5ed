"""start.sh supervises ComfyUI and the worker: SIGTERM at any moment stops both within 10 s, and ComfyUI's exit
ends the container after the running job is answered. The simulator stands in for ComfyUI.

The 10 s are the script's: it waits 8 s for its children after SIGTERM, then kills them (and says so). The tests
check that each child stopped on SIGTERM, before that kill, and that nothing is left: outcomes, not a stopwatch."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from deploy.start_harness import (
    STALLING,
    base_env,
    free_port,
    kill_session,
    launch,
    running_prompts,
    session_pids,
    sim_command,
    stop,
    wait_until,
)

STOP_BOUND_S = 10.0  # the bound the issue sets; the script itself gives its children 8 s, then kills them
STOP_GUARD_S = 60.0  # only "did not hang": a loaded machine may be slow to reap processes


def terminate(process: subprocess.Popen, log) -> None:
    """SIGTERM to start.sh alone (what `docker stop` sends PID 1's child); returns once it and its session are gone."""
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GUARD_S)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"start.sh still runs {STOP_GUARD_S} s after SIGTERM:\n{log.read_text()}") from None
    give_up = time.monotonic() + STOP_GUARD_S
    while session_pids(process.pid) and time.monotonic() < give_up:
        time.sleep(0.1)


def assert_all_stopped_on_sigterm(process: subprocess.Popen, log) -> None:
    """Every process gone, each child having stopped on SIGTERM within the script's grace: it never had to kill one
    (which it does, saying so, once its 8 s have passed), so the stop took less than STOP_BOUND_S."""
    left = session_pids(process.pid)
    assert not left, f"left running after start.sh ended: {left}\n{log.read_text()}"
    assert process.returncode == 143, f"start.sh ended with {process.returncode}:\n{log.read_text()}"
    text = log.read_text()
    assert "start.sh: stop signal: stopping ComfyUI and the worker" in text, text
    assert "ignored SIGTERM" not in text, f"a child had to be killed:\n{text}"


def test_sigterm_while_comfyui_starts_stops_everything(tmp_path):
    comfy_port, api_port = free_port(), free_port()
    slow = tmp_path / "slow_comfyui.sh"
    # a ComfyUI that takes a minute to start listening
    slow.write_text(f"#!/usr/bin/env bash\nsleep 60\nexec {sim_command(comfy_port)}\n")
    slow.chmod(0o755)
    env = base_env(tmp_path, comfy_port, api_port) | {"COMFYUI_CMD": str(slow)}
    log = tmp_path / "start.log"
    process = launch(env, log)
    try:
        wait_until(lambda: (tmp_path / "comfyui.pid").exists() and len(session_pids(process.pid)) >= 3,
                   "ComfyUI and the worker started", log, process=process)
        time.sleep(1.0)  # the worker is waiting for ComfyUI
        terminate(process, log)
        assert_all_stopped_on_sigterm(process, log)
    finally:
        kill_session(process)


def test_a_child_that_ignores_sigterm_is_killed_once_the_grace_has_passed(tmp_path):
    """The other half of the 10 s bound: what does not stop on SIGTERM is killed by the script, which says so."""
    comfy_port, api_port = free_port(), free_port()
    deaf = tmp_path / "deaf_comfyui.sh"
    deaf.write_text("#!/usr/bin/env bash\ntrap '' TERM\nexec sleep 600\n")  # an ignored signal stays so across exec
    deaf.chmod(0o755)
    env = base_env(tmp_path, comfy_port, api_port) | {"COMFYUI_CMD": str(deaf)}
    log = tmp_path / "start.log"
    process = launch(env, log)
    try:
        wait_until(lambda: (tmp_path / "comfyui.pid").exists() and len(session_pids(process.pid)) >= 3,
                   "ComfyUI and the worker started", log, process=process)
        terminate(process, log)
        assert not session_pids(process.pid), log.read_text()
        comfy_pid = (tmp_path / "comfyui.pid").read_text().strip()
        assert f"start.sh: PID {comfy_pid} ignored SIGTERM for 8 s: killing it" in log.read_text(), log.read_text()
    finally:
        kill_session(process)


def test_sigterm_during_the_warm_up_workflow_stops_everything(tmp_path):
    comfy_port, api_port = free_port(), free_port()
    warmup = tmp_path / "warmup.json"
    warmup.write_text(json.dumps(STALLING))
    env = base_env(tmp_path, comfy_port, api_port) | {"COMFYUI_CMD": sim_command(comfy_port),
                                                      "WARMUP_WORKFLOW": str(warmup)}
    log = tmp_path / "start.log"
    process = launch(env, log)
    try:
        wait_until(lambda: running_prompts(comfy_port), "the warm-up prompt running", log, process=process)
        terminate(process, log)
        assert_all_stopped_on_sigterm(process, log)
    finally:
        kill_session(process)


def test_sigterm_during_a_job_stops_everything(tmp_path):
    comfy_port, api_port = free_port(), free_port()
    env = base_env(tmp_path, comfy_port, api_port) | {"COMFYUI_CMD": sim_command(comfy_port)}
    log = tmp_path / "start.log"
    process = launch(env, log)
    url = f"http://127.0.0.1:{api_port}"
    try:
        wait_until(lambda: requests.get(url + "/docs", timeout=2).ok, "the local API", log, process=process)
        threading.Thread(target=lambda: requests.post(url + "/runsync", json={"input": {"workflow": STALLING}},
                                                      timeout=60), daemon=True).start()
        wait_until(lambda: running_prompts(comfy_port), "the job's prompt running", log, process=process)
        terminate(process, log)
        assert_all_stopped_on_sigterm(process, log)
    finally:
        kill_session(process)


def test_comfyui_exit_fails_the_running_job_then_the_container_ends(tmp_path):
    comfy_port, api_port = free_port(), free_port()
    env = base_env(tmp_path, comfy_port, api_port) | {"COMFYUI_CMD": sim_command(comfy_port),
                                                      "COMFY_EXIT_GRACE_S": "20"}
    log = tmp_path / "start.log"
    process = launch(env, log)
    url = f"http://127.0.0.1:{api_port}"
    answers = []
    try:
        wait_until(lambda: requests.get(url + "/docs", timeout=2).ok, "the local API", log, process=process)
        job = threading.Thread(target=lambda: answers.append(requests.post(
            url + "/runsync", json={"input": {"workflow": STALLING}}, timeout=120).json()), daemon=True)
        job.start()
        wait_until(lambda: running_prompts(comfy_port), "the job's prompt running", log, process=process)
        os.kill(int((tmp_path / "comfyui.pid").read_text()), signal.SIGKILL)
        job.join(timeout=60)
        assert answers, f"the running job got no answer:\n{log.read_text()}"
        assert answers[0]["status"] == "FAILED", answers[0]
        # comfy_process_died names the cause; comfy_unreachable / prompt_lost are what a worker without it says
        assert answers[0]["error"].split(":", 1)[0] in ("comfy_process_died", "comfy_unreachable", "prompt_lost"), answers
        process.wait(timeout=20 + STOP_BOUND_S + 5)
        assert process.returncode != 0, "a worker whose ComfyUI is gone must end so RunPod replaces it"
        assert not session_pids(process.pid), log.read_text()
    finally:
        kill_session(process)


@pytest.mark.parametrize("value", ["yes", "1", "On", "TRUE"])
def test_serve_api_locally_takes_the_same_words_as_every_flag(tmp_path, value):
    comfy_port, api_port = free_port(), free_port()
    env = base_env(tmp_path, comfy_port, api_port) | {"COMFYUI_CMD": sim_command(comfy_port),
                                                      "SERVE_API_LOCALLY": value}
    log = tmp_path / "start.log"
    process = launch(env, log)
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{api_port}/docs", timeout=2).ok, "the local API", log,
                   process=process)
    finally:
        stop(process)


def test_a_misspelt_flag_stops_the_script_with_its_name(tmp_path):
    env = base_env(tmp_path, free_port(), free_port()) | {"COMFYUI_CMD": sim_command(free_port()),
                                                          "SERVE_API_LOCALLY": "treu"}
    result = subprocess.run(["bash", str(sys.modules["deploy.start_harness"].START)], env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode != 0 and "SERVE_API_LOCALLY='treu'" in result.stderr, result
