"""Inputs worker-comfyui 5.x accepts, end to end through the handler against the simulator: names with folders
land in that folder of the job's own folder in ComfyUI's input folder, and an empty comfy_org_api_key sends the
worker's key."""
import base64
import io
import json
import os

import requests
from PIL import Image

import handler_calls
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler


def png(color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), color).save(out, "PNG")
    return out.getvalue()


def inverted(name: str) -> dict:
    return {
        "1": {"class_type": "LoadImage", "inputs": {"image": name}},
        "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
        "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "subfolder_input"}},
    }


def answer(sim, job_input: dict, **env) -> dict:
    handler = make_handler(build_container({"COMFY_HOST": sim.host, **env}))
    return handler_calls.answer(handler, {"id": "sub-1", "input": job_input})


def test_names_with_folders_are_uploaded_into_those_folders_and_loaded_by_that_name(comfy_sim):
    red, blue = png((255, 0, 0)), png((0, 0, 255))
    images = [{"name": "x/a.png", "image": base64.b64encode(red).decode()},
              {"name": "y/deeper/a.png", "image": base64.b64encode(blue).decode()}]
    response = answer(comfy_sim, {"workflow": inverted("y/deeper/a.png"), "images": images})
    assert "error" not in response, response
    [job_folder] = [name for name in os.listdir(comfy_sim.dirs.input) if name.startswith("job-")]
    folder = os.path.join(comfy_sim.dirs.input, job_folder)  # every job's inputs go into a folder of its own
    with open(os.path.join(folder, "x", "a.png"), "rb") as stored_red, \
            open(os.path.join(folder, "y", "deeper", "a.png"), "rb") as stored_blue:
        assert (stored_red.read(), stored_blue.read()) == (red, blue)
    assert not os.path.exists(os.path.join(folder, "a.png"))
    [output] = response["images"]
    with Image.open(io.BytesIO(base64.b64decode(output["data"]))) as picture:
        assert picture.convert("RGB").getpixel((0, 0)) == (255, 255, 0)  # the blue one, inverted


def test_a_dry_run_knows_a_name_with_folders_is_one_of_the_job_s_inputs(comfy_sim):
    images = [{"name": "sub/a.png", "image": base64.b64encode(png((1, 2, 3))).decode()}]
    response = answer(comfy_sim, {"workflow": inverted("sub/a.png"), "images": images, "validate_only": True})
    assert response == {"status": "valid", "nodes": 3, "workflow_api": inverted("sub/a.png")}


def test_a_name_leaving_the_input_folder_is_refused_before_anything_is_uploaded(comfy_sim):
    images = [{"name": "sub/../../a.png", "image": base64.b64encode(png((1, 2, 3))).decode()}]
    response = answer(comfy_sim, {"workflow": inverted("a.png"), "images": images})
    assert response["error_code"] == "invalid_input"
    assert "'..'" in response["error"]
    assert os.listdir(comfy_sim.dirs.input) == ["example.png"]


def test_an_empty_api_key_sends_the_workers_key_to_comfyui(comfy_sim, mocker):
    sent = mocker.spy(requests.Session, "request")
    images = [{"name": "keyed.png", "image": base64.b64encode(png((9, 9, 9))).decode()}]
    response = answer(comfy_sim, {"workflow": inverted("keyed.png"), "images": images, "comfy_org_api_key": ""},
                      COMFY_ORG_API_KEY="worker-key")
    assert "error" not in response, response
    [prompt] = [json.loads(call.kwargs["data"]) for call in sent.call_args_list
                if call.args[1:3] == ("POST", f"{comfy_sim.base_url}/prompt")]
    assert prompt["extra_data"] == {"api_key_comfy_org": "worker-key"}
    assert "worker-key" not in json.dumps(response)
