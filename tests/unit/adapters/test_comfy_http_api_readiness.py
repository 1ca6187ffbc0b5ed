"""Readiness wait of the HTTP adapter: retry budget, PID-file liveness, and no probe once ready."""
import os
import subprocess
import sys
import time

import pytest
import requests

from adapters.comfy_http_api import ComfyHttpApi
from adapters.process_liveness import ProcessLiveness
from domain.budget import Budget
from domain.errors import Cancelled, ComfyProcessDied, ComfyUnreachable


def probe_session(mocker, answers):
    session = mocker.Mock(spec=requests.Session)
    session.get.side_effect = [requests.ConnectionError("refused") if a is None else mocker.Mock(status_code=a)
                               for a in answers]
    return session


def test_ready_after_some_refusals_then_never_probes_again(mocker):
    session = probe_session(mocker, [None, None, 200])
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=5)
    api.wait_until_ready(Budget())
    api.wait_until_ready(Budget())
    assert session.get.call_count == 3


def test_gives_up_after_the_retry_budget_without_a_pid_file(mocker):
    session = probe_session(mocker, [None] * 3)
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=3)
    with pytest.raises(ComfyUnreachable, match="after 3 tries"):
        api.wait_until_ready(Budget())


def test_waits_past_the_budget_while_the_comfy_process_lives(mocker, tmp_path):
    pid_file = tmp_path / "comfy.pid"
    pid_file.write_text(str(os.getpid()))
    session = probe_session(mocker, [None] * 6 + [200])
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=2,
                       liveness=ProcessLiveness(str(pid_file)))
    api.wait_until_ready(Budget())
    assert session.get.call_count == 7


def test_fails_at_once_when_the_comfy_process_has_exited(mocker, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid_file = tmp_path / "comfy.pid"
    pid_file.write_text(dead.stdout.strip())
    session = probe_session(mocker, [None] * 100)
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=100,
                       liveness=ProcessLiveness(str(pid_file)))
    with pytest.raises(ComfyProcessDied, match="is gone"):
        api.wait_until_ready(Budget())
    assert session.get.call_count == 1


def test_an_exited_but_unreaped_comfy_counts_as_dead(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        pid_file = tmp_path / "comfy.pid"
        pid_file.write_text(str(child.pid))
        liveness = ProcessLiveness(str(pid_file))
        for _ in range(200):
            if liveness.alive() is False:
                break
            time.sleep(0.01)
        assert liveness.alive() is False
    finally:
        child.wait()


def test_zero_retries_waits_without_limit_until_stopped(mocker):
    session = probe_session(mocker, [None] * 50 + [200])
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=0)
    api.wait_until_ready(Budget())
    assert session.get.call_count == 51


def test_a_cancel_stops_the_readiness_wait(mocker):
    budget = Budget()
    session = mocker.Mock(spec=requests.Session)
    session.get.side_effect = lambda *a, **k: (budget.stop.set(), (_ for _ in ()).throw(requests.ConnectionError("x")))[1]
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0.01, ready_max_retries=0)
    with pytest.raises(Cancelled, match="waiting for ComfyUI"):
        api.wait_until_ready(budget)
    assert session.get.call_count == 1


def test_recheck_probes_again_after_ready(mocker):
    session = probe_session(mocker, [200, None, 200])
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=5)
    api.wait_until_ready(Budget())
    api.wait_until_ready(Budget(), recheck=True)
    assert session.get.call_count == 3
