"""One job of every output kind through the SDK's local API, in base64 and in S3 mode (moto), plus the size limit."""
import base64
import hashlib
import re

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from contract import COMFY_TEST_URL
from e2e.conftest import free_port

EVERY_KIND = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 48, "height": 32, "batch_size": 2, "color": 1193046}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "kinds_still"}},
    "3": {"class_type": "SaveAnimatedWEBP", "inputs": {"images": ["1", 0], "filename_prefix": "kinds_anim", "fps": 6.0,
                                                       "lossless": True, "quality": 80, "method": "default"}},
    "4": {"class_type": "EmptyAudio", "inputs": {"duration": 0.25, "sample_rate": 22050, "channels": 1}},
    "5": {"class_type": "SaveAudio", "inputs": {"audio": ["4", 0], "filename_prefix": "audio/kinds_flac"}},
    "6": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "7": {"class_type": "SaveLatent", "inputs": {"samples": ["6", 0], "filename_prefix": "latents/kinds_latent"}},
    "8": {"class_type": "GetImageSize", "inputs": {"image": ["1", 0]}},
    "9": {"class_type": "PreviewAny", "inputs": {"source": ["8", 0]}},
    "10": {"class_type": "SimSaveCustom", "inputs": {"images": ["1", 0], "filename_prefix": "custom/kinds"}},
    "11": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}},
    "12": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
}
if COMFY_TEST_URL:  # a real ComfyUI has no custom-key node: the simulator's SimSaveCustom stands in for one
    del EVERY_KIND["10"]


def check_entries(output, fetch):
    assert [e["node_id"] for e in output["images"]] == ["2", "2", "3", "11", "11"]
    assert [e["content_type"] for e in output["images"]] == ["image/png", "image/png", "image/webp", "image/png", "image/png"]
    assert [e["filename"] for e in output["images"][3:]] == ["websocket_11_00001_.png", "websocket_11_00002_.png"]
    assert [(e["node_id"], e["content_type"]) for e in output["audio"]] == [("5", "audio/flac")]
    assert [(e["node_id"], e["subfolder"]) for e in output["latents"]] == [("7", "latents")]
    assert [e["node_id"] for e in output.get("my_files", [])] == ([] if COMFY_TEST_URL else ["10", "10"])
    assert output["text"] == [{"node_id": "9", "type": "text", "data": output["text"][0]["data"]}]
    for key in ("images", "audio", "latents", "my_files"):
        for entry in output.get(key, []):
            data = fetch(entry)
            assert len(data) == entry["size_bytes"] and hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert all(e["type"] != "temp" and not e["filename"].startswith("ComfyUI_temp") for e in output["images"])


def test_every_kind_in_base64_mode(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host})
    answer = worker.runsync({"workflow": EVERY_KIND})
    assert answer["status"] == "COMPLETED", answer
    check_entries(answer["output"], lambda entry: base64.b64decode(entry["data"]))
    with_temp = worker.runsync({"workflow": EVERY_KIND, "include_temp": True})["output"]
    assert any(e["node_id"] == "12" for e in with_temp["images"])


@pytest.fixture
def bucket():
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="id", aws_secret_access_key="key",
                 region_name="us-east-1").create_bucket(Bucket="kinds-outputs")
    yield {"BUCKET_ENDPOINT_URL": endpoint, "BUCKET_ACCESS_KEY_ID": "id", "BUCKET_SECRET_ACCESS_KEY": "key",
           "BUCKET_NAME": "kinds-outputs"}
    server.stop()


def test_every_kind_in_s3_mode(comfy_sim, start_worker, bucket):
    worker = start_worker({"COMFY_HOST": comfy_sim.host, **bucket})
    answer = worker.runsync({"workflow": EVERY_KIND})
    assert answer["status"] == "COMPLETED", answer
    assert {e["type"] for key in ("images", "audio", "latents", "my_files") for e in answer["output"].get(key, [])} == {"s3_url"}
    check_entries(answer["output"], lambda entry: requests.get(entry["data"], timeout=10).content)


BIG = {"1": {"class_type": "EmptyImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1, "color": 0}},
       "2": {"class_type": "ImageAddNoise", "inputs": {"image": ["1", 0], "seed": 7, "strength": 1.0}},
       "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "kinds_big"}}}


def test_an_answer_over_the_limit_is_refused_clearly_without_s3(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "MAX_RESPONSE_BYTES": "100000"})
    answer = worker.runsync({"workflow": BIG})
    assert answer["status"] == "FAILED"
    assert answer["error"].startswith("response_too_large: the outputs make a ")
    assert re.search(r"kinds_big_\d{5}_\.png \(node 3, [\d,]+ bytes\)", answer["error"]) and "S3" in answer["error"]


def test_an_answer_over_the_limit_moves_outputs_to_s3_when_configured(comfy_sim, start_worker, bucket):
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "OUTPUT_SINK": "base64", "MAX_RESPONSE_BYTES": "100000", **bucket})
    answer = worker.runsync({"workflow": BIG})
    assert answer["status"] == "COMPLETED", answer
    [entry] = answer["output"]["images"]
    assert entry["type"] == "s3_url"
    assert hashlib.sha256(requests.get(entry["data"], timeout=10).content).hexdigest() == entry["sha256"]
