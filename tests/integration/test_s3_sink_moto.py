"""S3OutputSink with the real rp_upload and boto3 against moto's S3 server on loopback."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer
from runpod.serverless.utils import rp_upload

from adapters.s3_sink import S3OutputSink
from domain.budget import Budget
from domain.errors import Cancelled, UploadFailed

ACCESS_KEY, SECRET_KEY = "testing-access-key", "testing-secret-key"
MP4 = bytes.fromhex("000000206674797069736f6d") + os.urandom(300_000)


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint):
    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)


@pytest.fixture
def bucket(s3, request):
    name = "outputs-" + request.node.name.replace("_", "-").replace("[", "-").replace("]", "").lower()[:40]
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def no_bucket_env(monkeypatch):
    """The sink must not need (nor read) BUCKET_* from the environment."""
    for name in ("BUCKET_ENDPOINT_URL", "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)


def _sink(endpoint, bucket, secret=SECRET_KEY):
    return S3OutputSink(endpoint_url=endpoint, access_key_id=ACCESS_KEY, secret_access_key=secret, bucket_name=bucket)


def _chunks(data, size=64 * 1024):
    return (data[i:i + size] for i in range(0, len(data), size))


def test_the_object_keeps_its_bytes_and_real_content_type_and_the_presigned_url_downloads(
        s3_endpoint, s3, bucket, temp_dir, no_bucket_env):
    url = _sink(s3_endpoint, bucket).store("job-42", "clip_00001_.mp4", "video/mp4", _chunks(MP4), Budget())

    [item] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert item["Key"].startswith("job-42/") and item["Key"].endswith(".mp4")
    stored = s3.get_object(Bucket=bucket, Key=item["Key"])
    assert stored["ContentType"] == "video/mp4" and stored["Body"].read() == MP4
    parts = urlsplit(url)
    assert url.startswith(s3_endpoint + "/") and parts.path == f"/{bucket}/{item['Key']}"
    assert "X-Amz-Signature=" in parts.query and "X-Amz-Expires=604800" in parts.query
    fetched = requests.get(url, timeout=30)
    assert fetched.status_code == 200 and fetched.content == MP4
    assert fetched.headers["Content-Type"] == "video/mp4"
    assert list(temp_dir.iterdir()) == []


def test_a_page_a_browser_would_run_is_stored_as_an_attachment_of_its_own_type(
        s3_endpoint, s3, bucket, temp_dir, no_bucket_env):
    url = _sink(s3_endpoint, bucket).store("job-43", "page_00001_.html", "text/html", [b"<script>1</script>"], Budget())

    [item] = s3.list_objects_v2(Bucket=bucket)["Contents"]
    stored = s3.get_object(Bucket=bucket, Key=item["Key"])
    assert stored["ContentType"] == "text/html" and stored["ContentDisposition"] == "attachment"
    assert requests.get(url, timeout=30).headers["Content-Disposition"] == "attachment"


def test_one_client_for_many_concurrent_uploads(s3_endpoint, s3, bucket, temp_dir, mocker):
    get_client = mocker.spy(rp_upload, "get_boto_client")
    sink = _sink(s3_endpoint, bucket)
    with ThreadPoolExecutor(4) as pool:
        urls = list(pool.map(lambda i: sink.store("job-7", f"out_{i}.png", "image/png", [b"png %d" % i], Budget()),
                             range(12)))
    assert get_client.call_count == 1
    assert len(set(urls)) == 12 and s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 12
    assert sorted(requests.get(u, timeout=30).content for u in urls) == sorted(b"png %d" % i for i in range(12))
    assert list(temp_dir.iterdir()) == []


def test_a_missing_bucket_is_upload_failed_naming_the_file(s3_endpoint, temp_dir):
    sink = _sink(s3_endpoint, "bucket-that-does-not-exist")
    with pytest.raises(UploadFailed) as caught:
        sink.store("job-1", "lost.png", "image/png", [b"x"], Budget())
    assert "lost.png" in str(caught.value) and "NoSuchBucket" in str(caught.value)
    assert list(temp_dir.iterdir()) == []


def test_refused_credentials_are_upload_failed_naming_the_file_without_the_secret(moto_with_auth, temp_dir):
    sink = _sink(moto_with_auth, "outputs", secret="wrong-secret-value")
    with pytest.raises(UploadFailed) as caught:
        sink.store("job-1", "refused.png", "image/png", [b"x"], Budget())
    message = str(caught.value)
    assert "refused.png" in message and "InvalidAccessKeyId" in message
    assert "wrong-secret-value" not in message and ACCESS_KEY not in message
    assert list(temp_dir.iterdir()) == []


def test_an_endpoint_that_is_down_is_upload_failed_naming_the_file(temp_dir):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = S3OutputSink(endpoint_url=f"http://user:pw-in-url@127.0.0.1:{port}", access_key_id=ACCESS_KEY,
                       secret_access_key=SECRET_KEY, bucket_name="outputs")
    with pytest.raises(UploadFailed) as caught:
        sink.store("job-1", "nowhere.png", "image/png", [b"x"], Budget())
    message = str(caught.value)
    assert "nowhere.png" in message and f"127.0.0.1:{port}" in message
    assert "pw-in-url" not in message and SECRET_KEY not in message
    assert list(temp_dir.iterdir()) == []


class StopInTheTransfer(Budget):
    """A budget that is cancelled at the first check made from the transfer's own threads (its progress callback)."""

    def check(self, doing=""):
        if threading.current_thread() is not threading.main_thread():
            self.stop.set()
        super().check(doing)


