"""HttpModelStore against a real file server on loopback: one GET per file across jobs and workers, the sha256, the
size cap, resuming with Range, stalls, cancels, refusals, and messages without credentials or query strings."""
import hashlib
import logging
import os
import threading

import pytest

from adapters.http_model_store import HttpModelStore
from domain.budget import Budget
from domain.errors import Cancelled, InvalidInput, JobTimedOut, ModelDownloadFailed
from domain.inputs.model_requests import ModelRequest
from file_server import FileServer

MiB = 1 << 20
DATA = os.urandom(3 * MiB + 12345)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def server():
    with FileServer() as running:
        yield running


def store(root, **overrides):
    settings = dict(max_bytes=10**9, fetch_timeout_s=10, allow_private=True)
    return HttpModelStore(str(root), **{**settings, **overrides})


def ensure(a_store, request, budget=None):
    reports = []
    ready = a_store.ensure(request, budget or Budget(), lambda done, total: reports.append((done, total)))
    return ready, reports


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and ".downloads" not in p.parts)


def partials(root):
    return sorted(p.name for p in (root / ".downloads" / "partial").iterdir())


def test_a_missing_file_is_downloaded_once_then_used_from_the_folder_by_every_job_and_worker(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    request = ModelRequest(url, "loras", "x.safetensors")
    first = store(tmp_path)
    assert first.plan(request) == "fetch"
    ready, reports = ensure(first, request)
    assert (ready.outcome, ready.size_bytes, ready.bytes_moved) == ("downloaded", len(DATA), len(DATA))
    assert (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA
    assert reports[-1] == (len(DATA), len(DATA)) and [done for done, _ in reports] == sorted(done for done, _ in reports)
    assert first.plan(request) == "present"
    again, _ = ensure(first, request)
    other_worker, _ = ensure(store(tmp_path), request)
    assert [(r.outcome, r.bytes_moved) for r in (again, other_worker)] == [("cached", 0), ("cached", 0)]
    assert len(server.requests_for("/x.safetensors")) == 1
    assert partials(tmp_path) == [] and files_under(tmp_path) == ["loras/x.safetensors"]


def test_plan_downloads_nothing(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    assert store(tmp_path).plan(ModelRequest(url, "loras", "x.safetensors", SHA)) == "fetch"
    assert server.seen == [] and files_under(tmp_path) == []


def test_a_sha256_mismatch_leaves_nothing_under_the_final_name(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, wrong_from=len(DATA) - 10)
    request = ModelRequest(url, "loras", "x.safetensors", SHA)
    with pytest.raises(ModelDownloadFailed, match=f"its sha256 is [0-9a-f]{{64}}, not {SHA} as asked") as caught:
        ensure(store(tmp_path), request)
    assert caught.value.data == {"folder": "loras", "name": "x.safetensors", "url": url}
    assert files_under(tmp_path) == [] and partials(tmp_path) == []
    assert not (tmp_path / "loras" / "x.safetensors").exists()
    server.routes["/x.safetensors"].wrong_from = None
    ready, _ = ensure(store(tmp_path), request)
    assert ready.outcome == "downloaded" and (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA
    assert [seen.range for seen in server.requests_for("/x.safetensors")] == [None, None]  # a bad file is not resumed


def test_a_matching_sha256_in_capitals_is_accepted(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    ready, _ = ensure(store(tmp_path), ModelRequest(url, "loras", "x.safetensors", SHA.upper()))
    assert ready.outcome == "downloaded"


def test_an_interrupted_download_resumes_with_range_when_the_job_is_retried(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, cut_after=2 * MiB + 500)
    request = ModelRequest(url, "loras", "x.safetensors", SHA)
    with pytest.raises(ModelDownloadFailed, match="the body was cut short"):
        ensure(store(tmp_path), request)
    assert not (tmp_path / "loras" / "x.safetensors").exists()
    kept = (tmp_path / ".downloads" / "partial").glob("*.part")
    [partial] = list(kept)
    assert partial.stat().st_size == 2 * MiB  # the whole chunks that came
    ready, reports = ensure(store(tmp_path), request)
    first, retry = server.requests_for("/x.safetensors")
    assert (first.range, retry.range, retry.if_range) == (None, f"bytes={2 * MiB}-", '"v1"')
    assert (ready.outcome, ready.bytes_moved, ready.size_bytes) == ("downloaded", len(DATA) - 2 * MiB, len(DATA))
    assert reports[0] == (2 * MiB, len(DATA))
    assert (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA and partials(tmp_path) == []


def test_a_200_answer_to_a_range_request_starts_from_zero(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, cut_after=MiB + 1, ranges=False)
    request = ModelRequest(url, "loras", "x.safetensors", SHA)
    with pytest.raises(ModelDownloadFailed):
        ensure(store(tmp_path), request)
    ready, _ = ensure(store(tmp_path), request)
    assert server.requests_for("/x.safetensors")[1].range == f"bytes={MiB}-"
    assert ready.bytes_moved == len(DATA) and (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA


def test_a_file_changed_on_the_server_starts_over_instead_of_being_spliced(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, cut_after=MiB + 1)
    request = ModelRequest(url, "loras", "x.safetensors")
    with pytest.raises(ModelDownloadFailed):
        ensure(store(tmp_path), request)
    changed = os.urandom(len(DATA))
    server.serve("/x.safetensors", changed, etag='"v2"')
    ready, _ = ensure(store(tmp_path), request)
    assert server.requests_for("/x.safetensors")[1].if_range == '"v1"'
    assert ready.bytes_moved == len(changed) and (tmp_path / "loras" / "x.safetensors").read_bytes() == changed


def test_a_206_that_does_not_continue_the_partial_file_starts_over(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, cut_after=MiB + 1)
    request = ModelRequest(url, "loras", "x.safetensors", SHA)
    with pytest.raises(ModelDownloadFailed):
        ensure(store(tmp_path), request)
    server.routes["/x.safetensors"].content_range = f"bytes 0-{len(DATA) - 1}/{len(DATA)}"
    ready, _ = ensure(store(tmp_path), request)
    assert [seen.range for seen in server.requests_for("/x.safetensors")] == [None, f"bytes={MiB}-", None]
    assert ready.bytes_moved == len(DATA) and (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA


def test_a_partial_file_that_is_already_whole_is_placed_after_a_416(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, cut_after=len(DATA) - 1, sized=False)
    request = ModelRequest(url, "loras", "x.safetensors", SHA)
    with pytest.raises(ModelDownloadFailed):
        ensure(store(tmp_path), request)
    [partial] = (tmp_path / ".downloads" / "partial").glob("*.part")
    partial.write_bytes(DATA)  # as if the process had died between the last byte and the rename
    ready, _ = ensure(store(tmp_path), request)
    assert server.requests_for("/x.safetensors")[1].range == f"bytes={len(DATA)}-"
    assert (ready.outcome, ready.bytes_moved) == ("downloaded", 0)
    assert (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA


def test_another_url_never_continues_a_partial_file(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, cut_after=MiB + 1)
    with pytest.raises(ModelDownloadFailed):
        ensure(store(tmp_path), ModelRequest(url, "loras", "x.safetensors"))
    other = server.serve("/other.safetensors", DATA[::-1])
    ready, _ = ensure(store(tmp_path), ModelRequest(other, "loras", "x.safetensors"))
    assert server.requests_for("/other.safetensors")[0].range is None
    assert ready.bytes_moved == len(DATA) and (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA[::-1]


def test_a_declared_size_over_the_cap_fails_before_any_file_is_written(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    with pytest.raises(ModelDownloadFailed, match=rf"{len(DATA)} bytes is over MODEL_MAX_BYTES \({MiB} bytes\)"):
        ensure(store(tmp_path, max_bytes=MiB), ModelRequest(url, "loras", "x.safetensors"))
    assert files_under(tmp_path) == [] and partials(tmp_path) == []


def test_a_streamed_body_over_the_cap_fails_and_is_deleted(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, sized=False)
    with pytest.raises(ModelDownloadFailed, match=rf"the body is over MODEL_MAX_BYTES \({2 * MiB} bytes\)"):
        ensure(store(tmp_path, max_bytes=2 * MiB), ModelRequest(url, "loras", "x.safetensors"))
    assert files_under(tmp_path) == [] and partials(tmp_path) == []


def test_failures_name_the_model_and_its_url_without_credentials_or_query(server, tmp_path, caplog):
    server.serve("/gone.safetensors", status=404)
    url = server.url("/gone.safetensors?token=s3cr3t").replace("http://", "http://user:hunter2@")
    # third-party loggers (urllib3 names whole URLs at DEBUG) log warnings and up in the worker: the worker's own here
    with caplog.at_level(logging.DEBUG, logger="adapters"), pytest.raises(ModelDownloadFailed) as caught:
        ensure(store(tmp_path), ModelRequest(url, "loras", "gone.safetensors"))
    shown = server.url("/gone.safetensors")
    assert caught.value.summary() == f"model_download_failed: model loras/gone.safetensors from {shown}: HTTP 404"
    assert caught.value.data == {"folder": "loras", "name": "gone.safetensors", "url": shown}
    own = [r.getMessage() for r in caplog.records if r.name.startswith("adapters")]
    assert not any("s3cr3t" in line or "hunter2" in line for line in own)


def test_a_redirect_is_followed_and_a_failing_hop_is_named(server, tmp_path):
    target = server.serve("/blob", DATA)
    url = server.serve("/x.safetensors", location=target)
    ready, _ = ensure(store(tmp_path), ModelRequest(url + "?download=true", "loras", "x.safetensors", SHA))
    assert ready.outcome == "downloaded"
    server.serve("/missing-blob", status=403)
    broken = server.serve("/y.safetensors", location=server.url("/missing-blob?X-Amz-Signature=s3cr3t"))
    with pytest.raises(ModelDownloadFailed) as caught:
        ensure(store(tmp_path), ModelRequest(broken, "loras", "y.safetensors"))
    assert caught.value.message == (f"model loras/y.safetensors from {broken}: HTTP 403 "
                                    f"(at {server.url('/missing-blob')})")


def test_a_refused_address_fails_before_any_request(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    with pytest.raises(ModelDownloadFailed, match=r"the host is a loopback address \(127.0.0.0/8\); refused"):
        ensure(store(tmp_path, allow_private=False), ModelRequest(url, "loras", "x.safetensors"))
    assert server.seen == [] and files_under(tmp_path) == []


def test_a_redirect_to_a_refused_address_is_not_followed(server, tmp_path):
    from adapters.ssrf_guard import parse_address, refusal_reason

    url = server.serve("/x.safetensors", location="http://169.254.169.254/latest/meta-data/")
    only_loopback = lambda a: None if a == parse_address("127.0.0.1") else refusal_reason(a)  # noqa: E731
    with pytest.raises(ModelDownloadFailed, match="metadata"):
        ensure(store(tmp_path, allow_private=False, guard=only_loopback), ModelRequest(url, "loras", "x.safetensors"))
    assert [seen.path for seen in server.seen] == ["/x.safetensors"]


def test_a_body_that_stops_coming_fails_on_the_fetch_timeout_and_is_resumed_later(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, hold_after=MiB + 100)
    request = ModelRequest(url, "loras", "x.safetensors", SHA)
    with pytest.raises(ModelDownloadFailed, match=r"MODEL_FETCH_TIMEOUT_S, 2 s|MODEL_FETCH_TIMEOUT_S \(2 s\)"):
        ensure(store(tmp_path, fetch_timeout_s=2), request)
    server.release.set()
    ready, _ = ensure(store(tmp_path), request)
    assert server.requests_for("/x.safetensors")[1].range == f"bytes={MiB}-"
    assert ready.bytes_moved == len(DATA) - MiB


def test_a_dripping_body_is_cut_by_the_stall_timer(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, throttle_bps=200_000)  # 1 MiB takes 5 s, the stall limit is 1 s
    with pytest.raises(ModelDownloadFailed, match=r"no data came for MODEL_FETCH_TIMEOUT_S \(1 s\)"):
        ensure(store(tmp_path, fetch_timeout_s=1), ModelRequest(url, "loras", "x.safetensors"))


def test_a_cancel_stops_the_download_and_the_retry_resumes(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, hold_after=MiB + 100)
    request = ModelRequest(url, "loras", "x.safetensors", SHA)
    budget = Budget()

    def cancel_once_held():
        server.holding.wait(30)
        budget.stop.set()

    threading.Thread(target=cancel_once_held, daemon=True).start()
    with pytest.raises(Cancelled, match=r"x\.safetensors"):
        ensure(store(tmp_path), request, budget)
    server.release.set()
    ready, _ = ensure(store(tmp_path), request)
    assert ready.bytes_moved == len(DATA) - MiB and (tmp_path / "loras" / "x.safetensors").read_bytes() == DATA


def test_the_jobs_deadline_ends_a_download(server, tmp_path):
    import time

    url = server.serve("/x.safetensors", DATA, hold_after=100)
    with pytest.raises(JobTimedOut):
        ensure(store(tmp_path), ModelRequest(url, "loras", "x.safetensors"), Budget(deadline=time.monotonic() + 1))


def test_a_nested_name_gets_its_folders(server, tmp_path):
    url = server.serve("/x.safetensors", DATA)
    ensure(store(tmp_path), ModelRequest(url, "loras", "styles/2024/x.safetensors"))
    assert files_under(tmp_path) == ["loras/styles/2024/x.safetensors"]


@pytest.mark.parametrize("folder,name", [
    ("loras", "../x.safetensors"), ("loras", "/etc/x"), ("loras", "a\\b.safetensors"), ("loras", "a\x00b"),
    ("loras", "a\nb"), ("loras", "a//b"), ("loras", "x" * 256), ("loras", "a/"), ("loras", ". ."),
    ("../loras", "x"), ("lo/ras", "x"), (".downloads", "x"), ("custom_nodes", "evil.py"), ("", "x"),
])
def test_refused_folders_and_names_touch_nothing(server, tmp_path, folder, name):
    url = server.serve("/x", DATA)
    with pytest.raises(InvalidInput):
        store(tmp_path).plan(ModelRequest(url, folder, name))
    with pytest.raises(InvalidInput):
        ensure(store(tmp_path), ModelRequest(url, folder, name))
    assert server.seen == [] and files_under(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [".downloads"]


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "http:///x", "x.safetensors",
                                 "http://[::1/x"])
def test_urls_other_than_http_are_invalid_input(tmp_path, url):
    with pytest.raises(InvalidInput):
        store(tmp_path).plan(ModelRequest(url, "loras", "x"))


def test_a_folder_that_is_a_symbolic_link_out_of_the_download_folder_is_refused(server, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "models"
    root.mkdir()
    (root / "loras").symlink_to(outside)
    (root / "vae").mkdir()
    (root / "vae" / "sub").symlink_to(outside)
    url = server.serve("/x.safetensors", DATA)
    for folder, name in (("loras", "x.safetensors"), ("vae", "sub/x.safetensors")):
        with pytest.raises(ModelDownloadFailed, match="symbolic link"):
            ensure(store(root), ModelRequest(url, folder, name))
    assert list(outside.iterdir()) == [] and server.seen == []


def test_a_file_that_appears_under_the_name_meanwhile_is_never_replaced(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, hold_after=MiB + 100)
    final = tmp_path / "loras" / "x.safetensors"

    def put_a_file_there_once_held():
        server.holding.wait(30)
        final.parent.mkdir(parents=True, exist_ok=True)
        final.write_bytes(b"someone else's")
        server.release.set()

    threading.Thread(target=put_a_file_there_once_held, daemon=True).start()
    with pytest.raises(ModelDownloadFailed, match="a file appeared under the name"):
        ensure(store(tmp_path), ModelRequest(url, "loras", "x.safetensors"))
    assert final.read_bytes() == b"someone else's" and partials(tmp_path) == []


def coarse(real, path_of_folder):
    """`real` (os.link or os.unlink) on a file system whose timestamps are too coarse to tell the change from the
    folder's last one: the folder's mtime stays as it was."""
    def call(*args):
        folder = path_of_folder(*args)
        before = os.stat(folder).st_mtime_ns
        real(*args)
        os.utime(folder, ns=(before, before))
    return call


def test_a_folder_mtime_the_file_system_left_unchanged_is_moved_on_so_comfyui_lists_it_again(server, tmp_path,
                                                                                           monkeypatch):
    url = server.serve("/x.safetensors", DATA)
    folder = tmp_path / "loras"
    folder.mkdir()
    before = folder.stat().st_mtime_ns
    monkeypatch.setattr(os, "link", coarse(os.link, lambda source, target: os.path.dirname(target)))
    ensure(store(tmp_path), ModelRequest(url, "loras", "x.safetensors"))
    assert folder.stat().st_mtime_ns != before


def test_an_eviction_moves_the_folder_mtime_on_too(server, tmp_path, monkeypatch):
    url = server.serve("/x.safetensors", DATA)
    ensure(store(tmp_path), ModelRequest(url, "loras", "x.safetensors"))
    folder = tmp_path / "loras"
    before = folder.stat().st_mtime_ns
    import adapters.model_cache as model_cache
    monkeypatch.setattr(model_cache.os, "unlink", coarse(os.unlink, os.path.dirname))
    ensure(store(tmp_path, cache_max_bytes=len(DATA)), ModelRequest(url, "vae", "y.safetensors"))
    assert not (folder / "x.safetensors").exists() and folder.stat().st_mtime_ns != before


def test_a_body_sent_encoded_though_none_was_asked_for_is_stored_decoded_and_never_resumed(server, tmp_path):
    url = server.serve("/x.safetensors", DATA, gzip=True)
    ready, reports = ensure(store(tmp_path), ModelRequest(url, "loras", "x.safetensors", SHA))
    assert (ready.outcome, ready.size_bytes) == ("downloaded", len(DATA)) and reports[-1] == (len(DATA), None)
    assert server.requests_for("/x.safetensors")[0].headers["accept-encoding"] == "identity"
