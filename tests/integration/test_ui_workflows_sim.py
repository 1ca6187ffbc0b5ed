"""UI-format workflows (as ComfyUI's editor saves them) run through the handler against the simulator and give the
very pixels their API export gives: bypass, mute, primitive, reroute, subgraph and converted widgets; overrides by
title; the dry run's `workflow_api`; errors that name the UI node."""
import asyncio
import base64
import io
import json
import uuid

import pytest
from PIL import Image

from domain.budget import Budget
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from unit.domain.ui_graphs import UiGraph, subgraph

BLUR = "5c0f3a0e-0000-4000-8000-000000000001"


@pytest.fixture
def handler(comfy_sim):
    return make_handler(build_container({"COMFY_HOST": comfy_sim.host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20"}))


def run(handler, job_input: dict) -> dict:
    return asyncio.run(handler({"id": f"ui-{uuid.uuid4().hex[:6]}", "input": job_input}))


def pixels(answer: dict) -> list:
    assert "error" not in answer, answer
    return [Image.open(io.BytesIO(base64.b64decode(e["data"]))).convert("RGB").tobytes() for e in answer["images"]]


def canvas(g: UiGraph, node_id=1, width=16, color=0x336699, **extra) -> dict:
    return g.node(node_id, "EmptyImage", [width, 16, 1, color], title="Canvas", outputs=("IMAGE",), **extra)


def api(*nodes: tuple) -> dict:
    return {node_id: {"class_type": class_type, "inputs": inputs} for node_id, class_type, inputs in nodes}


EMPTY = {"width": 16, "height": 16, "batch_size": 1, "color": 0x336699}


def same_pixels(handler, ui: dict, api_workflow: dict, **job) -> list:
    from_ui, from_api = pixels(run(handler, {"workflow": ui, **job})), pixels(run(handler, {"workflow": api_workflow,
                                                                                          **job}))
    assert from_ui == from_api and from_ui
    return from_ui


def test_a_plain_ui_export_gives_its_api_exports_pixels(handler):
    g = UiGraph()
    canvas(g)
    g.node(2, "ImageInvert", outputs=("IMAGE",))
    g.node(3, "SaveImage", ["ui_plain"])
    g.link(1, 0, 2, "image", "IMAGE")
    g.link(2, 0, 3, "images", "IMAGE")
    same_pixels(handler, g.workflow(), api(("1", "EmptyImage", EMPTY), ("2", "ImageInvert", {"image": ["1", 0]}),
                                          ("3", "SaveImage", {"images": ["2", 0], "filename_prefix": "ui_plain"})))


def test_a_bypassed_node_passes_its_input_on_and_a_muted_output_is_not_run(handler):
    g = UiGraph()
    canvas(g)
    g.node(2, "ImageInvert", mode=4, outputs=("IMAGE",))  # bypassed
    g.node(3, "SaveImage", ["ui_bypass"])
    g.node(4, "SaveImage", ["ui_muted"], mode=2)  # muted
    g.link(1, 0, 2, "image", "IMAGE")
    g.link(2, 0, 3, "images", "IMAGE")
    g.link(1, 0, 4, "images", "IMAGE")
    [only] = same_pixels(handler, g.workflow(), api(("1", "EmptyImage", EMPTY),
                                                    ("3", "SaveImage", {"images": ["1", 0], "filename_prefix": "ui_bypass"})))
    assert len(only) == 16 * 16 * 3


def test_a_primitive_feeds_converted_widgets_through_reroutes(handler):
    g = UiGraph()
    g.node(10, "PrimitiveNode", [24, "fixed"], outputs=("INT",))
    canvas(g, width=99)  # its saved width is stale: the primitive's value wins
    g.node(20, "Reroute", outputs=("*",))
    g.node(21, "Reroute", outputs=("*",))
    g.node(2, "ImageInvert", outputs=("IMAGE",))
    g.node(3, "SaveImage", ["ui_primitive"])
    g.link(10, 0, 1, "width", "INT", widget=True)
    g.link(1, 0, 20, "", "*")
    g.link(20, 0, 21, "", "*")
    g.link(21, 0, 2, "image", "IMAGE")
    g.link(2, 0, 3, "images", "IMAGE")
    [image] = same_pixels(handler, g.workflow(), api(("1", "EmptyImage", {**EMPTY, "width": 24}),
                                                     ("2", "ImageInvert", {"image": ["1", 0]}),
                                                     ("3", "SaveImage", {"images": ["2", 0],
                                                                         "filename_prefix": "ui_primitive"})))
    assert len(image) == 24 * 16 * 3


def _blur_definition() -> dict:
    inner = UiGraph()
    inner.node(-10, "io")
    inner.node(-20, "io")
    inner.node(1, "ImageBlur", [1, 1.0], title="Blur it", outputs=("IMAGE",))
    inner.link(-10, 0, 1, "image", "IMAGE")
    inner.link(-10, 1, 1, "blur_radius", "INT", widget=True)
    inner.link(1, 0, -20, "IMAGE", "IMAGE")
    inner.nodes = [n for n in inner.nodes if n["id"] not in (-10, -20)]
    return subgraph(BLUR, "Blur", inner, [("image", "IMAGE", [1]), ("blur_radius", "INT", [2])],
                    [("IMAGE", "IMAGE", [3])])


def test_a_subgraph_runs_expanded_with_its_promoted_widget(handler):
    g = UiGraph()
    g.node(1, "EmptyImage", [16, 16, 1, 0], outputs=("IMAGE",))
    g.node(2, "ImageAddNoise", [7, "fixed", 0.5], outputs=("IMAGE",))
    g.node(5, BLUR, [3], title="Soften", outputs=("IMAGE",))
    g.node(9, "SaveImage", ["ui_subgraph"])
    g.link(1, 0, 2, "image", "IMAGE")
    g.link(2, 0, 5, "image", "IMAGE")
    g.link(5, 0, 9, "images", "IMAGE")
    ui = g.workflow(definitions={"subgraphs": [_blur_definition()]})
    same_pixels(handler, ui, api(("1", "EmptyImage", {**EMPTY, "color": 0}),
                                 ("2", "ImageAddNoise", {"image": ["1", 0], "seed": 7, "strength": 0.5}),
                                 ("5:1", "ImageBlur", {"image": ["2", 0], "blur_radius": 3, "sigma": 1.0}),
                                 ("9", "SaveImage", {"images": ["5:1", 0], "filename_prefix": "ui_subgraph"})))


def test_overrides_by_title_on_a_ui_export_and_by_id_on_an_api_one(handler):
    g = UiGraph()
    canvas(g)
    g.node(3, "SaveImage", ["ui_override"], title="Out")
    g.link(1, 0, 3, "images", "IMAGE")
    overridden = api(("1", "EmptyImage", {**EMPTY, "color": 0xFF0000}),
                     ("3", "SaveImage", {"images": ["1", 0], "filename_prefix": "ui_override"}))
    from_ui = pixels(run(handler, {"workflow": g.workflow(), "overrides": {"Canvas": {"color": 0xFF0000}}}))
    from_api = pixels(run(handler, {"workflow": api(("1", "EmptyImage", EMPTY), ("3", "SaveImage", {
        "images": ["1", 0], "filename_prefix": "ui_override"})), "overrides": {"1": {"color": 0xFF0000}}}))
    assert from_ui == from_api == pixels(run(handler, {"workflow": overridden}))
    refused = run(handler, {"workflow": g.workflow(), "overrides": {"Canvas": {"colour": 1}}})
    assert refused["error_code"] == "invalid_input" and "has no input 'colour'" in refused["error"]


def test_the_dry_run_answers_the_api_prompt_that_would_be_queued(handler):
    g = UiGraph()
    canvas(g)
    g.node(3, "SaveImage", ["ui_dry"])
    g.link(1, 0, 3, "images", "IMAGE")
    answer = run(handler, {"workflow": json.dumps(g.workflow()), "validate_only": True,
                           "overrides": {"Canvas": {"width": 32}}})
    assert answer["status"] == "valid" and answer["nodes"] == 2
    assert answer["workflow_api"] == {
        "1": {"inputs": {**EMPTY, "width": 32}, "class_type": "EmptyImage", "_meta": {"title": "Canvas"}},
        "3": {"inputs": {"images": ["1", 0], "filename_prefix": "ui_dry"}, "class_type": "SaveImage",
              "_meta": {"title": "Save Image"}}}


def test_an_error_about_a_node_of_a_ui_export_names_its_ui_id_and_title(handler):
    g = UiGraph()
    g.node(1, "EmptyImage", [0, 16, 1, 0], title="Zero wide", outputs=("IMAGE",))
    g.node(3, "SaveImage", ["ui_error"])
    g.link(1, 0, 3, "images", "IMAGE")
    refused = run(handler, {"workflow": g.workflow()})
    assert refused["error_code"] == "workflow_invalid"
    assert refused["error"].startswith("workflow_invalid: node 1 ('Zero wide') (EmptyImage) input 'width': ")
    missing = UiGraph()
    missing.node(4, "NoSuchNode", [1], title="Magic", outputs=("IMAGE",))
    missing.node(3, "SaveImage", ["ui_missing"])
    missing.link(4, 0, 3, "images", "IMAGE")
    refused = run(handler, {"workflow": missing.workflow()})
    assert refused["error_code"] == "node_missing" and "node 4 ('Magic')" in refused["error"]


def test_object_info_is_read_once_per_comfyui_process(comfy_sim, mocker):
    """Shared by UI conversions, overrides and dry runs; read again after a connection to ComfyUI failed (it may
    be another process then, with other nodes)."""
    container = build_container({"COMFY_HOST": comfy_sim.host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20"})
    handler = make_handler(container)
    reads = mocker.spy(container.http_session(), "request")
    g = UiGraph()
    canvas(g)
    g.node(3, "SaveImage", ["ui_once"])
    g.link(1, 0, 3, "images", "IMAGE")

    def object_info_reads() -> int:
        return sum(1 for call in reads.call_args_list if call.args[1].endswith("/object_info"))

    for _ in range(3):
        pixels(run(handler, {"workflow": g.workflow(), "overrides": {"Canvas": {"width": 8}}}))
    assert run(handler, {"workflow": g.workflow(), "validate_only": True})["status"] == "valid"
    assert object_info_reads() == 1
    container.comfy_api().wait_until_ready(Budget(), recheck=True)  # what a failed connection leads to
    pixels(run(handler, {"workflow": g.workflow()}))
    assert object_info_reads() == 2
