"""Inputs given by URL: downloaded with the SSRF guard, uploaded to ComfyUI, used by the workflow."""
import asyncio
import http.server
import io
import threading

import pytest
from PIL import Image

from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler

WORKFLOW = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "from_url.png"}},
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "url_inverted"}},
}


@pytest.fixture
def image_server():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 100, 50)).save(buffer, "PNG")
    body = buffer.getvalue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://user:secret@127.0.0.1:{server.server_address[1]}/pics/a.png?token=abc"
    server.shutdown()
    server.server_close()


def answer(sim, url, **env):
    handler = make_handler(build_container({"COMFY_HOST": sim.host, **env}))
    job = {"id": "u1", "input": {"workflow": WORKFLOW, "images": [{"name": "from_url.png", "url": url}]}}
    return asyncio.run(handler(job))


def test_a_loopback_url_is_refused_by_default_without_leaking_credentials(comfy_sim, image_server):
    response = answer(comfy_sim, image_server)
    assert response["error_code"] == "invalid_input"
    assert "secret" not in response["error"] and "token" not in response["error"]
    assert not comfy_sim.state.history


def test_a_url_input_is_downloaded_and_used_when_private_addresses_are_allowed(comfy_sim, image_server):
    response = answer(comfy_sim, image_server, INPUT_URL_ALLOW_PRIVATE="true")
    assert response["images"], response


def test_inline_and_url_inputs_together_within_the_total(comfy_sim, image_server):
    import base64

    handler = make_handler(build_container({"COMFY_HOST": comfy_sim.host, "INPUT_URL_ALLOW_PRIVATE": "true",
                                            "INPUT_MAX_TOTAL_BYTES": "2000", "INPUT_MAX_FILES": "2"}))
    inline = {"name": "inline.bin", "image": base64.b64encode(b"x" * 1000).decode("ascii")}
    images = [inline, {"name": "from_url.png", "url": image_server}]
    response = asyncio.run(handler({"id": "u2", "input": {"workflow": WORKFLOW, "images": images}}))
    assert response["images"], response
    [uploaded_into] = [name for name in comfy_sim.dirs.input_files() if name.endswith("/inline.bin")]
    with open(comfy_sim.dirs.input_path(uploaded_into), "rb") as uploaded:
        assert uploaded.read() == b"x" * 1000
