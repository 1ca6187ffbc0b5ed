"""The client writes every list-of-entries key generically, downloads URLs, and imports nothing of the worker."""
import ast
import base64
import functools
import http.server
import json
import pathlib
import threading

import pytest

from comfy_runpod_client.cli import main
from comfy_runpod_client.outputs import save_outputs

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "src/comfy_runpod_client"


def test_every_entry_key_is_written_and_urls_are_downloaded(tmp_path):
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "clip.webm").write_bytes(b"webm-bytes")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "served"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/clip.webm"
        answer = {"id": "job-1", "status": "COMPLETED", "output": {
            "images": [{"filename": "a.png", "type": "base64", "data": base64.b64encode(b"png").decode(), "node_id": "9"},
                       {"filename": "../../etc/passwd", "type": "base64", "data": base64.b64encode(b"x").decode(),
                        "node_id": "9"}],
            "gifs": [{"filename": "clip.webm", "type": "s3_url", "data": url, "node_id": "4"}],
            "text": [{"filename": "caption.txt", "type": "text", "data": "a cat", "node_id": "7"}],
            "my_custom": [{"filename": "a.png", "type": "base64", "data": base64.b64encode(b"other").decode()}],
            "errors": ["output_fetch_failed: b.png (node 12): gone"]}}
        summary = save_outputs(answer, tmp_path / "out")
    finally:
        server.shutdown()
    out = tmp_path / "out"
    assert (out / "images/a.png").read_bytes() == b"png" and (out / "images/passwd").read_bytes() == b"x"
    assert (out / "gifs/clip.webm").read_bytes() == b"webm-bytes"
    assert (out / "text/caption.txt").read_text() == "a cat"
    assert (out / "my_custom/a.png").read_bytes() == b"other"
    assert summary["errors"] == ["output_fetch_failed: b.png (node 12): gone"]
    assert json.loads((out / "summary.json").read_text()) == summary
    assert not list(tmp_path.glob("etc*"))


def test_client_imports_only_stdlib_requests_and_tqdm():
    # urllib3: requests' own dependency, whose Retry does the retries with backoff
    allowed = {"requests", "urllib3", "tqdm", "argparse", "urllib", "base64", "json", "logging", "os", "pathlib", "re", "sys", "tempfile", "threading", "time",
               "typing", "__future__"}
    for module in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            assert {name.split(".")[0] for name in names} <= allowed, (module.name, names)


HOSTILE_KEYS = ["../escaped", "/abs-key", "..", ".", "", "a/../../b", "C:\\evil", "nul\x00key", "summary.json", "ok"]
HOSTILE_NAMES = ["../../up.png", "/etc/cron.d/x.png", "..", ".", "", "a\\..\\..\\win.png", "nul\x00.png",
                 "\u00e9t\u00e9.png", "x" * 400 + ".png", ".hidden.png", "C:\\Windows\\x.png", None, 7]


class HostileRunsync(http.server.BaseHTTPRequestHandler):
    """A loopback /runsync that answers COMPLETED with every hostile key and filename."""

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        output = {key: [{"filename": name, "type": "base64", "data": base64.b64encode(repr(name).encode()).decode(),
                         "node_id": "9"} for name in HOSTILE_NAMES] for key in HOSTILE_KEYS}
        body = json.dumps({"id": "hostile", "status": "COMPLETED", "output": output}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_hostile_answer_writes_only_inside_the_output_folder(tmp_path):
    sandbox = tmp_path / "sandbox"
    out = sandbox / "deep" / "out"
    (sandbox / "deep").mkdir(parents=True)
    workflow = tmp_path / "workflow.json"
    workflow.write_text(json.dumps({"1": {"class_type": "EmptyImage", "inputs": {}}}))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HostileRunsync)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        code = main(["run", str(workflow), "--url", f"http://127.0.0.1:{server.server_address[1]}", "--out", str(out),
                     "--no-progress"])
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0
    written = [path for path in sandbox.rglob("*") if path.is_file()]
    assert written and all(path.is_relative_to(out) for path in written), written
    summary = json.loads((out / "summary.json").read_text())
    assert len(summary["files"]) == len(HOSTILE_KEYS) * len(HOSTILE_NAMES)
    for item in summary["files"]:
        path = pathlib.Path(item["path"])
        assert len(path.parts) == 2 and not path.is_absolute(), path
        assert all(part not in ("", ".", "..") and not part.startswith(".") and "\x00" not in part
                   for part in path.parts), path
        assert len(path.name.encode()) <= 255
    kept = {item["path"] for item in summary["files"] if item["path"].startswith("ok/")}
    assert {"ok/up.png", "ok/x.png", "ok/win.png", "ok/\u00e9t\u00e9.png", "ok/hidden.png"} <= kept  # extensions kept
    assert (out / "summary.json_").is_dir()  # the answer's key never replaces the summary


