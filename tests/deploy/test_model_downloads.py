"""scripts/download_models.py, the model images' download step, against a file server on loopback: files land in
ComfyUI's folders, the token goes only where the table says and never across a redirect to another host, a gated
file without a token and a short body fail the build with the file named."""
import http.server
import json
import subprocess
import sys
import threading
from typing import ClassVar

import pytest
import yaml

from deploy.start_harness import ROOT

SCRIPT = ROOT / "scripts/download_models.py"
COMFY_FOLDERS = set(yaml.safe_load((ROOT / "scripts/extra_model_paths.yaml").read_text())["runpod_worker_comfy"])


class Files(http.server.BaseHTTPRequestHandler):
    """/open/<name>, /gated/<name> (401 without `Bearer t0ken`), /short/<name> (announces more than it sends),
    /moved/<name> (a redirect to the other loopback host's /open/<name>); every request is recorded."""

    seen: ClassVar[list] = []
    other_host = ""

    def do_GET(self):
        Files.seen.append((self.headers.get("Host"), self.path, self.headers.get("Authorization")))
        kind, name = self.path.strip("/").split("/", 1)
        body = f"weights of {name}".encode()
        if kind == "gated" and self.headers.get("Authorization") != "Bearer t0ken":
            self.send_response(401)
            self.end_headers()
            return
        if kind == "moved":
            self.send_response(302)
            self.send_header("Location", f"http://{Files.other_host}/open/{name}")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body) + (100 if kind == "short" else 0)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Files.seen = []
    port = httpd.server_address[1]
    Files.other_host = f"localhost:{port}"  # the same server under another host name: a CDN's stand-in
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


def run(tmp_path, table: dict, model_type: str, token: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "table.json").write_text(json.dumps(table))
    env = {"PATH": "/usr/bin:/bin", "HUGGINGFACE_ACCESS_TOKEN": token}
    return subprocess.run([sys.executable, str(SCRIPT), model_type, str(tmp_path / "models"), "--table",
                           str(tmp_path / "table.json")], env=env, capture_output=True, text=True, timeout=120)


def test_files_land_in_comfyuis_folders_and_the_token_goes_only_where_marked(server, tmp_path):
    table = {"family": [{"folder": "checkpoints", "file": "a.safetensors", "url": f"{server}/open/a"},
                        {"folder": "vae", "file": "ae.safetensors", "url": f"{server}/gated/ae", "token": True}]}
    result = run(tmp_path, table, "family", token="t0ken")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "models/checkpoints/a.safetensors").read_bytes() == b"weights of a"
    assert (tmp_path / "models/vae/ae.safetensors").read_bytes() == b"weights of ae"
    assert [auth for _, path, auth in Files.seen if path == "/open/a"] == [None]
    assert [auth for _, path, auth in Files.seen if path == "/gated/ae"] == ["Bearer t0ken"]


def test_the_token_does_not_follow_a_redirect_to_another_host(server, tmp_path):
    table = {"family": [{"folder": "unet", "file": "m.safetensors", "url": f"{server}/moved/m", "token": True}]}
    assert run(tmp_path, table, "family", token="t0ken").returncode == 0
    (first_host, _, first_auth), (second_host, _, second_auth) = Files.seen
    assert first_auth == "Bearer t0ken" and first_host != second_host and second_auth is None


def test_a_gated_file_without_a_token_fails_saying_what_to_set(server, tmp_path):
    table = {"family": [{"folder": "unet", "file": "g.safetensors", "url": f"{server}/gated/g", "token": True}]}
    result = run(tmp_path, table, "family")
    assert result.returncode != 0 and "gated/g: HTTP 401: a gated file (set HUGGINGFACE_ACCESS_TOKEN)" in result.stderr
    assert not (tmp_path / "models/unet/g.safetensors").exists()


def test_a_short_body_fails_after_retries_and_leaves_no_file(server, tmp_path, monkeypatch):
    table = {"family": [{"folder": "vae", "file": "s.safetensors", "url": f"{server}/short/s"}]}
    result = run(tmp_path, table, "family")
    assert result.returncode != 0 and "bytes arrived" in result.stderr
    assert len([path for _, path, _ in Files.seen if path == "/short/s"]) == 3
    assert not list((tmp_path / "models/vae").iterdir()), "no partial file is left for the image"


def test_base_downloads_nothing_and_an_unknown_type_is_refused(tmp_path):
    base = subprocess.run([sys.executable, str(SCRIPT), "base", str(tmp_path / "models")], capture_output=True,
                          text=True, timeout=60)
    assert base.returncode == 0 and (tmp_path / "models").is_dir() and not list((tmp_path / "models").iterdir())
    unknown = subprocess.run([sys.executable, str(SCRIPT), "sdxl-turbo", str(tmp_path / "x")], capture_output=True,
                             text=True, timeout=60)
    assert unknown.returncode == 2 and "is not one of base, sdxl" in unknown.stderr


def test_the_table_puts_every_file_in_a_folder_comfyui_reads():
    table = json.loads((ROOT / "scripts/models.json").read_text())
    for model_type, files in table.items():
        if model_type.startswith("_"):
            continue
        for entry in files:
            assert entry["folder"] in COMFY_FOLDERS | {"unet", "clip"}, (model_type, entry)  # legacy names map
            assert entry["url"].startswith("https://huggingface.co/") and entry["file"].endswith(".safetensors")
        names = [(entry["folder"], entry["file"]) for entry in files]
        assert len(names) == len(set(names)), f"{model_type}: two files at one place"
