"""`python -m bench.ui [--quick]`: a UI-format job against its API export, through the worker's handler.

The same workflow (an image made, inverted and blurred, through a primitive and a reroute) is sent both ways,
interleaved, each job with a colour of its own so that ComfyUI's cache serves neither. The worker's overhead is
its wall time (the handler's call) less ComfyUI's own execution time (`timings_ms.execute`). `/object_info` is cached after
the first job; the first UI job after the worker starts, which reads it, is reported apart. Also timed: the
conversion alone of the largest editor template ComfyUI 0.3.64 pins, against the recorded `/object_info`.

Writes `ui.json` and `ui.md` beside the other results.
"""
from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import pathlib
import statistics
import time
from typing import Any, Callable

from bench.run import ROOT, machine
from bench.servers import simulator

TARGET = 1.1  # the bound: UI overhead / API overhead


def ui_workflow(color: int) -> dict:
    """What the editor saves for: Primitive(64) → EmptyImage.width, EmptyImage → Reroute → ImageInvert → ImageBlur
    → SaveImage."""
    def node(node_id: int, node_type: str, widgets: Any = None, outputs: tuple = (), inputs: tuple = ()) -> dict:
        return {"id": node_id, "type": node_type, "mode": 0, "pos": [0, 0], "size": [100, 100], "flags": {},
                "order": 0, "properties": {}, "widgets_values": widgets if widgets is not None else [],
                "inputs": [dict(i) for i in inputs],
                "outputs": [{"name": t, "type": t, "links": links} for t, links in outputs]}
    nodes = [
        node(10, "PrimitiveNode", [64, "fixed"], outputs=(("INT", [1]),)),
        node(1, "EmptyImage", [99, 64, 1, color], outputs=(("IMAGE", [2]),),
             inputs=({"name": "width", "type": "INT", "link": 1, "widget": {"name": "width"}},)),
        node(20, "Reroute", outputs=(("*", [3]),), inputs=({"name": "", "type": "*", "link": 2},)),
        node(2, "ImageInvert", outputs=(("IMAGE", [4]),), inputs=({"name": "image", "type": "IMAGE", "link": 3},)),
        node(3, "ImageBlur", [2, 1.0], outputs=(("IMAGE", [5]),),
             inputs=({"name": "image", "type": "IMAGE", "link": 4},)),
        node(4, "SaveImage", ["bench_ui"], inputs=({"name": "images", "type": "IMAGE", "link": 5},)),
    ]
    links = [[1, 10, 0, 1, 0, "INT"], [2, 1, 0, 20, 0, "IMAGE"], [3, 20, 0, 2, 0, "*"], [4, 2, 0, 3, 0, "IMAGE"],
             [5, 3, 0, 4, 0, "IMAGE"]]
    return {"last_node_id": 20, "last_link_id": 5, "nodes": nodes, "links": links, "groups": [], "config": {},
            "extra": {}, "version": 0.4}


def api_workflow(color: int) -> dict:
    """The same workflow as the editor's API export saves it (each node's title under `_meta`)."""
    return {
        "1": {"inputs": {"width": 64, "height": 64, "batch_size": 1, "color": color}, "class_type": "EmptyImage",
              "_meta": {"title": "EmptyImage"}},
        "2": {"inputs": {"image": ["1", 0]}, "class_type": "ImageInvert", "_meta": {"title": "Invert Image"}},
        "3": {"inputs": {"blur_radius": 2, "sigma": 1.0, "image": ["2", 0]}, "class_type": "ImageBlur",
              "_meta": {"title": "ImageBlur"}},
        "4": {"inputs": {"filename_prefix": "bench_ui", "images": ["3", 0]}, "class_type": "SaveImage",
              "_meta": {"title": "Save Image"}},
    }


def _overhead_ms(answer: dict, wall_ms: float) -> float:
    """The job's wall time (the handler's call, timed here) less ComfyUI's own execution time."""
    if "error" in answer:
        raise RuntimeError(answer["error"])
    return wall_ms - answer["timings_ms"].get("execute", 0)


