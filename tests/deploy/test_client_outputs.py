"""The client writes every list-of-entries key generically, downloads URLs, and imports nothing of the worker."""
import ast
import base64
import functools
import http.server
import json
import pathlib
import threading

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
    allowed = {"requests", "tqdm", "argparse", "base64", "json", "logging", "os", "pathlib", "re", "sys", "time",
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
