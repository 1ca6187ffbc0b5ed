"""The HTTP adapter's answers keep their meaning: whose fault, and the budget on every call."""
import json

import pytest
import requests

from adapters.comfy_http_api import ComfyHttpApi
from domain.budget import Budget
from domain.errors import ComfyError, InvalidInput, JobTimedOut
from domain.model import Prompt

PROMPT = Prompt(id="p-1", client_id="c-1", workflow={"1": {"class_type": "X", "inputs": {}}})


def response(status=200, body=b"", content_type="application/json"):
    r = requests.Response()
    r.status_code, r._content = status, body if isinstance(body, bytes) else json.dumps(body).encode()
    r.headers["Content-Type"] = content_type
    r.encoding = "utf-8"
    return r


def api_answering(mocker, *answers, liveness=None):
    session = mocker.Mock(spec=requests.Session)
    session.request.side_effect = list(answers)
    return ComfyHttpApi("http://h:1", session=session, liveness=liveness), session


def test_a_non_json_200_is_comfy_error_not_a_crash(mocker):
    api, _ = api_answering(mocker, response(200, b"<html>proxy</html>", "text/html"))
    with pytest.raises(ComfyError, match="not JSON") as caught:
        api.queue_prompt(PROMPT, Budget())
    assert caught.value.code == "comfy_error"


def test_upload_5xx_is_comfy_error_and_4xx_is_the_callers(mocker):
    api, _ = api_answering(mocker, response(500, b"Internal Server Error", "text/plain"),
                           response(400, b"Invalid file", "text/plain"))
    with pytest.raises(ComfyError) as caught:
        api.upload_input("a.png", b"x", Budget())
    assert caught.value.code == "comfy_error"
    with pytest.raises(InvalidInput):
        api.upload_input("a.png", b"x", Budget())


def test_upload_renamed_by_comfy_is_an_error(mocker):
    api, _ = api_answering(mocker, response(200, {"name": "a (1).png", "subfolder": "", "type": "input"}))
    with pytest.raises(ComfyError, match=r"as 'a \(1\).png'"):
        api.upload_input("a.png", b"x", Budget())


def test_queue_sends_our_ids_and_extra_data(mocker):
    api, session = api_answering(mocker, response(200, {"prompt_id": "p-1", "number": 0, "node_errors": {}}))
    api.queue_prompt(Prompt(id="p-1", client_id="c-1", workflow={}, extra_data={"api_key_comfy_org": "k"}), Budget())
    sent = json.loads(session.request.call_args.kwargs["data"])
    assert (sent["prompt_id"], sent["client_id"], sent["extra_data"]) == ("p-1", "c-1", {"api_key_comfy_org": "k"})


def test_every_call_takes_its_timeout_from_the_budget(mocker):
    api, session = api_answering(mocker, response(200, {"p": {}}))
    budget = Budget(deadline=0.0)
    with pytest.raises(JobTimedOut):
        api.queue_prompt(PROMPT, budget)
    assert session.request.call_count == 0


def test_prompt_state_reports_position_running_finished_and_lost(mocker):
    queue = {"queue_running": [[0, "run", {}, {}, []]], "queue_pending": [[2, "p-late", {}, {}, []], [1, "p-1", {}, {}, []]]}
    api, _ = api_answering(mocker, response(200, queue), response(200, queue),
                           response(200, {"queue_running": [], "queue_pending": []}), response(200, {}))
    assert api.prompt_state("p-1", Budget()).queue_position == 1
    assert api.prompt_state("run", Budget()).state == "running"
    assert api.prompt_state("gone", Budget()).state == "lost"
