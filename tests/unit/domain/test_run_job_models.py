"""A job's model files (input.models and URLs written as a core loader's input): made available before anything is
queued, in ComfyUI's model folders, held in use until the prompt is over, told as progress, timings and outcomes;
a dry run downloads nothing and says what a run would."""
import pytest

from domain.errors import Cancelled, InvalidInput, ModelDownloadFailed, ModelMissing
from domain.inputs.model_requests import ModelPlanned, ModelRequest
from domain.model import JobResult, Outcome, OutputRef, PromptHistory, WorkflowChecked
from unit.domain.fakes import FakeModelStore
from unit.domain.world import WORKFLOW, World, world

LORA_URL = "https://huggingface.co/org/repo/resolve/main/style.safetensors?download=true"
CKPT_URL = "https://example.com/models/base.safetensors"
HISTORY = PromptHistory(Outcome("success"), files=(OutputRef("2", "images", "a.png"),))
LOADERS = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": CKPT_URL}},
    "5": {"class_type": "LoraLoader", "inputs": {"lora_name": "style.safetensors", "model": ["4", 0],
                                                 "clip": ["4", 1], "strength_model": 1.0, "strength_clip": 1.0}},
    **WORKFLOW,
}
LISTED = [{"url": LORA_URL, "folder": "loras"}]


def with_store(w: World, **store) -> FakeModelStore:
    models = FakeModelStore(w.calls, w.clock, **store)
    w.services["models"] = models
    return models


def loaders_world(**kwargs) -> World:
    return world(history=HISTORY, files={"a.png": b"png"}, raw={"workflow": LOADERS, "models": LISTED, **kwargs})


def test_model_files_are_made_available_before_inputs_and_queueing_and_held_until_the_prompt_is_over():
    w = loaders_world()
    store = with_store(w)
    result = w.run()
    assert isinstance(result, JobResult) and result.status == "ok"
    names = [name for name in w.calls.names() if name != "event"]
    assert names[:5] == ["ready", "model_folders", "in_use", "ensure", "ensure"]
    assert names.index("ensure") < names.index("open") < names.index("queue")
    assert names[-1] == "released" and store.held == []
    assert w.calls.of("in_use") == [("in_use", "loras/style.safetensors", "checkpoints/base.safetensors")]
    queued = w.comfy.queued[0].workflow
    assert queued["4"]["inputs"]["ckpt_name"] == "base.safetensors"  # the URL gave way to the file's name
    assert queued["5"]["inputs"] == LOADERS["5"]["inputs"]
    assert [(m.request.folder, m.request.name, m.outcome, m.bytes_moved) for m in result.models] == [
        ("loras", "style.safetensors", "downloaded", 300), ("checkpoints", "base.safetensors", "downloaded", 300)]


def test_a_file_already_there_is_cached_and_moves_nothing():
    w = loaders_world()
    with_store(w, present={"loras/style.safetensors", "checkpoints/base.safetensors"})
    result = w.run()
    assert isinstance(result, JobResult)
    assert [(m.outcome, m.bytes_moved) for m in result.models] == [("cached", 0), ("cached", 0)]
    assert [u.download for u in w.progress if u.download is not None] == []


def test_download_progress_comes_before_the_prompts_and_counts_from_the_jobs_start():
    w = world(history=HISTORY, files={"a.png": b"png"}, raw={"workflow": WORKFLOW, "models": LISTED})
    with_store(w, size=300, pieces=3)
    w.run()
    downloads = [u for u in w.progress if u.stage == "download"]
    assert [(u.download.bytes_done, u.download.bytes_total) for u in downloads] == [(0, 300), (100, 300),
                                                                                    (200, 300), (300, 300)]
    assert {(u.download.model, u.download.models_done, u.download.models_total) for u in downloads} == {
        ("loras/style.safetensors", 0, 1)}
    assert [u.elapsed_s for u in downloads] == [0.0, 1.0, 2.0, 3.0]
    runs = [u for u in w.progress if u.stage == "run"]
    assert runs and w.progress.index(runs[0]) > w.progress.index(downloads[-1])
    assert runs[0].elapsed_s >= 3.0  # the run's updates count from the job's start too


def test_download_progress_is_sent_at_most_twice_a_second_plus_each_files_start_and_end():
    w = world(history=HISTORY, files={"a.png": b"png"}, raw={"workflow": WORKFLOW, "models": LISTED})
    store = with_store(w, size=1000, pieces=10)
    store.clock = None  # the pieces arrive at once
    w.run()
    downloads = [u.download.bytes_done for u in w.progress if u.download is not None]
    assert downloads == [0, 1000]


