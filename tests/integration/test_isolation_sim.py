"""No job reads, lists or deletes what is not its own, through the handler against the simulator (or a real
ComfyUI in a contract run): file choices stay inside ComfyUI's folders and out of other jobs' folders, other
jobs' folders are never named in an answer, every job's inputs go into a folder of its own, and cleanup deletes
only what the job can prove it made."""
import asyncio
import base64
import io
import os
import pathlib
import shutil
import uuid

import pytest
import requests
from PIL import Image

from contract import COMFY_TEST_URL
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from integration.sim_job import wait_until


def png(color: tuple, size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, "PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def pixel(entry: dict) -> tuple:
    rgb = Image.open(io.BytesIO(base64.b64decode(entry["data"]))).convert("RGB").getpixel((0, 0))
    assert isinstance(rgb, tuple), rgb
    return rgb


def handler_for(comfy, **env):
    return make_handler(build_container({"COMFY_HOST": comfy.host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20", **env}))


def answer(handler, job_input: dict) -> dict:
    return asyncio.run(handler({"id": f"iso-{uuid.uuid4().hex[:6]}", "input": job_input}))


def loads(name: str, prefix: str = "iso") -> dict:
    return {"1": {"class_type": "LoadImage", "inputs": {"image": name}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}}}


@pytest.fixture
def simulated(comfy_sim):
    if COMFY_TEST_URL:
        pytest.skip("needs the simulator's folders and knobs")
    return comfy_sim


@pytest.fixture
def folders(comfy_sim) -> dict:
    """ComfyUI's input, output and temp folders: the simulator's, or a real ComfyUI's under COMFY_TEST_BASE_DIR."""
    if not COMFY_TEST_URL:
        return {"input": comfy_sim.dirs.input, "output": comfy_sim.dirs.output, "temp": comfy_sim.dirs.temp}
    base = os.environ.get("COMFY_TEST_BASE_DIR")
    if not base:
        pytest.skip("set COMFY_TEST_BASE_DIR to the real ComfyUI's base folder to check its folders")
    return {kind: str(pathlib.Path(base) / kind) for kind in ("input", "output", "temp")}


def cleanup_env(folders: dict) -> dict:
    return {"COMFY_INPUT_DIR": folders["input"], "COMFY_OUTPUT_DIR": folders["output"],
            "COMFY_TEMP_DIR": folders["temp"]}


def listing(folders: dict) -> dict:
    return {kind: sorted(str(p.relative_to(path)) for p in pathlib.Path(path).rglob("*"))
            for kind, path in folders.items()}


def input_subfolders(comfy) -> list:
    """What ComfyUI offers LoadImageSetFromFolderNode: every folder under its input folder."""
    info = requests.get(f"{comfy.base_url}/object_info/LoadImageSetFromFolderNode", timeout=10).json()
    return info["LoadImageSetFromFolderNode"]["input"]["required"]["folder"][0]


def test_a_job_can_neither_list_nor_read_another_jobs_upload(comfy_sim, folders):
    """Job B's upload stays in its folder (cleanup off, as outside the image, or B still running); job A tries to
    learn the folder's name from a refusal and to read the file by it, on a real run and on a dry run."""
    handler = handler_for(comfy_sim, MAX_CONCURRENCY="2")
    secret = png((11, 22, 33))
    before = set(input_subfolders(comfy_sim))
    owner = answer(handler, {"workflow": loads("secret.png", "secret_owner"),
                             "images": [{"name": "secret.png", "image": b64(secret)}]})
    assert "error" not in owner, owner
    [folder] = [name for name in input_subfolders(comfy_sim) if name not in before and name.startswith("job-")]
    try:
        listing_nope = {"1": {"class_type": "LoadImageSetFromFolderNode", "inputs": {"folder": "nope"}},
                        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "listed"}}}
        for dry in (False, True):
            refusal = answer(handler, {"workflow": listing_nope, "validate_only": dry})
            assert refusal["error_code"] == "workflow_invalid", refusal
            assert "folder: 'nope' not in" in refusal["error"]
            assert folder not in str(refusal), refusal  # ComfyUI lists it among the choices: filtered out
        read_all = {"1": {"class_type": "LoadImageSetFromFolderNode", "inputs": {"folder": folder}},
                    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "all"}}}
        for attempt in (loads(f"{folder}/secret.png"), loads(f"{folder}/secret.png [input]"), read_all):
            for dry in (False, True):
                refusal = answer(handler, {"workflow": attempt, "validate_only": dry})
                assert refusal["error_code"] == "invalid_input", refusal  # it used to return B's pixels
                assert "names another job's folder" in refusal["error"] and folder not in str(refusal)
    finally:
        shutil.rmtree(os.path.join(folders["input"], folder), ignore_errors=True)


