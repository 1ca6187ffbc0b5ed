"""The two ways to reach the worker: a RunPod endpoint (/run, /status, /stream, /cancel) or the SDK's local API."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

import requests

from .api_calls import RUN_RETRYABLE_STATUSES, ApiError, call_json, retrying_session

log = logging.getLogger(__name__)

# RunPod's job statuses: IN_QUEUE, IN_PROGRESS, then one of these
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"}
ProgressSink = Callable[[Any], None]
StatusSink = Callable[[str, float], None]
StreamSink = Callable[[Any], object]


class RunpodEndpoint:
    """A serverless endpoint: `/run`, then `/status` until final; the latest progress update is the output.

    With `on_stream_item`, `/stream/{id}` is read while the job runs (a STREAM_OUTPUTS worker's items); the final
    answer of such a job is the list of every item (RunPod's aggregate), of which only the unread rest is handed on.
    """

    def __init__(
        self,
        api_base: str,
        endpoint_id: str,
        api_key: str,
        *,
        poll_interval_s: float = 1.0,
        timeout_s: float = 30.0,
        retries: int = 5,
    ) -> None:
        self._root = f"{api_base.rstrip('/')}/{endpoint_id}"
        headers = {"Authorization": f"Bearer {api_key}"}
        self._session = retrying_session(headers, retries=retries)
        self._run_session = retrying_session(headers, retries=retries, statuses=RUN_RETRYABLE_STATUSES, read_retries=0)
        self._poll_interval_s = poll_interval_s
        self._timeout_s = timeout_s
        self.job_id: Optional[str] = None

    def run(
        self,
        job_input: dict,
        on_progress: ProgressSink,
        *,
        on_status: Optional[StatusSink] = None,
        on_stream_item: Optional[StreamSink] = None,
    ) -> dict:
        """Submits the job and follows it to its final status."""
        answer = call_json(
            self._run_session, "POST", f"{self._root}/run", timeout_s=self._timeout_s, json={"input": job_input}
        )
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise ApiError(f"POST /run answered no job id: {str(answer)[:200]}")
        self.job_id = answer["id"]
        log.info("submitted job %s", self.job_id)
        return self.follow(self.job_id, on_progress, on_status=on_status, on_stream_item=on_stream_item)

    def follow(
        self,
        job_id: str,
        on_progress: ProgressSink,
        *,
        on_status: Optional[StatusSink] = None,
        on_stream_item: Optional[StreamSink] = None,
    ) -> dict:
        """Polls `/status/{job_id}` (and `/stream/{job_id}`) until the job's status is final."""
        self.job_id = job_id
        since = time.monotonic()
        streamed, stream_readable = 0, on_stream_item is not None
        while True:
            answer = self._call("GET", f"/status/{job_id}")
            status = str(answer.get("status"))
            if on_status is not None:
                # delayTime: RunPod's milliseconds in the queue (cold start included), when it says
                waited = answer.get("delayTime")
                on_status(status, waited / 1000 if isinstance(waited, (int, float)) else time.monotonic() - since)
            if status in FINAL:
                break
            if status == "IN_PROGRESS" and answer.get("output") is not None:
                on_progress(answer["output"])
            if status == "IN_PROGRESS" and stream_readable and on_stream_item is not None:
                try:
                    streamed += self._read_stream(job_id, on_stream_item)
                except ApiError as exc:  # the final answer still carries every item
                    log.warning("job %s: %s; its outputs are saved when it ends", job_id, exc)
                    stream_readable = False
            time.sleep(self._poll_interval_s)
        output = answer.get("output")
        if on_stream_item is not None and isinstance(output, list):
            for item in output[streamed:]:
                on_stream_item(item)
        return answer

    def cancel(self) -> Optional[dict]:
        if self.job_id is None:
            return None
        return self._call("POST", f"/cancel/{self.job_id}")

    def _read_stream(self, job_id: str, on_item: StreamSink) -> int:
        # /stream/{id} answers {"status": ..., "stream": [{"output": ...}, ...]}: the items not read before
        answer = self._call("GET", f"/stream/{job_id}")
        items = answer.get("stream") or []
        for item in items:
            on_item(item.get("output") if isinstance(item, dict) else item)
        return len(items)

    def _call(self, method: str, path: str) -> dict:
        answer = call_json(self._session, method, self._root + path, timeout_s=self._timeout_s)
        if not isinstance(answer, dict):
            raise ApiError(f"{method} {path} answered {type(answer).__name__}, not an object")
        return answer


class LocalApi:
    """The worker's `--rp_serve_api` server: one blocking `/runsync`; it sends no progress and has no cancel."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/")
        self._session = requests.Session()
        self.job_id: Optional[str] = None

    def run(
        self,
        job_input: dict,
        on_progress: ProgressSink,
        *,
        on_status: Optional[StatusSink] = None,
        on_stream_item: Optional[StreamSink] = None,
    ) -> dict:
        """One `/runsync`; a streaming worker's answer is the list of its items, handed to `on_stream_item`."""
        answer = call_json(self._session, "POST", self._url + "/runsync", timeout_s=None, json={"input": job_input})
        if not isinstance(answer, dict):
            raise ApiError(f"POST /runsync answered {type(answer).__name__}, not an object")
        self.job_id = answer.get("id")
        if on_stream_item is not None and isinstance(answer.get("output"), list):
            for item in answer["output"]:
                on_stream_item(item)
        return answer

    def cancel(self) -> Optional[dict]:
        return None
