"""The 5.x answer shape made from results and errors, and the last check of its size."""
import base64
import hashlib

from answer_size import answer_bytes
from domain.errors import ComfyProcessDied, ComfyUnreachable, WorkflowRejected
from domain.model import JobResult, OutputFailure, OutputRef, StoredOutput, TextOutput
from entrypoints.answers import RunPodAnswerFormat, answer, answer_within, error_answer, success_answer

NO_TIMINGS = {"timings_ms": {}, "comfyui": {"version": None}}


def stored(node_id, filename, data: bytes, kind="images"):
    return StoredOutput(ref=OutputRef(node_id, kind, filename), filename=filename, entry_type="base64",
                        data=base64.b64encode(data).decode(), content_type="image/png", size_bytes=len(data),
                        sha256=hashlib.sha256(data).hexdigest())


def response_of(*outputs):
    return success_answer(JobResult(outputs=outputs))


def test_entries_keep_the_5x_shape_and_add_their_facts():
    out = stored("9", "a.png", b"abc")
    assert response_of(out) == {"images": [{
        "filename": "a.png", "type": "base64", "data": "YWJj", "node_id": "9", "subfolder": "",
        "content_type": "image/png", "size_bytes": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}],
        **NO_TIMINGS}


def test_texts_only_is_a_success_with_no_images_listed():
    response = success_answer(JobResult(texts=(TextOutput("4", "hello"),)))
    assert response == {"images": [], "text": [{"node_id": "4", "type": "text", "data": "hello"}], **NO_TIMINGS}


def test_failures_beside_outputs_are_listed_in_errors():
    failure = OutputFailure(OutputRef("2", "images", "b.png"), "upload_failed", "bucket refused b.png")
    response = success_answer(JobResult(outputs=(stored("1", "a.png", b"a"),), failures=(failure,)))
    assert response["errors"] == ["upload_failed: b.png (node 2): bucket refused b.png"]


def test_an_error_response_has_one_line_a_code_details_and_data():
    error = WorkflowRejected("node 1 (EmptyImage) input 'width':\n  Value 0 smaller than min of 1",
                             details=["node 1: width"], data={"node_errors": {"1": {}}})
    assert error_answer(error) == {
        "error": "workflow_invalid: node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1",
        "error_code": "workflow_invalid", "details": ["node 1: width"], "data": {"node_errors": {"1": {}}}}


def test_an_answer_exactly_at_the_limit_is_the_results():
    result = JobResult(outputs=(stored("1", "a.png", b"a" * 100),))
    assert answer_within(result, answer_bytes(answer(result))) == answer(result)


def test_an_answer_over_the_limit_becomes_response_too_large_listing_each_inline_output():
    result = JobResult(outputs=(stored("9", "a.png", b"a" * 3000), stored("12", "b.png", b"b" * 1000)))
    assert answer_within(result, answer_bytes(answer(result)) - 1)["error_code"] == "response_too_large"
    refused = answer_within(result, 1000)
    line = refused["error"]
    assert refused["error_code"] == "response_too_large"
    assert "\n" not in line and line.startswith("response_too_large: ")
    assert "a.png (node 9, 3,000 bytes)" in line and "b.png (node 12, 1,000 bytes)" in line
    assert "MAX_RESPONSE_BYTES" in line and "output_format" in line and "S3" in line
    assert refused["data"]["outputs"] == [{"filename": "a.png", "node_id": "9", "size_bytes": 3000},
                                          {"filename": "b.png", "node_id": "12", "size_bytes": 1000}]


def test_the_answer_format_counts_what_the_answer_holds():
    fmt = RunPodAnswerFormat()
    out, text = stored("1", "a.png", b"a" * 300), TextOutput("2", "x" * 5000)
    failure = OutputFailure(OutputRef("3", "images", "c.png"), "upload_failed", "bucket refused c.png")
    answer = success_answer(JobResult(outputs=(out,), texts=(text,), failures=(failure,)))
    frame = answer_bytes({**answer, "images": [], "text": [], "errors": []})
    counted = fmt.output_bytes(out) + fmt.text_bytes(text) + fmt.failure_bytes(failure) - 3  # no trailing commas
    assert answer_bytes(answer) == frame + counted


def test_a_replaced_worker_is_said_in_refresh_worker_only():
    assert "refresh_worker" not in answer(JobResult())
    assert answer(JobResult(), replace_worker=True)["refresh_worker"] is True
    assert error_answer(ComfyProcessDied("gone"))["refresh_worker"] is True
    assert "refresh_worker" not in error_answer(WorkflowRejected("bad"))
    assert error_answer(ComfyUnreachable("socket", replace_worker=True))["refresh_worker"] is True
