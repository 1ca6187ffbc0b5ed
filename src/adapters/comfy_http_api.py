"""ComfyUI's HTTP API (readiness, upload, queue, queue state, history, model folders, cancel) over one requests
Session."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence
from urllib.parse import quote

import requests

from adapters.comfy_errors import queued, workflow_rejected
from adapters.comfy_log import ComfyLog
from adapters.comfy_messages import prompt_history
from adapters.json_chunks import TooLongToRead, dumps_bytes, loads_elided
from adapters.process_liveness import ProcessLiveness
from domain.budget import Budget
from domain.errors import ComfyError, ComfyProcessDied, ComfyUnreachable, InvalidInput, WorkflowRejected
from domain.execution.acceptance import QueuedPrompt
from domain.model import Prompt, PromptHistory, PromptState

log = logging.getLogger(__name__)

# worker-comfyui 5.8.3+: with no retry limit (0) and no PID file to watch, the wait still ends after 500 probes.
NO_PID_FILE_MAX_RETRIES = 500


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
        log: Optional[ComfyLog] = None,
        history_wait_s: float = 2.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout_s = timeout_s
        self._ready_interval_s = ready_interval_s
        self._ready_max_retries = ready_max_retries
        self._liveness = liveness or ProcessLiveness(None)
        self._log = log or ComfyLog(None)
        self._answered = False  # ComfyUI answered since the worker started: a start that failed says why in its log
        self._history_wait_s = history_wait_s
        self._ready = False
        self._object_info: Optional[Mapping] = None
        self._model_folders: Optional[tuple[str, ...]] = None
        self._jobs: Optional[JobsRoutes] = None  # what this ComfyUI process has of the jobs API, probed once
        self.version: Optional[str] = None

    def wait_until_ready(self, budget: Budget, *, recheck: bool = False) -> None:
        """Probe `/system_stats`: while the PID file's process lives, else `ready_max_retries` times (0: 500)."""
        if self._ready and not recheck:
            return
        if recheck:
            self._object_info = None  # a connection failed: ComfyUI may be another process now, with other nodes
        started, attempts = time.monotonic(), 0
        while not self._answers(budget):
            attempts += 1
            alive = self._liveness.alive()
            if alive is False:
                raise self._with_exit_reason(
                    ComfyProcessDied(
                        f"ComfyUI's process ({self._liveness.describe()}) is gone; nothing answers at {self._base_url}"
                    )
                )
            if alive is None and attempts >= (self._ready_max_retries or NO_PID_FILE_MAX_RETRIES):
                raise ComfyUnreachable(
                    f"ComfyUI did not answer at {self._base_url} after {attempts} tries in {time.monotonic() - started:.1f} s"
                )
            budget.sleep(self._ready_interval_s, "waiting for ComfyUI to start")
        if attempts:
            log.info("ComfyUI answers at %s (after %.2f s)", self._base_url, time.monotonic() - started)
        if not self._ready or attempts:
            self._jobs = None  # a ComfyUI that (re)started may be another version: its routes are probed again
        self._ready = True

    def ensure_alive(self) -> None:
        """Raise `ComfyProcessDied` when the PID file names a process that is gone."""
        if self._liveness.alive() is False:
            self._ready = False
            raise self._with_exit_reason(ComfyProcessDied(f"ComfyUI's process ({self._liveness.describe()}) is gone"))

    def _with_exit_reason(self, error: ComfyProcessDied) -> ComfyProcessDied:
        """ComfyUI's exit, with the reason its log's last lines give (e.g. `ASSETS_STARTUP_FAILED: in_use`); a
        ComfyUI that never answered failed to start, and those lines are the error's details (they can hold no
        job's text yet)."""
        tail = self._log.tail()
        if tail.reason:
            error.message = f"{error.message}; it stopped with: {tail.reason}"
        elif tail.lines and not self._answered:
            error.message = f"{error.message}; its log ends: {tail.lines[-1]}"
        if not self._answered:
            error.details = list(tail.lines)
        error.args = (error.message,)
        return error

    def upload_input(self, name: str, data: bytes, budget: Budget) -> None:
        """Store `name` ("a.png", or "sub/a.png" in the folder sub/) in ComfyUI's input folder."""
        subfolder, _, filename = name.rpartition("/")
        files = {"image": (filename, data, "application/octet-stream")}
        # no "overwrite": a file already there under the name is someone else's, and ComfyUI then stores ours as
        # "name (1).ext", which the check below refuses, instead of replacing it
        form = {"type": "input", **({"subfolder": subfolder} if subfolder else {})}
        response = self._call("POST", "/upload/image", budget, files=files, data=form)
        if 400 <= response.status_code < 500:
            raise InvalidInput(f"ComfyUI refused input file {name!r}: HTTP {response.status_code} {_text(response)}")
        body = self._body(response, "POST /upload/image")
        # ComfyUI answers {"name", "subfolder", "type"}, the subfolder as it was sent
        stored, stored_in = body.get("name"), body.get("subfolder") or ""
        if (stored, stored_in) != (filename, subfolder):
            where = f"{stored_in}/{stored}" if stored_in else stored
            raise ComfyError(f"ComfyUI stored input file {name!r} as {where!r}")

    def queue_prompt(self, prompt: Prompt, budget: Budget) -> QueuedPrompt:
        """Queue the prompt; ComfyUI's queue `number` for it (None if its answer had none), and the output nodes it
        dropped (a 200 with `node_errors`)."""
        # prompt.id is a uuid4 in canonical form, which ComfyUI 0.25.0+ requires of a client's prompt_id
        body: dict[str, Any] = {
            "prompt": _with_meta(prompt.workflow),
            "client_id": prompt.client_id,
            "prompt_id": prompt.id,
        }
        if prompt.extra_data:
            body["extra_data"] = dict(prompt.extra_data)
        # A workflow may hold megabyte strings: encoded in slices, so the event loop's thread is not held up.
        data = dumps_bytes(body)
        response = self._call("POST", "/prompt", budget, data=data, headers={"Content-Type": "application/json"})
        if response.status_code == 400:
            # ComfyUI's refusal repeats the values it refuses: their long strings are elided before parsing.
            try:
                refusal: Any = loads_elided(response.content)
            except TooLongToRead:
                raise WorkflowRejected(
                    f"ComfyUI refused the workflow; its answer of {len(response.content):,} bytes is too long to read"
                ) from None
            except ValueError:
                refusal = _head_text(response, 300)
            # missing_model_validation.json: ComfyUI leaves a file list out of the error past 20 entries
            needs_lists = b"value_not_in_list" in response.content and self._object_info is None
            info = self._try_object_info(budget) if needs_lists else self._object_info
            raise workflow_rejected(refusal, info, prompt.workflow)
        answer = self._body(response, "POST /prompt")
        answered = answer.get("prompt_id")
        if answered not in (None, prompt.id):
            raise ComfyError(f"ComfyUI queued the prompt as {answered!r} instead of the id {prompt.id!r} it was given")
        lists_left_out = bool(answer.get("node_errors")) and b"value_not_in_list" in response.content
        result = queued(answer, prompt.workflow, self._try_object_info(budget) if lists_left_out else None)
        if result.dropped:
            log.warning(
                "ComfyUI queued prompt %s without output node(s) %s, which failed validation",
                prompt.id,
                ", ".join(dropped.node_id for dropped in result.dropped),
            )
        return result

    def prompt_state(self, prompt_id: str, budget: Budget) -> PromptState:
        if self._jobs_routes().status:
            # ComfyUI 0.6.0+: one small answer instead of /queue, which carries every queued prompt whole
            job = self._call("GET", f"/api/jobs/{quote(prompt_id, safe='')}", budget)
            status = _json_object(job).get("status") if job.status_code == 200 else None
            if job.status_code == 404:
                return PromptState("lost")
            if status == "in_progress":
                return PromptState("running", queue_position=0)
            if status in FINISHED_JOB_STATUSES and (entry := self._history_entry(prompt_id, budget)) is not None:
                return PromptState("finished", history=prompt_history(entry))
            # pending (its place in the queue is only in /queue), or an answer not understood: asked the old way
        queue = self._json("/queue", budget)
        running = [item for item in queue.get("queue_running") or [] if len(item) > 1]
        pending = sorted((item for item in queue.get("queue_pending") or [] if len(item) > 1), key=lambda i: i[0])
        if any(item[1] == prompt_id for item in running):
            return PromptState("running", queue_position=0)
        for position, item in enumerate(pending):
            if item[1] == prompt_id:
                return PromptState("pending", queue_position=position + len(running))
        entry = self._history_entry(prompt_id, budget)
        if entry is None:
            return PromptState("lost")
        return PromptState("finished", history=prompt_history(entry))

    def history(self, prompt_id: str, budget: Budget) -> PromptHistory:
        # History is written after execution_success is sent (PROTOCOL.md fact 14): allow it a moment.
        give_up = time.monotonic() + self._history_wait_s
        while (entry := self._history_entry(prompt_id, budget)) is None:
            if time.monotonic() > give_up:
                raise ComfyError(f"ComfyUI has no history for prompt {prompt_id}")
            budget.sleep(0.02, "waiting for the prompt's history")
        return prompt_history(entry)

    def object_info(self, budget: Budget, *, refresh: bool = False) -> Mapping:
        """Every node class this ComfyUI knows, with its inputs: read once per ComfyUI process (again after a
        connection failed, or when `refresh`)."""
        if self._object_info is None or refresh:
            self._object_info = self._json("/object_info", budget)
        return self._object_info

    def model_folders(self, budget: Budget) -> Sequence[str]:
        """`GET /models`: the model folder names (a list of strings), read once per worker (ComfyUI registers its
        folders when it starts)."""
        if self._model_folders is None:
            response = self._call("GET", "/models", budget)
            try:
                body = response.json() if response.status_code == 200 else None
            except ValueError:
                body = None
            if not isinstance(body, list) or not all(isinstance(name, str) for name in body):
                raise ComfyError(f"ComfyUI answered HTTP {response.status_code} to GET /models: {_text(response)}")
            self._model_folders = tuple(body)
        return self._model_folders

    def folder_paths(self) -> Optional[Mapping[str, Sequence[str]]]:
        """ComfyUI's folders for each model folder name, in its search order (`GET /internal/folder_paths`, 0.3.x
        and later); None when ComfyUI does not say (an older one, or a failure), which the caller must allow."""
        try:
            response = self._session.get(self._base_url + "/internal/folder_paths", timeout=self._timeout_s)
            body = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError) as exc:
            log.warning("GET /internal/folder_paths failed: %s", exc)
            return None
        if not isinstance(body, dict):
            return None
        return {
            str(folder): [path for path in paths if isinstance(path, str)]
            for folder, paths in body.items()
            if isinstance(paths, list)
        }

    def node_replacements(self, budget: Budget) -> Mapping[str, Any]:
        """ComfyUI 0.14.0+ lists the classes it rewrites (0.33 app/node_replace_manager.py); before, no route: 404."""
        response = self._call("GET", "/node_replacements", budget)
        listed = _json_object(response) if response.status_code == 200 else {}
        return {name: choices for name, choices in listed.items() if isinstance(choices, list)}

    def _try_object_info(self, budget: Budget) -> Optional[Mapping]:
        try:
            return self.object_info(budget)
        except ComfyError as exc:
            log.warning("could not read /object_info to explain a validation error: %s", exc)
            return None

    def cancel(self, prompt_id: str) -> None:
        if self._jobs_routes().cancel and self._cancel_job(prompt_id):
            return
        # A pending prompt needs /queue delete, a running one /interrupt (PROTOCOL.md fact 15). ComfyUI before
        # /interrupt took a prompt id interrupts whatever runs: it is asked only when /queue shows ours running,
        # so that another job's prompt is never interrupted (a prompt that starts between the two calls still can
        # be: only the jobs API's cancel is atomic).
        self._post_quietly(prompt_id, "/queue", {"delete": [prompt_id]})
        try:
            queue = self._session.get(self._base_url + "/queue", timeout=5).json()
            running = any(_queued_id(item) == prompt_id for item in queue.get("queue_running", []))
        except (requests.RequestException, ValueError, AttributeError) as exc:
            log.warning("cancel of prompt %s: GET /queue failed (%s): not interrupting blind", prompt_id, exc)
            return
        if running:
            self._post_quietly(prompt_id, "/interrupt", {"prompt_id": prompt_id})
        log.debug("asked ComfyUI to drop prompt %s%s", prompt_id, " and interrupt it" if running else "")

    def _cancel_job(self, prompt_id: str) -> bool:
        """ComfyUI 0.26.0+ (#14493): POST /api/jobs/{id}/cancel dequeues the prompt if pending, and interrupts it
        only if it is the one running, under the queue's lock; idempotent. False when it did not answer."""
        try:
            response = self._session.post(f"{self._base_url}/api/jobs/{quote(prompt_id, safe='')}/cancel", timeout=5)
        except requests.RequestException as exc:
            log.warning(
                "cancel of prompt %s: POST /api/jobs/…/cancel failed (%s): using /queue and /interrupt", prompt_id, exc
            )
            return False
        answer = _json_object(response)
        if response.status_code != 200 or "cancelled" not in answer:
            log.warning(
                "cancel of prompt %s: ComfyUI answered HTTP %d: using /queue and /interrupt",
                prompt_id,
                response.status_code,
            )
            return False
        log.info(
            "asked ComfyUI to cancel prompt %s: %s",
            prompt_id,
            "cancelled" if answer["cancelled"] is True else "it was neither pending nor running",
        )
        return True

    def _jobs_routes(self) -> JobsRoutes:
        """Which jobs API routes this ComfyUI has, asked once per ComfyUI process (an unknown id changes nothing)."""
        if self._jobs is None:
            probe = f"{self._base_url}/api/jobs/{uuid.uuid4()}"
            try:
                cancel = self._session.post(probe + "/cancel", timeout=5)
                status = None if cancel.status_code == 200 else self._session.get(probe, timeout=5)
            except requests.RequestException as exc:
                log.debug("could not ask ComfyUI for its jobs API (%s): asking again next time", exc)
                return JobsRoutes()
            # 0.26.0+: 200 {"cancelled": false}; 0.6.0+: GET answers a JSON 404 {"error": "Job not found"}; older
            # versions answer 405 (the static catch-all) and an empty 404
            has_cancel = cancel.status_code == 200 and "cancelled" in _json_object(cancel)
            has_status = has_cancel or (
                status is not None and status.status_code == 404 and "error" in _json_object(status)
            )
            self._jobs = JobsRoutes(status=has_status, cancel=has_cancel)
            log.info(
                "ComfyUI's jobs API: status %s, targeted cancel %s",
                *("yes" if f else "no" for f in (has_status, has_cancel)),
            )
        return self._jobs

    def _post_quietly(self, prompt_id: str, path: str, body: dict) -> None:
        try:
            self._session.post(self._base_url + path, json=body, timeout=5)
        except requests.RequestException as exc:
            log.warning("cancel of prompt %s: POST %s failed: %s", prompt_id, path, exc)

    def _history_entry(self, prompt_id: str, budget: Budget) -> Optional[dict]:
        entry = self._json(f"/history/{prompt_id}", budget).get(prompt_id)
        return entry if isinstance(entry, dict) else None

    def _answers(self, budget: Budget) -> bool:
        try:
            response = self._session.get(
                self._base_url + "/system_stats", timeout=budget.timeout(2.0, "waiting for ComfyUI")
            )
        except requests.RequestException:
            return False
        if response.status_code != 200:
            return False
        self._answered = True
        try:
            self.version = str(response.json()["system"]["comfyui_version"])
        except (ValueError, KeyError, TypeError):
            pass
        return True

    def _json(self, path: str, budget: Budget) -> dict:
        return self._body(self._call("GET", path, budget), f"GET {path}")

    def _body(self, response: requests.Response, what: str) -> dict:
        if response.status_code != 200:
            raise ComfyError(f"ComfyUI answered HTTP {response.status_code} to {what}: {_text(response)}")
        try:
            body = response.json()
        except ValueError:
            raise ComfyError(f"ComfyUI answered {what} with a body that is not JSON: {_text(response)}") from None
        if not isinstance(body, dict):
            raise ComfyError(f"ComfyUI answered {what} with JSON that is not an object: {_text(response)}")
        return body

    def _call(self, method: str, path: str, budget: Budget, **kwargs: Any) -> requests.Response:
        timeout = budget.timeout(self._timeout_s, f"calling {method} {path}")
        try:
            return self._session.request(method, self._base_url + path, timeout=timeout, **kwargs)
        except requests.Timeout as exc:
            budget.check(f"calling {method} {path}")
            raise ComfyUnreachable(f"{method} {path} to ComfyUI at {self._base_url} timed out: {exc}") from exc
        except requests.RequestException as exc:
            self._ready = False
            self.ensure_alive()
            raise ComfyUnreachable(f"{method} {path} to ComfyUI at {self._base_url} failed: {exc}") from exc


