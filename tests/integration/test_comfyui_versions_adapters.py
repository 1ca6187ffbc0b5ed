"""The HTTP adapter and the job's files on every modelled ComfyUI version (the `comfy_version` fixture): the jobs
API used where it exists (asked once per ComfyUI process), and caching that may or may not serve a prompt."""
import asyncio
import base64
import io
import pathlib
import uuid

import requests
from PIL import Image

from adapters.comfy_http_api import ComfyHttpApi
from adapters.comfy_websocket_monitor import ComfyWebsocketMonitor
from comfyui_sim.simulator import ComfySimulator
from domain.budget import Budget
from domain.model import Prompt
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from faults.workflows import stalling
from integration.sim_job import job, run, services, wait_until


class CountingSession(requests.Session):
    """A session that counts its requests by method and path."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def request(self, method, url, *args, **kwargs):
        self.paths.append(f"{method} {url.split('//', 1)[1].split('/', 1)[1].split('?')[0]}")
        return super().request(method, url, *args, **kwargs)


def api(comfy) -> tuple[ComfyHttpApi, CountingSession]:
    session = CountingSession()
    return ComfyHttpApi(comfy.base_url, session=session, ready_interval_s=0.02), session


def prompt(workflow: dict) -> Prompt:
    return Prompt(id=str(uuid.uuid4()), client_id=str(uuid.uuid4()), workflow=workflow)


def test_a_pending_prompt_is_dropped_and_a_running_one_interrupted_by_the_versions_means(comfy_version):
    assert comfy_version.received_cancels == []  # the simulator's record (a contract run skips: SimStall is its own)
    comfy, calls = api(comfy_version)
    comfy.wait_until_ready(Budget())
    running, pending = prompt(stalling("adapters_running")), prompt(stalling("adapters_pending"))
    comfy.queue_prompt(running, Budget())
    comfy.queue_prompt(pending, Budget())
    assert wait_until(lambda: comfy.prompt_state(running.id, Budget()).state == "running")
    assert comfy.prompt_state(pending.id, Budget()).state == "pending"

    comfy.cancel(pending.id)
    comfy.cancel(running.id)

    assert wait_until(lambda: comfy.prompt_state(running.id, Budget()).state == "finished")
    assert comfy.prompt_state(pending.id, Budget()).state == "lost"
    targeted = comfy_version.profile.jobs_cancel  # 0.26.0+
    assert ("POST api/jobs/" + running.id + "/cancel" in calls.paths) is targeted
    assert ("POST interrupt" in calls.paths) is not targeted
    assert comfy_version.received_interrupts == ([] if targeted else [running.id])
    probes = [path for path in calls.paths if path.startswith("POST api/jobs/") and path.endswith("/cancel")]
    assert len(probes) == (3 if targeted else 1)  # the probe once, then the two cancels


def test_a_prompts_state_is_asked_without_reading_the_whole_queue_where_the_jobs_api_is(comfy_version):
    comfy, calls = api(comfy_version)
    comfy.wait_until_ready(Budget())
    done = prompt({"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 2}},
                   "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}})
    comfy.queue_prompt(done, Budget())
    comfy_version.wait_idle()
    unknown = str(uuid.uuid4())
    assert wait_until(lambda: comfy.prompt_state(done.id, Budget()).state == "finished")
    del calls.paths[:]

    assert comfy.prompt_state(done.id, Budget()).state == "finished"
    assert comfy.prompt_state(unknown, Budget()).state == "lost"

    if comfy_version.profile.jobs_api:  # 0.6.0+: one small answer each, and the history of the finished one
        assert calls.paths == [f"GET api/jobs/{done.id}", f"GET history/{done.id}", f"GET api/jobs/{unknown}"]
    else:
        assert calls.paths == ["GET queue", f"GET history/{done.id}", "GET queue", f"GET history/{unknown}"]


def test_the_jobs_api_is_asked_again_after_comfyui_restarted(comfy_version):
    comfy, calls = api(comfy_version)
    comfy.wait_until_ready(Budget())
    comfy.prompt_state(str(uuid.uuid4()), Budget())
    comfy.prompt_state(str(uuid.uuid4()), Budget())
    comfy_version.restart(down_s=0.3)
    comfy.wait_until_ready(Budget(), recheck=True)
    comfy.prompt_state(str(uuid.uuid4()), Budget())

    probes = [path for path in calls.paths if path.startswith("POST api/jobs/")]
    assert len(probes) == 2


def png(color: tuple) -> str:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def listing(folders: dict) -> dict:
    return {kind: sorted(str(p.relative_to(path)) for p in pathlib.Path(path).rglob("*"))
            for kind, path in folders.items()}


def cached_nodes(comfy) -> list:
    [entry] = requests.get(f"{comfy.base_url}/history", params={"max_items": 1}, timeout=10).json().values()
    return next(data["nodes"] for kind, data in entry["status"]["messages"] if kind == "execution_cached")


def test_the_answer_and_the_cleanup_are_the_same_whether_comfyui_serves_the_prompt_from_its_cache_or_not(
        comfy_version):
    folders = {"input": comfy_version.dirs.input, "output": comfy_version.dirs.output, "temp": comfy_version.dirs.temp}
    handler = make_handler(build_container({
        "COMFY_HOST": comfy_version.host, "COMFY_API_AVAILABLE_INTERVAL_MS": "20", "COMFY_INPUT_DIR": folders["input"],
        "COMFY_OUTPUT_DIR": folders["output"], "COMFY_TEMP_DIR": folders["temp"]}))
    before = listing(folders)

    def made(color: int) -> dict:
        return {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": color}},
                "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}},
                "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "cache"}},
                "4": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}}}

    def answer(workflow: dict) -> dict:
        return asyncio.run(handler({"id": uuid.uuid4().hex[:6], "input": {"workflow": workflow, "include_temp": True}}))

    answers, served = [], []
    for color, evict in ((40, False), (80, False), (40, False), (40, True)):  # A, B, A, A once memory ran short
        comfy_version.faults.evict_cache = evict
        answers.append(answer(made(color)))
        served.append({"1", "2"} <= set(cached_nodes(comfy_version)))

    # CLASSIC (before 0.23.0) keeps only the previous prompt's results (A after A is served); RAM_PRESSURE keeps
    # earlier ones too (A after B is served) until memory runs short and they are evicted (A after A runs again)
    ram_pressure = comfy_version.profile.ram_pressure_cache
    assert served == [False, False, ram_pressure, not ram_pressure]
    for response in answers:
        assert "errors" not in response and "error" not in response, response
        assert [(e["node_id"], e["subfolder"].startswith("job-")) for e in response["images"]] == [
            ("3", True), ("4", False)]
    pixels = [Image.open(io.BytesIO(base64.b64decode(r["images"][0]["data"]))).tobytes() for r in answers]
    assert pixels[0] == pixels[2] == pixels[3] != pixels[1]
    assert listing(folders) == before


def test_asset_ids_on_outputs_change_nothing_in_the_answer():
    # 0.25.0+ with --enable-assets: each output entry carries its asset's `id` (0.33 asset_enrichment.py)
    with ComfySimulator(version="0.35.1", enable_assets=True) as sim:
        made = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 3}},
                "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "assets"}}}
        the_job = job(made)
        response = run(services(sim), the_job)
        entry = sim.history(the_job.prompt.id)["outputs"]["2"]["images"][0]

    assert set(entry) == {"filename", "subfolder", "type", "id"}
    [image] = response["images"]
    assert image["filename"] == entry["filename"] and image["content_type"] == "image/png"


def test_the_feature_flags_are_sent_again_on_every_socket_the_monitor_opens(comfy_version):
    # ComfyUI forgets a client's flags when its socket closes (0.3.64 server.py:188-246): each socket says them
    flags = {"type": "feature_flags", "data": {"supports_preview_metadata": True}}
    assert comfy_version.received_ws_messages == []
    monitor = ComfyWebsocketMonitor(comfy_version.host)
    with monitor.open("flags-client", Budget()) as stream:
        stream.reopen(Budget())
    monitor.close()
    assert wait_until(lambda: comfy_version.received_ws_messages == [flags, flags])
