"""Peak memory of delivering large outputs (issue: bounded memory), measured with tracemalloc around the delivery."""
import subprocess
import sys
import time
import tracemalloc

import boto3
import pytest
import requests

from adapters.base64_sink import Base64ImageSink
from adapters.comfy_view_source import ComfyViewImageSource
from adapters.s3_sink import S3ImageSink
from domain.budget import Budget
from domain.delivery import Delivery, DeliveryOptions
from domain.model import OutputRef

pytestmark = pytest.mark.integration

MB = 1024 * 1024
SIZE = 48 * MB


@pytest.fixture
def big_outputs(comfy_sim):
    """Three 48 MB files in the simulator's output folder, served by its /view."""
    refs = []
    for n in range(3):
        name = f"big_{n}.bin"
        with open(f"{comfy_sim.dirs.root}/output/{name}", "wb") as handle:
            for _ in range(SIZE // MB):
                handle.write(bytes([n]) * MB)
        refs.append(OutputRef(node_id=str(n + 1), kind="my_files", filename=name))
    return refs


def peak_of(deliver) -> int:
    tracemalloc.start()
    try:
        deliver()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def deliver_all(sim, sink, refs, concurrency):
    delivery = Delivery("mem-job", source=ComfyViewImageSource(sim.base_url), sink=sink, budget=Budget(),
                        options=DeliveryOptions(concurrency=concurrency))
    for ref in refs:
        delivery.submit(ref)
    stored, failures = delivery.finish(refs)
    assert not failures and [s.size_bytes for s in stored] == [SIZE] * len(refs)
    return stored


@pytest.fixture
def s3_endpoint():
    """moto's S3 server in a process of its own, so that the objects it keeps are not traced here."""
    from loopback import free_port
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        try:
            requests.get(endpoint, timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


def test_s3_delivery_streams_a_few_mb_per_transfer_whatever_the_total(comfy_sim, big_outputs, s3_endpoint):
    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="id", aws_secret_access_key="key",
                 region_name="us-east-1").create_bucket(Bucket="memory-test")
    sink = S3ImageSink(endpoint_url=s3_endpoint, access_key_id="id", secret_access_key="key",
                       bucket_name="memory-test", region="us-east-1")
    sink.store("warm", "warm.bin", "application/octet-stream", iter([b"x"]), Budget())  # the client is made once
    peak = peak_of(lambda: deliver_all(comfy_sim, sink, big_outputs, concurrency=2))
    print(f"S3 delivery of {3 * SIZE // MB} MB: peak traced {peak / MB:.1f} MB")
    # a few MB per concurrent transfer (1 MiB /view chunks, the temp file's and boto3's buffers), whatever the
    # total size: measured 5.6 to 8.5 MB for the two transfers here
    assert peak < 2 * 8 * MB


def test_base64_delivery_holds_each_output_once_as_bytes_and_once_as_text(comfy_sim, big_outputs):
    refs = big_outputs[:2]
    peak = peak_of(lambda: deliver_all(comfy_sim, Base64ImageSink(), refs, concurrency=2))
    base64_total = 2 * SIZE * 4 // 3
    print(f"base64 delivery of {2 * SIZE // MB} MB: peak traced {peak / MB:.1f} MB")
    # The answer itself is the base64 text of every output. On top of it, each output in flight is held once as
    # text (its encoded chunks, until they are joined into the answer's string; CPython builds a str by copying),
    # never as whole bytes: at most OUTPUT_CONCURRENCY x the largest output's base64 + 32 MB.
    assert peak <= base64_total + 2 * (SIZE * 4 // 3) + 32 * MB
