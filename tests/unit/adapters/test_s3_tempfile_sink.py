"""S3TempfileImageSink: temp file with the right suffix, the upload helper's URL back, temp file always gone."""
import os

import pytest

from adapters.s3_tempfile_sink import S3TempfileImageSink
from domain.errors import UploadFailed
from domain.model import Blob, OutputRef, StoredOutput

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
URL = "https://bucket.s3.example.com/job-1/abcd1234.png?X-Amz-Signature=deadbeef"


def _ref(filename="rec_single_00001_.png"):
    return OutputRef(node_id="2", kind="images", filename=filename)


class _Recorder:
    """The upload edge: records the path and what the file held while the call ran."""

    def __init__(self, result=URL, error=None):
        self.result, self.error = result, error
        self.path = None
        self.seen_bytes = None

    def __call__(self, job_id, path, **kwargs):
        self.path = path
        with open(path, "rb") as handle:
            self.seen_bytes = handle.read()
        if self.error:
            raise self.error
        return self.result


@pytest.fixture
def recorder(mocker):
    def make(**kwargs):
        rec = _Recorder(**kwargs)
        return rec, mocker.Mock(side_effect=rec)
    return make


def test_store_uploads_a_temp_file_with_the_bytes_and_suffix_then_deletes_it(recorder):
    rec, upload = recorder()
    sink = S3TempfileImageSink(bucket_name="outputs", upload=upload)

    stored = sink.store("job-1", _ref(), Blob(data=PNG, content_type="image/png"))

    assert stored == StoredOutput(ref=_ref(), type="s3_url", data=URL, content_type="image/png")
    upload.assert_called_once_with("job-1", rec.path, bucket_name="outputs")
    assert rec.seen_bytes == PNG
    assert rec.path.endswith(".png")
    assert not os.path.exists(rec.path)


def test_bucket_name_is_not_passed_when_not_configured(recorder):
    rec, upload = recorder()

    S3TempfileImageSink(upload=upload).store("job-1", _ref(), Blob(data=PNG))

    upload.assert_called_once_with("job-1", rec.path)


@pytest.mark.parametrize(
    "filename, data, suffix",
    [
        ("rec_video_00001_.mp4", bytes.fromhex("000000206674797069736f6d"), ".mp4"),
        ("rec_flac_00001_.flac", b"fLaC\x00\x00\x00\x22", ".flac"),
        ("no_extension", b"RIFF\x00\x00\x00\x00WEBPVP8X", ".webp"),
        ("no_extension", b"unknown bytes", ".png"),
    ],
)
def test_the_temp_file_suffix_follows_the_output(recorder, filename, data, suffix):
    rec, upload = recorder()

    S3TempfileImageSink(upload=upload).store("job-1", _ref(filename), Blob(data=data))

    assert os.path.splitext(rec.path)[1] == suffix
    assert rec.seen_bytes == data


def test_an_upload_exception_becomes_upload_failed_and_the_temp_file_is_deleted(recorder):
    rec, upload = recorder(error=RuntimeError("An error occurred (NoSuchBucket) when calling the PutObject operation"))

    with pytest.raises(UploadFailed) as caught:
        S3TempfileImageSink(upload=upload).store("job-1", _ref(), Blob(data=PNG))

    message = str(caught.value)
    assert "rec_single_00001_.png" in message and "NoSuchBucket" in message
    assert caught.value.code == "upload_failed"
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert not os.path.exists(rec.path)


def test_upload_failed_never_repeats_credentials_embedded_in_an_endpoint_url(recorder):
    rec, upload = recorder(error=ConnectionError('Could not connect to "https://AKIAKEY:s3cr3t@minio.local:9000/outputs"'))

    with pytest.raises(UploadFailed) as caught:
        S3TempfileImageSink(upload=upload).store("job-1", _ref(), Blob(data=PNG))

    assert "s3cr3t" not in str(caught.value) and "AKIAKEY" not in str(caught.value)
    assert "minio.local:9000" in str(caught.value)


@pytest.mark.parametrize("returned", ["simulated_uploaded/abcd1234.png", None, "", "ftp://host/x.png", 42])
def test_a_local_fallback_path_means_s3_is_not_configured(recorder, returned):
    rec, upload = recorder(result=returned)

    with pytest.raises(UploadFailed, match="S3 is not configured"):
        S3TempfileImageSink(upload=upload).store("job-1", _ref(), Blob(data=PNG))

    assert not os.path.exists(rec.path)


def test_plain_http_urls_are_accepted(recorder):
    rec, upload = recorder(result="http://127.0.0.1:9000/b/job-1/x.png?sig=1")

    stored = S3TempfileImageSink(upload=upload).store("job-1", _ref(), Blob(data=PNG))

    assert stored.data == "http://127.0.0.1:9000/b/job-1/x.png?sig=1"


def test_no_temp_file_is_left_in_the_temp_dir_on_any_path(recorder, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    for kwargs in ({}, {"error": OSError("boom")}, {"result": "simulated_uploaded/x.png"}):
        rec, upload = recorder(**kwargs)
        try:
            S3TempfileImageSink(upload=upload).store("job-1", _ref(), Blob(data=PNG))
        except UploadFailed:
            pass
        assert os.path.dirname(rec.path) == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_temp_dir_that_cannot_be_written_is_upload_failed(mocker, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "does-not-exist"))
    upload = mocker.Mock()

    with pytest.raises(UploadFailed, match="temporary file"):
        S3TempfileImageSink(upload=upload).store("job-1", _ref(), Blob(data=PNG))

    upload.assert_not_called()
