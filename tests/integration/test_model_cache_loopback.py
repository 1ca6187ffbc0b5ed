"""MODEL_CACHE_MAX_BYTES against real downloads: least recently used first, never a file the workers did not download,
never one a job holds (in this process or another), never a download in progress; partial files left behind go."""
import logging
import os
import threading

import pytest

from adapters.http_model_store import HttpModelStore
from domain.budget import Budget
from domain.errors import ModelDownloadFailed
from domain.inputs.model_requests import ModelRequest
from file_server import FileServer
from model_store_processes import WorkerProcess

MiB = 1 << 20


@pytest.fixture
def server():
    with FileServer() as running:
        for name in "abcdxy":
            running.serve(f"/{name}.safetensors", os.urandom(MiB))
        yield running


def store(root, cap=int(2.5 * MiB), **overrides):
    settings = dict(max_bytes=10**9, fetch_timeout_s=30, allow_private=True, cache_max_bytes=cap)
    return HttpModelStore(str(root), **{**settings, **overrides})


def request(server, name):
    return ModelRequest(server.url(f"/{name}.safetensors"), "loras", f"{name}.safetensors")


def fetch(a_store, server, name):
    return a_store.ensure(request(server, name), Budget(), lambda *a: None)


def present(root):
    folder = root / "loras"
    return sorted(p.name.split(".")[0] for p in folder.iterdir()) if folder.exists() else []


def records(root):
    return len(list((root / ".downloads" / "records").glob("*.json")))


def test_over_the_cap_the_least_recently_used_download_goes(server, tmp_path):
    a_store = store(tmp_path)
    fetch(a_store, server, "a")
    fetch(a_store, server, "b")
    assert fetch(a_store, server, "a").outcome == "cached"  # a is now used more recently than b
    fetch(a_store, server, "c")
    assert present(tmp_path) == ["a", "c"] and records(tmp_path) == 2
    assert fetch(a_store, server, "b").outcome == "downloaded"
    assert present(tmp_path) == ["b", "c"]


def test_files_the_workers_did_not_download_are_never_evicted_nor_counted(server, tmp_path):
    foreign = tmp_path / "loras" / "mine.safetensors"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(os.urandom(3 * MiB))
    a_store = store(tmp_path, cap=int(1.5 * MiB))
    fetch(a_store, server, "a")
    assert present(tmp_path) == ["a", "mine"]
    fetch(a_store, server, "b")
    assert present(tmp_path) == ["b", "mine"] and foreign.stat().st_size == 3 * MiB


def test_a_downloaded_file_replaced_by_hand_is_never_evicted(server, tmp_path):
    a_store = store(tmp_path, cap=int(1.5 * MiB))
    fetch(a_store, server, "a")
    replaced = tmp_path / "loras" / "a.safetensors"
    replaced.unlink()
    replaced.write_bytes(b"the operator's own a")
    fetch(a_store, server, "b")
    fetch(a_store, server, "c")
    assert present(tmp_path) == ["a", "c"] and replaced.read_bytes() == b"the operator's own a"


def test_a_file_a_job_holds_is_never_evicted(server, tmp_path, caplog):
    a_store = store(tmp_path, cap=int(1.5 * MiB))
    fetch(a_store, server, "a")
    with store(tmp_path).in_use([request(server, "a")]), caplog.at_level(logging.WARNING):
        fetch(a_store, server, "b")
        assert present(tmp_path) == ["a", "b"]
    assert "over MODEL_CACHE_MAX_BYTES" in caplog.text
    fetch(a_store, server, "c")
    assert present(tmp_path) == ["c"]


def test_a_file_a_job_of_another_worker_process_holds_is_never_evicted(server, tmp_path):
    a_store = store(tmp_path, cap=int(1.5 * MiB))
    fetch(a_store, server, "a")
    holder = WorkerProcess("hold", str(tmp_path), "loras", "a.safetensors")
    try:
        assert holder.next_message() == {"holding": True}
        fetch(a_store, server, "b")
        assert present(tmp_path) == ["a", "b"]
        holder.send_line()
        assert holder.next_message() == {"released": True}
    finally:
        holder.close()
    fetch(a_store, server, "c")
    assert present(tmp_path) == ["c"]


def test_a_download_in_progress_is_never_evicted_and_partial_files_left_behind_are(tmp_path):
    with FileServer() as server:
        big = os.urandom(2 * MiB)
        server.serve("/held.safetensors", big, hold_after=MiB + 100)
        server.serve("/cut.safetensors", big, cut_after=MiB + 100)
        server.serve("/y.safetensors", os.urandom(MiB))
        a_store = store(tmp_path, cap=int(2.5 * MiB))
        partial_dir = tmp_path / ".downloads" / "partial"
        held = threading.Thread(target=fetch, args=(a_store, server, "held"))
        held.start()
        server.holding.wait(30)  # 1 MiB of the held download is in its partial file, its fetch lock taken
        with pytest.raises(ModelDownloadFailed):
            fetch(a_store, server, "cut")  # leaves 1 MiB of partial file behind
        assert sorted(p.stat().st_size for p in partial_dir.glob("*.part")) == [MiB, MiB]
        fetch(a_store, server, "y")  # 1 MiB more: the cut one's partial file goes, the one in progress stays
        assert sorted(p.stat().st_size for p in partial_dir.glob("*.part")) == [MiB]
        assert present(tmp_path) == ["y"]
        server.release.set()
        held.join(60)
    assert present(tmp_path) == ["held"] and list(partial_dir.iterdir()) == []


def test_a_file_larger_than_the_whole_cache_is_refused_before_its_body(server, tmp_path):
    with pytest.raises(ModelDownloadFailed, match=r"over MODEL_CACHE_MAX_BYTES \(524288 bytes\)"):
        fetch(store(tmp_path, cap=MiB // 2), server, "a")
    assert present(tmp_path) == [] and records(tmp_path) == 0
