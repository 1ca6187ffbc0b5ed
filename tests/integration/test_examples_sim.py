"""Every request in examples/ (the ones the documents show, tests/deploy/test_doc_examples.py) runs as written through
the worker's handler against the ComfyUI simulator, and answers what the documents say."""
import asyncio
import base64
import functools
import http.server
import io
import json
import threading

import pytest
from PIL import Image

from doc_blocks import ROOT, documented_answer
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler

EXAMPLES = ROOT / "examples"
SERVED_AT = "127.0.0.1:8080"  # where url_input.json reads its image, as docs/api.md serves examples/


def image(entry: dict) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(entry["data"])))


def request(answer: dict) -> None:
    [entry] = answer["images"]
    assert (entry["node_id"], entry["content_type"], image(entry).size) == ("3", "image/jpeg", (64, 64))


def inputs(answer: dict) -> None:
    saved, preview = answer["images"]
    assert (saved["node_id"], preview["node_id"]) == ("3", "4")
    assert preview["filename"].startswith("ComfyUI_temp_")
    assert {(e["type"], e["content_type"]) for e in answer["images"]} == {("base64", "image/webp")}


def url_input(answer: dict) -> None:
    [entry] = answer["images"]
    assert entry["filename"].startswith("from_url") and image(entry).size == (8, 8)


def ui_workflow(answer: dict) -> None:
    [entry] = answer["images"]
    assert entry["node_id"] == "2" and image(entry).size == (64, 64)
    assert image(entry).convert("RGB").getpixel((0, 0)) == (255, 0, 0)


def dry_run(answer: dict) -> None:
    workflow = json.loads((EXAMPLES / "dry_run.json").read_text())["input"]["workflow"]
    assert answer == {"status": "valid", "nodes": 2, "workflow_api": workflow}


def workflow_invalid(answer: dict) -> None:
    assert answer == documented_answer("examples/workflow_invalid.json")


EXPECTED = {"request.json": request, "inputs.json": inputs, "url_input.json": url_input, "dry_run.json": dry_run,
            "ui_workflow.json": ui_workflow,
            "workflow_invalid.json": workflow_invalid}
ENV = {"url_input.json": {"INPUT_URL_ALLOW_PRIVATE": "true"}}  # docs/api.md: loopback needs it


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def examples_served():
    """examples/ on loopback, as docs/api.md serves it (on a free port: the test points the request there)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietFiles, directory=str(EXAMPLES)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_every_example_has_its_expected_answer():
    assert set(EXPECTED) == {path.name for path in EXAMPLES.glob("*.json")}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_example_runs_as_written(name, comfy_sim, examples_served):
    text = (EXAMPLES / name).read_text().replace(SERVED_AT, examples_served)
    handler = make_handler(build_container({"COMFY_HOST": comfy_sim.host, **ENV.get(name, {})}))
    answer = asyncio.run(handler({"id": f"example-{name}", **json.loads(text)}))
    answer.pop("timings_ms", None)
    answer.pop("comfyui", None)
    EXPECTED[name](answer)
