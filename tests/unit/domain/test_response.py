"""The 5.x response shape, error responses, and keeping the response within the size limit."""
import base64
import hashlib

import pytest

from domain.budget import Budget
from domain.errors import ResponseTooLarge, WorkflowRejected
from domain.model import JobResult, OutputFailure, OutputRef, StoredOutput, TextOutput
from domain.response import error_response, fit_response, response_size, success_response
from unit.domain.fakes import InMemorySink


def stored(node_id, filename, data: bytes, kind="images"):
    return StoredOutput(ref=OutputRef(node_id, kind, filename), filename=filename, type="base64",
                        data=base64.b64encode(data).decode(), content_type="image/png", size_bytes=len(data),
                        sha256=hashlib.sha256(data).hexdigest())


def response_of(*outputs):
    return success_response(JobResult(outputs=outputs))


def test_entries_keep_the_5x_shape_and_add_their_facts():
    out = stored("9", "a.png", b"abc")
    assert response_of(out) == {"images": [{
        "filename": "a.png", "type": "base64", "data": "YWJj", "node_id": "9", "subfolder": "",
        "content_type": "image/png", "size_bytes": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}]}


def test_texts_only_is_a_success_with_no_images_listed():
    response = success_response(JobResult(texts=(TextOutput("4", "hello"),)))
    assert response == {"images": [], "text": [{"node_id": "4", "type": "text", "data": "hello"}]}


def test_failures_beside_outputs_are_listed_in_errors():
    failure = OutputFailure(OutputRef("2", "images", "b.png"), "upload_failed", "bucket refused b.png")
    response = success_response(JobResult(outputs=(stored("1", "a.png", b"a"),), failures=(failure,)))
    assert response["errors"] == ["upload_failed: b.png (node 2): bucket refused b.png"]


def test_an_error_response_has_one_line_a_code_details_and_data():
    error = WorkflowRejected("node 1 (EmptyImage) input 'width':\n  Value 0 smaller than min of 1",
                             details=["node 1: width"], data={"node_errors": {"1": {}}})
    assert error_response(error) == {
        "error": "workflow_invalid: node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1",
        "error_code": "workflow_invalid", "details": ["node 1: width"], "data": {"node_errors": {"1": {}}}}


def test_a_response_under_the_limit_is_untouched():
    response = response_of(stored("1", "a.png", b"a" * 100))
    before = {key: [dict(e) for e in entries] for key, entries in response.items()}
    overflow = InMemorySink(kind="s3_url")
    assert fit_response("job-1", response, response_size(response), overflow, Budget()) == before
    assert overflow.stored == {}


def test_the_largest_inline_outputs_move_to_the_overflow_sink_until_it_fits():
    big, middle, small = b"B" * 3000, b"M" * 2000, b"s" * 100
    response = response_of(stored("1", "big.png", big), stored("2", "middle.png", middle),
                           stored("3", "small.png", small))
    limit = response_size(response) - 3000
    overflow = InMemorySink(kind="s3_url")
    fitted = fit_response("job-1", response, limit, overflow, Budget())
    assert response_size(fitted) <= limit
    assert overflow.stored == {"big.png": big}
    assert [(e["filename"], e["type"]) for e in fitted["images"]] == [
        ("big.png", "s3_url"), ("middle.png", "base64"), ("small.png", "base64")]
    assert fitted["images"][0]["data"] == "s3_url://job-1/big.png"
    assert overflow.content_types == {"big.png": "image/png"}


def test_moving_continues_with_the_next_largest():
    response = response_of(stored("1", "big.png", b"B" * 3000), stored("2", "middle.png", b"M" * 2000),
                           stored("3", "small.png", b"s" * 100))
    overflow = InMemorySink(kind="s3_url")
    fit_response("job-1", response, response_size(response) - 5000, overflow, Budget())
    assert sorted(overflow.stored) == ["big.png", "middle.png"]


def test_without_an_overflow_sink_the_refusal_lists_each_output_and_says_what_to_do():
    response = response_of(stored("9", "a.png", b"a" * 3000), stored("12", "b.png", b"b" * 1000))
    with pytest.raises(ResponseTooLarge) as caught:
        fit_response("job-1", response, 1000, None, Budget())
    line = caught.value.summary()
    assert "\n" not in line and line.startswith("response_too_large: ")
    assert "a.png (node 9, 3,000 bytes)" in line and "b.png (node 12, 1,000 bytes)" in line
    assert "MAX_RESPONSE_BYTES" in line and "output_format" in line and "S3" in line
    assert caught.value.data["outputs"] == [{"filename": "a.png", "node_id": "9", "size_bytes": 3000},
                                            {"filename": "b.png", "node_id": "12", "size_bytes": 1000}]


def test_still_too_large_after_moving_everything_is_refused():
    response = success_response(JobResult(outputs=(stored("1", "a.png", b"a" * 100),),
                                          texts=(TextOutput("2", "x" * 5000),)))
    with pytest.raises(ResponseTooLarge, match="MAX_RESPONSE_BYTES"):
        fit_response("job-1", response, 1000, InMemorySink(kind="s3_url"), Budget())
