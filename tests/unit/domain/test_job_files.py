"""Each job's own folder: save prefixes and uploaded names moved into it, and what is left to delete outside it."""
from domain.job_files import files_to_remove, into_job_folder, job_folder
from domain.model import OutputRef

WORKFLOW = {"1": {"class_type": "LoadImage", "inputs": {"image": "in.png", "upload": "image"}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "audio/ComfyUI"}},
            "3": {"class_type": "Note", "inputs": {"text": "in.png is named in a note too"}},
            "4": {"class_type": "Custom", "inputs": {"filename_prefix": ["9", 0]}},
            "5": {"class_type": "NoInputs"}}


def test_the_folder_is_one_path_component_from_the_prompt_id():
    assert job_folder("3f2c0d5e-1b2a-4c3d-9e8f-0a1b2c3d4e5f") == "job-3f2c0d5e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"


def test_save_prefixes_and_uploaded_names_move_into_the_folder_and_nothing_else_changes():
    moved = into_job_folder(WORKFLOW, "job-1", ["in.png"])
    assert moved["1"]["inputs"] == {"image": "job-1/in.png", "upload": "image"}
    assert moved["2"]["inputs"]["filename_prefix"] == "job-1/audio/ComfyUI"
    assert moved["3"]["inputs"]["text"] == "in.png is named in a note too"  # merely contains the name
    assert moved["4"]["inputs"]["filename_prefix"] == ["9", 0]  # a link
    assert moved["5"] == WORKFLOW["5"]  # a node without inputs
    assert WORKFLOW["2"]["inputs"]["filename_prefix"] == "audio/ComfyUI"  # the job's workflow is not changed


def test_without_uploads_only_the_prefixes_move():
    assert into_job_folder(WORKFLOW, "job-1")["1"]["inputs"]["image"] == "in.png"


def test_what_is_left_to_delete_outside_the_folder():
    own = OutputRef("2", "images", "a.png", subfolder="job-1/audio")
    preview = OutputRef("6", "images", "ComfyUI_temp_x_00001_.png", folder_type="temp")
    cached = OutputRef("7", "images", "old_00001_.png")
    elsewhere = OutputRef("8", "gifs", "clip.webp", subfolder="video")
    inband = OutputRef("9", "images", "websocket_9_00001_.png", folder_type="websocket")
    left = files_to_remove("job-1", [own, preview, cached, elsewhere, inband], cached_nodes=["7"])
    assert left == [preview, elsewhere]


def test_a_subfolder_that_only_starts_like_the_folder_is_not_the_folders():
    lookalike = OutputRef("2", "images", "a.png", subfolder="job-10")
    assert files_to_remove("job-1", [lookalike], cached_nodes=[]) == [lookalike]


def test_a_node_nothing_links_to_and_without_a_prefix_gets_the_folder_so_that_comfyui_runs_it_again():
    moved = into_job_folder(WORKFLOW, "job-1")
    assert moved["3"]["inputs"]["job_folder"] == "job-1" and moved["4"]["inputs"]["job_folder"] == "job-1"
    assert "job_folder" not in moved["1"]["inputs"]  # linked to: ComfyUI's cache still serves it
    assert "job_folder" not in moved["2"]["inputs"]  # its prefix already differs from any other job's
