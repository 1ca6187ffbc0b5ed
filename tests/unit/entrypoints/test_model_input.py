"""input.models read into the command, and the answer's parts about model files: outcomes, a dry run's plan and the
progress of a download."""
import pytest

from domain.errors import InvalidInput, ModelDownloadFailed
from domain.execution.progress import DownloadStatus, Progress
from domain.inputs.model_requests import ModelPlanned, ModelReady, ModelRequest
from domain.model import JobResult, WorkflowChecked
from entrypoints.answers import RunPodAnswers, error_answer, progress_payload
from entrypoints.request import parse_request

WF = {"1": {"class_type": "EmptyImage", "inputs": {}}}
URL = "https://user:pw@huggingface.co/org/repo/resolve/main/style.safetensors?download=true"


def models_of(*items):
    return parse_request({"workflow": WF, "models": list(items)}).models


def test_a_model_is_named_by_its_urls_last_segment_unless_a_name_is_given():
    assert models_of({"url": URL, "folder": "loras"}) == (ModelRequest(URL, "loras", "style.safetensors"),)
    given = models_of({"url": "https://civitai.com/api/download/models/12345", "folder": "loras",
                       "name": "styles/pixel.safetensors", "sha256": "AB" * 32})
    assert given == (ModelRequest("https://civitai.com/api/download/models/12345", "loras",
                                  "styles/pixel.safetensors", "ab" * 32),)
    assert models_of({"url": "https://x.test/My%20Lora.safetensors", "folder": "loras"})[0].name == "My Lora.safetensors"


def test_no_models_is_an_empty_tuple():
    assert parse_request({"workflow": WF}).models == () == parse_request({"workflow": WF, "models": None}).models


@pytest.mark.parametrize(("item", "message"), [
    ("x", r"input.models\[0\] must be an object like"),
    ({"url": "ftp://x/a.pt", "folder": "loras"}, r"input.models\[0\].url must be an http:// or https:// URL"),
    ({"url": "https://x/" + "a" * 9000 + ".pt", "folder": "loras"}, "longer than 8192 characters"),
    ({"url": "https://x/a.pt"}, r"input.models\[0\].folder None must be a non-empty string"),
    ({"url": "https://x/a.pt", "folder": "../loras"}, r"folder '../loras' must be one of ComfyUI's model folder names"),
    ({"url": "https://x/a.pt", "folder": "custom_nodes"}, "holds ComfyUI's custom nodes, not models"),
    ({"url": "https://x/a.pt", "folder": "loras", "name": "../a.pt"}, r"name '../a.pt' must not contain '..'"),
    ({"url": "https://x/a.pt", "folder": "loras", "name": "a.txt"}, "does not end with a model file extension"),
    ({"url": "https://civitai.com/api/download/models/12345?token=secret", "folder": "loras"},
     r"input.models\[0\].url's last part '12345' \(the name when 'name' is not given\) does not end with a model "
     "file extension"),
    ({"url": "https://x/a.pt", "folder": "loras", "sha256": "abc"}, r"sha256 must be 64 hexadecimal digits"),
    ({"url": "https://x/a.pt", "folder": "loras", "hash": "abc"}, r"unknown fields \['hash'\]: use url, folder"),
])
def test_a_bad_model_is_refused_naming_its_place(item, message):
    with pytest.raises(InvalidInput, match=message) as caught:
        models_of(item)
    assert "secret" not in str(caught.value)


def test_models_must_be_a_short_list():
    with pytest.raises(InvalidInput, match=r"input\.models must be a list"):
        parse_request({"workflow": WF, "models": {"url": URL, "folder": "loras"}})
    with pytest.raises(InvalidInput, match=r"input\.models has 33 items; at most 32 are allowed"):
        models_of(*({"url": f"https://x/{n}.pt", "folder": "loras"} for n in range(33)))


REQUEST = ModelRequest(URL, "loras", "style.safetensors")


def test_the_answer_lists_each_model_file_without_credentials_or_query():
    result = JobResult(models=(ModelReady(REQUEST, "downloaded", 1000, 2.34567, 600),
                               ModelReady(ModelRequest("https://x.test/b.pt", "vae", "b.pt"), "cached", 50, 0.001)))
    assert RunPodAnswers().success(result)["models"] == [
        {"folder": "loras", "name": "style.safetensors", "url": "https://huggingface.co/org/repo/resolve/main/"
         "style.safetensors", "outcome": "downloaded", "size_bytes": 1000, "bytes_downloaded": 600, "seconds": 2.346},
        {"folder": "vae", "name": "b.pt", "url": "https://x.test/b.pt", "outcome": "cached", "size_bytes": 50,
         "bytes_downloaded": 0, "seconds": 0.001}]
    assert "models" not in RunPodAnswers().success(JobResult())


def test_a_dry_run_says_which_files_are_present_and_which_a_run_would_fetch():
    api = {"1": {"class_type": "LoraLoader", "inputs": {}}}
    checked = WorkflowChecked(nodes=3, workflow_api=api, models=(ModelPlanned(REQUEST, "fetch"),))
    assert RunPodAnswers().answer(checked) == {"status": "valid", "nodes": 3, "workflow_api": api, "models": [
        {"folder": "loras", "name": "style.safetensors",
         "url": "https://huggingface.co/org/repo/resolve/main/style.safetensors", "plan": "fetch"}]}
    assert RunPodAnswers().answer(WorkflowChecked(nodes=3)) == {"status": "valid", "nodes": 3, "workflow_api": {}}


def test_a_failed_download_answers_its_code_and_the_model():
    error = ModelDownloadFailed("model loras/style.safetensors from https://h/style.safetensors: HTTP 404",
                                data={"folder": "loras", "name": "style.safetensors", "url": "https://h/style.safetensors"})
    answer = error_answer(error)
    assert answer["error"] == "model_download_failed: model loras/style.safetensors from https://h/style.safetensors: " \
                              "HTTP 404"
    assert answer["error_code"] == "model_download_failed" and answer["data"]["name"] == "style.safetensors"


def test_progress_says_its_stage():
    download = Progress(None, None, 0, 0, 0, 0, 0.0, 1.5, download=DownloadStatus("loras/a.pt", 0, 2, 10, None))
    assert progress_payload(download) == {"stage": "download", "model": "loras/a.pt", "models_done": 0,
                                          "models_total": 2, "bytes_done": 10, "bytes_total": None, "elapsed_s": 1.5}
    run = Progress("3", "KSampler", 1, 4, 2, 10, 30.0, 2.0)
    assert progress_payload(run) == {"stage": "run", "node": "3", "node_class": "KSampler", "nodes_done": 1,
                                     "nodes_total": 4, "step": 2, "steps": 10, "percent": 30.0, "elapsed_s": 2.0}
