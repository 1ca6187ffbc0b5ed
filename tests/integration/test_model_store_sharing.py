"""HttpModelStore shared between jobs (threads) and workers (processes) on one download folder: one download for two
jobs in flight, the records that refuse a name taken by another URL or sha256, and files it did not download."""
import hashlib
import os
import threading

import pytest

from adapters.http_model_store import HttpModelStore
from domain.budget import Budget
from domain.errors import InvalidInput, ModelDownloadFailed
from domain.inputs.model_requests import ModelRequest
from file_server import FileServer
from model_store_processes import WorkerProcess

MiB = 1 << 20
DATA = os.urandom(3 * MiB + 777)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def store(root, **overrides):
    return HttpModelStore(str(root), **{**dict(max_bytes=10**9, fetch_timeout_s=30, allow_private=True), **overrides})


def until(condition, what, timeout_s=30):
    event = threading.Event()
    for _ in range(int(timeout_s / 0.02)):
        if condition():
            return
        event.wait(0.02)
    raise AssertionError(f"never happened: {what}")


def test_two_jobs_in_flight_that_need_the_same_file_share_one_download(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, hold_after=MiB + 100)
    request = ModelRequest(url, "checkpoints", "x.safetensors", SHA)
    reports = {0: [], 1: []}
    results = {}

    def job(index):
        results[index] = store(tmp_path).ensure(request, Budget(), lambda done, total: reports[index].append(done))

    threads = [threading.Thread(target=job, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    # both jobs are in flight: one streams (it reported its first MiB), the other waits and follows the partial file
    until(lambda: all(any(done >= MiB for done in reports[i]) for i in (0, 1)), "both jobs report the first MiB")
    server.release.set()
    for thread in threads:
        thread.join(60)
    assert len(server.requests_for("/x.safetensors")) == 1
    assert sorted((r.outcome, r.bytes_moved) for r in results.values()) == [("cached", 0), ("downloaded", len(DATA))]
    assert (tmp_path / "checkpoints" / "x.safetensors").read_bytes() == DATA


def test_two_worker_processes_that_need_the_same_file_share_one_download(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, hold_after=MiB + 100)
    workers = [WorkerProcess("ensure", str(tmp_path), url, "checkpoints", "x.safetensors") for _ in range(2)]
    try:
        firsts = [worker.next_message() for worker in workers]
        # the streaming one reports 0 then 1 MiB; the waiting one reports the partial file's size as it grows
        for worker, first in zip(workers, firsts, strict=True):
            message = first
            while message.get("progress", MiB) < MiB:
                message = worker.next_message()
            assert "progress" in message, message
        server.release.set()
        ends = []
        for worker in workers:
            message = worker.next_message()
            while "progress" in message:
                message = worker.next_message()
            ends.append(message)
    finally:
        for worker in workers:
            worker.close()
    assert sorted((end.get("ready"), end.get("moved")) for end in ends) == [("cached", 0), ("downloaded", len(DATA))], ends
    assert len(server.requests_for("/x.safetensors")) == 1
    assert (tmp_path / "checkpoints" / "x.safetensors").read_bytes() == DATA


def test_a_job_that_fails_leaves_the_waiting_job_to_try_itself(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, hold_after=MiB + 100, cut_after=MiB + 200)
    request = ModelRequest(url, "loras", "x.safetensors")
    outcomes = {}

    def job(index):
        try:
            outcomes[index] = store(tmp_path).ensure(request, Budget(), lambda done, total: None).outcome
        except Exception as exc:
            outcomes[index] = type(exc).__name__

    threads = [threading.Thread(target=job, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    until(server.holding.is_set, "the first download is held")
    server.release.set()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes.values()) == ["ModelDownloadFailed", "downloaded"]
    seen = server.requests_for("/x.safetensors")
    assert [s.range for s in seen] == [None, f"bytes={MiB}-"]  # the second job continued the first one's bytes


def test_the_same_name_from_another_url_or_with_another_sha256_is_refused_naming_both(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    store(tmp_path).ensure(ModelRequest(url, "loras", "x.safetensors"), Budget(), lambda *a: None)
    other = server.serve("/elsewhere/x.safetensors", DATA)
    wrong_sha = "0" * 64
    for request in (ModelRequest(other, "loras", "x.safetensors"), ModelRequest(url, "loras", "x.safetensors", wrong_sha)):
        for attempt in ("plan", "ensure"):
            with pytest.raises(InvalidInput) as caught:
                if attempt == "plan":
                    store(tmp_path).plan(request)
                else:
                    store(tmp_path).ensure(request, Budget(), lambda *a: None)
            message = caught.value.message
            assert f"was downloaded from {url} (sha256 {SHA})" in message
            assert f"asks for it from {request.url}" in message and "never replaced" in message
    assert "(sha256 " + wrong_sha + ")" in message
    assert len(server.seen) == 1 and (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA


def test_the_same_source_with_another_query_string_or_credentials_is_the_same_file(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    store(tmp_path).ensure(ModelRequest(url + "?X-Amz-Signature=one", "loras", "x.safetensors"), Budget(),
                           lambda *a: None)
    again = url.replace("http://", "http://user:pw@") + "?X-Amz-Signature=two#f"
    ready = store(tmp_path).ensure(ModelRequest(again, "loras", "x.safetensors"), Budget(), lambda *a: None)
    assert ready.outcome == "cached" and len(server.seen) == 1


def test_the_sha256_asked_for_accepts_the_recorded_file_from_any_url(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    store(tmp_path).ensure(ModelRequest(url, "loras", "x.safetensors"), Budget(), lambda *a: None)
    mirror = ModelRequest("https://mirror.example.test/x.safetensors", "loras", "x.safetensors", SHA)
    assert store(tmp_path).plan(mirror) == "present"
    assert store(tmp_path).ensure(mirror, Budget(), lambda *a: None).outcome == "cached"
    assert len(server.seen) == 1


def test_a_file_not_downloaded_by_a_worker_is_used_as_it_is_and_never_replaced(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    final = tmp_path / "vae" / "x.safetensors"
    final.parent.mkdir(parents=True)
    final.write_bytes(b"baked into the image")
    own_sha = hashlib.sha256(b"baked into the image").hexdigest()
    a_store = store(tmp_path)
    for request in (ModelRequest(url, "vae", "x.safetensors"), ModelRequest(url, "vae", "x.safetensors", own_sha)):
        assert a_store.plan(request) == "present"
        ready = a_store.ensure(request, Budget(), lambda *a: None)
        assert (ready.outcome, ready.size_bytes) == ("cached", len(b"baked into the image"))
    with pytest.raises(InvalidInput, match=f"not downloaded by a worker.*with sha256 {own_sha}, not {SHA}"):
        a_store.ensure(ModelRequest(url, "vae", "x.safetensors", SHA), Budget(), lambda *a: None)
    assert server.seen == [] and final.read_bytes() == b"baked into the image"


def test_a_recorded_file_replaced_by_hand_counts_as_not_downloaded_by_a_worker(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    store(tmp_path).ensure(ModelRequest(url, "loras", "x.safetensors"), Budget(), lambda *a: None)
    final = tmp_path / "loras" / "x.safetensors"
    final.unlink()
    final.write_bytes(b"the operator's own file")
    other = server.serve("/other.safetensors", DATA)
    ready = store(tmp_path).ensure(ModelRequest(other, "loras", "x.safetensors"), Budget(), lambda *a: None)
    assert ready.outcome == "cached" and final.read_bytes() == b"the operator's own file"


def test_a_record_without_its_file_is_downloaded_again(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    request = ModelRequest(url, "loras", "x.safetensors")
    store(tmp_path).ensure(request, Budget(), lambda *a: None)
    (tmp_path / "loras" / "x.safetensors").unlink()
    assert store(tmp_path).plan(request) == "fetch"
    assert store(tmp_path).ensure(request, Budget(), lambda *a: None).outcome == "downloaded"
    assert len(server.seen) == 2


def comfy_store(root, search):
    """A store told ComfyUI's folders for loras in its search order, as `GET /internal/folder_paths` gives them."""
    return store(root, comfy_folder_paths=lambda: {"loras": [str(p) for p in search], "vae": [str(root / "vae")]})


def test_a_file_comfyui_finds_in_another_of_its_folders_is_used_and_never_hidden_by_a_download(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    image, downloads = tmp_path / "image" / "loras", tmp_path / "downloads"
    (image / "sub").mkdir(parents=True)
    (image / "sub" / "x.safetensors").write_bytes(b"baked into the image")
    baked_sha = hashlib.sha256(b"baked into the image").hexdigest()
    for search in ([image, downloads / "loras"], [downloads / "loras", image]):  # before MODEL_DOWNLOAD_DIR, or after
        a_store = comfy_store(downloads, search)
        for sha in (None, baked_sha):
            request = ModelRequest(url, "loras", "sub/x.safetensors", sha)
            assert a_store.plan(request) == "present"
            ready = a_store.ensure(request, Budget(), lambda *a: None)
            assert (ready.outcome, ready.size_bytes) == ("cached", len(b"baked into the image"))
        with pytest.raises(InvalidInput, match=f"with sha256 {baked_sha}, not {SHA}"):
            a_store.ensure(ModelRequest(url, "loras", "sub/x.safetensors", SHA), Budget(), lambda *a: None)
    assert server.seen == [] and not (downloads / "loras").exists()


def test_with_comfyuis_folders_a_missing_file_is_downloaded_and_then_found_as_the_workers_own(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    image, downloads = tmp_path / "image" / "loras", tmp_path / "downloads"
    image.mkdir(parents=True)
    a_store = comfy_store(downloads, [image, downloads / "loras"])
    request = ModelRequest(url, "loras", "x.safetensors")
    assert a_store.ensure(request, Budget(), lambda *a: None).outcome == "downloaded"
    assert a_store.ensure(request, Budget(), lambda *a: None).outcome == "cached"
    with pytest.raises(InvalidInput, match="never replaced"):
        a_store.plan(ModelRequest(server.url("/other.safetensors"), "loras", "x.safetensors"))
    assert len(server.seen) == 1


def test_no_download_goes_where_comfyui_does_not_look(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    a_store = comfy_store(tmp_path / "downloads", [tmp_path / "image" / "loras"])
    with pytest.raises(ModelDownloadFailed, match="ComfyUI does not look in MODEL_DOWNLOAD_DIR/loras"):
        a_store.ensure(ModelRequest(url, "loras", "x.safetensors"), Budget(), lambda *a: None)
    with pytest.raises(InvalidInput, match="not one of ComfyUI's model folders"):
        a_store.plan(ModelRequest(url, "checkpoints", "x.safetensors"))
    assert server.seen == []