def test_the_timings_gain_models_only_when_the_job_has_model_files():
    plain = world(history=HISTORY, files={"a.png": b"png"})
    with_store(plain)
    assert "models" not in plain.run().timings_ms
    assert plain.calls.of("model_folders") == []  # a job without model files asks nothing more of ComfyUI
    w = loaders_world()
    with_store(w, pieces=2)
    timings = w.run().timings_ms
    assert list(timings)[:3] == ["wait_ready", "models", "upload_inputs"] and timings["models"] == 4000


def test_a_folder_comfyui_does_not_list_is_invalid_input_and_nothing_is_downloaded():
    w = world(raw={"workflow": WORKFLOW, "models": [{"url": CKPT_URL, "folder": "unet_models"}]})
    with_store(w)
    caught = w.fails(InvalidInput, match=r"model unet_models/base.safetensors: 'unet_models' is not one of this "
                                         r"ComfyUI's model folders \(checkpoints, loras, vae\)")
    assert "custom_nodes" not in str(caught)
    assert w.calls.of("ensure") == [] and w.comfy.queued == []


def test_custom_nodes_is_never_a_model_folder_even_though_comfyui_lists_it():
    w = world(raw={"workflow": WORKFLOW, "models": [{"url": CKPT_URL + ".py", "folder": "custom_nodes",
                                                     "name": "evil.safetensors"}]})
    with_store(w)
    w.fails(InvalidInput, match="'custom_nodes' is not one of this ComfyUI's model folders")


def test_without_a_store_a_job_with_model_files_is_refused_saying_how_to_turn_downloads_on():
    w = loaders_world()
    w.services["models_off"] = "model downloads are off on this worker: set MODEL_DOWNLOAD_DIR"
    w.fails(InvalidInput, match=r"the job asks for model loras/style.safetensors by URL, but model downloads are off "
                                r"on this worker: set MODEL_DOWNLOAD_DIR")
    assert w.comfy.queued == [] and w.calls.of("upload") == []


def test_a_loader_url_alone_is_refused_too_without_a_store():
    w = world(raw={"workflow": LOADERS})
    w.fails(InvalidInput, match="model checkpoints/base.safetensors by URL, but model downloads are off")


def test_a_failed_download_fails_the_job_before_anything_is_queued():
    w = loaders_world()
    store = with_store(w)
    store.failures["checkpoints/base.safetensors"] = ModelDownloadFailed(
        "model checkpoints/base.safetensors from https://example.com/models/base.safetensors: HTTP 404",
        data={"folder": "checkpoints", "name": "base.safetensors", "url": CKPT_URL})
    caught = w.fails(ModelDownloadFailed, match="HTTP 404")
    assert caught.data["name"] == "base.safetensors"
    assert w.comfy.queued == [] and w.calls.of("open") == [] and w.calls.of("upload") == []
    assert store.held == [] and w.calls.names()[-1] == "released"


def test_a_cancel_while_downloading_stops_the_job_before_queueing():
    w = loaders_world()
    store = with_store(w)
    store.failures["loras/style.safetensors"] = Cancelled("RunPod cancelled the job while downloading")
    w.fails(Cancelled)
    assert w.comfy.queued == [] and store.held == []


def test_the_same_name_from_another_url_is_refused_naming_both():
    w = world(raw={"workflow": LOADERS, "models": [{"url": "https://other.example/base.safetensors?sig=secret",
                                                    "folder": "checkpoints"}]})
    with_store(w)
    caught = w.fails(InvalidInput, match=r"model checkpoints/base.safetensors is asked for twice: from "
                                         r"https://other.example/base.safetensors and from "
                                         r"https://example.com/models/base.safetensors; one name is one file")
    assert "secret" not in str(caught) and w.calls.of("ensure") == []


def test_the_same_name_with_another_sha256_is_refused():
    models = [{"url": CKPT_URL, "folder": "checkpoints", "sha256": "a" * 64},
              {"url": CKPT_URL, "folder": "checkpoints", "sha256": "b" * 64}]
    w = world(raw={"workflow": WORKFLOW, "models": models})
    with_store(w)
    w.fails(InvalidInput, match=f"from {CKPT_URL} \\(sha256 a{{64}}\\) and from {CKPT_URL} \\(sha256 b{{64}}\\)")


def test_the_same_file_asked_for_twice_is_one_file_the_sha256_kept():
    models = [{"url": CKPT_URL + "?token=1", "folder": "checkpoints"},
              {"url": CKPT_URL, "folder": "checkpoints", "sha256": "c" * 64},
              {"url": "https://mirror.example/base.safetensors", "folder": "checkpoints", "sha256": "c" * 64}]
    w = world(history=HISTORY, files={"a.png": b"png"}, raw={"workflow": LOADERS, "models": models})
    with_store(w)
    result = w.run()
    assert [(m.request.folder, m.request.name, m.request.sha256) for m in result.models] == [
        ("checkpoints", "base.safetensors", "c" * 64)]


