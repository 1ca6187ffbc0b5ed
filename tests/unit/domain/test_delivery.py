"""Outputs through the use case: every kind, delivered as nodes finish, reconciled by history, failures kept apart."""
import hashlib

from domain.errors import NothingDelivered
from domain.execution.events import (
    ExecutionStarted,
    InbandImage,
    NodeExecuted,
    NodeStarted,
    PromptEnded,
    PromptFinished,
    SocketLost,
)
from domain.model import Outcome, OutputRef, PromptHistory, PromptState, TextOutput
from unit.domain.fake_stream import WaitUntil
from unit.domain.fakes import FakeConverter
from unit.domain.world import PID, WORKFLOW, named, plain_run, world

SUCCESS = Outcome("success")


def history(*files, texts=()):
    return PromptHistory(SUCCESS, files=files, texts=texts)


def test_outputs_of_every_kind_in_node_then_position_order():
    refs = (OutputRef("10", "images", "c.png"), OutputRef("9", "images", "a.png"), OutputRef("9", "images", "b.png"),
            OutputRef("3", "images", "preview.png", folder_type="temp"), OutputRef("4", "latents", "x.latent"),
            OutputRef("5", "gifs", "anim.gif", animated=True), OutputRef("12", "audio", "x.flac"),
            OutputRef("8", "3d", "mesh.glb", subfolder="meshes"))
    files = {r.filename: r.filename.encode() * 3 for r in refs}
    texts = (TextOutput("11", "second"), TextOutput("6", "first"))
    w = world(history=history(*refs, texts=texts), files=files, content_types={"x.flac": "audio/flac"})
    result = w.run()
    assert named(result) == ["a.png", "b.png", "c.png"]
    assert named(result, "gifs") == ["anim.gif"] and named(result, "latents") == ["x.latent"]
    assert named(result, "3d") == ["mesh.glb"]
    assert set(result.texts) == set(texts)
    [audio] = [out for out in result.outputs if out.ref.output_key == "audio"]
    assert (audio.filename, audio.inline, audio.value, audio.ref.node_id, audio.content_type, audio.size_bytes,
            audio.sha256) == ("x.flac", False, "memory://job-1/x.flac", "12", "audio/flac", len(files["x.flac"]),
                              hashlib.sha256(files["x.flac"]).hexdigest())
    assert [out.ref.subfolder for out in result.outputs if out.ref.output_key == "3d"] == ["meshes"]
    assert "preview.png" not in w.sink.stored and ("fetch", "preview.png") not in w.calls
    assert result.status == "ok" and result.failures == ()


def test_temp_outputs_come_with_include_temp():
    temp = OutputRef("3", "images", "preview.png", folder_type="temp")
    w = world(history=history(temp), files={"preview.png": b"p"}, raw={"workflow": WORKFLOW, "include_temp": True})
    assert named(w.run()) == ["preview.png"]


def test_an_output_is_stored_while_comfyui_runs_the_next_node():
    ref = OutputRef("2", "images", "a.png")
    w = world(plain_run(NodeExecuted(PID, "2", files=(ref,)), NodeStarted(PID, "3")), history=history(ref),
              files={"a.png": b"png"})
    w.stream.script.insert(-2, WaitUntil(lambda: w.sink.has("a.png"), "node 2's file in the sink"))
    assert named(w.run()) == ["a.png"]
    assert [o.filename for o in w.outputs] == ["a.png"]


def test_an_unbroken_socket_makes_history_unneeded_and_frames_give_files_texts_and_times():
    ref = OutputRef("2", "images", "a.png")
    script = [ExecutionStarted(PID, timestamp_ms=1000), NodeExecuted(PID, "2", files=(ref,)),
              NodeExecuted(PID, "3", texts=("hello",)), PromptEnded(PID, Outcome("success"), timestamp_ms=1250),
              PromptFinished(PID)]
    w = world(script, files={"a.png": b"png"})
    result = w.run()
    assert named(result) == ["a.png"]
    assert result.texts == (TextOutput("3", "hello"),)
    assert result.timings_ms["execute"] == 250
    assert "history" not in w.calls.names()


def test_a_lost_executed_frame_is_made_up_for_by_history():
    seen, missed = OutputRef("2", "images", "a.png"), OutputRef("3", "images", "b.png")
    # frames sent while the socket was down are lost for good (PROTOCOL.md fact 7)
    script = [ExecutionStarted(PID), NodeExecuted(PID, "2", files=(seen,)), SocketLost("dropped"),
              PromptEnded(PID, Outcome("success")), PromptFinished(PID)]
    w = world(script, history=history(seen, missed), files={"a.png": b"a", "b.png": b"b"},
              states=[PromptState("running")])
    assert named(w.run()) == ["a.png", "b.png"]
    assert sorted(w.calls.of("fetch")) == [("fetch", "a.png"), ("fetch", "b.png")]