def test_a_file_choice_outside_comfyuis_folders_is_refused(comfy_sim, tmp_path):
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes(png((1, 2, 3)))
    handler = handler_for(comfy_sim)
    for name in (str(outside), os.path.relpath(outside, comfy_sim.dirs.input) if not COMFY_TEST_URL
                 else "../../../../../../.." + str(outside), f"{outside} [output]", "sub/../../x.png"):
        for dry in (False, True):
            refusal = answer(handler, {"workflow": loads(name), "validate_only": dry})
            assert refusal["error_code"] == "invalid_input", (name, refusal)
            assert "node 1 (LoadImage) input 'image'" in refusal["error"]
            assert "absolute path" in refusal["error"] or "'..' part" in refusal["error"]


def test_a_string_that_is_not_a_file_choice_may_look_like_a_path(comfy_sim):
    handler = handler_for(comfy_sim)
    text = {"1": {"class_type": "PreviewAny", "inputs": {"source": "/imagine ../../a cat"}}}
    response = answer(handler, {"workflow": text})
    assert response["text"][0]["data"] == "/imagine ../../a cat", response


def test_two_overlapping_jobs_that_both_send_input_png_each_read_their_own(simulated):
    """MAX_CONCURRENCY=1 and no cleanup folders, as outside the image: the SDK's local API still runs /runsync
    requests at once. A prompt of another client holds ComfyUI, so both jobs upload before either loads."""
    simulated.faults.node_delay_s = {"ImageBlur": 1.5}
    blocker = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 1}},
               "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 1, "sigma": 1.0}},
               "3": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}}
    requests.post(f"{simulated.base_url}/prompt", json={"prompt": blocker}, timeout=10).raise_for_status()
    handler = handler_for(simulated)
    red, blue = png((255, 0, 0)), png((0, 0, 255))

    async def both():
        return await asyncio.gather(
            handler({"id": "red", "input": {"workflow": loads("input.png", "red"),
                                            "images": [{"name": "input.png", "image": b64(red)}]}}),
            handler({"id": "blue", "input": {"workflow": loads("input.png", "blue"),
                                             "images": [{"name": "input.png", "image": b64(blue)}]}}))

    got_red, got_blue = asyncio.run(both())
    assert pixel(got_red["images"][0]) == (255, 0, 0) and pixel(got_blue["images"][0]) == (0, 0, 255)


def test_an_upload_never_replaces_a_file_another_client_put_in_comfyuis_input_folder(comfy_sim, folders):
    theirs = pathlib.Path(folders["input"]) / f"theirs_{uuid.uuid4().hex[:6]}.png"
    theirs.write_bytes(png((9, 9, 9)))
    try:
        response = answer(handler_for(comfy_sim, **cleanup_env(folders)), {
            "workflow": loads(theirs.name), "images": [{"name": theirs.name, "image": b64(png((200, 0, 0)))}]})
        assert pixel(response["images"][0]) == (200, 0, 0)
        assert theirs.read_bytes() == png((9, 9, 9))
    finally:
        theirs.unlink()


def test_cleanup_never_deletes_a_file_a_custom_node_reports_but_did_not_write(simulated):
    theirs = pathlib.Path(simulated.dirs.output) / "clientB" / "secret.png"
    theirs.parent.mkdir()
    theirs.write_bytes(png((4, 5, 6)))
    temp = pathlib.Path(simulated.dirs.temp) / "someone_elses_preview.png"
    temp.write_bytes(png((6, 5, 4)))
    handler = handler_for(simulated, **cleanup_env({"input": simulated.dirs.input, "output": simulated.dirs.output,
                                                     "temp": simulated.dirs.temp}))
    report = {"1": {"class_type": "SimReportFile",
                    "inputs": {"filename": "secret.png", "subfolder": "clientB", "folder_type": "output"}},
              "2": {"class_type": "SimReportFile",
                    "inputs": {"filename": "someone_elses_preview.png", "subfolder": "", "folder_type": "temp"}}}
    answer(handler, {"workflow": report, "include_temp": True})
    assert theirs.read_bytes() == png((4, 5, 6)) and temp.read_bytes() == png((6, 5, 4))


