"""The use case with in-memory fakes of every port."""
import pytest

from domain.errors import ExecutionFailed, ExecutionInterrupted, JobTimedOut, WorkflowRejected
from domain.job_input import new_job
from domain.model import Outcome, OutputRef, Progress
from domain.response import error_response, success_response
from domain.run_job import run_job
from unit.domain.fakes import FakeComfyApi, FakeExecutionMonitor, InMemoryImageSink, InMemoryImageSource

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {}}, "2": {"class_type": "SaveImage", "inputs": {}}}
PNG_B64 = "iVBORw0KGgo="


def make(refs=(), files=None, outcome=Outcome("success"), images=None, reject=None, refuse=()):
    calls: list = []
    raw = {"workflow": WORKFLOW}
    if images:
        raw["images"] = images
    job = new_job("job-1", raw)
    comfy = FakeComfyApi(calls, refs=refs, reject=reject)
    monitor = FakeExecutionMonitor(calls, result=outcome, progress=(Progress(job.prompt.id, "1", 1, 2),))
    source = InMemoryImageSource(files or {})
    sink = InMemoryImageSink(refuse=refuse)
    return job, comfy, monitor, source, sink, calls


def run(job, comfy, monitor, source, sink, **kwargs):
    return run_job(job, comfy=comfy, monitor=monitor, source=source, sink=sink, **kwargs)


def test_follows_protocol_order_with_socket_open_before_queueing():
    job, comfy, monitor, source, sink, calls = make(images=[{"name": "a.png", "image": PNG_B64}])
    run(job, comfy, monitor, source, sink)
    assert calls == ["ready", "upload a.png", "watch open", "queue", "wait", "watch closed", "outputs"]
    assert monitor.waited_for == job.prompt.id
    assert comfy.queued[0].client_id == job.prompt.client_id != job.prompt.id


def test_returns_saved_images_of_every_node_in_stable_order_and_skips_temp_and_other_kinds():
    refs = (
        OutputRef("10", "images", "c.png"),
        OutputRef("9", "images", "a.png"),
        OutputRef("9", "images", "b.png"),
        OutputRef("3", "images", "preview.png", type="temp"),
        OutputRef("4", "latents", "x.latent"),
        OutputRef("5", "gifs", "anim.gif"),
    )
    files = {name: name.encode() for name in ("a.png", "b.png", "c.png", "anim.gif")}
    job, comfy, monitor, source, sink, _ = make(refs=refs, files=files)
    result = run(job, comfy, monitor, source, sink)
    assert [o.ref.filename for o in result.outputs] == ["anim.gif", "a.png", "b.png", "c.png"]
    assert sink.stored[("job-1", "a.png")] == b"a.png"
    response = success_response(result)
    assert [i["filename"] for i in response["images"]] == ["anim.gif", "a.png", "b.png", "c.png"]
    assert response["images"][1] == {
        "filename": "a.png", "type": "memory", "data": "mem://job-1/a.png",
        "node_id": "9", "subfolder": "", "content_type": "image/png",
    }
    assert "errors" not in response and "status" not in response


def test_one_failed_output_is_reported_without_losing_the_others():
    refs = (OutputRef("1", "images", "ok.png"), OutputRef("1", "images", "gone.png"), OutputRef("2", "images", "refused.png"))
    files = {"ok.png": b"1", "refused.png": b"3"}
    job, comfy, monitor, source, sink, _ = make(refs=refs, files=files, refuse=("refused.png",))
    response = success_response(run(job, comfy, monitor, source, sink))
    assert [i["filename"] for i in response["images"]] == ["ok.png"]
    assert response["errors"] == [
        "output_fetch_failed: gone.png (node 1): /view answered 404 for gone.png",
        "upload_failed: refused.png (node 2): bucket refused refused.png",
    ]


def test_all_outputs_failing_is_a_job_error():
    job, comfy, monitor, source, sink, _ = make(refs=(OutputRef("1", "images", "gone.png"),))
    response = success_response(run(job, comfy, monitor, source, sink))
    assert response["error"].startswith("output_fetch_failed: no output could be returned; ")
    assert response["error_code"] == "output_fetch_failed"


def test_no_outputs_is_success_no_images():
    job, comfy, monitor, source, sink, _ = make()
    assert success_response(run(job, comfy, monitor, source, sink)) == {"images": [], "status": "success_no_images"}


def test_execution_error_names_node_class_and_message_on_one_line():
    outcome = Outcome("error", node_id="2", node_type="ImageToMask", exception_type="IndexError",
                      message="index 3 is out of bounds\n", details={"traceback": ["x"]})
    job, comfy, monitor, source, sink, calls = make(outcome=outcome)
    with pytest.raises(ExecutionFailed) as caught:
        run(job, comfy, monitor, source, sink)
    response = error_response(caught.value)
    assert response["error"] == "execution_failed: node 2 (ImageToMask): IndexError: index 3 is out of bounds"
    assert response["data"]["traceback"] == ["x"]
    assert "outputs" not in calls


def test_interrupted_outcome_is_an_error():
    job, comfy, monitor, source, sink, _ = make(outcome=Outcome("interrupted", node_id="5", node_type="ImageBlur"))
    with pytest.raises(ExecutionInterrupted, match="node 5 \\(ImageBlur\\)"):
        run(job, comfy, monitor, source, sink)


@pytest.mark.parametrize("error", [JobTimedOut("late"), ExecutionInterrupted("cancelled")])
def test_timeout_or_stop_cancels_the_prompt_in_comfy(error):
    job, comfy, monitor, source, sink, calls = make(outcome=error)
    with pytest.raises(type(error)):
        run(job, comfy, monitor, source, sink)
    assert comfy.cancelled == [job.prompt.id]
    assert calls[-2:] == ["cancel", "watch closed"]


def test_rejected_workflow_closes_the_socket_and_propagates():
    rejection = WorkflowRejected("node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1")
    job, comfy, monitor, source, sink, calls = make(reject=rejection)
    with pytest.raises(WorkflowRejected):
        run(job, comfy, monitor, source, sink)
    assert calls[-1] == "watch closed" and "wait" not in calls
    assert error_response(rejection)["error"] == (
        "workflow_invalid: node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1"
    )


def test_progress_reaches_the_callback():
    job, comfy, monitor, source, sink, _ = make()
    seen = []
    run(job, comfy, monitor, source, sink, on_progress=seen.append)
    assert seen == [Progress(job.prompt.id, "1", 1, 2)]
