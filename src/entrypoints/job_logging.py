"""Logging set-up: one JSON line per record, the worker's and the RunPod SDK's alike, with the job id on every line,
the SDK's level, and secrets and payloads kept out."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import logging
import os
import re
import sys
import threading
from typing import Any, Iterable, Iterator, Optional

from adapters.url_credentials import HIDDEN, hide_credentials

current_job_id: contextvars.ContextVar[str] = contextvars.ContextVar("current_job_id", default="-")


WORKER_LOGGERS = ("adapters", "domain", "entrypoints")
REDACTED = HIDDEN
# Base64 of any real output or input runs far longer; ids, hashes and paths (with '.', '-', '_') do not.
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{120,}={0,2}")
_MIN_SECRET_LENGTH = 6
# Characters of one log line (message, traceback) kept: the SDK cuts its own lines at 4096, caller text can be 10 MB.
MAX_LINE_CHARS = 8192
MAX_JOB_ID_CHARS = 128  # a job id is RunPod's, but a --test_input job's is the caller's


@contextlib.contextmanager
def job_log_context(job: Any) -> Iterator[None]:
    """Every log line written meanwhile (in this task and the threads it hands the context to) names the job."""
    job_id = job.get("id", "-") if isinstance(job, dict) else "-"
    token = current_job_id.set(str(job_id)[:MAX_JOB_ID_CHARS])
    try:
        yield
    finally:
        current_job_id.reset(token)


# A value under a secret-looking name, quoted (dict repr, JSON: 'comfy_org_api_key': '...') or not (NAME=value).
# The match starts at the name's keyword (what comes before it is kept as it is) and every run before the value is
# bounded, so that each start costs a bounded number of steps and redaction stays linear in the text's length.
_SECRET_KEYWORD = r"(?:api_key|apikey|secret|password|passwd|token)"
_QUOTED_SECRET = re.compile(
    rf"(?i)({_SECRET_KEYWORD}[\w-]{{0,64}}['\"]?\s{{0,16}}[:=]\s{{0,16}})(['\"])(?:(?!\2)[\s\S])*(?:\2|\Z)"
)
_BARE_SECRET = re.compile(rf"(?i)({_SECRET_KEYWORD}[\w-]{{0,64}}=)(?!['\"])[^\s&,;'\"]+")
# URLs' signature-like query values (presigned URLs); their credentials are url_credentials' to hide.
_SIGNATURE_QUERY = re.compile(
    r"(?i)([?&;](?:x-amz-signature|x-amz-credential|x-amz-security-token|sig|signature|token|key|access_token)=)"
    r"[^&#\s'\"]+"
)


class JobIdFilter(logging.Filter):
    """Adds `job_id` to each record from the context (asyncio.to_thread carries it into threads)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = current_job_id.get()
        return True


class Redactor:
    """Replaces known secret values, values under secret-looking names, URL credentials and signatures, and long
    base64-looking runs in text, in time linear in the text's length and bounded by `max_chars` whatever it holds."""

    def __init__(self, secrets: Iterable[Optional[str]] = (), *, recent: int = 64, max_chars: int = MAX_LINE_CHARS):
        self._lock = threading.Lock()
        self._secrets: set[str] = set()  # the worker's own, for good
        self._recent: dict[str, None] = {}  # jobs' keys, the last `recent` of them (insertion ordered)
        self._recent_max = recent
        self._max_chars = max_chars
        self._known: tuple[str, ...] = ()  # both, longest first: replaced as plain substrings
        self.add(*secrets)

    def add(self, *secrets: Optional[str], recent: bool = False) -> None:
        """Remember more values to hide; `recent` ones (a job's own API key) are kept for the last jobs only, so a
        long-running worker serving many callers does not grow its list without end. Short values are ignored."""
        new = {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH} - self._secrets - set(self._recent)
        if not new:
            return
        with self._lock:
            if recent:
                self._recent.update(dict.fromkeys(sorted(new)))
                while len(self._recent) > self._recent_max:
                    del self._recent[next(iter(self._recent))]
            else:
                self._secrets |= new
            self._known = tuple(sorted(self._secrets | set(self._recent), key=len, reverse=True))

    def __call__(self, text: str) -> str:
        known = self._known
        text, cut = self._head(text, known)
        for secret in known:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _QUOTED_SECRET.sub(rf"\1\2{REDACTED}\2", text)
        text = _BARE_SECRET.sub(rf"\1{REDACTED}", text)
        text = hide_credentials(text, cut=bool(cut))
        text = _SIGNATURE_QUERY.sub(rf"\1{REDACTED}", text)
        text = _BASE64_RUN.sub(lambda m: f"<{len(m.group())} base64 chars>", text)
        return f"{text}… [{cut:,} more characters not logged]" if cut else text

    def _head(self, text: str, known: tuple[str, ...]) -> tuple[str, int]:
        """The first `max_chars` characters and how many were cut; the cut is moved before any known secret that it
        would split, so that no secret's beginning survives unrecognised (values under secret-looking names cut
        short are still recognised: their patterns accept the end of the text as the value's end)."""
        end = self._max_chars
        if len(text) <= end:
            return text, 0
        moved = True
        while moved:
            moved = False
            for secret in known:
                start = text.find(secret, max(0, end - len(secret) + 1), end + len(secret) - 1)
                if 0 <= start < end:
                    end, moved = start, True
        return text[:end], len(text) - end


