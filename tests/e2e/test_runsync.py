"""The whole worker through the RunPod SDK's local API, against the ComfyUI simulator."""
import base64
import io
import json

import boto3
import requests
from moto.server import ThreadedMotoServer
from PIL import Image

from e2e.conftest import ROOT, free_port
from log_lines import log_lines

SAMPLE = json.loads((ROOT / "test_input.json").read_text())["input"]


def png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image


def test_base64_mode_returns_every_saved_image(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host})
    answer = worker.runsync(SAMPLE)
    assert answer["status"] == "COMPLETED", answer
    images = answer["output"]["images"]
    assert [(i["node_id"], i["type"], i["content_type"]) for i in images] == [
        ("3", "base64", "image/png"), ("5", "base64", "image/png"), ("5", "base64", "image/png")]
    inverted = png(base64.b64decode(images[0]["data"])).convert("RGB")
    assert inverted.size == (64, 64) and inverted.getpixel((0, 0)) == (255, 255, 126)  # ComfyUI: float32, truncated
    assert [png(base64.b64decode(i["data"])).size for i in images[1:]] == [(128, 96), (128, 96)]
    assert "errors" not in answer["output"]


def test_the_readmes_request_runs_as_written_through_the_local_api(comfy_sim, start_worker):
    """README: `curl .../runsync -d @examples/request.json`, the file's bytes as they are."""
    worker = start_worker({"COMFY_HOST": comfy_sim.host})
    response = requests.post(worker.url + "/runsync", data=(ROOT / "examples" / "request.json").read_bytes(),
                             headers={"Content-Type": "application/json"}, timeout=120)
    answer = response.json()
    assert answer["status"] == "COMPLETED", answer
    [image] = answer["output"]["images"]
    assert image["content_type"] == "image/jpeg" and Image.open(io.BytesIO(base64.b64decode(image["data"]))).size == (
        64, 64)


def test_s3_mode_returns_urls_of_objects_in_the_bucket(comfy_sim, start_worker):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        secret = "e2e-secret-value-9f3a"
        s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="e2e-id", aws_secret_access_key=secret,
                          region_name="us-east-1")
        s3.create_bucket(Bucket="outputs")
        worker = start_worker({"COMFY_HOST": comfy_sim.host, "BUCKET_ENDPOINT_URL": endpoint,
                               "BUCKET_ACCESS_KEY_ID": "e2e-id", "BUCKET_SECRET_ACCESS_KEY": secret, "BUCKET_NAME": "outputs"})
        answer = worker.runsync(SAMPLE)
        assert answer["status"] == "COMPLETED", answer
        images = answer["output"]["images"]
        assert [i["type"] for i in images] == ["s3_url"] * 3
        # moto's servers in one process share their buckets: count only this job's objects
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="outputs", Prefix=answer["id"] + "/")["Contents"])
        assert len(keys) == 3 and all(key.endswith(".png") for key in keys)
        for image in images:
            assert png(requests.get(image["data"], timeout=10).content).size in ((64, 64), (128, 96))
        assert secret not in worker.output()
    finally:
        server.stop()


def test_failed_job_error_string_stands_on_its_own(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host})
    workflow = {
        "1": {"class_type": "EmptyImage", "inputs": {"width": 0, "height": 8, "batch_size": 1, "color": 0}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "e2e_bad"}},
    }
    answer = worker.runsync({"workflow": workflow})
    assert answer["status"] == "FAILED"
    assert set(answer) == {"id", "status", "error"}
    assert answer["error"].startswith("workflow_invalid: node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1")


def test_execution_error_names_node_and_exception(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host})
    workflow = json.loads((ROOT / "tests/fixtures/comfyui/workflows/execution_error.json").read_text())
    answer = worker.runsync({"workflow": workflow})
    assert answer["status"] == "FAILED"
    assert answer["error"].startswith("execution_failed: node 2 (ImageToMask): IndexError:")


def test_bad_configuration_answers_every_job_config_error(start_worker):
    """The worker starts and stays up (exiting made RunPod restart it in a loop, jobs left IN_QUEUE): each job is
    FAILED naming the variable, the problem is logged once at start and one line per job carries its id."""
    worker = start_worker({"OUTPUT_SINK": "ftp"})
    answers = [worker.runsync(SAMPLE) for _ in range(2)]
    expected = "config_error: OUTPUT_SINK: 'ftp' is not supported: use 'base64' or 's3'"
    assert [(a["status"], a["error"]) for a in answers] == [("FAILED", expected)] * 2
    assert worker.process.poll() is None
    log = worker.output()
    assert log.count("configuration error, every job will fail with config_error: OUTPUT_SINK:") == 1, log
    answered = [(line["requestId"], line["logger"]) for line in log_lines(log)
                if line["message"].startswith("job answered config_error: OUTPUT_SINK")]
    assert answered == [(answer["id"], "entrypoints.config_error") for answer in answers], log


