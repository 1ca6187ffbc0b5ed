"""ComfyUI's HTTP API (queue, history, upload, cancel, readiness) over one requests Session."""
from __future__ import annotations

import logging
import time
from typing import Any, Optional, Sequence

import requests

from adapters.comfy_messages import outcome_from_history, output_refs, workflow_rejected
from adapters.process_liveness import ProcessLiveness
from domain.errors import ComfyError, ComfyUnreachable, InvalidInput
from domain.model import InputImage, OutputRef, Prompt, PromptState

log = logging.getLogger(__name__)


class ComfyHttpApi:
    """Implements the `ComfyApi` port."""

    def __init__(
        self,
        base_url: str,
        *,
        session: Optional[requests.Session] = None,
        timeout_s: float = 30.0,
        ready_interval_s: float = 0.05,
        ready_max_retries: int = 1200,
        liveness: Optional[ProcessLiveness] = None,
        history_wait_s: float = 2.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout_s = timeout_s
        self._ready_interval_s = ready_interval_s
        self._ready_max_retries = ready_max_retries
        self._liveness = liveness or ProcessLiveness(None)
        self._history_wait_s = history_wait_s
        self._ready = False

    def wait_until_ready(self) -> None:
        if self._ready:
            return
        started, attempts = time.monotonic(), 0
        while not self._answers():
            attempts += 1
            alive = self._liveness.alive()
            if alive is False:
                raise ComfyUnreachable(f"ComfyUI's process ({self._liveness.describe()}) exited before answering at {self._base_url}")
            if alive is None and attempts >= self._ready_max_retries:
                raise ComfyUnreachable(
                    f"ComfyUI did not answer at {self._base_url} after {attempts} tries in {time.monotonic() - started:.1f} s"
                )
            time.sleep(self._ready_interval_s)
        log.info("ComfyUI answers at %s (after %.2f s)", self._base_url, time.monotonic() - started)
        self._ready = True

    def upload_image(self, image: InputImage) -> None:
        files = {"image": (image.name, image.data, "application/octet-stream")}
        response = self._call("POST", "/upload/image", files=files, data={"type": "input", "overwrite": "true"})
        if response.status_code != 200:
            raise InvalidInput(f"ComfyUI refused input image {image.name!r}: HTTP {response.status_code} {_text(response)}")
        stored = response.json().get("name")
        if stored != image.name:
            raise ComfyError(f"ComfyUI stored input image {image.name!r} as {stored!r}")

    def queue_prompt(self, prompt: Prompt) -> str:
        body: dict[str, Any] = {"prompt": dict(prompt.workflow), "client_id": prompt.client_id, "prompt_id": prompt.id}
        if prompt.extra_data:
            body["extra_data"] = dict(prompt.extra_data)
        response = self._call("POST", "/prompt", json=body)
        if response.status_code == 400:
            raise workflow_rejected(_json_or_text(response))
        if response.status_code != 200:
            raise ComfyError(f"ComfyUI answered HTTP {response.status_code} to POST /prompt: {_text(response)}")
        return str(response.json().get("prompt_id") or prompt.id)

    def prompt_state(self, prompt_id: str) -> PromptState:
        queue = self._json("GET", "/queue")
        for item in (queue.get("queue_running") or []) + (queue.get("queue_pending") or []):
            if len(item) > 1 and item[1] == prompt_id:
                return PromptState("pending")
        entry = self._history_entry(prompt_id)
        if entry is None:
            return PromptState("lost")
        return PromptState("finished", outcome_from_history(entry))

    def outputs(self, prompt_id: str) -> Sequence[OutputRef]:
        # History is written after execution_success is sent (PROTOCOL.md fact 14): allow it a moment.
        give_up = time.monotonic() + self._history_wait_s
        while (entry := self._history_entry(prompt_id)) is None:
            if time.monotonic() > give_up:
                raise ComfyError(f"ComfyUI has no history for prompt {prompt_id}")
            time.sleep(0.05)
        return output_refs(entry)

    def cancel(self, prompt_id: str) -> None:
        # A pending prompt needs /queue delete, a running one /interrupt (PROTOCOL.md fact 15).
        for path, body in (("/queue", {"delete": [prompt_id]}), ("/interrupt", {"prompt_id": prompt_id})):
            try:
                self._session.post(self._base_url + path, json=body, timeout=5)
            except requests.RequestException as exc:
                log.warning("cancel of prompt %s: POST %s failed: %s", prompt_id, path, exc)
        log.info("asked ComfyUI to drop and interrupt prompt %s", prompt_id)

    def _history_entry(self, prompt_id: str) -> Optional[dict]:
        return self._json("GET", f"/history/{prompt_id}").get(prompt_id)

    def _answers(self) -> bool:
        try:
            return self._session.get(self._base_url + "/system_stats", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def _json(self, method: str, path: str) -> dict:
        response = self._call(method, path)
        if response.status_code != 200:
            raise ComfyError(f"ComfyUI answered HTTP {response.status_code} to {method} {path}: {_text(response)}")
        return response.json()

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            return self._session.request(method, self._base_url + path, timeout=self._timeout_s, **kwargs)
        except requests.RequestException as exc:
            raise ComfyUnreachable(f"{method} {path} to ComfyUI at {self._base_url} failed: {exc}") from exc


def _json_or_text(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _text(response: requests.Response) -> str:
    return " ".join(response.text.split())[:300]