redactor = Redactor()


def register_secret(*values: Optional[str]) -> None:
    """Hide these values from the log lines of this job and the next ones (the handler calls it with a job's API key)."""
    redactor.add(*values, recent=True)


class RedactingFilter(logging.Filter):
    """Defence in depth: rewrites a record's message, exception and stack text, and its `fields`, through the
    redactor."""

    def __init__(self, redact: Redactor = redactor) -> None:
        super().__init__()
        self._redact = redact
        self._exceptions = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exceptions.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {str(name): self._redacted_value(value) for name, value in fields.items()}
        return True

    def _redacted_value(self, value: Any) -> Any:
        """The value as it was when the redactor changes nothing in its JSON text, else that text redacted (parsed
        back when it still is JSON: a cut one is not)."""
        text = json.dumps(value, default=str)
        redacted = self._redact(text)
        if redacted == text:
            return value
        try:
            return json.loads(redacted)
        except ValueError:
            return redacted


# The SDK's level names (rp_logger.LOG_LEVELS): one vocabulary for every line.
_SDK_LEVEL_NAMES = {"WARNING": "WARN", "CRITICAL": "ERROR"}


class JsonLineFormatter(logging.Formatter):
    """One JSON object a line, with the keys of the RunPod SDK's own lines (`requestId`: the job id, or null between
    jobs; `message`, with the traceback if any; `level`), the logger's name and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            message = f"{message}\n{record.exc_text}"
        if record.stack_info:
            message = f"{message}\n{self.formatStack(record.stack_info)}"
        job_id = getattr(record, "job_id", None)
        line = {
            "requestId": None if job_id in (None, "-") else job_id,
            "message": message,
            "level": _SDK_LEVEL_NAMES.get(record.levelname, record.levelname),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update((name, value) for name, value in fields.items() if name not in line)
        return json.dumps(line, default=str)


def configure_logging(level: str = "INFO", runpod_level: str = "INFO", secrets: Iterable[Optional[str]] = ()) -> None:
    """Call first in the entry, before `import runpod` if possible (the SDK reads RUNPOD_LOG_LEVEL at import).

    `level` is for the worker's own loggers (third-party ones log warnings and up); `runpod_level`
    is one of the SDK's names (DEBUG, INFO, WARN, ERROR); `secrets` are hidden from every line.
    """
    redactor.add(*secrets)
    handler = logging.StreamHandler(sys.stdout)  # where the SDK prints its own lines: one stream, in order
    handler.addFilter(JobIdFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonLineFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in WORKER_LOGGERS:
        logging.getLogger(name).setLevel(level)
    configure_runpod_logger(runpod_level)


def configure_runpod_logger(runpod_level: str) -> None:
    """Set the SDK's own print-based logger (not `logging`) to `runpod_level`, and have it print the worker's JSON
    lines, redacted, wherever it runs (left alone it prints JSON only on RunPod, text elsewhere)."""
    # rp_logger.RunPodLogger reads RUNPOD_LOG_LEVEL once, at import, defaulting to DEBUG, and refuses names it does
    # not know (WARNING, CRITICAL) with a ValueError at import: give it the checked name before it is imported.
    os.environ["RUNPOD_LOG_LEVEL"] = runpod_level
    from runpod.serverless.modules import rp_logger

    rp_logger.RunPodLogger.level = runpod_level
    rp_logger.RunPodLogger().level = runpod_level  # the singleton, in case set_level gave it its own value
    original = rp_logger.RunPodLogger.log
    if getattr(original, "redacting", False):
        return
    levels = rp_logger.LOG_LEVELS
    batch_id = getattr(rp_logger, "_batch_id", None)

    @functools.wraps(original)
    def log(self, message, message_level="INFO", job_id=None):
        # rp_logger.RunPodLogger.log: nothing at NOTSET; below the level only TIP lines (and unknown levels) print
        if self.level == "NOTSET":
            return
        if message_level in levels and levels.index(self.level) > levels.index(message_level):
            return
        text = redactor(str(message))
        batch = batch_id.get() if batch_id is not None else None
        if batch:
            text = f"[batchId={batch}] {text}"
        request_id = None if job_id is None else str(job_id)[:MAX_JOB_ID_CHARS]
        line = {"requestId": request_id, "message": text, "level": message_level, "logger": "runpod"}
        print(json.dumps(line), flush=True)

    log.redacting = True  # type: ignore[attr-defined]
    rp_logger.RunPodLogger.log = log
