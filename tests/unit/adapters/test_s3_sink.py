"""S3OutputSink at the boto edge: one client for many stores, the real content type, the temp file always gone."""
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from adapters.s3_sink import S3OutputSink
from domain.budget import Budget
from domain.errors import Cancelled, JobTimedOut, OutputFetchFailed, UploadFailed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
MP4 = bytes.fromhex("000000206674797069736f6d") + b"\x00" * 20
URL = "https://bucket.s3.example.com/job-1/abcd1234.png?X-Amz-Signature=deadbeef"
CREDENTIALS = {"endpointUrl": "https://minio.local:9000", "accessId": "AKIAKEYID", "accessSecret": "s3cr3t-value"}


class FakeClient:
    """Records every upload (path, bytes seen while the call ran) and plays the transfer's progress callback."""

    def __init__(self, error=None, on_progress=None):
        self.error, self.on_progress = error, on_progress
        self.uploads = []
        self.lock = threading.Lock()

    def upload_file(self, path, bucket, key, ExtraArgs=None, Config=None, Callback=None):
        with open(path, "rb") as handle:
            data = handle.read()
        with self.lock:
            self.uploads.append({"path": path, "bucket": bucket, "key": key, "extra": ExtraArgs, "config": Config,
                                 "data": data})
        if self.on_progress:
            self.on_progress()
        Callback(len(data))
        if self.error:
            raise self.error

    def generate_presigned_url(self, operation, Params, ExpiresIn):
        assert (operation, ExpiresIn) == ("get_object", 604800)
        return f"https://minio.local:9000/{Params['Bucket']}/{Params['Key']}?X-Amz-Signature=x"


@pytest.fixture
def boto_edge(mocker):
    def install(client):
        return mocker.patch("runpod.serverless.utils.rp_upload.get_boto_client", return_value=(client, "transfer-cfg"))
    return install


def _sink(**overrides):
    settings = {"endpoint_url": CREDENTIALS["endpointUrl"], "access_key_id": CREDENTIALS["accessId"],
                "secret_access_key": CREDENTIALS["accessSecret"], "bucket_name": "outputs", **overrides}
    return S3OutputSink(**settings)


def test_store_uploads_the_chunks_with_content_type_under_the_job_and_returns_the_presigned_url(boto_edge):
    client = FakeClient()
    get_client = boto_edge(client)

    url = _sink().store("job-1", "clip_00001_.mp4", "video/mp4", iter([MP4[:10], b"", MP4[10:]]), Budget())

    get_client.assert_called_once_with(CREDENTIALS)
    [upload] = client.uploads
    assert upload["data"] == MP4 and upload["bucket"] == "outputs" and upload["config"] == "transfer-cfg"
    assert upload["extra"] == {"ContentType": "video/mp4"}
    assert re.fullmatch(r"job-1/[0-9a-f]{8}\.mp4", upload["key"])
    assert url == f"https://minio.local:9000/outputs/{upload['key']}?X-Amz-Signature=x"
    assert not os.path.exists(upload["path"])


@pytest.mark.parametrize("filename, first_chunk, extension", [
    ("a.PNG", PNG, ".png"), ("no_extension", MP4, ".mp4"), ("no_extension", b"unknown", ".png"),
])
def test_the_key_extension_comes_from_the_name_else_the_first_chunk(boto_edge, filename, first_chunk, extension):
    client = FakeClient()
    boto_edge(client)
    _sink().store("job-1", filename, "", [first_chunk], Budget())
    assert client.uploads[0]["key"].endswith(extension)
    assert client.uploads[0]["extra"] is None


def test_one_client_serves_many_stores_from_many_threads(boto_edge, mocker):
    client = FakeClient()
    get_client = boto_edge(client)
    sink = _sink()
    gate = threading.Barrier(8)

    def store(index):
        gate.wait(timeout=30)  # all threads ask for the client at once
        return sink.store("job-1", f"out_{index}.png", "image/png", [PNG], Budget())

    with ThreadPoolExecutor(8) as pool:
        urls = list(pool.map(store, range(24)))

    assert get_client.call_count == 1
    assert len(client.uploads) == 24 and len(set(urls)) == 24


