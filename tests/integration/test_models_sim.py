"""Models on demand through the RunPod handler against the simulator (its model folders listed from disk, cached by
mtime, as ComfyUI lists them) and a loopback file server that records every request: one GET per URL across jobs,
two jobs at once, a resumed download, a sha256 mismatch, eviction, tokens, refusals and the dry run."""
import asyncio
import hashlib
import logging
import os
import threading

import pytest
import requests

from comfyui_sim import ComfySimulator
from entrypoints.container import build_container
from entrypoints.runpod_handler import make_handler
from file_server import FileServer
from integration.sim_job import wait_until

MiB = 1 << 20
DATA = os.urandom(3 * MiB + 777)
SHA = hashlib.sha256(DATA).hexdigest()


def vae_workflow(vae_name: str) -> dict:
    """The simulator's VAELoader runs (its pixel_space VAE) once ComfyUI lists the file: validation is the proof."""
    return {"1": {"class_type": "VAELoader", "inputs": {"vae_name": vae_name}},
            "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


@pytest.fixture
def sim(tmp_path):
    """A simulator whose extra model paths are the worker's download folder (start.sh's registration)."""
    with ComfySimulator(extra_models=str(tmp_path / "downloads")) as running:
        yield running


def handler_for(sim, root, **env):
    settings = {"COMFY_HOST": sim.host, "MODEL_DOWNLOAD_DIR": str(root), "INPUT_URL_ALLOW_PRIVATE": "true", **env}
    return make_handler(build_container(settings))


def answer(handler, job_input, job_id="m1"):
    return asyncio.run(handler({"id": job_id, "input": job_input}))


def models_job(url, *, name="ae.safetensors", **item):
    return {"workflow": vae_workflow(name), "models": [{"url": url, "folder": "vae", "name": name, **item}]}


def test_a_model_is_downloaded_once_listed_by_comfyui_used_and_cached_for_the_next_job(sim, server, tmp_path):
    root = tmp_path / "downloads"
    url = server.serve("/repo/ae.safetensors", DATA)
    handler = handler_for(sim, root)
    first = answer(handler, models_job(url + "?download=true"))
    assert first["text"] and "error" not in first, first
    assert first["models"] == [{"folder": "vae", "name": "ae.safetensors", "url": url, "outcome": "downloaded",
                                "size_bytes": len(DATA), "bytes_downloaded": len(DATA),
                                "seconds": first["models"][0]["seconds"]}]
    assert list(first["timings_ms"])[:3] == ["wait_ready", "models", "upload_inputs"]
    assert (root / "vae" / "ae.safetensors").read_bytes() == DATA
    second = answer(handler_for(sim, root), models_job(url), "m2")  # another worker sharing the folder
    assert [(m["outcome"], m["bytes_downloaded"]) for m in second["models"]] == [("cached", 0)]
    assert len(server.requests_for("/repo/ae.safetensors")) == 1


def test_a_url_written_as_a_loaders_input_is_downloaded_and_replaced_by_the_files_name(sim, server, tmp_path):
    url = server.serve("/files/ae.safetensors", DATA)
    response = answer(handler_for(sim, tmp_path / "downloads"), {"workflow": vae_workflow(url + "?token=abc")})
    assert response["text"] and response["models"][0]["outcome"] == "downloaded", response
    [entry] = sim.state.history.values()
    assert entry["prompt"][2]["1"]["inputs"]["vae_name"] == "ae.safetensors"
    assert "token" not in str(response)


def ui_vae_workflow(vae_name: str) -> dict:
    """`vae_workflow` as ComfyUI's editor saves it."""
    return {"nodes": [
        {"id": 1, "type": "VAELoader", "mode": 0, "widgets_values": [vae_name], "inputs": [],
         "outputs": [{"name": "VAE", "type": "VAE", "links": [1]}]},
        {"id": 2, "type": "PreviewAny", "mode": 0, "widgets_values": [],
         "inputs": [{"name": "source", "type": "*", "link": 1}], "outputs": []}],
        "links": [[1, 1, 0, 2, 0, "VAE"]], "version": 0.4}


def test_a_url_in_a_ui_workflows_loader_widget_is_downloaded_after_the_conversion(sim, server, tmp_path):
    url = server.serve("/files/ae.safetensors", DATA)
    response = answer(handler_for(sim, tmp_path / "downloads"), {"workflow": ui_vae_workflow(url)})
    assert response["text"] and response["models"][0]["outcome"] == "downloaded", response
    [entry] = sim.state.history.values()
    assert entry["prompt"][2]["1"]["inputs"]["vae_name"] == "ae.safetensors"


def test_downloads_into_comfyuis_own_models_folder_need_no_registration(comfy_sim, server):
    url = server.serve("/ae.safetensors", DATA)
    response = answer(handler_for(comfy_sim, os.path.join(comfy_sim.dirs.root, "models")), models_job(url))
    assert response["text"] and response["models"][0]["outcome"] == "downloaded", response
    assert os.path.isfile(os.path.join(comfy_sim.dirs.root, "models", "vae", "ae.safetensors"))


def test_two_jobs_in_flight_that_need_the_same_url_share_one_download(sim, server, tmp_path, caplog):
    url = server.serve("/ae.safetensors", DATA, hold_after=MiB)
    handler = handler_for(sim, tmp_path / "downloads", MAX_CONCURRENCY="2")
    waiting = threading.Event()

    class Waits(logging.Handler):
        def emit(self, record):
            if "another job is downloading it" in record.getMessage():
                waiting.set()

    watcher = Waits()
    logging.getLogger("adapters.http_model_store").addHandler(watcher)

    def release_once_the_second_job_waits():
        if server.holding.wait(30) and waiting.wait(30):
            server.release.set()

    threading.Thread(target=release_once_the_second_job_waits, daemon=True).start()

    async def both():
        return await asyncio.gather(handler({"id": "a", "input": models_job(url)}),
                                    handler({"id": "b", "input": models_job(url)}))
    try:
        with caplog.at_level(logging.INFO, logger="adapters.http_model_store"):
            answers = asyncio.run(both())
    finally:
        logging.getLogger("adapters.http_model_store").removeHandler(watcher)
    assert waiting.is_set()
    assert sorted(a["models"][0]["outcome"] for a in answers) == ["cached", "downloaded"], answers
    assert len(server.requests_for("/ae.safetensors")) == 1 and server.routes["/ae.safetensors"].bytes_sent == len(DATA)


def test_an_interrupted_download_fails_the_job_before_queueing_and_the_retry_resumes_with_range(sim, server, tmp_path):
    root = tmp_path / "downloads"
    url = server.serve("/ae.safetensors", DATA, cut_after=MiB)
    handler = handler_for(sim, root)
    failed = answer(handler, models_job(url, sha256=SHA))
    assert failed["error_code"] == "model_download_failed", failed
    assert failed["data"] == {"folder": "vae", "name": "ae.safetensors", "url": url}
    assert not (root / "vae" / "ae.safetensors").exists() and not sim.state.history
    retried = answer(handler, models_job(url, sha256=SHA), "m2")
    assert retried["models"][0]["bytes_downloaded"] == len(DATA) - MiB, retried
    assert [seen.range for seen in server.requests_for("/ae.safetensors")] == [None, f"bytes={MiB}-"]
    assert (root / "vae" / "ae.safetensors").read_bytes() == DATA


def test_a_sha256_mismatch_fails_the_job_and_leaves_nothing_under_the_name(sim, server, tmp_path):
    root = tmp_path / "downloads"
    url = server.serve("/ae.safetensors", DATA, wrong_from=len(DATA) // 2)
    response = answer(handler_for(sim, root), models_job(url, sha256=SHA))
    assert response["error_code"] == "model_download_failed"
    assert f"not {SHA} as asked; the download was deleted" in response["error"]
    assert not (root / "vae").exists() or os.listdir(root / "vae") == []
    assert os.listdir(root / ".downloads" / "partial") == [] and not sim.state.history


def test_the_same_name_from_another_url_is_refused_naming_both(sim, server, tmp_path):
    root = tmp_path / "downloads"
    handler = handler_for(sim, root)
    answer(handler, models_job(server.serve("/one/ae.safetensors", DATA)))
    other = server.serve("/two/ae.safetensors", DATA[::-1])
    response = answer(handler, models_job(other + "?sig=s3cret"), "m2")
    assert response["error_code"] == "invalid_input"
    assert server.url("/one/ae.safetensors") in response["error"] and other in response["error"]
    assert "s3cret" not in str(response) and server.requests_for("/two/ae.safetensors") == []
    assert (root / "vae" / "ae.safetensors").read_bytes() == DATA


def test_eviction_spares_files_in_use_and_files_the_worker_did_not_download(sim, server, tmp_path):
    root = tmp_path / "downloads"
    (root / "vae").mkdir(parents=True)
    (root / "vae" / "mine.safetensors").write_bytes(b"f" * MiB)  # put there by hand: never evicted, never counted
    urls = {name: server.serve(f"/{name}", os.urandom(MiB)) for name in ("x.safetensors", "y.safetensors",
                                                                            "z.safetensors")}
    sim.faults.node_delay_s = {"PreviewAny": 1.5}
    handler = handler_for(sim, root, MAX_CONCURRENCY="2", MODEL_CACHE_MAX_BYTES=str(MiB + MiB // 2))

    async def x_in_use_while_y_downloads():
        x_job = asyncio.ensure_future(handler({"id": "x", "input": models_job(urls["x.safetensors"],
                                                                             name="x.safetensors")}))
        await asyncio.get_running_loop().run_in_executor(None, wait_until, lambda: bool(sim.state.history) or
                                                         _running(sim))
        y = await handler({"id": "y", "input": models_job(urls["y.safetensors"], name="y.safetensors")})
        return await x_job, y

    x, y = asyncio.run(x_in_use_while_y_downloads())
    assert "error" not in x and "error" not in y, (x, y)
    assert (root / "vae" / "x.safetensors").exists()  # over the cap, but in use while y needed room
    sim.faults.node_delay_s = 0.0
    z = answer(handler, models_job(urls["z.safetensors"], name="z.safetensors"), "z")
    assert "error" not in z, z
    assert sorted(os.listdir(root / "vae")) == ["mine.safetensors", "z.safetensors"]


def _running(sim) -> bool:
    queue = requests.get(sim.base_url + "/queue", timeout=5).json()
    return bool(queue["queue_running"])


def test_tokens_never_reach_another_host(sim, server, tmp_path, caplog):
    url = server.serve("/ae.safetensors", DATA)
    handler = handler_for(sim, tmp_path / "downloads", HF_TOKEN="hf_s3cret_token", CIVITAI_TOKEN="cv_s3cret_token")
    with caplog.at_level(logging.DEBUG):
        response = answer(handler, models_job(url))
    assert response["models"][0]["outcome"] == "downloaded"
    [seen] = server.requests_for("/ae.safetensors")
    assert seen.authorization is None and "s3cret" not in str(seen.headers)
    assert "s3cret" not in caplog.text and "s3cret" not in str(response)


def test_without_a_download_folder_a_job_with_models_is_refused_saying_how_to_turn_them_on(comfy_sim, server):
    url = server.serve("/ae.safetensors", DATA)
    handler = make_handler(build_container({"COMFY_HOST": comfy_sim.host}))
    response = answer(handler, models_job(url))
    assert response["error_code"] == "invalid_input" and "set MODEL_DOWNLOAD_DIR" in response["error"]
    assert server.seen == [] and not comfy_sim.state.history


def test_a_folder_comfyui_does_not_have_is_invalid_input(sim, server, tmp_path):
    url = server.serve("/ae.safetensors", DATA)
    job = {"workflow": vae_workflow("ae.safetensors"), "models": [{"url": url, "folder": "vaes"}]}
    response = answer(handler_for(sim, tmp_path / "downloads"), job)
    assert response["error_code"] == "invalid_input"
    assert "'vaes' is not one of this ComfyUI's model folders (audio_encoders, checkpoints," in response["error"]
    assert server.seen == []


def test_a_dry_run_downloads_nothing_and_says_what_a_run_would_fetch(sim, server, tmp_path):
    root = tmp_path / "downloads"
    url = server.serve("/ae.safetensors", DATA)
    handler = handler_for(sim, root)
    dry = answer(handler, {**models_job(url), "validate_only": True})
    assert dry == {"status": "valid", "nodes": 2, "models": [
        {"folder": "vae", "name": "ae.safetensors", "url": url, "plan": "fetch"}], "workflow_api": {
        "1": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},  # the URL gives way to the name
        "2": {"class_type": "PreviewAny", "inputs": {"source": ["1", 0]}}}}
    assert server.seen == [] and not (root / "vae").exists()
    answer(handler, models_job(url), "m2")
    again = answer(handler, {**models_job(url), "validate_only": True}, "m3")
    assert again["models"][0]["plan"] == "present"


def test_download_progress_reaches_runpod_before_the_prompts(sim, server, tmp_path, monkeypatch):
    sent = []
    monkeypatch.setattr("adapters.runpod_progress.send_progress", lambda job, update: sent.append(update))
    url = server.serve("/ae.safetensors", DATA, throttle_bps=8 * MiB)
    handler = handler_for(sim, tmp_path / "downloads", RUNPOD_WEBHOOK_POST_OUTPUT="http://127.0.0.1:9/x")
    answer(handler, models_job(url))
    downloads = [u for u in sent if u["stage"] == "download"]
    assert downloads[0]["bytes_done"] == 0 and downloads[-1]["bytes_done"] == len(DATA) == downloads[-1]["bytes_total"]
    assert {u["model"] for u in downloads} == {"vae/ae.safetensors"}
    assert sent.index(downloads[-1]) < min(n for n, u in enumerate(sent) if u["stage"] == "run")