def _jobs(host: str, rounds: int) -> dict[str, Any]:
    from entrypoints.container import build_container
    from entrypoints.runpod_handler import make_handler

    handler = make_handler(build_container({**os.environ, "COMFY_HOST": host}))
    colors = iter(range(1, 10**6))

    def run(workflow: dict) -> float:
        started = time.perf_counter()
        answering = handler({"id": f"bench-ui-{next(colors)}", "input": {"workflow": workflow}})
        assert asyncio.iscoroutine(answering), "a STREAM_OUTPUTS handler streams: the benchmark runs without it"
        answer: dict = asyncio.run(answering)
        return _overhead_ms(answer, (time.perf_counter() - started) * 1000)

    first_ui = run(ui_workflow(next(colors)))  # reads /object_info
    overhead: dict[str, list[float]] = {"api": [], "ui": []}
    for n in range(rounds):
        order = ("api", "ui") if n % 2 else ("ui", "api")
        for form in order:
            color = next(colors)
            overhead[form].append(run(ui_workflow(color) if form == "ui" else api_workflow(color)))
    return {"first_ui_ms": first_ui, **overhead}


def _largest_template_ms(repeats: int) -> dict[str, Any]:
    """The conversion alone of the largest pinned editor template (the recorded 0.3.64 /object_info)."""
    try:
        import comfyui_workflow_templates
    except ImportError:
        return {"skipped": "comfyui-workflow-templates is not installed (the test extra)"}
    from domain.workflow.ui_format import convert_ui_workflow

    object_info = json.loads(gzip.decompress((ROOT / "tests/fixtures/comfyui/object_info_0.3.64.json.gz").read_bytes()))
    folder = pathlib.Path(comfyui_workflow_templates.get_templates_path())
    largest = max(folder.glob("*.json"), key=lambda path: path.stat().st_size)
    workflow = json.loads(largest.read_text())
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        prompt = convert_ui_workflow(workflow, object_info, choose=lambda n: 0).prompt
        times.append((time.perf_counter() - started) * 1000)
    return {"template": largest.name, "bytes": largest.stat().st_size, "api_nodes": len(prompt),
            "median_ms": round(statistics.median(times), 2), "min_ms": round(min(times), 2)}


def _quartiles(values: list[float]) -> dict[str, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return {"median": round(q2, 2), "q1": round(q1, 2), "q3": round(q3, 2)}


def main(argv: list[str] | None = None, report: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="folder for ui.json / ui.md")
    args = parser.parse_args(argv)
    rounds = args.rounds or (40 if args.quick else 300)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    with simulator(env, str(ROOT)) as sim:
        measured = _jobs(sim.host, rounds)
    api, ui = measured["api"], measured["ui"]
    ratio = statistics.median(ui) / statistics.median(api)
    result = {
        "machine": machine(), "rounds": rounds, "target": TARGET, "met": ratio <= TARGET,
        "overhead_ms": {"api": _quartiles(api), "ui": _quartiles(ui)}, "ratio_ui_over_api": round(ratio, 3),
        "first_ui_job_overhead_ms": round(measured["first_ui_ms"], 1),
        "largest_template_conversion": _largest_template_ms(20 if args.quick else 100),
    }
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ui.json").write_text(json.dumps(result, indent=2) + "\n")
    conversion = result["largest_template_conversion"]
    table = "\n".join([
        "# UI-format jobs against their API export (`python -m bench.ui`)", "",
        f"{machine()}; {rounds} interleaved rounds on the simulator, the worker's handler in process.", "",
        "| | worker overhead, median (IQR) |", "| --- | --- |",
        f"| API export | {result['overhead_ms']['api']['median']} ms ({result['overhead_ms']['api']['q1']}–"
        f"{result['overhead_ms']['api']['q3']}) |",
        f"| UI format | {result['overhead_ms']['ui']['median']} ms ({result['overhead_ms']['ui']['q1']}–"
        f"{result['overhead_ms']['ui']['q3']}) |", "",
        f"UI / API: **{result['ratio_ui_over_api']}×** (target ≤ {TARGET}×: {'met' if result['met'] else 'NOT met'}). "
        f"The first UI job after start (it reads `/object_info`): {result['first_ui_job_overhead_ms']} ms overhead.",
        "",
        "Largest pinned template converted alone: " + (
            f"{conversion['template']} ({conversion['bytes']:,} bytes, {conversion['api_nodes']} API nodes): "
            f"median {conversion['median_ms']} ms, min {conversion['min_ms']} ms."
            if "median_ms" in conversion else conversion["skipped"]), "",
    ])
    (out / "ui.md").write_text(table)
    report(table)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
