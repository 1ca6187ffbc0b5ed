"""COMFY_API_AVAILABLE_MAX_RETRIES=0 without a PID file: a bounded wait of 500 probes, as worker-comfyui 5.8.3+."""
import pytest
import requests

from adapters.comfy_http_api import ComfyHttpApi
from adapters.process_liveness import ProcessLiveness
from domain.budget import Budget
from domain.errors import ComfyUnreachable


def refusing_session(mocker):
    """Refuses every probe; past 1000 probes the wait is taken to have no limit and the test ends it."""
    session = mocker.Mock(spec=requests.Session)

    def refuse(*args, **kwargs):
        if session.get.call_count > 1000:
            raise AssertionError("the readiness wait has no limit")
        raise requests.ConnectionError("refused")

    session.get.side_effect = refuse
    return session


def test_zero_retries_and_no_pid_file_gives_up_after_500_probes(mocker, tmp_path):
    session = refusing_session(mocker)
    no_pid_file = ProcessLiveness(str(tmp_path / "comfyui.pid"))
    api = ComfyHttpApi("http://h:1", session=session, ready_interval_s=0, ready_max_retries=0, liveness=no_pid_file)
    with pytest.raises(ComfyUnreachable, match="after 500 tries"):
        api.wait_until_ready(Budget())
    assert session.get.call_count == 500
