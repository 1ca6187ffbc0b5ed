"""Nothing the worker or the RunPod SDK prints holds a secret or a base64 payload, in each way the worker is run."""
import base64
import io
import json
import os
import re

import boto3
import pytest
from moto.server import ThreadedMotoServer
from PIL import Image

from e2e.conftest import ROOT, free_port

SAMPLE = json.loads((ROOT / "test_input.json").read_text())["input"]
SECRETS = {"COMFY_ORG_API_KEY": "env-org-key-5d1e7c", "BUCKET_ACCESS_KEY_ID": "e2e-access-id-77ab",
           "BUCKET_SECRET_ACCESS_KEY": "e2e-bucket-secret-90fe"}
JOB_KEY = "job-org-key-c4f8a2"
BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{100,}")


def _noise_png_base64() -> str:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (48, 48), os.urandom(48 * 48 * 3)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


INPUT_IMAGE = _noise_png_base64()
JOB_INPUT = {**SAMPLE, "comfy_org_api_key": JOB_KEY,
             "images": [{"name": SAMPLE["images"][0]["name"], "image": "data:image/png;base64," + INPUT_IMAGE}]}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _env(comfy_sim, s3_endpoint, **extra) -> dict:
    return {"COMFY_HOST": comfy_sim.host, "BUCKET_ENDPOINT_URL": s3_endpoint, **SECRETS, **extra}


def _windows(payload: str, width: int = 40):
    """Slices of a payload: a truncated print (the SDK cuts long lines in the middle) still shows some of them."""
    return {payload[i:i + width] for i in range(0, max(1, len(payload) - width), width)}


def assert_clean(output: str, *payloads: str) -> None:
    for name, value in {**SECRETS, "comfy_org_api_key": JOB_KEY}.items():
        assert value not in output, f"{name} appears in the worker's output"
    for payload in (INPUT_IMAGE, *payloads):
        leaked = [window for window in _windows(payload) if window in output]
        assert not leaked, f"a base64 payload appears in the worker's output: {leaked[0]}"
    run = BASE64_RUN.search(output)
    assert not run, f"a base64-looking run appears: {run.group()[:60]}"


@pytest.mark.parametrize("levels", [{}, {"RUNPOD_LOG_LEVEL": "DEBUG", "LOG_LEVEL": "DEBUG"}], ids=["default", "debug"])
@pytest.mark.parametrize("sink", ["base64", "s3"])
def test_test_input_mode(comfy_sim, s3_endpoint, start_worker, levels, sink):
    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="x",
                 aws_secret_access_key="y").create_bucket(Bucket="outputs")
    worker = start_worker(_env(comfy_sim, s3_endpoint, OUTPUT_SINK=sink, BUCKET_NAME="outputs", **levels),
                          "--test_input", json.dumps({"input": JOB_INPUT}))
    worker.process.wait(timeout=120)
    output = worker.output()
    assert worker.process.returncode == 0, output
    assert "Job result" in output and "error" not in output.split("Job result", 1)[1].split("\n", 1)[0], output
    assert_clean(output)


def test_local_api_mode(comfy_sim, s3_endpoint, start_worker):
    worker = start_worker(_env(comfy_sim, s3_endpoint, OUTPUT_SINK="base64", RUNPOD_LOG_LEVEL="DEBUG"))
    answer = worker.runsync(JOB_INPUT)
    assert answer["status"] == "COMPLETED", answer
    outputs = [image["data"] for image in answer["output"]["images"]]
    assert outputs and all(len(data) > 100 for data in outputs)
    assert_clean(worker.output(), *outputs)


def test_runpod_production_loop(comfy_sim, s3_endpoint, runpod_standin, production_worker):
    """RunPod's own code path: job-take, progress, result post, against the RunPod stand-in, at DEBUG."""
    worker = production_worker(runpod_standin, _env(comfy_sim, s3_endpoint, OUTPUT_SINK="base64",
                                                    RUNPOD_LOG_LEVEL="DEBUG", LOG_LEVEL="DEBUG"))
    job = runpod_standin.submit(JOB_INPUT)
    done = runpod_standin.wait_for(lambda: runpod_standin.book.jobs[job.id].status in ("COMPLETED", "FAILED"),
                                   what="the job's result")
    assert done and runpod_standin.book.jobs[job.id].status == "COMPLETED", worker.output()
    outputs = [image["data"] for image in runpod_standin.book.jobs[job.id].output["images"]]
    assert_clean(worker.output(), *outputs)


def test_websocket_trace_and_url_credentials_stay_out_of_the_logs(comfy_sim, s3_endpoint, start_worker, tmp_path):
    """WEBSOCKET_TRACE prints every frame; a URL input carries credentials and a token: none of it is printed."""
    import http.server
    import threading

    body = base64.b64decode(INPUT_IMAGE)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://url-user:url-pass-31f9@127.0.0.1:{server.server_address[1]}/in.png?token=url-token-8c2e"
        worker = start_worker(_env(comfy_sim, s3_endpoint, OUTPUT_SINK="base64", WEBSOCKET_TRACE="true",
                                   RUNPOD_LOG_LEVEL="DEBUG", LOG_LEVEL="DEBUG", INPUT_URL_ALLOW_PRIVATE="true"))
        job = {**JOB_INPUT, "images": [{"name": SAMPLE["images"][0]["name"], "url": url}]}
        answer = worker.runsync(job)
    finally:
        server.shutdown()
        server.server_close()
    assert answer["status"] == "COMPLETED", answer
    output = worker.output()
    assert "url-pass-31f9" not in output and "url-token-8c2e" not in output
    assert_clean(output, *[image["data"] for image in answer["output"]["images"]])
