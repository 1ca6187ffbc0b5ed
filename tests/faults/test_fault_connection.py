"""Fault matrix, connection rows: websocket drops (FIN, RST, around the final frame), restarts, late or
absent ComfyUI, ComfyUI's process dying. Each row asserts the answer and that nothing leaks (harness)."""
import subprocess
import sys
import time

import pytest

from faults.workflows import chain
from integration.sim_job import wait_until
from loopback import SilentPort, free_port


def when_running(sim, action, settle_s: float = 0.2):
    def go():
        wait_until(lambda: sim.state.running, 20)
        time.sleep(settle_s)
        action()
    return go


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_ws_drop_mid_run_succeeds(comfy_sim, leaks, reset):
    comfy_sim.faults.node_delay_s = 0.3
    comfy_sim.faults.drop_socket_after_frames = 6
    comfy_sim.faults.drop_with_reset = reset
    response = leaks.worker().run({"workflow": chain(f"drop_mid_{reset}", 4)})
    assert [e["node_id"] for e in response["images"]] == ["4"], response
    assert "errors" not in response


@pytest.mark.parametrize("knob,reset", [("drop_socket_after_success", False), ("drop_socket_after_success", True),
                                        ("drop_socket_before_final", False), ("drop_socket_before_final", True)],
                         ids=["after-success-fin", "after-success-rst", "before-final-fin", "before-final-rst"])
def test_ws_drop_around_the_final_frame_succeeds_via_history(comfy_sim, leaks, knob, reset):
    setattr(comfy_sim.faults, knob, True)
    comfy_sim.faults.drop_with_reset = reset
    response = leaks.worker().run({"workflow": chain(f"final_{knob}_{reset}")})
    assert [e["node_id"] for e in response["images"]] == ["3"], response


@pytest.mark.parametrize("keep_history", [False, True], ids=["history-lost", "history-kept"])
def test_comfy_restart_mid_run_is_prompt_lost(comfy_sim, leaks, keep_history):
    comfy_sim.faults.node_delay_s = 0.4
    restart = when_running(comfy_sim, lambda: comfy_sim.restart(down_s=0.3, keep_history=keep_history))
    response = leaks.worker().run({"workflow": chain(f"restart_{keep_history}", 4)}, during=restart)
    assert response["error_code"] == "prompt_lost", response
    assert response["error"].startswith("prompt_lost: ComfyUI no longer knows prompt")


def test_comfy_late_at_start_is_waited_for(comfy_sim, leaks):
    comfy_sim.blackout(1.5)  # connections refused for 1.5 s, then back on the same port
    response = leaks.worker(COMFY_API_AVAILABLE_MAX_RETRIES="1000").run({"workflow": chain("late_start")})
    assert [e["node_id"] for e in response["images"]] == ["3"], response


def test_comfy_never_up_refused_is_a_bounded_clear_error(leaks):
    host = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    response = leaks.worker(host, COMFY_API_AVAILABLE_MAX_RETRIES="25").run({"workflow": chain("never")})
    assert response["error_code"] == "comfy_unreachable"
    assert response["error"].startswith(f"comfy_unreachable: ComfyUI did not answer at http://{host} after 25 tries")
    assert time.monotonic() - started < 60  # bounded: does not hang


def test_comfy_never_up_silent_port_is_a_bounded_clear_error(leaks):
    with SilentPort() as silent:
        response = leaks.worker(silent.host, COMFY_API_AVAILABLE_MAX_RETRIES="2").run({"workflow": chain("silent")})
    assert response["error_code"] == "comfy_unreachable"
    assert "after 2 tries" in response["error"]


@pytest.fixture
def comfy_process(tmp_path):
    """A real child process standing in for ComfyUI's, with its PID file."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pid_file = tmp_path / "comfyui.pid"
    pid_file.write_text(str(child.pid))
    yield child, str(pid_file)
    if child.poll() is None:
        child.kill()
    child.wait(10)


def test_comfy_process_dies_mid_run_is_comfy_process_died_at_once(comfy_sim, comfy_process, leaks):
    child, pid_file = comfy_process
    comfy_sim.faults.node_delay_s = 0.5

    def die():
        child.kill()
        child.wait(10)
        comfy_sim.restart(down_s=120)  # a dead process answers nothing, for longer than the job may wait
    # at once: 50 reconnect attempts (3 s apart) would run into the job's deadline and answer timed_out instead
    response = leaks.worker(COMFY_PID_FILE=pid_file, WEBSOCKET_RECONNECT_ATTEMPTS="50", JOB_TIMEOUT_S="20").run(
        {"workflow": chain("process_dies", 5)}, during=when_running(comfy_sim, die))
    assert response["error_code"] == "comfy_process_died", response
    assert response.get("refresh_worker") is True


def test_comfy_process_gone_before_the_job_fails_at_once(comfy_sim, comfy_process, leaks):
    child, pid_file = comfy_process
    child.kill()
    child.wait(10)
    comfy_sim.restart(down_s=120)
    response = leaks.worker(COMFY_PID_FILE=pid_file, COMFY_API_AVAILABLE_MAX_RETRIES="100000").run(
        {"workflow": chain("process_gone")})
    assert response["error_code"] == "comfy_process_died", response
    assert response.get("refresh_worker") is True


