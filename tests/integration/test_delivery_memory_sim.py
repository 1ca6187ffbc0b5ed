"""Peak memory of delivering large outputs (issue: bounded memory), measured with tracemalloc around the delivery."""
import base64
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time
import tracemalloc

import boto3
import pytest
import requests

from adapters.base64_sink import Base64OutputSink
from adapters.comfy_view_source import ComfyViewOutputSource
from adapters.s3_sink import S3OutputSink
from answer_size import answer_bytes
from domain.budget import Budget
from domain.errors import ResponseTooLarge
from domain.model import JobResult, OutputRef
from domain.outputs.allowance import ResponseAllowance
from domain.outputs.delivery import Delivery, DeliveryOptions
from entrypoints.answers import RunPodAnswers

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
        refs.append(OutputRef(node_id=str(n + 1), output_key="my_files", filename=name))
    return refs


def peak_of(deliver) -> int:
    tracemalloc.start()
    try:
        deliver()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def deliver_all(sim, sink, refs, concurrency):
    delivery = Delivery("mem-job", source=ComfyViewOutputSource(sim.base_url), sink=sink, budget=Budget(),
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
    sink = S3OutputSink(endpoint_url=s3_endpoint, access_key_id="id", secret_access_key="key",
                       bucket_name="memory-test", region="us-east-1")
    sink.store("warm", "warm.bin", "application/octet-stream", iter([b"x"]), Budget())  # the client is made once
    peak = peak_of(lambda: deliver_all(comfy_sim, sink, big_outputs, concurrency=2))
    print(f"S3 delivery of {3 * SIZE // MB} MB: peak traced {peak / MB:.1f} MB")
    # a few MB per concurrent transfer (1 MiB /view chunks, the temp file's and boto3's buffers), whatever the
    # total size: measured 5.6 to 8.5 MB for the two transfers here
    assert peak < 2 * 8 * MB


def test_base64_delivery_holds_each_output_once_as_bytes_and_once_as_text(comfy_sim, big_outputs):
    refs = big_outputs[:2]
    peak = peak_of(lambda: deliver_all(comfy_sim, Base64OutputSink(), refs, concurrency=2))
    base64_total = 2 * SIZE * 4 // 3
    print(f"base64 delivery of {2 * SIZE // MB} MB: peak traced {peak / MB:.1f} MB")
    # The answer itself is the base64 text of every output. On top of it, each output in flight is held once as
    # text (its encoded chunks, until they are joined into the answer's string; CPython builds a str by copying),
    # never as whole bytes: at most OUTPUT_CONCURRENCY x the largest output's base64 + 32 MB.
    assert peak <= base64_total + 2 * (SIZE * 4 // 3) + 32 * MB


# ---- MAX_RESPONSE_BYTES while delivering: six 6.3 MB outputs over a 10 MB limit ----

LIMIT = 10_000_000
OUTPUT = 6_300_000


@pytest.fixture
def six_outputs(comfy_sim):
    """Six 6.3 MB files (random: base64 cannot be guessed), 8.4 MB each as base64: one fits in the answer."""
    refs = []
    for n in range(6):
        name = f"six_{n}.png"
        with open(f"{comfy_sim.dirs.root}/output/{name}", "wb") as handle:
            handle.write(os.urandom(OUTPUT))
        refs.append(OutputRef(node_id=str(n + 1), output_key="images", filename=name))
    return refs


def answer_within_the_limit(sim, refs, overflow, source=None, concurrency=2):
    """What run_job does with the outputs: deliver them within the limit; then the answer the entrypoint makes."""
    budget = Budget()
    source = source or ComfyViewOutputSource(sim.base_url)
    delivery = Delivery("mem-job", source=source, sink=Base64OutputSink(), budget=budget,
                        options=DeliveryOptions(concurrency=concurrency), allowance=ResponseAllowance(LIMIT, RunPodAnswers()),
                        overflow=overflow)
    stored, failures = delivery.finish(refs)
    assert not failures
    return RunPodAnswers().answer(JobResult(outputs=tuple(stored)))


class CountingSource(ComfyViewOutputSource):
    """The /view source, counting the bytes read from ComfyUI."""

    def __init__(self, base_url):
        super().__init__(base_url)
        self.bytes_read = 0

    def _chunks(self, *args):
        for chunk in super()._chunks(*args):
            self.bytes_read += len(chunk)
            yield chunk


def test_without_s3_the_job_fails_response_too_large_before_fetching_the_rest(comfy_sim, six_outputs):
    caught = []

    def deliver():
        with pytest.raises(ResponseTooLarge) as refusal:
            answer_within_the_limit(comfy_sim, six_outputs, overflow=None)
        caught.append(refusal.value)

    peak = peak_of(deliver)
    print(f"six {OUTPUT / 1e6} MB outputs over a {LIMIT / 1e6:.0f} MB limit, no S3: peak traced {peak / MB:.1f} MB")
    line = caught[0].summary()
    assert line.startswith("response_too_large: the outputs make a ") and "6,300,000 bytes)" in line
    # at most one output's base64 (as pieces, then joined): the others are refused by their Content-Length, and
    # the transfer in flight stops at the refusal. Before, all six were fetched and encoded first: 59.6 MB traced
    assert peak < 2 * (OUTPUT * 4 // 3) + 8 * MB


def test_without_s3_most_bytes_are_never_read_from_comfyui(comfy_sim, six_outputs):
    source = CountingSource(comfy_sim.base_url)
    with pytest.raises(ResponseTooLarge):
        answer_within_the_limit(comfy_sim, six_outputs, overflow=None, source=source)
    assert source.bytes_read <= 2 * OUTPUT  # what fits, and at most one more transfer cut short


def test_with_s3_the_outputs_past_the_limit_stream_there_and_the_answer_fits(comfy_sim, six_outputs, s3_endpoint):
    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="id", aws_secret_access_key="key",
                 region_name="us-east-1").create_bucket(Bucket="overflow-test")
    overflow = S3OutputSink(endpoint_url=s3_endpoint, access_key_id="id", secret_access_key="key",
                           bucket_name="overflow-test", region="us-east-1")
    overflow.store("warm", "warm.bin", "application/octet-stream", iter([b"x"]), Budget())  # the client is made once
    answers = []
    peak = peak_of(lambda: answers.append(answer_within_the_limit(comfy_sim, six_outputs, overflow)))
    print(f"six {OUTPUT / 1e6} MB outputs over a {LIMIT / 1e6:.0f} MB limit, S3 overflow: peak traced {peak / MB:.1f} MB")
    entries = answers[0]["images"]
    assert sorted(e["type"] for e in entries) == ["base64"] + ["s3_url"] * 5
    assert answer_bytes(answers[0]) <= LIMIT
    for entry in entries:
        data = base64.b64decode(entry["data"]) if entry["type"] == "base64" else requests.get(entry["data"], timeout=30).content
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    # the one inline output (held as pieces, then joined) and a few MB per concurrent S3 transfer: 18 MB measured.
    # Before, all six were encoded (50 MB) before five were decoded again and moved: 68.5 MB traced
    assert peak < 2 * (OUTPUT * 4 // 3) + 2 * 8 * MB


# ---- output_format on an image over OUTPUT_FORMAT_MAX_PIXELS ----

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"
# Runs in a process of its own: Pillow decodes outside tracemalloc's sight, so the peak is the process's RSS (Linux).
CONVERT_IN_A_CHILD = """
import json, re, sys
from adapters.base64_sink import Base64OutputSink
from adapters.comfy_view_source import ComfyViewOutputSource
from adapters.pillow_converter import PillowImageConverter
from domain.budget import Budget
from domain.outputs.delivery import Delivery, DeliveryOptions
from domain.model import OutputFormat, OutputRef
import PIL.Image, PIL.PngImagePlugin, PIL.JpegImagePlugin

def peak_rss_kb():  # this process's high-water mark (ru_maxrss would start from the parent's at the fork)
    with open("/proc/self/status") as status:
        return int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1))

before = peak_rss_kb()
delivery = Delivery("mem-job", source=ComfyViewOutputSource(sys.argv[1]), sink=Base64OutputSink(), budget=Budget(),
                    converter=PillowImageConverter(), options=DeliveryOptions(output_format=OutputFormat("jpeg", 90)))
[stored], notes = delivery.finish([OutputRef(node_id="9", output_key="images", filename="huge.png")])
grown_kb = peak_rss_kb() - before
print(json.dumps({"grown_kb": grown_kb, "filename": stored.filename, "content_type": stored.content_type,
                  "size_bytes": stored.size_bytes, "notes": [str(note) for note in notes]}))
"""


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory):
    """A black 10000x10000 PNG: 100 million pixels in some 300 kB; decoding it takes 400 MB, converting more."""
    from PIL import Image

    path = tmp_path_factory.mktemp("huge") / "huge.png"
    Image.new("RGB", (10000, 10000)).save(path)
    return path


def test_an_image_over_the_pixel_limit_is_delivered_unconverted_without_being_decoded(comfy_sim, huge_png):
    shutil.copy(huge_png, f"{comfy_sim.dirs.root}/output/huge.png")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", CONVERT_IN_A_CHILD, comfy_sim.base_url], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    print(f"10000x10000 PNG of {huge_png.stat().st_size:,} bytes with output_format jpeg: "
          f"max RSS grew {result['grown_kb'] / 1024:.0f} MB")
    assert (result["filename"], result["content_type"]) == ("huge.png", "image/png")
    assert result["size_bytes"] == huge_png.stat().st_size
    assert result["notes"] == ["output_not_converted: huge.png (node 9): 10000x10000 is over "
                               "OUTPUT_FORMAT_MAX_PIXELS (50,000,000 pixels)"]
    # converting it grew the RSS by 386 MB (jpeg) to 939 MB (webp); refused from its header, a few MB
    assert result["grown_kb"] < 100 * 1024


def test_two_jobs_in_flight_at_once_each_stay_within_one_jobs_bound(comfy_sim, six_outputs, s3_endpoint) -> None:
    """MAX_CONCURRENCY: each job has its own answer limit and holds what one job holds, side by side."""
    boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="id", aws_secret_access_key="key",
                 region_name="us-east-1").create_bucket(Bucket="overflow-two")
    overflow = S3OutputSink(endpoint_url=s3_endpoint, access_key_id="id", secret_access_key="key",
                           bucket_name="overflow-two", region="us-east-1")
    overflow.store("warm", "warm.bin", "application/octet-stream", iter([b"x"]), Budget())
    answers: dict[int, dict] = {}

    def both():
        jobs = [threading.Thread(target=lambda part=part: answers.__setitem__(
            part, answer_within_the_limit(comfy_sim, six_outputs[part * 3:part * 3 + 3], overflow)))
            for part in (0, 1)]
        for job in jobs:
            job.start()
        for job in jobs:
            job.join()

    peak = peak_of(both)
    print(f"two jobs of three 6.3 MB outputs at once, S3 overflow: peak traced {peak / MB:.1f} MB")
    for part in (0, 1):
        assert sorted(e["type"] for e in answers[part]["images"]) == ["base64", "s3_url", "s3_url"]
        assert answer_bytes(answers[part]) <= LIMIT
    assert peak < 2 * (2 * (OUTPUT * 4 // 3) + 2 * 8 * MB)
