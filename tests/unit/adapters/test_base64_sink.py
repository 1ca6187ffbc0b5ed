"""Base64ImageSink keeps the bytes inline as ASCII base64."""
import base64

from adapters.base64_sink import Base64ImageSink
from domain.model import Blob, OutputRef, StoredOutput

REF = OutputRef(node_id="9", kind="images", filename="rec_single_00001_.png")


def test_store_returns_ascii_base64_of_the_exact_bytes():
    data = bytes(range(256)) * 3
    stored = Base64ImageSink().store("job-1", REF, Blob(data=data, content_type="image/png"))

    assert stored == StoredOutput(ref=REF, type="base64", data=base64.b64encode(data).decode("ascii"), content_type="image/png")
    assert isinstance(stored.data, str) and stored.data.isascii()
    assert base64.b64decode(stored.data, validate=True) == data


def test_store_keeps_the_content_type_and_handles_empty_bytes():
    stored = Base64ImageSink().store("job-1", REF, Blob(data=b"", content_type="audio/flac"))

    assert stored.data == ""
    assert stored.content_type == "audio/flac"
