"""The RunPod handler built by the container, against the simulator: cancel in each stage, streaming, refresh."""
import asyncio
import http.server
import logging
import threading
import time

import pytest
from dependency_injector import providers

from adapters.base64_sink import Base64OutputSink
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from integration.sim_job import wait_until

TWO_OUTPUTS = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 1, "color": 7}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "h_first"}},
    "3": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
    "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "h_second"}},
}


def handler_for(host, **env):
    container = build_container({"COMFY_HOST": host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20", **env})
    return container, make_handler(container)


def cancel_after(handler, job, seconds):
    async def scenario():
        task = asyncio.ensure_future(handler(job))
        await asyncio.sleep(seconds)
        task.cancel()
        started = time.monotonic()
        with pytest.raises(asyncio.CancelledError):
            await task
        return time.monotonic() - started
    return asyncio.run(scenario())


class SlowSink(Base64OutputSink):
    """Stores slowly, as a slow S3 would, honouring the budget between chunks."""

    def __init__(self):
        self.started = threading.Event()
        self.finished = []

    def store(self, job_id, filename, content_type, chunks, budget):
        self.started.set()
        for _ in range(100):
            budget.sleep(0.05, f"storing {filename}")
        self.finished.append(filename)
        return super().store(job_id, filename, content_type, chunks, budget)


def test_a_job_answers_in_the_worker_comfyui_shape(comfy_sim):
    _, handler = handler_for(comfy_sim.host)
    response = asyncio.run(handler({"id": "j1", "input": {"workflow": TWO_OUTPUTS}}))
    assert [e["node_id"] for e in response["images"]] == ["2", "4"]
    assert {"filename", "type", "data", "content_type", "size_bytes", "sha256"} <= set(response["images"][0])
    assert "refresh_worker" not in response
    assert response["comfyui"]["version"]


def test_a_dead_comfy_process_fails_fast_and_asks_for_a_fresh_worker(comfy_sim, tmp_path):
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid_file = tmp_path / "comfyui.pid"
    pid_file.write_text(dead.stdout.strip())
    from loopback import free_port
    # "at once": a wait for readiness would run into the job's deadline and answer timed_out instead
    _, handler = handler_for(f"127.0.0.1:{free_port()}", COMFY_PID_FILE=str(pid_file),
                             COMFY_API_AVAILABLE_MAX_RETRIES="0", JOB_TIMEOUT_S="30")
    response = asyncio.run(handler({"id": "dead", "input": {"workflow": TWO_OUTPUTS}}))
    assert response["error_code"] == "comfy_process_died" and response["refresh_worker"] is True


def test_the_warm_up_workflow_runs_once_and_a_failing_one_is_only_logged(comfy_sim, tmp_path, caplog):
    container, handler = handler_for(comfy_sim.host)
    with caplog.at_level(logging.INFO):
        container.job_runner().warm_up(TWO_OUTPUTS)
        container.job_runner().warm_up({"1": {"class_type": "NoSuchNode", "inputs": {}}})
    assert "warm-up workflow ran in" in caplog.text
    assert "warm-up workflow failed" in caplog.text and "node_missing" in caplog.text
    assert asyncio.run(handler({"id": "after", "input": {"workflow": TWO_OUTPUTS}}))["images"]


class StartingComfy(http.server.BaseHTTPRequestHandler):
    """A ComfyUI still starting: every request answers 503; the server counts the readiness probes."""

    def do_GET(self):
        if self.path == "/system_stats":
            self.server.probes += 1
        self.send_error(503)

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture
def starting_comfy():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StartingComfy)
    server.probes = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_cancel_while_waiting_for_comfy_to_start_stops_the_thread(starting_comfy, caplog, tmp_path):
    server = starting_comfy
    # no retry limit and no PID file: only the cancel can end the wait (the deadline is a backstop, so a
    # regression fails instead of hanging)
    _, handler = handler_for(f"127.0.0.1:{server.server_port}", COMFY_API_AVAILABLE_MAX_RETRIES="0",
                             JOB_TIMEOUT_S="30", COMFY_PID_FILE=str(tmp_path / "no-comfyui.pid"))

    async def scenario():
        task = asyncio.ensure_future(handler({"id": "j2", "input": {"workflow": TWO_OUTPUTS}}))
        await asyncio.sleep(0.5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return server.probes

    with caplog.at_level(logging.INFO):
        probes_when_cancelled = asyncio.run(scenario())  # returns once the job's thread has ended
    assert probes_when_cancelled > 0, "the job never waited for ComfyUI"
    assert server.probes == probes_when_cancelled, "the job's thread went on probing ComfyUI after the cancel"
    assert "the cancelled job stopped" in caplog.text


def test_cancel_while_running_removes_the_prompt_from_comfy(comfy_sim, caplog):
    comfy_sim.faults.node_delay_s = 1.0
    _, handler = handler_for(comfy_sim.host)
    with caplog.at_level(logging.INFO):
        cancel_after(handler, {"id": "j3", "input": {"workflow": TWO_OUTPUTS}}, 0.6)
    assert "the cancelled job stopped" in caplog.text
    assert wait_until(lambda: comfy_sim.state.remaining() == 0)


def test_cancel_while_delivering_reports_nothing_and_stops_the_upload(comfy_sim, caplog):
    container, handler = handler_for(comfy_sim.host)
    sink = SlowSink()
    container.output_sink.override(providers.Object(sink))
    container.services.reset()
    container.job_runner.reset()
    handler = make_handler(container)

    async def scenario():
        task = asyncio.ensure_future(handler({"id": "j4", "input": {"workflow": TWO_OUTPUTS}}))
        while not sink.started.is_set():
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with caplog.at_level(logging.INFO):
        asyncio.run(scenario())
    assert "the cancelled job stopped" in caplog.text
    assert sink.finished == []


def test_stream_outputs_yields_each_output_then_a_summary(comfy_sim):
    _, handler = handler_for(comfy_sim.host, STREAM_OUTPUTS="true")

    async def collect():
        return [item async for item in handler({"id": "j5", "input": {"workflow": TWO_OUTPUTS}})]

    items = asyncio.run(collect())
    assert sorted(item["images"][0]["node_id"] for item in items[:-1]) == ["2", "4"]
    assert "images" not in items[-1] and "timings_ms" in items[-1]


def test_refresh_worker_rides_along_when_configured(comfy_sim):
    _, handler = handler_for(comfy_sim.host, REFRESH_WORKER="true")
    assert asyncio.run(handler({"id": "j6", "input": {"workflow": TWO_OUTPUTS}}))["refresh_worker"] is True


def test_invalid_input_is_a_one_line_error(comfy_sim):
    _, handler = handler_for(comfy_sim.host)
    response = asyncio.run(handler({"id": "j7", "input": {"workflow": {"nodes": [], "links": []}}}))
    assert response["error_code"] == "invalid_input"
    assert response["error"].startswith("invalid_input: input.workflow (a UI export) has no node ComfyUI would run")
    assert "\n" not in response["error"]