@dataclass(frozen=True)
class JobsRoutes:
    """The jobs API routes a ComfyUI has: `GET /api/jobs/{id}` (0.6.0+), `POST /api/jobs/{id}/cancel` (0.26.0+)."""

    status: bool = False
    cancel: bool = False


# 0.33 comfy_execution/jobs.py JobStatus: a job in /history (`cancelled` since 0.9.0, `failed` before)
FINISHED_JOB_STATUSES = frozenset({"completed", "failed", "cancelled"})


def _json_object(response: requests.Response) -> dict:
    """The answer's JSON object, or {} when it is not one."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _with_meta(workflow: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow with `_meta` on every node: ComfyUI 0.14.0+ rewrites a deprecated class before validation and
    copies the node's `_meta` to do it (0.33 app/node_replace_manager.py copy_node_struct), answering HTTP 500 when
    there is none. An empty one reads as an absent one everywhere else (a missing title is the class name)."""
    return {
        node_id: {**node, "_meta": {}} if isinstance(node, Mapping) and "_meta" not in node else node
        for node_id, node in workflow.items()
    }


def _head_text(response: requests.Response, chars: int) -> str:
    """The first `chars` characters of the body, decoding only what they need."""
    head = response.content[: chars * 4]
    try:
        return head.decode(response.encoding or "utf-8", errors="replace")[:chars]
    except LookupError:
        return head.decode("utf-8", errors="replace")[:chars]


def _text(response: requests.Response) -> str:
    return " ".join(_head_text(response, 3000).split())[:300]


def _queued_id(item: Any) -> Any:
    """A `/queue` entry is `[number, prompt_id, prompt, extra_data, outputs]`."""
    return item[1] if isinstance(item, list) and len(item) > 1 else None
