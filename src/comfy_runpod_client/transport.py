"""The two ways to reach the worker: a RunPod endpoint (/run, /status, /cancel) or the SDK's local API."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

import requests

log = logging.getLogger(__name__)

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
ProgressSink = Callable[[Any], None]


class RunpodEndpoint:
    """A serverless endpoint: `/run`, then `/status` until final; the latest progress update is the output."""

    def __init__(self, api_base: str, endpoint_id: str, api_key: str, *, poll_interval_s: float = 1.0) -> None:
        self._root = f"{api_base.rstrip('/')}/{endpoint_id}"
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {api_key}"
        self._poll_interval_s = poll_interval_s
        self.job_id: Optional[str] = None

    def run(self, job_input: dict, on_progress: ProgressSink) -> dict:
        answer = self._call("POST", "/run", json={"input": job_input})
        self.job_id = answer["id"]
        log.info("submitted job %s", self.job_id)
        while answer.get("status") not in FINAL:
            time.sleep(self._poll_interval_s)
            answer = self._call("GET", f"/status/{self.job_id}")
            if answer.get("status") == "IN_PROGRESS" and answer.get("output") is not None:
                on_progress(answer["output"])
        return answer

    def cancel(self) -> Optional[dict]:
        if self.job_id is None:
            return None
        return self._call("POST", f"/cancel/{self.job_id}")

    def _call(self, method: str, path: str, **kwargs: Any) -> dict:
        response = self._session.request(method, self._root + path, timeout=60, **kwargs)
        response.raise_for_status()
        return response.json()


class LocalApi:
    """The worker's `--rp_serve_api` server: one blocking `/runsync`; it sends no progress and has no cancel."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        self.job_id: Optional[str] = None

    def run(self, job_input: dict, on_progress: ProgressSink) -> dict:
        response = requests.post(self._url + "/runsync", json={"input": job_input}, timeout=None)
        response.raise_for_status()
        answer = response.json()
        self.job_id = answer.get("id")
        return answer

    def cancel(self) -> Optional[dict]:
        return None
