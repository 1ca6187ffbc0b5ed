"""ComfyViewImageSource against the ComfyUI simulator over real HTTP on loopback."""
import io
import json
import time
import uuid
from pathlib import Path

import pytest
import requests
from PIL import Image

from adapters.comfy_view_source import ComfyViewImageSource
from domain.errors import OutputFetchFailed
from domain.model import OutputRef

pytestmark = pytest.mark.integration

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
    return OutputRef(node_id=node_id, kind="images", filename=image["filename"],
                     subfolder=image.get("subfolder", ""), type=image.get("type", "output"))


@pytest.fixture
def source(comfy_sim):
    session = requests.Session()
    yield ComfyViewImageSource(comfy_sim.base_url, session=session, timeout_s=10.0)
    session.close()


def test_fetch_returns_the_saved_png(comfy_sim, source):
    ref = _run_empty_image(comfy_sim)

    blob = source.fetch(ref)

    assert blob.content_type == "image/png"
    assert blob.data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(blob.data)) as image:
        image.verify()
    with Image.open(io.BytesIO(blob.data)) as image:
        assert (image.format, image.size) == ("PNG", (512, 512))


def test_a_missing_file_is_output_fetch_failed_with_404(source):
    ref = OutputRef(node_id="2", kind="images", filename="no_such_file_00001_.png")

    with pytest.raises(OutputFetchFailed, match="404") as caught:
        source.fetch(ref)

    assert "no_such_file_00001_.png" in str(caught.value)


def test_a_view_fault_500_is_output_fetch_failed(comfy_sim, source):
    ref = _run_empty_image(comfy_sim)
    comfy_sim.faults.view_status = {ref.filename: 500}

    with pytest.raises(OutputFetchFailed, match="500") as caught:
        source.fetch(ref)

    assert ref.filename in str(caught.value)


def test_an_awkward_filename_and_subfolder_round_trip(comfy_sim, source):
    name, png = "my file #1 & ünï 画像.png", _png(7, 5)
    uploaded = requests.post(
        f"{comfy_sim.base_url}/upload/image",
        files={"image": (name, png, "image/png")},
        data={"type": "input", "subfolder": "sub dir", "overwrite": "true"},
        timeout=10,
    )
    assert uploaded.status_code == 200 and uploaded.json()["name"] == name

    blob = source.fetch(OutputRef(node_id="0", kind="images", filename=name, subfolder="sub dir", type="input"))

    assert blob.data == png and blob.content_type == "image/png"


def _png(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (0, 128, 255)).save(buffer, format="PNG")
    return buffer.getvalue()
