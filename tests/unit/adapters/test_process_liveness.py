"""ProcessLiveness: a PID file read at every probe, the default path used while COMFY_PID_FILE is unset."""
import os
import subprocess
import sys

import pytest

from adapters.process_liveness import DEFAULT_PID_FILE, ProcessLiveness


def _exited_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_a_living_process_is_alive(tmp_path):
    pid_file = tmp_path / "comfy.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    liveness = ProcessLiveness(str(pid_file))
    assert liveness.alive() is True
    assert liveness.describe() == f"pid {os.getpid()} from {pid_file}"


def test_an_exited_process_is_dead(tmp_path):
    pid_file = tmp_path / "comfy.pid"
    pid = _exited_pid()
    pid_file.write_text(str(pid))
    assert ProcessLiveness(str(pid_file)).alive() is False


def test_without_a_configured_file_the_worker_comfyui_default_is_used():
    assert ProcessLiveness(None).pid_file == DEFAULT_PID_FILE == "/tmp/comfyui.pid"
    assert ProcessLiveness("").pid_file == DEFAULT_PID_FILE


def test_the_default_file_is_looked_for_at_every_probe_so_a_late_pid_file_counts(tmp_path):
    default = tmp_path / "comfyui.pid"
    liveness = ProcessLiveness(None, default_pid_file=str(default))
    assert liveness.alive() is None
    assert liveness.describe() == f"no readable PID in {default}"

    default.write_text(str(os.getpid()))
    assert liveness.alive() is True

    default.write_text(str(_exited_pid()))  # ComfyUI restarted and died: the new content counts
    assert liveness.alive() is False

    default.unlink()
    assert liveness.alive() is None


def test_a_configured_file_wins_over_the_default(tmp_path):
    default, configured = tmp_path / "default.pid", tmp_path / "configured.pid"
    default.write_text(str(os.getpid()))
    configured.write_text(str(_exited_pid()))
    assert ProcessLiveness(str(configured), default_pid_file=str(default)).alive() is False


@pytest.mark.parametrize("content", ["", "not a pid", "0", "-1", f"-{os.getpid()}", "\xff\xfe"],
                         ids=["empty", "text", "zero", "minus-one", "minus-own-pid", "not-utf8"])
def test_a_pid_file_without_a_usable_pid_means_nothing_is_known(tmp_path, content):
    pid_file = tmp_path / "comfy.pid"
    pid_file.write_bytes(content.encode("latin-1"))
    liveness = ProcessLiveness(str(pid_file))
    assert liveness.alive() is None
    assert str(pid_file) in liveness.describe()
