"""Partial results end to end through the RunPod handler: a node failing after another saved, as 5.x answers it."""
import asyncio
import uuid

from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler


def saves_then_fails(tag: str) -> dict:
    """SaveImage (node 2) runs before ImageToMask of an RGB image's alpha raises IndexError (node 3)."""
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": 16, "height": 16, "batch_size": 1, "color": 99}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": f"partial_{tag}"}},
            "3": {"class_type": "ImageToMask", "inputs": {"image": ["1", 0], "channel": "alpha"}},
            "4": {"class_type": "MaskPreview", "inputs": {"mask": ["3", 0]}}}


def run(host, job, **env):
    container = build_container({"COMFY_HOST": host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20", **env})
    handler = make_handler(container)
    if container.config.output.stream():
        async def collect():
            return [item async for item in handler(job)]
        return asyncio.run(collect())
    return asyncio.run(handler(job))


def test_the_saved_image_comes_back_with_the_error_in_errors(comfy_sim):
    answer = run(comfy_sim.host, {"id": "p1", "input": {"workflow": saves_then_fails(uuid.uuid4().hex[:8])}})
    assert "error" not in answer, answer.get("error")
    assert len(answer["images"]) == 1 and answer["images"][0]["filename"].startswith("partial_")
    assert answer["error_code"] == "execution_failed"
    assert answer["errors"][-1].startswith("execution_failed: node 3 (ImageToMask): IndexError")


def test_partial_results_false_fails_the_job(comfy_sim):
    answer = run(comfy_sim.host, {"id": "p2", "input": {"workflow": saves_then_fails(uuid.uuid4().hex[:8])}},
                 PARTIAL_RESULTS="false")
    assert answer["error_code"] == "execution_failed" and "images" not in answer
    assert answer["error"].startswith("execution_failed: node 3 (ImageToMask): IndexError")


def test_a_streamed_job_yields_the_image_then_a_summary_with_the_error(comfy_sim):
    items = run(comfy_sim.host, {"id": "p3", "input": {"workflow": saves_then_fails(uuid.uuid4().hex[:8])}},
                STREAM_OUTPUTS="true")
    assert [list(item) for item in items[:-1]] == [["images"]]
    assert items[-1]["error_code"] == "execution_failed" and "error" not in items[-1]
