"""HTTP calls to RunPod's API: retries with backoff (urllib3's Retry), and one clear line for each failure."""

from __future__ import annotations

from typing import Any, Collection, Optional
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# 429: RunPod's rate limit (it may send Retry-After); 5xx: its API or a proxy in front of it failing
RETRYABLE_STATUSES = (429, 500, 502, 503, 504)
# /run is not idempotent: a retry after a 500, a 502 or a read timeout could queue the job twice
RUN_RETRYABLE_STATUSES = (429, 503)
MAX_RETRY_AFTER_S = 60.0


class ApiError(Exception):
    """A call to the API failed for good: `str()` is one line naming the call and what went wrong."""


class _CappedRetry(Retry):
    """urllib3's Retry with a Retry-After of more than `MAX_RETRY_AFTER_S` cut to it."""

    def parse_retry_after(self, retry_after: str) -> float:
        return min(super().parse_retry_after(retry_after), MAX_RETRY_AFTER_S)


def retrying_session(
    headers: dict, *, retries: int, statuses: Collection[int] = RETRYABLE_STATUSES, read_retries: Optional[int] = None
) -> requests.Session:
    """A session that retries connection failures, `statuses` and (`read_retries` times) read timeouts."""
    retry = _CappedRetry(
        total=None,
        connect=retries,
        read=retries if read_retries is None else read_retries,
        status=retries,
        other=0,
        backoff_factor=0.5,
        backoff_max=10,
        status_forcelist=statuses,
        allowed_methods=frozenset({"GET", "POST"}),
        raise_on_status=False,  # the last answer comes back, so its status can be named
    )
    session = requests.Session()
    session.headers.update(headers)
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def call_json(session: requests.Session, method: str, url: str, *, timeout_s: Optional[float], **kwargs: Any) -> Any:
    """The JSON answer of one call (retried by the session), or an `ApiError` saying what failed."""
    what = f"{method} {urlsplit(url).path}"
    try:
        response = session.request(method, url, timeout=timeout_s, **kwargs)
    except requests.Timeout as exc:
        raise ApiError(f"{what}: no answer within {timeout_s} s") from exc
    except requests.ConnectionError as exc:
        if "timed out" in str(exc).lower():
            raise ApiError(f"{what}: no answer within {timeout_s} s, retried") from exc
        raise ApiError(f"{what}: cannot connect to {urlsplit(url).netloc}: {_reason(exc)}") from exc
    except requests.RequestException as exc:
        raise ApiError(f"{what}: {_reason(exc)}") from exc
    if response.status_code >= 400:
        raise ApiError(f"{what}: {status_problem(response)}")
    try:
        return response.json()
    except ValueError as exc:
        raise ApiError(f"{what}: HTTP {response.status_code} with a body that is not JSON") from exc


def status_problem(response: requests.Response) -> str:
    """What an HTTP error status means to the caller, with the retries already made."""
    code = response.status_code
    retried = len(getattr(getattr(response.raw, "retries", None), "history", ()) or ())
    after = f", after {retried} retries" if retried else ""
    if code in (401, 403):
        return f"HTTP {code}: RunPod refused the API key; check RUNPOD_API_KEY"
    if code == 404:
        return f"HTTP 404: RunPod knows no such endpoint or job ({_body(response)})"
    if code == 429:
        return f"HTTP 429: RunPod's rate limit{after}; wait and try again"
    if code >= 500:
        return f"HTTP {code}: RunPod's API is failing{after}"
    return f"HTTP {code}: {_body(response)}"


def _body(response: requests.Response) -> str:
    text = " ".join(response.text[:200].split())
    return text or "empty body"


def _reason(exc: Exception) -> str:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return " ".join(str(reason or exc).split())[:200]