def dangling_preview(color: int) -> dict:
    """A preview a node links to: a node that never runs (nothing depends on it, so ComfyUI never checks it)."""
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": color}},
            "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}},
            "3": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}}}


def test_a_preview_some_node_links_to_still_runs_again_and_the_second_job_gets_it(comfy_sim, folders):
    before = listing(folders)
    handler = handler_for(comfy_sim, **cleanup_env(folders))
    graph = dangling_preview(uuid.uuid4().int % 2**24)
    for _ in range(2):
        response = answer(handler, {"workflow": graph, "include_temp": True})
        assert "errors" not in response and "error" not in response, response  # was a 404: the first one's file
        assert [entry["node_id"] for entry in response["images"]] == ["2"]
    assert listing(folders) == before


@pytest.mark.parametrize("frames_lost", [False, True])
def test_a_preview_another_client_made_of_the_same_graph_is_not_deleted(comfy_sim, folders, frames_lost):
    """Another client ran the very graph our job sends; with frames lost, only /history tells which nodes
    ComfyUI ran. The other client's preview stays either way."""
    if frames_lost and COMFY_TEST_URL:
        pytest.skip("needs the simulator's socket knobs")
    graph = dangling_preview(uuid.uuid4().int % 2**24)
    before = listing(folders)
    theirs = requests.post(f"{comfy_sim.base_url}/prompt", json={"prompt": graph, "client_id": "clientC"},
                           timeout=10).json()["prompt_id"]
    assert wait_until(lambda: bool(comfy_sim.history(theirs)))
    their_files = listing(folders)
    if frames_lost:
        comfy_sim.faults.drop_socket_after_frames = 2
    handler = handler_for(comfy_sim, WEBSOCKET_RECONNECT_DELAY_S="0.05", **cleanup_env(folders))
    response = answer(handler, {"workflow": graph, "include_temp": True})
    assert "error" not in response, response
    assert listing(folders) == their_files
    for name in set(their_files["temp"]) - set(before["temp"]):
        (pathlib.Path(folders["temp"]) / name).unlink(missing_ok=True)  # a contract run leaves ComfyUI as it was


def test_a_post_that_times_out_leaves_no_prompt_running_and_no_file(simulated):
    """ComfyUI queued and ran the prompt but its answer to POST /prompt came too late: the job drops the prompt
    and cleans its folder once the prompt stopped."""
    simulated.faults.frames_before_post_response = True
    simulated.faults.node_delay_s = {"ImageInvert": 3.0}
    handler = handler_for(simulated, JOB_TIMEOUT_S="1.5", **cleanup_env({
        "input": simulated.dirs.input, "output": simulated.dirs.output, "temp": simulated.dirs.temp}))
    graph = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 5}},
             "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
             "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "orphan"}}}
    response = answer(handler, {"workflow": graph})
    assert response["error_code"] == "timed_out" and "POST /prompt" in response["error"], response
    simulated.wait_idle()
    assert not [f for f in simulated.dirs.written_files() if "orphan" in f]


def test_a_deadline_pauses_behind_this_workers_prompt_that_comfyui_queued_first(simulated):
    """Job A posted first but its (large) post reached ComfyUI's queue after job B's: A waits behind B, and its
    deadline pauses while it does."""
    simulated.faults.post_delay_s = {"ImageInvert": 1.0}  # A's post
    simulated.faults.node_delay_s = {"ImageBlur": 3.0, "ImageInvert": 2.0}
    # A's own time: 1 s posting + 2 s running; its wall time: B's 3 s come between, over the 4 s deadline
    handler = handler_for(simulated, MAX_CONCURRENCY="2", JOB_TIMEOUT_S="4")
    job_a = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 1}},
             "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
             "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "a"}}}
    job_b = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 2}},
             "2": {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 1, "sigma": 1.0}},
             "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "b"}}}

    async def both():
        first = asyncio.ensure_future(handler({"id": "A", "input": {"workflow": job_a}}))
        await asyncio.sleep(0.3)
        second = asyncio.ensure_future(handler({"id": "B", "input": {"workflow": job_b}}))
        return await first, await second

    got_a, got_b = asyncio.run(both())
    assert "error" not in got_b, got_b
    assert "error" not in got_a, got_a  # it timed out when the line followed the order the posts were sent
