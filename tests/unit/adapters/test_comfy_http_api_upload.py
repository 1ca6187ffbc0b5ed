"""POST /upload/image: the fields sent, and answers naming another file than ours are errors (a name with folders
reaching its folder is proven against the simulator: tests/integration/test_input_subfolders_sim.py)."""
import json

import pytest
import requests

from adapters.comfy_http_api import ComfyHttpApi
from domain.budget import Budget
from domain.errors import ComfyError


def answer(body):
    r = requests.Response()
    r.status_code, r._content = 200, json.dumps(body).encode()
    r.headers["Content-Type"] = "application/json"
    return r


def api_answering(mocker, body):
    session = mocker.Mock(spec=requests.Session)
    session.request.return_value = answer(body)
    return ComfyHttpApi("http://h:1", session=session), session


def test_a_plain_name_is_sent_as_before_without_a_subfolder(mocker):
    api, session = api_answering(mocker, {"name": "a.png", "subfolder": "", "type": "input"})
    api.upload_input("a.png", b"x", Budget())
    sent = session.request.call_args.kwargs
    assert sent["files"]["image"][:2] == ("a.png", b"x")
    assert sent["data"] == {"type": "input"}


def test_stored_in_another_folder_is_an_error(mocker):
    api, _ = api_answering(mocker, {"name": "a.png", "subfolder": "", "type": "input"})
    with pytest.raises(ComfyError, match=r"'sub/a.png' as 'a.png'"):
        api.upload_input("sub/a.png", b"x", Budget())


def test_a_file_already_there_is_never_replaced_comfyui_renames_ours_and_that_is_an_error(mocker):
    api, _ = api_answering(mocker, {"name": "a (1).png", "subfolder": "job-x", "type": "input"})
    with pytest.raises(ComfyError, match=r"'job-x/a.png' as 'job-x/a \(1\).png'"):
        api.upload_input("job-x/a.png", b"x", Budget())
