"""Caller text of any length (up to 10 MB) in any echoed field: the event loop's thread never handles it (every call
there is recorded: none is handed a long text, none parses, encodes or answers the job), the error line is short,
and each log line stays bounded, with the redacting log set-up the worker runs."""
import asyncio
import io
import logging
import subprocess
import sys
import time
from typing import Any

import pytest
import requests

from domain.errors import InvalidInput
from e2e.conftest import ROOT, free_port
from entrypoints.container import build_container
from entrypoints.job_logging import WORKER_LOGGERS, JobIdFilter, RedactingFilter
from entrypoints.request import parse_request
from entrypoints.runpod_handler import make_handler
from loop_watch import LONG_TEXT, LoopWatch

HUGE = 10_000_000
MAX_ERROR_CHARS = 800
ANSWER_GUARD_S = 120  # only "did not hang": a 10 MB text is answered in about a second
WORKFLOW: dict[str, dict[str, Any]] = {
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


async def _answer_watching_the_loop(handler, job: dict) -> tuple[dict, LoopWatch]:
    """The job's answer, and what the loop's thread was handed while the handler ran."""
    with LoopWatch() as watch:
        answer = await asyncio.wait_for(handler(job), timeout=ANSWER_GUARD_S)
    return answer, watch


def assert_the_loop_never_handled_caller_text(watch: LoopWatch) -> None:
    assert watch.calls > 0  # the watch saw the loop at work
    assert not watch.long_texts, f"the loop's thread was handed long texts: {watch.long_texts[:5]}"
    assert not watch.heavy_calls, f"the loop's thread read, encoded or answered the job: {watch.heavy_calls[:5]}"


@pytest.fixture(scope="module")
def handler(comfy_process):
    container = build_container({"COMFY_HOST": comfy_process, "COMFY_API_AVAILABLE_INTERVAL_MS": "20"})
    handle = make_handler(container)
    assert "images" in asyncio.run(handle({"id": "first", "input": {"workflow": WORKFLOW}}))  # ComfyUI is up
    return handle


@pytest.mark.parametrize("length", [12_000, HUGE], ids=["12k", "10MB"])
@pytest.mark.parametrize("field", list(CASES))
def test_a_huge_caller_string_is_never_handled_on_the_loop_and_answered_short(handler, worker_logs, field, length):
    make_input, code = CASES[field]
    text = ("a-" * (length // 2 + 1))[:length]
    answer, watch = asyncio.run(_answer_watching_the_loop(handler, {"id": f"hostile-{field}",
                                                                     "input": make_input(text)}))
    assert answer.get("error_code") == code, str(answer)[:2000]
    assert len(answer["error"]) <= MAX_ERROR_CHARS, answer["error"][:2000]
    assert_the_loop_never_handled_caller_text(watch)
    lines = worker_logs.getvalue().splitlines()
    assert lines and max(map(len, lines)) < 10_000, max(lines, key=len)[:300]


def test_a_huge_job_id_is_cut_on_the_worker_s_log_lines(handler, worker_logs):
    answer, watch = asyncio.run(_answer_watching_the_loop(
        handler, {"id": "j" * HUGE, "input": {"workflow": WORKFLOW, "output_format": {"format": "gif"}}}))
    assert answer["error_code"] == "invalid_input"
    assert_the_loop_never_handled_caller_text(watch)
    assert max(map(len, worker_logs.getvalue().splitlines())) < 1_000


def test_the_watch_sees_caller_text_handled_on_the_loop():
    """The check above can fail: the same reading done on the loop's thread is caught, by its call and its text."""
    async def read_on_the_loop():
        with LoopWatch() as watch, pytest.raises(InvalidInput):
            parse_request({"workflow": WORKFLOW, "output_format": {"format": "a" * HUGE}})
        return watch

    watch = asyncio.run(read_on_the_loop())
    assert "parse_request" in watch.heavy_calls
    assert any(length > LONG_TEXT for _, _, length in watch.long_texts)
