"""A warm worker's disk stays flat: each job's inputs, outputs and temp files leave ComfyUI's folders once it
ended, and a job ComfyUI serves from its cache still delivers (against the simulator, or a real ComfyUI whose
base folder COMFY_TEST_BASE_DIR names, in a contract run). 200 jobs of a 2 MB output each: tests/faults/test_soak.py."""
import asyncio
import base64
import io
import os
import pathlib
import uuid

import pytest
import requests
from PIL import Image

from contract import COMFY_TEST_URL
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler


@pytest.fixture
def folders(comfy_sim) -> dict:
    if not COMFY_TEST_URL:
        return {"input": comfy_sim.dirs.input, "output": comfy_sim.dirs.output, "temp": comfy_sim.dirs.temp}
    base = os.environ.get("COMFY_TEST_BASE_DIR")
    if not base:
        pytest.skip("set COMFY_TEST_BASE_DIR to the real ComfyUI's base folder to check its folders")
    return {kind: str(pathlib.Path(base) / kind) for kind in ("input", "output", "temp")}


def listing(folders: dict) -> dict:
    return {kind: sorted(str(p.relative_to(path)) for p in pathlib.Path(path).rglob("*"))
            for kind, path in folders.items()}


def png(color: tuple, size: int = 16) -> str:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def last_prompts_cached_nodes(comfy) -> list:
    [entry] = requests.get(f"{comfy.base_url}/history", params={"max_items": 1}, timeout=10).json().values()
    return next(data["nodes"] for kind, data in entry["status"]["messages"] if kind == "execution_cached")


def pixels(entry: dict) -> bytes:
    return Image.open(io.BytesIO(base64.b64decode(entry["data"]))).tobytes()


def workflow(tag: str) -> dict:
    """An uploaded input inverted, saved (output) and previewed (temp)."""
    return {"1": {"class_type": "LoadImage", "inputs": {"image": "input.png"}},
            "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
            "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": f"flat_{tag}"}},
            "4": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}}


def handler_with(comfy, folders: dict, **env):
    settings = {"COMFY_HOST": comfy.host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20",
                "COMFY_INPUT_DIR": folders["input"], "COMFY_OUTPUT_DIR": folders["output"],
                "COMFY_TEMP_DIR": folders["temp"], **env}
    return make_handler(build_container(settings))


def run(handler, job_input: dict) -> dict:
    return asyncio.run(handler({"id": f"flat-{uuid.uuid4().hex[:6]}", "input": job_input}))


def test_jobs_leave_comfyuis_folders_as_they_were(comfy_sim, folders):
    handler = handler_with(comfy_sim, folders)
    before = listing(folders)
    tag = uuid.uuid4().hex[:8]
    for n in range(5):
        answer = run(handler, {"workflow": workflow(f"{tag}_{n}"), "include_temp": True,
                               "images": [{"name": "input.png", "image": png((n * 40, 10, 10))}]})
        assert "error" not in answer, answer["error"]
        assert len(answer["images"]) == 2 and answer["images"][0]["subfolder"].startswith("job-")
    assert listing(folders) == before


def test_the_same_workflow_twice_in_a_row_delivers_both_though_comfyui_caches_it(comfy_sim, folders):
    handler = handler_with(comfy_sim, folders)
    before = listing(folders)
    made = {"1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 16, "batch_size": 1, "color": 77}},
            "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
            "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "cached_twice"}}}
    first, second = run(handler, {"workflow": made}), run(handler, {"workflow": made})
    assert {"1", "2"} <= set(last_prompts_cached_nodes(comfy_sim)), "the second prompt was not served from the cache"
    for answer in (first, second):
        assert "error" not in answer and "errors" not in answer, answer
        assert [entry["type"] for entry in answer["images"]] == ["base64"]
    assert pixels(first["images"][0]) == pixels(second["images"][0])  # the PNGs' metadata names each job's folder
    assert first["images"][0]["subfolder"] != second["images"][0]["subfolder"]
    assert listing(folders) == before


def test_a_preview_comfyui_would_serve_from_its_cache_is_made_again_for_the_second_job(comfy_sim, folders):
    handler = handler_with(comfy_sim, folders)
    before = listing(folders)
    tag = uuid.uuid4().hex[:8]
    preview = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 5}},
               "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
               "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": f"flat_{tag}"}},
               "4": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}}
    first, second = (run(handler, {"workflow": preview, "include_temp": True}) for _ in range(2))
    assert {"1", "2"} <= set(last_prompts_cached_nodes(comfy_sim)), "the second prompt was not served from the cache"
    for answer in (first, second):
        assert "errors" not in answer, answer["errors"]  # not the first job's preview, deleted: a 404
        assert [(entry["node_id"], entry["type"]) for entry in answer["images"]] == [("3", "base64"), ("4", "base64")]
    assert listing(folders) == before


def test_a_failed_job_leaves_nothing_either(comfy_sim, folders):
    handler = handler_with(comfy_sim, folders)
    before = listing(folders)
    failing = {**workflow(uuid.uuid4().hex[:8]),
               "5": {"class_type": "ImageToMask", "inputs": {"image": ["2", 0], "channel": "alpha"}},
               "6": {"class_type": "MaskPreview", "inputs": {"mask": ["5", 0]}}}
    answer = run(handler, {"workflow": failing, "images": [{"name": "input.png", "image": png((5, 5, 5))}]})
    assert answer["error_code"] == "execution_failed"
    assert listing(folders) == before


def test_with_cleanup_off_the_files_stay_where_5x_left_them(comfy_sim, folders):
    handler = handler_with(comfy_sim, folders, CLEANUP_JOB_FILES="false")
    tag = uuid.uuid4().hex[:8]
    answer = run(handler, {"workflow": workflow(tag), "images": [{"name": "input.png", "image": png((7, 7, 7))}]})
    assert answer["images"][0]["subfolder"] == "" and answer["images"][0]["filename"].startswith(f"flat_{tag}")
    left = pathlib.Path(folders["output"]) / answer["images"][0]["filename"]
    assert left.exists()
    left.unlink()  # a contract run leaves the real ComfyUI's folders as it found them

