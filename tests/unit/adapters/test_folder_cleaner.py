"""Deleting a job's files from ComfyUI's folders: only inside them, links never followed out."""
import os

import pytest

from adapters.folder_cleaner import FolderCleaner
from domain.model import OutputRef


@pytest.fixture
def comfy(tmp_path):
    dirs = {kind: tmp_path / kind for kind in ("input", "output", "temp")}
    for path in dirs.values():
        path.mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "precious.png").write_bytes(b"keep")
    return dirs, tmp_path / "outside"


def cleaner(dirs) -> FolderCleaner:
    return FolderCleaner(input_dir=str(dirs["input"]), output_dir=str(dirs["output"]), temp_dir=str(dirs["temp"]))


def test_the_job_folder_in_each_folder_and_the_listed_files_go(comfy):
    dirs, _ = comfy
    for kind in ("input", "output"):
        (dirs[kind] / "job-1" / "audio").mkdir(parents=True)
        (dirs[kind] / "job-1" / "audio" / "a.flac").write_bytes(b"x")
    (dirs["temp"] / "ComfyUI_temp_x_00001_.png").write_bytes(b"t")
    (dirs["output"] / "other_job.png").write_bytes(b"o")
    cleaner(dirs).remove("job-1", [OutputRef("4", "images", "ComfyUI_temp_x_00001_.png", folder_type="temp")])
    assert [sorted(os.listdir(dirs[kind])) for kind in ("input", "output", "temp")] == [[], ["other_job.png"], []]


@pytest.mark.parametrize("ref", [
    OutputRef("1", "images", "precious.png", subfolder="../outside"),
    OutputRef("1", "images", "../outside/precious.png"),
    OutputRef("1", "images", "precious.png", subfolder="/abs"),
])
def test_nothing_outside_the_folders_is_deleted(comfy, ref):
    dirs, outside = comfy
    if ref.subfolder == "/abs":
        ref = OutputRef("1", "images", "precious.png", subfolder=str(outside))
    cleaner(dirs).remove("..", [ref])
    assert (outside / "precious.png").read_bytes() == b"keep"
    assert all(path.exists() for path in dirs.values())


def test_a_link_out_is_removed_as_a_link_never_followed(comfy):
    dirs, outside = comfy
    (dirs["output"] / "job-1").symlink_to(outside, target_is_directory=True)
    (dirs["output"] / "link.png").symlink_to(outside / "precious.png")
    (dirs["output"] / "via").symlink_to(outside, target_is_directory=True)
    cleaner(dirs).remove("job-1", [OutputRef("1", "images", "link.png"),
                                   OutputRef("1", "images", "precious.png", subfolder="via")])
    assert (outside / "precious.png").read_bytes() == b"keep"
    assert sorted(os.listdir(dirs["output"])) == ["via"]


def test_a_folder_not_configured_is_never_touched(comfy):
    dirs, _ = comfy
    (dirs["input"] / "job-1").mkdir()
    FolderCleaner(input_dir=None, output_dir=str(dirs["output"]), temp_dir=None).remove("job-1", [])
    assert (dirs["input"] / "job-1").is_dir()


@pytest.mark.parametrize("ref", [
    OutputRef("1", "images", "a\0.png"),
    OutputRef("1", "images", "a.png", subfolder="job-1\0"),
    OutputRef("1", "images", "x" * 5000 + ".png", subfolder="y" * 5000),
])
def test_a_name_no_file_can_have_is_skipped_and_never_raises_into_the_job(comfy, ref):
    dirs, _ = comfy
    (dirs["output"] / "a.png").write_bytes(b"a")
    cleaner(dirs).remove("job-1", [ref])
    assert os.listdir(dirs["output"]) == ["a.png"]
