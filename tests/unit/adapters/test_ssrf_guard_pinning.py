"""The fetcher refuses to exist when requests would not connect to the checked address (requests < 2.32.2), and
the worker then refuses URL inputs while serving every other job."""
import logging

import pytest
from requests.adapters import HTTPAdapter

from adapters.http_input_fetcher import HttpInputFetcher, PinningUnavailable
from entrypoints.container import build_container

SETTINGS = dict(max_bytes=1000, allow_private=False, connect_timeout_s=1, read_timeout_s=1)


def test_the_hook_is_in_place_with_the_installed_requests():
    HttpInputFetcher(**SETTINGS)


def test_without_the_hook_the_fetcher_is_not_built(monkeypatch):
    monkeypatch.delattr(HTTPAdapter, "build_connection_pool_key_attributes")
    with pytest.raises(PinningUnavailable, match=r"needs >= 2\.32\.2"):
        HttpInputFetcher(**SETTINGS)


def test_a_requests_that_ignores_the_hook_is_caught(mocker):
    # requests 2.31 chose the pool from the URL's host name: the override was never called
    mocker.patch.object(HTTPAdapter, "get_connection_with_tls_context",
                        lambda self, request, verify, proxies=None, cert=None:
                        self.poolmanager.connection_from_url(request.url))
    with pytest.raises(PinningUnavailable):
        HttpInputFetcher(**SETTINGS)


def test_the_worker_then_refuses_url_inputs_and_says_why_at_start(monkeypatch, caplog):
    monkeypatch.delattr(HTTPAdapter, "build_connection_pool_key_attributes")
    with caplog.at_level(logging.ERROR):
        services = build_container({"COMFY_HOST": "127.0.0.1:1"}).services()
    assert services.readers == {}  # no reader for URL inputs
    assert any("URL inputs are refused" in record.getMessage() for record in caplog.records)
