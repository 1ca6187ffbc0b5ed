"""Text no UTF-8 can carry (a lone surrogate, JSON's "\\udc80" escape) in caller input or in what ComfyUI answers:
the job is refused or answered, never left without an answer (through the SDK's local API and the handler)."""
import json
from typing import Any

import pytest
import requests

from entrypoints.answers import sendable

SAVE: dict[str, Any] = {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "surrogate"}}
EMPTY: dict[str, Any] = {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 7}}

CASES = {
    "a PreviewAny source": {"workflow": {"1": {"class_type": "PreviewAny", "inputs": {"source": "x\udc80y"}}}},
    "a node id": {"workflow": {"1\udc80": EMPTY, "2": {**SAVE, "inputs": {"images": ["1\udc80", 0]}}}},
    "a class_type": {"workflow": {"1": {**EMPTY, "class_type": "Empty\udc80"}, "2": SAVE}},
    "a width": {"workflow": {"1": {**EMPTY, "inputs": {**EMPTY["inputs"], "width": "\udc80"}}, "2": SAVE}},
    "an input name": {"workflow": {"1": EMPTY, "2": SAVE},
                      "images": [{"name": "a\udc80.png", "image": "iVBORw0KGgo="}]},
    "a key of the input": {"workflow": {"1": EMPTY, "2": SAVE}, "\udc80": 1},
}


def _post_raw(url: str, body: dict) -> requests.Response:
    # json.dumps escapes the surrogate as \udc80, which is valid JSON text: the server decodes it back
    return requests.post(url + "/runsync", data=json.dumps({"input": body}),
                         headers={"Content-Type": "application/json"}, timeout=60)


@pytest.mark.parametrize("case", list(CASES))
def test_a_lone_surrogate_in_caller_text_is_refused_through_the_local_api(comfy_sim, start_worker, case):
    worker = start_worker({"COMFY_HOST": comfy_sim.host})
    response = _post_raw(worker.url, CASES[case])
    assert response.status_code == 200, response.text[:300]  # was HTTP 500: UnicodeEncodeError in the answer
    answer = response.json()
    assert answer["status"] == "FAILED"
    assert answer["error"].startswith("invalid_input: ") and "surrogate" in answer["error"]
    assert "\ufffd" not in answer["error"]


def test_the_edge_replaces_what_cannot_be_encoded_instead_of_crashing():
    answer = {"images": [{"filename": "a\udc80.png", "data": "QUJD"}], "text": [{"data": "\ud800 ok"}],
              "k\udfff": ["x", 1, None, {"deep": "\udc80"}]}
    sent = sendable(answer)
    encoded = json.dumps(sent, ensure_ascii=False).encode("utf-8")  # what the SDK does with an answer
    assert json.loads(encoded) == {"images": [{"filename": "a\ufffd.png", "data": "QUJD"}],
                                   "text": [{"data": "\ufffd ok"}], "k\ufffd": ["x", 1, None, {"deep": "\ufffd"}]}
    assert sendable({"plain": "ascii", "n": 2}) == {"plain": "ascii", "n": 2}