def test_a_cancel_during_a_multipart_upload_aborts_it(s3_endpoint, s3, bucket, temp_dir):
    data = os.urandom(12 * 1024 * 1024)  # above rp_upload's multipart threshold: several 5 MB parts

    with pytest.raises(Cancelled, match=r"uploading big\.bin"):
        _sink(s3_endpoint, bucket).store("job-9", "big.bin", "application/octet-stream", _chunks(data, 1024 * 1024),
                                         StopInTheTransfer())
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert list(temp_dir.iterdir()) == []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _moto_server(**env):
    """A moto server in its own process (its memory is then not counted by tracemalloc here)."""
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    give_up = time.monotonic() + 60
    while True:
        try:
            requests.get(endpoint, timeout=1)
            return process, endpoint
        except requests.RequestException:
            if process.poll() is not None or time.monotonic() > give_up:
                process.kill()
                raise AssertionError("moto server did not start") from None
            time.sleep(0.1)


@pytest.fixture
def moto_process():
    process, endpoint = _moto_server()
    yield endpoint
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture
def moto_with_auth():
    """moto checks credentials against its IAM when no action may go unauthenticated."""
    process, endpoint = _moto_server(INITIAL_NO_AUTH_ACTION_COUNT="0")
    yield endpoint
    process.terminate()
    process.wait(timeout=30)


def test_a_64_mb_stream_of_1_mb_chunks_peaks_well_under_8_mb_of_python_allocations(moto_process, temp_dir):
    boto3.client("s3", endpoint_url=moto_process, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                 aws_secret_access_key=SECRET_KEY).create_bucket(Bucket="big")
    sink = _sink(moto_process, "big")
    sink.prepare()  # the client (imports, endpoint data) is made once per worker; measure one store
    chunk = os.urandom(1024 * 1024)

    tracemalloc.start()
    try:
        url = sink.store("job-64", "big.bin", "application/octet-stream", (chunk for _ in range(64)), Budget())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    print(f"peak Python allocations while storing 64 MB: {peak / 2**20:.2f} MB")
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MB"
    head = requests.head(url, timeout=30)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == 64 * 1024 * 1024
    assert list(temp_dir.iterdir()) == []
