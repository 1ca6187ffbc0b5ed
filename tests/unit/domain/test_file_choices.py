"""File choices stay inside ComfyUI's folders and out of other jobs' folders; other strings may say anything."""
import pytest

from domain.errors import InvalidInput
from domain.workflow.file_choices import refuse_file_choices, suspects

OWN = "job-3f2c0d5e-1b2a-4c3d-9e8f-0a1b2c3d4e5f"
OTHER = "job-0a1b2c3d-4e5f-4c3d-9e8f-3f2c0d5e1b2a"
INFO = {
    "LoadImage": {"input": {"required": {"image": [["a.png"], {"image_upload": True}]}}},
    "LoadAudio": {"input": {"required": {"audio": ["COMBO", {"options": [], "audio_upload": True}]}}},
    "Custom": {"input": {"optional": {"path": ["STRING", {"image_upload": True}]}}},
    "CLIPTextEncode": {"input": {"required": {"text": ["STRING", {"multiline": True}]}}},
}


def workflow(class_type: str, name: str, value) -> dict:
    return {"1": {"class_type": class_type, "inputs": {name: value}}}


@pytest.mark.parametrize("value, why", [
    ("/etc/hostname", "absolute path"), ("\\\\server\\share\\a.png", "absolute path"),
    ("../../etc/a.png", "'..' part"), ("sub/../../a.png", "'..' part"), ("sub\\..\\a.png", "'..' part"),
    ("/tmp/a.png [output]", "absolute path"), ("../a.png [temp]", "'..' part"),
    (f"{OTHER}/secret.png", "names another job's folder"), (OTHER, "names another job's folder"),
    (f"{OTHER}/x.png [output]", "names another job's folder"),
])
def test_a_file_choice_leaving_comfyuis_folders_or_entering_another_jobs_is_refused(value, why):
    for class_type, name in (("LoadImage", "image"), ("LoadAudio", "audio"), ("Custom", "path")):
        found = suspects(workflow(class_type, name, value), OWN)
        with pytest.raises(InvalidInput, match=why) as caught:
            refuse_file_choices(found, INFO, OWN)
        assert f"node 1 ({class_type}) input '{name}'" in caught.value.message
        assert OTHER not in caught.value.message


@pytest.mark.parametrize("value", ["a.png", "sub/a.png", f"{OWN}/a.png", "a..b.png", "job-photos/a.png",
                                   "x.png [output]", "..hidden.png"])
def test_a_file_choice_inside_comfyuis_folders_is_left_to_comfyui(value):
    assert suspects(workflow("LoadImage", "image", value), OWN) == []


def test_text_that_looks_like_a_path_is_fine_where_the_input_is_not_a_file_choice():
    found = suspects(workflow("CLIPTextEncode", "text", "/imagine ../../a cat"), OWN)
    assert len(found) == 1  # suspect, until /object_info says what the input is
    refuse_file_choices(found, INFO, OWN)
    refuse_file_choices(suspects(workflow("Unknown", "image", "/a.png"), OWN), INFO, OWN)  # ComfyUI's to refuse


def test_links_and_numbers_are_never_suspects_but_list_values_are():
    assert suspects({"1": {"class_type": "LoadImage", "inputs": {"image": ["2", 0], "n": 5}}}, OWN) == []
    listed = {"1": {"class_type": "LoadImage", "inputs": {"image": {"__value__": ["ok.png", "/abs.png"]}}}}
    assert [s.value for s in suspects(listed, OWN)] == ["/abs.png"]


def test_a_long_hostile_value_is_told_in_short():
    found = suspects(workflow("LoadImage", "image", "/" + "a" * 1_000_000), OWN)
    with pytest.raises(InvalidInput) as caught:
        refuse_file_choices(found, INFO, OWN)
    assert len(caught.value.message) < 400
