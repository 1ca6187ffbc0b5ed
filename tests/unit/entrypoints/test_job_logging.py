"""Logging: the job id on every line (worker threads included), secrets and base64 payloads never printed."""
import asyncio
import base64
import io
import json
import logging
import os
import pathlib
import subprocess
import sys

import pytest

from entrypoints.job_logging import JobIdFilter, RedactingFilter, Redactor, current_job_id

SRC = pathlib.Path(__file__).resolve().parents[3] / "src"
PAYLOAD = base64.b64encode(os.urandom(3000)).decode()
PRESIGNED = ("http://127.0.0.1:9000/outputs/job-1/0a1b2c3d.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=testing%2F20250101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20250101T000000Z"
             "&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "ab12" * 16)


@pytest.fixture
def captured():
    """A handler with both filters on a private logger; yields (logger, stream)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(JobIdFilter())
    handler.addFilter(RedactingFilter(Redactor(["comfy-org-key-123", "bucket-secret-456"])))
    handler.setFormatter(logging.Formatter("job=%(job_id)s %(message)s"))
    logger = logging.getLogger("test.job_logging")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_the_job_id_reaches_lines_logged_in_the_worker_thread(captured):
    logger, stream = captured

    async def job():
        token = current_job_id.set("job-77")
        try:
            logger.info("in the loop")
            await asyncio.to_thread(logger.info, "in the thread")
        finally:
            current_job_id.reset(token)

    asyncio.run(job())
    logger.info("between jobs")
    assert stream.getvalue().splitlines() == ["job=job-77 in the loop", "job=job-77 in the thread", "job=- between jobs"]


def test_secrets_and_base64_runs_are_redacted_in_messages_args_and_tracebacks(captured):
    logger, stream = captured
    logger.info("key %s and %r", "comfy-org-key-123", {"secret": "bucket-secret-456"})
    logger.info("input image data:image/png;base64,%s end", PAYLOAD)
    try:
        raise ValueError(f"refused comfy-org-key-123 with body {PAYLOAD}")
    except ValueError:
        logger.exception("upload failed")
    text = stream.getvalue()
    assert "comfy-org-key-123" not in text and "bucket-secret-456" not in text
    assert PAYLOAD[:100] not in text and PAYLOAD[-100:] not in text
    assert f"data:image/png;base64,<{len(PAYLOAD)} base64 chars> end" in text
    assert "key *** and {'secret': '***'}" in text
    assert "ValueError: refused *** with body <" in text


def test_ordinary_lines_are_left_alone(captured):
    logger, stream = captured
    lines = ["uploaded ComfyUI_00001_.png for job 6f1c2a9e-0d4b-4c55-9d3e-5e8f7a6b1c2d (123456 bytes)",
             f"presigned {PRESIGNED.split('?')[0]} (query signed)", "short secret-like words: comfy-org, bucket"]
    for line in lines:
        logger.info(line)
    assert stream.getvalue().splitlines() == [f"job=- {line}" for line in lines]


@pytest.mark.parametrize("line, expected", [
    ("job {'input': {'comfy_org_api_key': 'never-registered', 'n': 1}}", "job {'input': {'comfy_org_api_key': '***', 'n': 1}}"),
    ('{"comfy_org_api_key": "never-registered", "n": 1}', '{"comfy_org_api_key": "***", "n": 1}'),
    ("env COMFY_ORG_API_KEY=never-registered BUCKET_SECRET_ACCESS_KEY=also", "env COMFY_ORG_API_KEY=*** BUCKET_SECRET_ACCESS_KEY=***"),
    ("token count 5, api_key: none", "token count 5, api_key: none"),
])
def test_values_under_secret_looking_names_are_redacted_even_when_unknown(line, expected):
    assert Redactor()(line) == expected


def test_short_and_empty_secrets_are_not_used():
    redact = Redactor(["", None, "id"])
    assert redact("valid id") == "valid id"
    redact.add("later-secret")
    assert redact("a later-secret here") == "a *** here"


def _run_sdk_logging(env_level: str, runpod_level: str) -> subprocess.CompletedProcess:
    script = (
        "import logging\n"
        "from entrypoints.job_logging import configure_logging, register_secret\n"
        f"configure_logging('INFO', {runpod_level!r}, ['env-secret-value'])\n"
        "register_secret('job-key-value')\n"
        "from runpod.serverless.modules.rp_logger import RunPodLogger\n"
        "log = RunPodLogger()\n"
        "log.debug('debug line')\n"
        "log.info('info line')\n"
        f"log.warn('warn env-secret-value job-key-value {PAYLOAD}')\n"
        "logging.getLogger('adapters.x').info('own info')\n"
        "logging.getLogger('botocore.x').info('third-party info')\n"
        "logging.getLogger('botocore.x').warning('third-party warning env-secret-value')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC), "RUNPOD_LOG_LEVEL": env_level}
    env.pop("RUNPOD_ENDPOINT_ID", None)
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env_level", ["DEBUG", "WARNING", "CRITICAL", "nonsense"])
def test_the_sdk_logger_takes_the_configured_level_whatever_the_environment_said(env_level):
    done = _run_sdk_logging(env_level, "INFO")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "debug line" not in out
    assert "info line" in out and "own info" in out
    assert "third-party info" not in out and "third-party warning ***" in out
    assert "env-secret-value" not in out and "job-key-value" not in out and PAYLOAD[:100] not in out
    assert f"warn *** *** <{len(PAYLOAD)} base64 chars>" in out


def test_the_sdk_logger_at_warn_drops_its_info_lines():
    done = _run_sdk_logging("DEBUG", "WARN")
    assert done.returncode == 0, done.stderr
    assert "info line" not in done.stdout and "warn ***" in done.stdout


def test_jobs_keys_are_hidden_for_the_last_jobs_and_the_workers_own_for_good():
    from entrypoints.job_logging import Redactor

    redact = Redactor(["worker-secret-0001"], recent=2)
    for n in range(3):
        redact.add(f"job-key-{n:04d}-abcdef", recent=True)
    assert "job-key-0000" in redact("job-key-0000-abcdef")  # the oldest job key is no longer kept
    assert "job-key-0002" not in redact("job-key-0002-abcdef") and "job-key-0001" not in redact("job-key-0001-abcdef")
    assert "worker-secret-0001" not in redact("worker-secret-0001")


def test_every_line_is_one_json_object_with_the_sdks_keys_the_worker_lines_and_the_sdk_lines_alike():
    """RunPod reads the SDK's lines as JSON (requestId, message, level): the worker's own lines take the same keys
    and the logger's name, on the same stream, with their fields, tracebacks and secrets redacted."""
    script = (
        "import json, logging\n"
        "from entrypoints.job_logging import configure_logging, job_log_context\n"
        "configure_logging('INFO', 'INFO', ['env-secret-value'])\n"
        "from runpod.serverless.modules.rp_logger import RunPodLogger\n"
        "with job_log_context({'id': 'job-1'}):\n"
        "    logging.getLogger('entrypoints.x').warning('a \"quoted\" warning')\n"
        "    logging.getLogger('entrypoints.x').error('job failed: x', extra={'fields': {'error_code': 'x',\n"
        f"        'details': ['env-secret-value here'], 'data': {{'b': '{PAYLOAD}'}}}}}})\n"
        "    RunPodLogger().info('an SDK line', 'job-1')\n"
        "logging.getLogger('adapters.x').info('between jobs')\n"
        "try:\n"
        "    raise ValueError('boom env-secret-value')\n"
        "except ValueError:\n"
        "    logging.getLogger('domain.x').exception('it broke')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("RUNPOD_ENDPOINT_ID", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    broke = lines.pop()
    assert lines == [
        {"requestId": "job-1", "message": 'a "quoted" warning', "level": "WARN", "logger": "entrypoints.x"},
        {"requestId": "job-1", "message": "job failed: x", "level": "ERROR", "logger": "entrypoints.x",
         "error_code": "x", "details": ["*** here"], "data": {"b": f"<{len(PAYLOAD)} base64 chars>"}},
        {"requestId": "job-1", "message": "an SDK line", "level": "INFO", "logger": "runpod"},
        {"requestId": None, "message": "between jobs", "level": "INFO", "logger": "adapters.x"},
    ]
    assert broke["requestId"] is None and broke["level"] == "ERROR" and broke["logger"] == "domain.x"
    assert broke["message"].startswith("it broke\nTraceback (most recent call last):")
    assert broke["message"].endswith("ValueError: boom ***")
