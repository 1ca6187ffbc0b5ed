"""Caller text of any length (up to 10 MB) in any echoed field: the event loop keeps its pace, the job answers within
2 s, the error line is short, and each log line stays bounded, with the redacting log set-up the worker runs."""
import asyncio
import io
import logging
import subprocess
import sys
import time

import pytest
import requests

from e2e.conftest import ROOT, free_port
from entrypoints.container import build_container
from entrypoints.job_logging import WORKER_LOGGERS, JobIdFilter, RedactingFilter
from entrypoints.runpod_handler import make_handler

pytestmark = pytest.mark.e2e

HUGE = 10_000_000
MAX_LAG_S = 0.050  # the bounds
MAX_ANSWER_S = 2.0
MAX_ERROR_CHARS = 800
WORKFLOW = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 7}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "hostile"}},
}
LOADER = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "x"}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "hostile"}},
}


def _with_node(node_id=None, class_type=None, **inputs) -> dict:
    node = {**WORKFLOW["1"], "inputs": {**WORKFLOW["1"]["inputs"], **inputs}}
    if class_type is not None:
        node["class_type"] = class_type
    return {node_id or "1": node, "2": {**WORKFLOW["2"], "inputs": {"images": [node_id or "1", 0],
                                                                     "filename_prefix": "hostile"}}}


def _png_named(name: str) -> dict:
    return {"name": name, "image": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=="}


# Each field the worker (or ComfyUI, through the worker) echoes: the job input it is sent in, and the error code.
CASES = {
    "output_format.format": (lambda s: {"workflow": WORKFLOW, "output_format": {"format": s}}, "invalid_input"),
    "output_format.quality": (lambda s: {"workflow": WORKFLOW, "output_format": {"format": "jpeg", "quality": s}},
                              "invalid_input"),
    "output_format field name": (lambda s: {"workflow": WORKFLOW, "output_format": {s: 1}}, "invalid_input"),
    "images[0].name": (lambda s: {"workflow": WORKFLOW, "images": [_png_named(s)]}, "invalid_input"),
    "images[0].image": (lambda s: {"workflow": WORKFLOW, "images": [{"name": "a.png", "image": "!" + s}]},
                        "invalid_input"),
    "images[0].url scheme": (lambda s: {"workflow": WORKFLOW, "images": [{"name": "a.png", "url": "ftp://" + s}]},
                      "invalid_input"),
    "images[0].url": (lambda s: {"workflow": WORKFLOW, "images": [{"name": "a.png", "url": "http://" + s}]},
                      "invalid_input"),  # longer than any server takes
    "images[0].url host": (lambda s: {"workflow": WORKFLOW, "images": [{"name": "a.png", "url": "http://" + s[:8000]}]},
                           "input_fetch_failed"),  # as long as a URL may be: the fetcher echoes its host
    "workflow node id": (lambda s: {"workflow": {s: {"inputs": {}}}}, "invalid_input"),
    "workflow class_type": (lambda s: {"workflow": _with_node(class_type=s)}, "node_missing"),
    "workflow class_type, dry run": (lambda s: {"workflow": _with_node(class_type=s), "validate_only": True},
                                     "node_missing"),
    "workflow input value": (lambda s: {"workflow": _with_node(width=s)}, "workflow_invalid"),
    "workflow input value, dry run": (lambda s: {"workflow": _with_node(width=s), "validate_only": True},
                                      "workflow_invalid"),
    "workflow file name": (lambda s: {"workflow": {**LOADER, "1": {**LOADER["1"], "inputs": {"image": s}}}},
                           "workflow_invalid"),
    "workflow file name, dry run": (lambda s: {"workflow": {**LOADER, "1": {**LOADER["1"], "inputs": {"image": s}}},
                                               "validate_only": True}, "workflow_invalid"),
    "comfy_org_api_key": (lambda s: {"workflow": WORKFLOW, "comfy_org_api_key": s}, "invalid_input"),
    "include_temp": (lambda s: {"workflow": WORKFLOW, "include_temp": s}, "invalid_input"),
    "validate_only": (lambda s: {"workflow": WORKFLOW, "validate_only": s}, "invalid_input"),
    "workflow as a non-JSON string": (lambda s: {"workflow": "{" + s}, "invalid_input"),
    "input as a non-JSON string": (lambda s: "{" + s, "invalid_input"),
}


@pytest.fixture(scope="module")
def comfy_process():
    """The simulator in a process of its own: its work on the huge prompt must not be counted as the worker's."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "comfyui_sim", "--port", str(port)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        try:
            requests.get(f"http://127.0.0.1:{port}/system_stats", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def worker_logs():
    """The worker's log set-up (job id and redacting filters) at DEBUG, into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(JobIdFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(levelname)s job=%(job_id)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in WORKER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    yield stream
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


async def _answer_while_probing(handler, job: dict) -> tuple[dict, float, float]:
    """The job's answer, its time, and how late at worst a coroutine sleeping 5 ms at a time woke meanwhile."""
    stop = asyncio.Event()

    async def probe() -> float:
        worst = 0.0
        while not stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.005)
            worst = max(worst, time.monotonic() - before - 0.005)
        return worst

    probing = asyncio.ensure_future(probe())
    await asyncio.sleep(0.05)
    started = time.monotonic()
    answer = await asyncio.wait_for(handler(job), timeout=60)
    elapsed = time.monotonic() - started
    stop.set()
    return answer, elapsed, await probing


@pytest.fixture(scope="module")
def handler(comfy_process):
    container = build_container({"COMFY_HOST": comfy_process, "COMFY_API_AVAILABLE_INTERVAL_MS": "20"})
    handle = make_handler(container)
    assert "images" in asyncio.run(handle({"id": "first", "input": {"workflow": WORKFLOW}}))  # ComfyUI is up
    return handle


@pytest.mark.parametrize("length", [12_000, HUGE], ids=["12k", "10MB"])
@pytest.mark.parametrize("field", list(CASES))
def test_a_huge_caller_string_neither_stalls_the_loop_nor_the_answer(handler, worker_logs, field, length):
    make_input, code = CASES[field]
    text = ("a-" * (length // 2 + 1))[:length]
    answer, elapsed, lag = asyncio.run(_answer_while_probing(handler, {"id": f"hostile-{field}", "input": make_input(text)}))
    assert answer.get("error_code") == code, str(answer)[:2000]
    assert len(answer["error"]) <= MAX_ERROR_CHARS, answer["error"][:2000]
    assert elapsed < MAX_ANSWER_S, f"answered in {elapsed:.2f} s"
    assert lag < MAX_LAG_S, f"the event loop was held up {lag * 1000:.0f} ms"
    lines = worker_logs.getvalue().splitlines()
    assert lines and max(map(len, lines)) < 10_000, max(lines, key=len)[:300]


def test_a_huge_job_id_is_cut_on_the_worker_s_log_lines(handler, worker_logs):
    answer, elapsed, lag = asyncio.run(_answer_while_probing(
        handler, {"id": "j" * HUGE, "input": {"workflow": WORKFLOW, "output_format": {"format": "gif"}}}))
    assert answer["error_code"] == "invalid_input" and lag < MAX_LAG_S and elapsed < MAX_ANSWER_S
    assert max(map(len, worker_logs.getvalue().splitlines())) < 1_000