def test_a_fully_cached_rerun_delivers_each_old_file_once():
    # A cached re-run re-sends `executed` with the old file names, the same ones history lists.
    refs = (OutputRef("2", "images", "ComfyUI_00001_.png"), OutputRef("2", "images", "ComfyUI_00002_.png"))
    w = world([ExecutionStarted(PID), NodeExecuted(PID, "2", files=refs), PromptEnded(PID, SUCCESS),
               PromptFinished(PID)], history=history(*refs), files={r.filename: b"old" for r in refs})
    assert named(w.run()) == [r.filename for r in refs]
    assert len(w.calls.of("fetch")) == 2 and len(w.calls.of("store")) == 2 and len(w.outputs) == 2


def test_one_failing_output_is_in_errors_and_the_others_are_kept():
    refs = (OutputRef("1", "images", "ok.png"), OutputRef("1", "images", "gone.png"),
            OutputRef("2", "images", "refused.png"))
    w = world(history=history(*refs), files={"ok.png": b"1", "refused.png": b"3"})
    w.sink.refuse = ("refused.png",)
    result = w.run()
    assert named(result) == ["ok.png"]
    assert [str(failure) for failure in result.failures] == [
        "output_fetch_failed: gone.png (node 1): /view answered 404 for gone.png",
        "upload_failed: refused.png (node 2): bucket refused refused.png"]


def test_every_output_failing_fails_the_job_with_the_first_failures_code():
    w = world(history=history(OutputRef("1", "images", "gone.png")))
    error = w.fails(NothingDelivered)
    assert error.code == "output_fetch_failed"
    assert error.summary() == ("output_fetch_failed: no output could be returned; output_fetch_failed: gone.png "
                               "(node 1): /view answered 404 for gone.png")
    assert error.details == ["output_fetch_failed: gone.png (node 1): /view answered 404 for gone.png"]


def test_no_outputs_is_a_success_with_nothing_to_answer():
    result = world().run()
    assert result.status == "ok" and result.outputs == () and result.texts == ()


INBAND_WORKFLOW = {"3": {"class_type": "KSampler", "inputs": {}},
                   "5": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["3", 0]}}}


def inband_world(*frames):
    script = [ExecutionStarted(PID), NodeStarted(PID, "3"), *frames, PromptEnded(PID, SUCCESS), PromptFinished(PID)]
    return world(script, raw={"workflow": INBAND_WORKFLOW})


def test_inband_images_of_a_websocket_save_node_are_delivered_under_images():
    w = inband_world(InbandImage(b"preview", prompt_id=None),            # a sampler's preview (type 1, node 3)
                     NodeStarted(PID, "5"),
                     InbandImage(b"first", prompt_id=None),              # type 1: the running node's
                     InbandImage(b"second", "jpeg", prompt_id=PID, node_id="5"),  # type 4: metadata names it
                     InbandImage(b"theirs", prompt_id="other", node_id="5"))
    result = w.run()
    assert [(o.filename, o.ref.node_id, o.content_type) for o in result.outputs] == [
        ("websocket_5_00001_.png", "5", "image/png"), ("websocket_5_00002_.jpg", "5", "image/jpeg")]
    assert w.sink.stored == {"websocket_5_00001_.png": b"first", "websocket_5_00002_.jpg": b"second"}
    assert result.outputs[0].sha256 == hashlib.sha256(b"first").hexdigest()
    assert w.calls.of("fetch") == []


def test_still_images_are_converted_and_the_entry_follows_the_new_bytes():
    refs = (OutputRef("2", "images", "a.png"), OutputRef("2", "images", "anim.webp", animated=True),
            OutputRef("3", "gifs", "b.gif"), OutputRef("4", "audio", "s.flac"))
    files = {r.filename: r.filename.encode() for r in refs}
    converter = FakeConverter()
    w = world(history=history(*refs), files=files, converter=converter,
              raw={"workflow": WORKFLOW, "output_format": {"format": "jpeg", "quality": 80}})
    result = w.run()
    converted = b"jpeg:80:a.png"
    assert converter.converted == [(b"a.png", "jpeg", 80)]
    first = result.outputs[0]
    assert (first.filename, first.ref.node_id, first.content_type, first.size_bytes, first.sha256) == (
        "a.jpg", "2", "image/jpeg", len(converted), hashlib.sha256(converted).hexdigest())
    assert w.sink.stored["a.jpg"] == converted
    assert named(result)[1:] == ["anim.webp"]
    assert w.sink.stored["anim.webp"] == b"anim.webp" and w.sink.stored["b.gif"] == b"b.gif"
    assert w.sink.stored["s.flac"] == b"s.flac"

