"""HF_TOKEN and CIVITAI_TOKEN over real TLS on loopback: each goes to its own hosts only, as a bearer token, never on
a hop to another host (even one that redirects back), never over plain http, never into messages or logs."""
import logging
import os

import pytest
import requests

from adapters.guarded_http import Hop
from adapters.http_model_store import HttpModelStore
from adapters.model_tokens import HostTokens
from domain.budget import Budget
from domain.errors import ModelDownloadFailed
from domain.inputs.model_requests import ModelRequest
from file_server import FileServer, self_signed

HF, CIVITAI = "hf-s3cr3t-token", "civitai-s3cr3t-token"
HOSTS = ("huggingface.co", "cdn-lfs.hf.co", "civitai.com", "cdn.example.test", "huggingface.co.example.test")
DATA = os.urandom(100_000)


@pytest.fixture
def tls_server(tmp_path_factory):
    cert, key = self_signed(str(tmp_path_factory.mktemp("tls")), *HOSTS)
    with FileServer(tls=(cert, key)) as server:
        server.cert = cert
        yield server


def store(root, server):
    session = requests.Session()
    session.trust_env = False
    session.verify = server.cert
    return HttpModelStore(str(root), max_bytes=10**9, fetch_timeout_s=10, allow_private=True, hf_token=HF,
                          civitai_token=CIVITAI, session=session, resolver=lambda host, port: ["127.0.0.1"])


def fetch(root, server, url, name="x.safetensors"):
    return store(root, server).ensure(ModelRequest(url, "loras", name), Budget(), lambda *a: None)


def sent(server):
    """(host name, path, Authorization) of every request, in order."""
    return [(seen.host.rsplit(":", 1)[0], seen.path, seen.authorization) for seen in server.seen]


def test_each_token_goes_to_its_own_hosts_only(tls_server, tmp_path):
    tls_server.serve("/m", DATA)
    for index, host in enumerate(HOSTS):
        fetch(tmp_path, tls_server, tls_server.url("/m", host), name=f"{index}.safetensors")
    assert sent(tls_server) == [
        ("huggingface.co", "/m", f"Bearer {HF}"),
        ("cdn-lfs.hf.co", "/m", f"Bearer {HF}"),
        ("civitai.com", "/m", f"Bearer {CIVITAI}"),
        ("cdn.example.test", "/m", None),
        ("huggingface.co.example.test", "/m", None),
    ]


def test_the_token_stays_on_a_redirect_within_its_host_and_never_follows_one_elsewhere(tls_server, tmp_path):
    tls_server.serve("/blob", DATA)
    tls_server.serve("/renamed", location="/resolve/main/x.safetensors")
    tls_server.serve("/resolve/main/x.safetensors", location=tls_server.url("/blob?X-Amz-Signature=s", "cdn-lfs.hf.co"))
    fetch(tmp_path, tls_server, tls_server.url("/renamed", "huggingface.co"))
    assert sent(tls_server) == [
        ("huggingface.co", "/renamed", f"Bearer {HF}"),
        ("huggingface.co", "/resolve/main/x.safetensors", f"Bearer {HF}"),
        ("cdn-lfs.hf.co", "/blob", None),  # another host, though one of Hugging Face's: presigned, no token
    ]


def test_once_a_download_left_the_host_the_token_never_comes_back(tls_server, tmp_path):
    tls_server.serve("/blob", DATA)
    tls_server.serve("/back", location=tls_server.url("/blob", "civitai.com"))
    tls_server.serve("/api/download/models/1", location=tls_server.url("/back", "cdn.example.test"))
    fetch(tmp_path, tls_server, tls_server.url("/api/download/models/1", "civitai.com"))
    assert sent(tls_server) == [
        ("civitai.com", "/api/download/models/1", f"Bearer {CIVITAI}"),
        ("cdn.example.test", "/back", None),
        ("civitai.com", "/blob", None),
    ]


def test_no_token_over_plain_http(tmp_path):
    with FileServer() as server:
        server.serve("/m", DATA)
        session = requests.Session()
        session.trust_env = False
        HttpModelStore(str(tmp_path), max_bytes=10**9, fetch_timeout_s=10, allow_private=True, hf_token=HF,
                       session=session, resolver=lambda host, port: ["127.0.0.1"]).ensure(
            ModelRequest(server.url("/m", "huggingface.co"), "loras", "x.safetensors"), Budget(), lambda *a: None)
        assert [seen.authorization for seen in server.seen] == [None]


def test_tokens_never_reach_messages_or_logs(tls_server, tmp_path, caplog):
    tls_server.serve("/gated", status=401)
    with caplog.at_level(logging.DEBUG, logger="adapters"), pytest.raises(ModelDownloadFailed) as caught:
        fetch(tmp_path, tls_server, tls_server.url("/gated", "huggingface.co"))
    assert "HTTP 401" in caught.value.message
    texts = [caught.value.message, repr(caught.value.data)] + [r.getMessage() for r in caplog.records]
    assert not any(HF in text or CIVITAI in text for text in texts)


@pytest.mark.parametrize("url,expected", [
    ("https://huggingface.co/a", HF), ("https://HuggingFace.CO./a", HF), ("https://x.y.hf.co/a", HF),
    ("https://civitai.com/a", CIVITAI), ("https://www.civitai.com/a", CIVITAI),
    ("https://nothuggingface.co/a", None), ("https://huggingface.co.evil.test/a", None), ("https://hf.com/a", None),
    ("http://huggingface.co/a", None), ("https://civitai.com.evil.test/a", None),
])
def test_which_hosts_get_which_token(url, expected):
    headers = HostTokens(hugging_face=HF, civitai=CIVITAI).headers_for(Hop(url, 0, same_host=True))
    assert headers.get("Authorization") == (f"Bearer {expected}" if expected else None)
    assert HostTokens(hugging_face=HF, civitai=CIVITAI).headers_for(Hop(url, 1, same_host=False)) == {}


def test_no_token_set_sends_none():
    assert HostTokens().headers_for(Hop("https://huggingface.co/a", 0, same_host=True)) == {}
