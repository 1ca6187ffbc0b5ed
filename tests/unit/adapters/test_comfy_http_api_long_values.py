"""A workflow holding a 30 MB string is sent and its refusal read over loopback HTTP in calls of bounded size: no
one call of the JSON encoder, decoder or scanner is handed more than a slice of it, so no call holds the interpreter
(and the event loop's thread with it) for long, whatever the machine's load. The loop's lag itself is a figure of
`python -m bench.loop_lag`."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from adapters import json_chunks
from adapters.comfy_http_api import ComfyHttpApi
from adapters.json_chunks import MAX_PARSED, SLICE
from domain.budget import Budget
from domain.errors import NodeMissing
from domain.model import Prompt

LONG = ("a-" * 15_000_000)[:30_000_000]
REFUSAL = json.dumps({"error": {"type": "invalid_prompt", "message": f"Cannot execute because node {LONG} does not exist.",
                                "details": "Node ID '#1'", "extra_info": {}}, "node_errors": {}}).encode()


class RefusingComfy(BaseHTTPRequestHandler):
    """POST /prompt: reads the body as sent and refuses it as ComfyUI does, repeating the class_type."""

    received: ClassVar[list] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        RefusingComfy.received.append(body)
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(REFUSAL)))
        self.end_headers()
        self.wfile.write(REFUSAL)

    def log_message(self, *args):
        pass


@pytest.fixture
def comfy_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingComfy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def longest_string(value, limit: int = 1_000_000) -> int:
    """The longest string in a JSON-like value (a walk of at most `limit` items)."""
    longest, pending = 0, [value]
    while pending and limit:
        item, limit = pending.pop(), limit - 1
        if isinstance(item, (str, bytes)):
            longest = max(longest, len(item))
        elif isinstance(item, dict):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, (list, tuple)):
            pending += item
    return longest


def test_a_30_mb_class_type_is_sent_whole_and_refused_in_calls_of_bounded_size(comfy_url, mocker):
    dumps, loads = mocker.spy(json, "dumps"), mocker.spy(json, "loads")
    escapes = mocker.spy(json_chunks, "encode_basestring_ascii")
    scans = mocker.spy(json_chunks, "_end")
    workflow = {"1": {"class_type": LONG, "inputs": {}}}
    api = ComfyHttpApi(comfy_url)
    with pytest.raises(NodeMissing) as refused:
        api.queue_prompt(Prompt(id="p-1", client_id="c-1", workflow=workflow), Budget())
    calls = {"json.dumps": [longest_string(call.args[0]) for call in dumps.call_args_list],
             "json.loads": [len(call.args[0]) for call in loads.call_args_list],
             "escape": [len(call.args[0]) for call in escapes.call_args_list],
             "scan": [call.args[3] - call.args[2] for call in scans.call_args_list]}
    assert len(str(refused.value)) < 2_000
    assert json.loads(RefusingComfy.received[-1])["prompt"] == {"1": {**workflow["1"], "_meta": {}}}
    assert len(calls["escape"]) >= len(LONG) // SLICE and len(calls["scan"]) >= len(REFUSAL) // SLICE
    assert max(calls["escape"]) <= SLICE and max(calls["scan"]) <= SLICE, {k: max(v) for k, v in calls.items()}
    assert max(calls["json.dumps"], default=0) <= SLICE and max(calls["json.loads"]) <= MAX_PARSED, calls