def test_a_symbolic_link_in_the_output_folder_is_not_followed_outside(tmp_path):
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()
    out.mkdir()
    (out / "images").symlink_to(outside, target_is_directory=True)
    answer = {"id": "j", "status": "COMPLETED",
              "output": {"images": [{"filename": "a.png", "type": "base64", "data": base64.b64encode(b"x").decode()}]}}
    with pytest.raises(ValueError, match="resolves outside"):
        save_outputs(answer, out)
    assert not list(outside.iterdir())


class RecordingServer:
    """A loopback HTTP server that records every request path and serves `body` (with or without Content-Length)."""

    def __init__(self, body: bytes = b"", *, content_length: bool = True):
        self.requests: list[str] = []
        recorded, served = self.requests, body

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                recorded.append(self.path)
                self.send_response(200)
                if content_length:
                    self.send_header("Content-Length", str(len(served)))
                else:
                    self.close_connection = True  # the body ends when the connection does
                self.end_headers()
                self.wfile.write(served)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_a_text_entry_holding_a_url_is_written_as_text_and_never_requested(tmp_path):
    with RecordingServer(b"the admin page") as server:
        url = f"{server.url}/admin?token=0123456789"
        answer = {"id": "j", "status": "COMPLETED", "output": {
            "text": [{"node_id": "12", "type": "text", "data": url}],
            "custom": [{"filename": "link.txt", "type": "url", "data": url}]}}
        summary = save_outputs(answer, tmp_path / "out")
    assert server.requests == []
    assert [(tmp_path / "out" / item["path"]).read_text() for item in summary["files"]] == [url, url]


@pytest.mark.parametrize("content_length", [True, False], ids=["announced", "unannounced"])
def test_an_s3_url_over_the_cap_fails_clearly_and_leaves_no_partial_file(tmp_path, content_length):
    with RecordingServer(b"v" * 5000, content_length=content_length) as server:
        answer = {"id": "j", "status": "COMPLETED", "output": {
            "gifs": [{"filename": "big.webm", "type": "s3_url", "data": f"{server.url}/big.webm", "node_id": "4"},
                     {"filename": "small.png", "type": "base64", "data": base64.b64encode(b"png").decode()}]}}
        summary = save_outputs(answer, tmp_path / "out", max_download_bytes=1000)
    assert server.requests == ["/big.webm"]
    assert summary["failed"] == [{"key": "gifs", "node_id": "4", "filename": "big.webm",
                                  "error": "over the 1,000-byte download cap (--max-download-bytes)"}]
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["gifs", "small.png", "summary.json"]


def test_an_s3_url_within_the_cap_is_streamed_to_its_file(tmp_path):
    with RecordingServer(b"w" * 1000, content_length=False) as server:
        answer = {"id": "j", "status": "COMPLETED", "output": {
            "gifs": [{"filename": "clip.webm", "type": "s3_url", "data": f"{server.url}/clip.webm"}]}}
        summary = save_outputs(answer, tmp_path / "out", max_download_bytes=1000)
    assert (tmp_path / "out/gifs/clip.webm").read_bytes() == b"w" * 1000
    assert summary["failed"] == [] and summary["files"][0]["bytes"] == 1000


def test_the_command_line_exits_1_naming_an_output_it_could_not_save(tmp_path, caplog):
    from comfy_runpod_client.cli import report
    from comfy_runpod_client.outputs import OutputWriter

    with RecordingServer(b"v" * 5000) as server:
        writer = OutputWriter(tmp_path / "out", max_download_bytes=1000)
        answer = {"id": "j", "status": "COMPLETED", "output": {
            "gifs": [{"filename": "big.webm", "type": "s3_url", "data": f"{server.url}/big.webm", "node_id": "4"}]}}
        assert report(answer, writer) == 1
    assert "gifs/big.webm (node 4) not saved: over the 1,000-byte download cap (--max-download-bytes)" in caplog.text