def test_test_input_flag_runs_one_job_and_exits(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host}, "--test_input", json.dumps({"input": SAMPLE}))
    assert worker.process.wait(timeout=120) == 0, worker.output()
    assert "sample_inverted" in worker.output()


def test_test_input_runs_the_job_with_stream_outputs_too(comfy_sim, start_worker):
    """The SDK's local test awaits the handler and never iterates a generator: under it the handler is the plain
    one, so the job runs and its answer is printed."""
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "STREAM_OUTPUTS": "true"},
                          "--test_input", json.dumps({"input": SAMPLE}))
    assert worker.process.wait(timeout=120) == 0, worker.output()
    [result] = [line["message"] for line in log_lines(worker.output()) if line["message"].startswith("Job result:")]
    assert "sample_inverted" in result and "async_generator" not in result, result


def test_test_input_of_a_failed_job_logs_its_whole_error(comfy_sim, start_worker):
    """The SDK's local test prints only the failed answer's `error`: the worker's own `job failed` line carries the
    rest (error_code, details, data), once."""
    bad = {"1": {"class_type": "EmptyImage", "inputs": {"width": 0, "height": 8, "batch_size": 1, "color": 0}},
           "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "bad"}}}
    worker = start_worker({"COMFY_HOST": comfy_sim.host}, "--test_input", json.dumps({"input": {"workflow": bad}}))
    assert worker.process.wait(timeout=120) == 1, worker.output()
    [failed] = [line for line in log_lines(worker.output()) if line["message"].startswith("job failed: ")]
    assert failed["level"] == "ERROR" and failed["requestId"] == "local_test" and failed["logger"].startswith(
        "entrypoints."), failed
    assert failed["message"] == "job failed: workflow_invalid: node 1 (EmptyImage) input 'width': Value 0 smaller " \
        "than min of 1", failed
    assert failed["error_code"] == "workflow_invalid"
    assert failed["details"] == ["node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1"]
    assert failed["data"]["validation_errors"][0]["input"] == "width"


def test_warm_up_runs_before_the_worker_serves(comfy_sim, start_worker, tmp_path):
    workflow = tmp_path / "warmup.json"
    workflow.write_text(json.dumps({"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8,
                                                                              "batch_size": 1, "color": 5}},
                                    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0],
                                                                                "filename_prefix": "warmup"}}}))
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "WARMUP_WORKFLOW": str(workflow)})
    assert "warm-up workflow ran in" in worker.output()
    assert any(f.startswith("warmup_") for f in map(lambda p: p.rsplit("/", 1)[-1], comfy_sim.output_files()))
    assert worker.runsync(SAMPLE)["status"] == "COMPLETED"


def test_streamed_outputs_come_as_a_list_of_items_from_runsync(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "STREAM_OUTPUTS": "true"})
    answer = worker.runsync(SAMPLE)
    assert answer["status"] == "COMPLETED", answer
    items = answer["output"]
    assert isinstance(items, list) and len(items) == 4  # one item per output, then the summary
    assert sorted(item["images"][0]["node_id"] for item in items[:-1]) == ["3", "5", "5"]
    assert "timings_ms" in items[-1] and "images" not in items[-1]


def test_a_failed_streamed_job_reads_completed_from_the_local_api_with_its_error_as_the_last_item(
        comfy_sim, start_worker):
    """What docs/api.md says a local caller sees: the SDK's local /runsync (and /status) lists a generator's items
    as COMPLETED output, and a failed job's only item is its error answer; RunPod answers the same job FAILED
    (tests/e2e/test_production_loop.py)."""
    refused = {"1": {"class_type": "EmptyImage", "inputs": {"width": 0, "height": 8, "batch_size": 1, "color": 0}},
               "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "refused"}}}
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "STREAM_OUTPUTS": "true"})
    answer = worker.runsync({"workflow": refused})
    assert answer["status"] == "COMPLETED" and "error" not in answer, answer
    [item] = answer["output"]
    assert item["error"].startswith("workflow_invalid: node 1 (EmptyImage) input 'width': ") and \
        item["error_code"] == "workflow_invalid", item
    job_id = requests.post(worker.url + "/run", json={"input": {"workflow": refused}}, timeout=60).json()["id"]
    streamed = requests.post(f"{worker.url}/stream/{job_id}", timeout=120).json()
    assert streamed["status"] == "COMPLETED" and streamed["stream"] == [{"output": item}], streamed
