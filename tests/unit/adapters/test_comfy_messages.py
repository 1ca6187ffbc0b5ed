"""Reading ComfyUI's recorded JSON (transcripts) into domain values."""
import json
import pathlib

from adapters.comfy_messages import (
    execution_details,
    node_outputs,
    outcome_from_frame,
    outcome_from_history,
    prompt_history,
)
from domain.model import OutputRef, TextOutput

TRANSCRIPTS = pathlib.Path(__file__).resolve().parents[2] / "fixtures" / "comfyui" / "transcripts"


def transcript(name):
    return json.loads((TRANSCRIPTS / f"{name}.json").read_text())


def history_entry(name):
    recorded = transcript(name)
    return next(iter(recorded["history"]["json"].values()))


def test_history_outcomes_of_recorded_error_and_interrupt():
    error = outcome_from_history(history_entry("execution_error"))
    assert (error.status, error.node_id, error.node_type, error.exception_type) == ("error", "2", "ImageToMask", "IndexError")
    interrupted = outcome_from_history(history_entry("interrupt"))
    assert (interrupted.status, interrupted.node_id, interrupted.node_type) == ("interrupted", "5", "ImageBlur")
    assert outcome_from_history(history_entry("upload_invert")).status == "success"


def test_history_lists_every_file_kind_and_texts():
    history = prompt_history(history_entry("misc_outputs"))
    assert OutputRef("7", "images", "ComfyUI_temp_pllvh_00001_.png", "", "temp") in history.files
    assert OutputRef("5", "latents", "rec_latent_00001_.latent", "latents", "output") in history.files
    assert all(ref.node_id != "3" for ref in history.files)
    assert TextOutput("3", "96") in history.texts
    assert history.started_ms is not None and history.ended_ms >= history.started_ms


def test_audio_and_animated_outputs_from_recorded_history():
    audio = prompt_history(history_entry("audio"))
    assert {ref.output_key for ref in audio.files} == {"audio"}
    assert {ref.filename.rsplit(".", 1)[-1] for ref in audio.files} >= {"flac", "mp3", "opus"}
    animated = prompt_history(history_entry("animated_webp"))
    assert any(ref.animated for ref in animated.files)


def test_any_key_holding_file_objects_is_an_output_and_flags_are_not():
    files, texts = node_outputs("9", {"my_files": [{"filename": "a.bin", "subfolder": "x", "type": "output"}],
                                      "animated": [True], "text": ["hi", 3], "other": ["plain"], "n": 4})
    assert files == (OutputRef("9", "my_files", "a.bin", "x", "output"),)
    assert texts == ("hi",)
    assert node_outputs("9", None) == ((), ())


def test_execution_details_of_the_recorded_frame_and_history_entry():
    recorded = transcript("execution_error")
    frame = next(f["frame"] for f in recorded["frames"] if f["frame"].get("type") == "execution_error")
    details = execution_details(frame["data"])
    assert {k: details[k] for k in ("node_id", "node_type", "exception_type", "exception_message")} == {
        "node_id": "2", "node_type": "ImageToMask", "exception_type": "IndexError",
        "exception_message": "index 3 is out of bounds for dimension 3 with size 3"}
    assert details["traceback"][0].startswith('  File "/comfyui/execution.py", line 518, in execute')
    assert all("\n" not in line for line in details["traceback"]) and len(details["traceback"]) > 7
    history_entry = next(iter(recorded["history"]["json"].values()))
    assert prompt_history(history_entry).outcome.report == outcome_from_frame("execution_error", frame["data"]).report


def test_execution_details_of_an_interrupt():
    entry = next(iter(transcript("interrupt")["history"]["json"].values()))
    assert prompt_history(entry).outcome.report == {"node_id": "5", "node_type": "ImageBlur",
                                                "executed": ["2", "4", "3", "1"]}
