"""The 5.x answer shape made from verdicts and errors, and what each part of it costs."""
import base64
import hashlib

from answer_size import answer_bytes
from domain.errors import ComfyProcessDied, ComfyUnreachable, ExecutionFailed, WorkflowRejected
from domain.model import JobResult, OutputFailure, OutputRef, StoredOutput, TextOutput, failed
from entrypoints.answers import RunPodAnswers, error_answer

ANSWERS = RunPodAnswers()
answer, success_answer = ANSWERS.answer, ANSWERS.success

NO_TIMINGS = {"timings_ms": {}, "comfyui": {"version": None}}


def stored(node_id, filename, data: bytes, kind="images"):
    return StoredOutput(ref=OutputRef(node_id, kind, filename), filename=filename, inline=True,
                        value=base64.b64encode(data).decode(), content_type="image/png", size_bytes=len(data),
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


def test_an_entry_stored_elsewhere_has_the_stores_type():
    out = StoredOutput(OutputRef("9", "images", "a.png"), "a.png", False, "https://bucket/a.png")
    assert RunPodAnswers(url_type="s3_url").file_entry(out)["type"] == "s3_url"
    assert RunPodAnswers(url_type="s3_url").stream_item(out) == {"images": [RunPodAnswers().file_entry(out)]}


def test_the_answer_size_the_use_case_is_told_is_the_answers():
    result = JobResult(outputs=(stored("9", "a.png", b"a" * 3000), stored("12", "b.png", b"b" * 1000)),
                       texts=(TextOutput("1", "x" * 10),), timings_ms={"total": 5})
    assert ANSWERS.result_bytes(result) == answer_bytes(answer(result))


def test_a_failed_verdict_is_its_errors_answer_and_a_partial_one_lists_the_error_last():
    error = ExecutionFailed("node 3 (ImageToMask): IndexError: index 3")
    assert answer(failed(error)) == error_answer(error)
    partial = answer(JobResult(outputs=(stored("1", "a.png", b"a"),), error=error))
    assert partial["errors"] == ["execution_failed: node 3 (ImageToMask): IndexError: index 3"]
    assert partial["error_code"] == "execution_failed" and "error" not in partial


def test_the_answer_format_counts_what_the_answer_holds():
    fmt = RunPodAnswers()
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
