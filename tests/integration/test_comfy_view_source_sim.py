"""ComfyViewOutputSource over real HTTP on loopback: the ComfyUI simulator, and a server that cuts bodies short."""
import http.server
import io
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from adapters.comfy_view_source import CHUNK_BYTES, ComfyViewOutputSource
from domain.budget import Budget
from domain.errors import Cancelled, OutputFetchFailed
from domain.model import OutputRef

WORKFLOW = Path(__file__).parent.parent / "fixtures" / "comfyui" / "workflows" / "empty_image_single.json"
HISTORY_WAIT_S = 10.0


def _run_empty_image(sim) -> OutputRef:
    """Queue EmptyImage(512x512) -> SaveImage and return the saved file as an OutputRef."""
    body = {"prompt": json.loads(WORKFLOW.read_text()), "client_id": str(uuid.uuid4())}
    response = requests.post(f"{sim.base_url}/prompt", json=body, timeout=10)
    assert response.status_code == 200, response.text
    prompt_id = response.json()["prompt_id"]
    give_up = time.monotonic() + HISTORY_WAIT_S
    while True:
        outputs = sim.history(prompt_id).get("outputs") or {}
        if outputs:
            break
        assert time.monotonic() < give_up, f"no outputs in the simulator's history for {prompt_id}"
        time.sleep(0.01)
    node_id, node_output = next(iter(outputs.items()))
    image = node_output["images"][0]
    return OutputRef(node_id=node_id, output_key="images", filename=image["filename"],
                     subfolder=image.get("subfolder", ""), folder_type=image.get("type", "output"))


def _upload_input(sim, name, data, subfolder=""):
    uploaded = requests.post(
        f"{sim.base_url}/upload/image",
        files={"image": (name, data, "image/png")},
        data={"type": "input", "subfolder": subfolder, "overwrite": "true"},
        timeout=10,
    )
    assert uploaded.status_code == 200 and uploaded.json()["name"] == name
    return OutputRef(node_id="0", output_key="images", filename=name, subfolder=subfolder, folder_type="input")


@pytest.fixture
def session():
    with requests.Session() as shared:
        yield shared


@pytest.fixture
def source(comfy_sim, session):
    return ComfyViewOutputSource(comfy_sim.base_url, session=session, timeout_s=10.0)


def _read(source, ref, budget=None):
    with source.open(ref, budget or Budget()) as download:
        return download, b"".join(download.chunks)


def test_open_streams_the_saved_png(comfy_sim, source):
    ref = _run_empty_image(comfy_sim)

    download, data = _read(source, ref)

    assert download.content_type == "image/png" and download.length == len(data)
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
    with Image.open(io.BytesIO(data)) as image:
        assert (image.format, image.size) == ("PNG", (512, 512))


def test_a_large_file_arrives_in_several_chunks_byte_for_byte(comfy_sim, source):
    body = b"\x89PNG\r\n\x1a\n" + os.urandom(3 * CHUNK_BYTES + 12_345)
    ref = _upload_input(comfy_sim, "big_00001_.png", body)

    with source.open(ref, Budget()) as download:
        chunks = list(download.chunks)

    assert len(chunks) >= 4 and max(map(len, chunks)) <= CHUNK_BYTES
    assert b"".join(chunks) == body and download.length == len(body)


def test_a_missing_file_is_output_fetch_failed_with_404(source):
    ref = OutputRef(node_id="2", output_key="images", filename="no_such_file_00001_.png")

    with pytest.raises(OutputFetchFailed, match="404") as caught:
        _read(source, ref)

    assert "no_such_file_00001_.png" in str(caught.value)


@pytest.mark.parametrize("ref, status", [
    (OutputRef(node_id="2", output_key="images", filename="../secret.png"), 400),
    (OutputRef(node_id="2", output_key="images", filename="a.png", subfolder="../.."), 403),
    (OutputRef(node_id="2", output_key="images", filename="a.png", folder_type="nonsense"), 400),
])
def test_refused_names_are_output_fetch_failed_with_comfyuis_status(source, ref, status):
    with pytest.raises(OutputFetchFailed) as caught:
        _read(source, ref)

    assert caught.value.data["status"] == status and "empty body" in str(caught.value)


def test_a_view_fault_500_is_output_fetch_failed(comfy_sim, source):
    ref = _run_empty_image(comfy_sim)
    comfy_sim.faults.view_status = {ref.filename: 500}

    with pytest.raises(OutputFetchFailed, match="500") as caught:
        _read(source, ref)

    assert ref.filename in str(caught.value)


def test_an_awkward_filename_and_subfolder_round_trip(comfy_sim, source):
    name, png = "my file #1 & ünï 画像.png", _png(7, 5)
    ref = _upload_input(comfy_sim, name, png, subfolder="sub dir")

    download, data = _read(source, ref)

    assert data == png and download.content_type == "image/png"


def test_a_cancel_mid_stream_raises_cancelled_and_the_session_still_works(comfy_sim, source):
    ref = _upload_input(comfy_sim, "long_00001_.png", b"\x89PNG\r\n\x1a\n" + os.urandom(4 * CHUNK_BYTES))
    stop = threading.Event()

    with pytest.raises(Cancelled), source.open(ref, Budget(stop=stop)) as download:
        next(download.chunks)
        stop.set()
        next(download.chunks)

    _, data = _read(source, _upload_input(comfy_sim, "after_00001_.png", _png(3, 3)))
    assert data.startswith(b"\x89PNG")


def test_a_connection_refused_is_output_fetch_failed(session):
    source = ComfyViewOutputSource(f"http://127.0.0.1:{_unused_port()}", session=session, connect_timeout_s=5.0)

    with pytest.raises(OutputFetchFailed, match="ConnectionError") as caught:
        _read(source, OutputRef(node_id="2", output_key="images", filename="x.png"))

    assert "x.png" in str(caught.value)


class _ShortBodyHandler(http.server.BaseHTTPRequestHandler):
    """Promises 10,000 bytes of PNG and sends 1,000, then closes the connection."""

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", "10000")
        self.end_headers()
        self.wfile.write(b"\x89PNG\r\n\x1a\n" + b"\x00" * 992)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def short_body_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ShortBodyHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_a_body_cut_short_is_output_fetch_failed_naming_the_file(short_body_server, session):
    source = ComfyViewOutputSource(short_body_server, session=session, timeout_s=10.0)

    with pytest.raises(OutputFetchFailed) as caught:
        _read(source, OutputRef(node_id="9", output_key="images", filename="cut_00001_.png"))

    assert "cut_00001_.png" in str(caught.value) and caught.value.data["filename"] == "cut_00001_.png"


def _unused_port() -> int:
    """A loopback port that was bound and released, so nothing listens there."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _png(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 128, 255)).save(buffer, format="PNG")
    return buffer.getvalue()