def test_a_boto_error_is_upload_failed_naming_the_file_without_credentials(boto_edge):
    error = RuntimeError('Could not connect to "https://AKIAKEYID:s3cr3t-value@minio.local:9000/outputs" s3cr3t-value')
    client = FakeClient(error=error)
    boto_edge(client)

    with pytest.raises(UploadFailed) as caught:
        _sink().store("job-1", "rec_single_00001_.png", "image/png", [PNG], Budget())

    message = str(caught.value)
    assert "rec_single_00001_.png" in message and "minio.local:9000" in message
    assert "s3cr3t-value" not in message and "AKIAKEYID" not in message
    assert caught.value.data == {"filename": "rec_single_00001_.png"}
    assert not os.path.exists(client.uploads[0]["path"])


@pytest.mark.parametrize("error_type", [Cancelled, JobTimedOut])
def test_a_stop_during_the_upload_propagates_unchanged_and_removes_the_temp_file(boto_edge, error_type):
    stop = threading.Event()
    budget = Budget(stop=stop) if error_type is Cancelled else Budget(deadline=0.0, clock=lambda: 1.0 if stop.is_set() else -1.0)
    client = FakeClient(on_progress=stop.set)
    boto_edge(client)

    with pytest.raises(error_type, match=r"uploading out\.png"):
        _sink().store("job-1", "out.png", "image/png", [PNG], budget)

    assert not os.path.exists(client.uploads[0]["path"])


def test_a_stop_between_chunks_ends_before_any_upload_and_removes_the_temp_file(boto_edge, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    client = FakeClient()
    get_client = boto_edge(client)
    stop = threading.Event()

    def chunks():
        yield PNG
        stop.set()
        yield b"never written"
        raise AssertionError("the sink kept reading after the stop")

    with pytest.raises(Cancelled):
        _sink().store("job-1", "out.png", "image/png", chunks(), Budget(stop=stop))
    assert client.uploads == [] and get_client.call_count == 0
    assert list(tmp_path.iterdir()) == []


def test_a_failing_source_propagates_and_removes_the_temp_file(boto_edge, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    boto_edge(FakeClient())

    def chunks():
        yield PNG
        raise OutputFetchFailed("the download was cut short")

    with pytest.raises(OutputFetchFailed):
        _sink().store("job-1", "out.png", "image/png", chunks(), Budget())
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_temp_dir_is_upload_failed(boto_edge, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "missing"))
    client = FakeClient()
    boto_edge(client)
    with pytest.raises(UploadFailed, match=r"temporary file for 'out\.png'"):
        _sink().store("job-1", "out.png", "image/png", [PNG], Budget())
    assert client.uploads == []


def test_without_boto3_the_upload_fails_clearly(mocker):
    mocker.patch("runpod.serverless.utils.rp_upload.get_boto_client", return_value=(None, None))
    with pytest.raises(UploadFailed, match="boto3"):
        _sink().store("job-1", "out.png", "image/png", [PNG], Budget())


def test_an_explicit_region_gets_a_client_in_that_region(mocker):
    get_client = mocker.patch("runpod.serverless.utils.rp_upload.get_boto_client",
                              return_value=(mocker.Mock(), "transfer-cfg"))
    session = mocker.patch("boto3.session.Session")
    sink = _sink(region="eu-west-3")
    sink.prepare()
    sink.prepare()
    get_client.assert_called_once()
    session.return_value.client.assert_called_once()
    assert session.return_value.client.call_args.kwargs["region_name"] == "eu-west-3"


def test_constructing_the_sink_imports_nothing_and_makes_no_client(mocker):
    get_client = mocker.patch("runpod.serverless.utils.rp_upload.get_boto_client")
    _sink()
    get_client.assert_not_called()


def test_boto3_is_not_imported_until_the_first_upload():
    script = (
        "import sys\n"
        "from entrypoints.job_logging import configure_logging\n"
        "from entrypoints.environment import read_settings\n"
        "from adapters.process_liveness import ProcessLiveness\n"
        "from adapters.s3_sink import S3OutputSink\n"
        "configure_logging()\n"
        "s3 = read_settings({'BUCKET_ENDPOINT_URL': 'http://127.0.0.1:9', 'BUCKET_ACCESS_KEY_ID': 'a',"
        " 'BUCKET_SECRET_ACCESS_KEY': 'b'}).s3\n"
        "S3OutputSink(endpoint_url=s3.endpoint_url, access_key_id=s3.access_key_id,"
        " secret_access_key=s3.secret_access_key, bucket_name=s3.bucket_name, region=s3.region)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 's3transfer')))\n"
    )
    src = os.path.join(os.path.dirname(__file__), "..", "..", "..", "src")
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": src},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