def test_a_url_in_an_input_the_table_does_not_know_is_left_as_it_is():
    workflow = {"7": {"class_type": "SomeCustomLoader", "inputs": {"ckpt_name": CKPT_URL}}, **WORKFLOW}
    w = world(history=HISTORY, files={"a.png": b"png"}, raw={"workflow": workflow})
    result = w.run()
    assert result.status == "ok" and w.comfy.queued[0].workflow["7"]["inputs"]["ckpt_name"] == CKPT_URL


def test_a_loader_url_without_a_file_name_is_refused_before_anything_is_asked():
    workflow = {"4": {"class_type": "LoraLoader", "inputs": {"lora_name": "https://civitai.com/api/download/models/12345?token=x"}},
                **WORKFLOW}
    w = world(raw={"workflow": workflow})
    with_store(w)
    caught = w.fails(InvalidInput, match=r"node 4 \(LoraLoader\) input 'lora_name': "
                                         r"https://civitai.com/api/download/models/12345 names no model file to save")
    assert "token" not in str(caught) and "input.models" in str(caught)


OBJECT_INFO = {
    "CheckpointLoaderSimple": {"input": {"required": {"ckpt_name": [["base.safetensors"]]}},
                               "output": ["MODEL", "CLIP", "VAE"], "output_node": False},
    "LoraLoader": {"input": {"required": {"lora_name": [[]], "model": ["MODEL"], "clip": ["CLIP"],
                                          "strength_model": ["FLOAT", {}], "strength_clip": ["FLOAT", {}]}},
                   "output": ["MODEL", "CLIP"], "output_node": False},
    "EmptyImage": {"input": {"required": {"width": ["INT", {"min": 1}]}}, "output": ["IMAGE"], "output_node": False},
    "SaveImage": {"input": {"required": {"images": ["IMAGE"]}}, "output": [], "output_node": True},
    "ModelSave": {"input": {"required": {"model": ["MODEL"]}}, "output": [], "output_node": True},
}
CHECKED = {**LOADERS, "9": {"class_type": "ModelSave", "inputs": {"model": ["5", 0]}}}


def test_a_dry_run_downloads_nothing_and_says_which_files_a_run_would_fetch():
    w = world(raw={"workflow": CHECKED, "models": LISTED, "validate_only": True})
    w.comfy.classes = OBJECT_INFO
    with_store(w, present={"checkpoints/base.safetensors"})  # and ComfyUI lists it
    verdict = w.run()
    assert isinstance(verdict, WorkflowChecked)
    assert [(p.request.folder, p.request.name, p.plan) for p in verdict.models] == [
        ("loras", "style.safetensors", "fetch"), ("checkpoints", "base.safetensors", "present")]
    assert w.calls.of("ensure") == [] and w.calls.of("in_use") == [] and w.comfy.queued == []


def test_a_dry_run_counts_a_file_a_run_would_fetch_as_there_only_for_loaders_of_its_folder():
    misplaced = {**CHECKED, "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "style.safetensors"}},
                 "5": {**CHECKED["5"], "inputs": {**CHECKED["5"]["inputs"], "lora_name": "style.safetensors"}}}
    w = world(raw={"workflow": misplaced, "models": LISTED, "validate_only": True})
    w.comfy.classes = OBJECT_INFO
    with_store(w)
    w.fails(ModelMissing, match=r"node 4 \(CheckpointLoaderSimple\) input 'ckpt_name': 'style.safetensors' is not in "
                                r"ComfyUI's models/checkpoints")


def test_a_dry_run_refuses_a_name_taken_by_another_file():
    w = world(raw={"workflow": WORKFLOW, "models": LISTED, "validate_only": True})
    store = with_store(w)
    store.failures["loras/style.safetensors"] = InvalidInput("model loras/style.safetensors was downloaded from "
                                                             "https://a.example/style.safetensors")
    w.fails(InvalidInput, match="was downloaded from")


@pytest.mark.parametrize("value", ["https://h/x.safetensors", "HTTPS://h/x.safetensors", "http://h/x.safetensors"])
def test_any_http_url_in_a_core_loader_input_is_a_model_file(value):
    from domain.workflow.model_loaders import loader_models

    found = loader_models({"1": {"class_type": "VAELoader", "inputs": {"vae_name": value}}})
    assert found.models == (ModelRequest(value, "vae", "x.safetensors"),)
    assert found.workflow == {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "x.safetensors"}}}


def test_a_workflow_without_loader_urls_is_returned_as_it_is():
    from domain.workflow.model_loaders import loader_models

    plain = {"1": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}}}
    assert loader_models(plain).workflow is plain and loader_models(plain).models == ()


def test_the_planned_entry_keeps_the_request():
    planned = ModelPlanned(ModelRequest(CKPT_URL, "checkpoints", "base.safetensors"), "fetch")
    assert planned.plan == "fetch" and planned.request.url == CKPT_URL
