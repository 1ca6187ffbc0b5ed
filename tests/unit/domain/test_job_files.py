"""Each job's own folder: uploaded names and save prefixes moved into it, the temp files it can prove it made, and
other jobs' folders kept out of what it is told."""
import pytest

from domain.errors import WorkflowRejected
from domain.model import OutputRef
from domain.workflow.job_folders import (
    fresh_temp_files,
    hide_other_jobs,
    hide_other_jobs_in,
    inputs_into_folder,
    job_folder,
    names_other_job,
    outputs_into_folder,
    without_job_folders,
)

WORKFLOW = {"1": {"class_type": "LoadImage", "inputs": {"image": "in.png", "upload": "image"}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "audio/ComfyUI"}},
            "3": {"class_type": "Note", "inputs": {"text": "in.png is named in a note too"}},
            "4": {"class_type": "Custom", "inputs": {"filename_prefix": ["9", 0]}},
            "5": {"class_type": "NoInputs"},
            "6": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
            "7": {"class_type": "Dangling", "inputs": {"image": ["6", 0]}}}
OWN = "job-3f2c0d5e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
OTHER = "job-0a1b2c3d-4e5f-4c3d-9e8f-3f2c0d5e1b2a"


def test_the_folder_is_one_path_component_from_the_prompt_id():
    assert job_folder("3f2c0d5e-1b2a-4c3d-9e8f-0a1b2c3d4e5f") == OWN


def test_uploaded_names_move_into_the_folder_and_nothing_else_changes():
    moved = inputs_into_folder(WORKFLOW, "job-1", ["in.png"])
    assert moved["1"]["inputs"] == {"image": "job-1/in.png", "upload": "image"}
    assert moved["2"] == WORKFLOW["2"]  # a prefix stays where it was
    assert moved["3"]["inputs"]["text"] == "in.png is named in a note too"  # merely contains the name
    assert moved["5"] == WORKFLOW["5"]  # a node without inputs
    assert WORKFLOW["1"]["inputs"]["image"] == "in.png"  # the job's workflow is not changed


def test_save_prefixes_move_and_every_output_node_gets_the_folder_so_that_comfyui_runs_it_again():
    moved = outputs_into_folder(WORKFLOW, "job-1", output_nodes=["2", "4", "6"])
    assert moved["2"]["inputs"]["filename_prefix"] == "job-1/audio/ComfyUI"
    assert "job_folder" not in moved["2"]["inputs"]  # its prefix already differs from any other job's
    assert moved["4"]["inputs"]["filename_prefix"] == ["9", 0] and moved["4"]["inputs"]["job_folder"] == "job-1"
    # an output node some node links to (here a node that never runs) still runs again
    assert moved["6"]["inputs"]["job_folder"] == "job-1"
    assert "job_folder" not in moved["1"]["inputs"] and "job_folder" not in moved["7"]["inputs"]  # not outputs
    assert moved["3"] == WORKFLOW["3"]


def test_the_temp_files_a_job_can_prove_it_made_are_its_core_previews_that_ran():
    preview = OutputRef("6", "images", "ComfyUI_temp_abcde_00001_.png", folder_type="temp")
    saved = OutputRef("2", "images", "a.png", subfolder="job-1/audio")
    custom = OutputRef("4", "images", "someone_elses.png", folder_type="temp")  # a custom node's report
    nested = OutputRef("6", "images", "x.png", subfolder="clientB", folder_type="temp")
    files = [preview, saved, custom, nested, preview]
    assert fresh_temp_files(WORKFLOW, files, cached_nodes=[]) == [preview]
    assert fresh_temp_files(WORKFLOW, files, cached_nodes=["6"]) == []  # an earlier prompt's file
    assert fresh_temp_files(WORKFLOW, files, cached_nodes=None) == []  # not known which ran: left alone


def test_other_jobs_folders_are_told_apart_from_the_jobs_own():
    assert names_other_job(f"{OTHER}/secret.png", OWN)
    assert not names_other_job(f"{OWN}/input.png", OWN)
    assert not names_other_job("job-photos/a.png", OWN)  # a folder of the deployment's, not a job's
    assert without_job_folders(["a", OTHER, f"{OWN}/x.png", "b/c"]) == ["a", "b/c"]


def test_other_jobs_folders_are_hidden_in_any_text_the_job_is_told():
    said = {"details": [f"folder: 'nope' not in ['{OTHER}', 'x']", f"mine: {OWN}"], "n": 3}
    assert hide_other_jobs(said, OWN) == {"details": ["folder: 'nope' not in ['job-…', 'x']", f"mine: {OWN}"],
                                          "n": 3}


def test_an_error_is_hidden_in_place():
    error = WorkflowRejected(f"node 1: '{OTHER}'", details=[OTHER], data={"comfy_error": {"details": OTHER}})
    assert hide_other_jobs_in(error, OWN) is error
    assert OTHER not in error.summary() + str(error.details) + str(error.data) + str(error)


@pytest.mark.parametrize("text", ["a-" * 500_000, "job-" * 250_000])
def test_hiding_stays_linear_on_long_hostile_text(text):
    assert hide_other_jobs(text, OWN) == text
