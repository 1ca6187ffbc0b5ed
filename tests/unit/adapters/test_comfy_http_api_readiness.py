"""Readiness wait of the HTTP adapter, its probes counted: none once ready, more while the PID file names a live
process (the retry limit, a dead process and a cancel are proven against real peers: tests/faults, tests/integration)."""
import os
import subprocess
import sys
import time

import requests

from adapters.comfy_http_api import ComfyHttpApi
from adapters.process_liveness import ProcessLiveness
from domain.budget import Budget


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


def test_waits_past_the_budget_while_the_comfy_process_lives(mocker, tmp_path):
    pid_file = tmp_path / "comfy.pid"
    pid_file.write_text(str(os.getpid()))
    session = probe_session(mocker, [None] * 6 + [200])
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=2,
                       liveness=ProcessLiveness(str(pid_file)))
    api.wait_until_ready(Budget())
    assert session.get.call_count == 7


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


def test_recheck_probes_again_after_ready(mocker):
    session = probe_session(mocker, [200, None, 200])
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=5)
    api.wait_until_ready(Budget())
    api.wait_until_ready(Budget(), recheck=True)
    assert session.get.call_count == 3
