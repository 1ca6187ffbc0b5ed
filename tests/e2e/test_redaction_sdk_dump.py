"""The RunPod SDK's own DEBUG lines (its dump of each job, its result) as the worker runs: URL credentials and
signatures masked, and a job echoing 10 MB of caller text answers at once with every line bounded."""
import json

import pytest

from e2e.conftest import ROOT
from entrypoints.job_logging import MAX_LINE_CHARS

SAMPLE = json.loads((ROOT / "test_input.json").read_text())["input"]
URL_SECRETS = ("url-pass-5c0f", "amz-sig-abc123", "tok-def456", "sig-0a1b", "signature-2c3d", "key-4e5f",
               "access-6a7b")
URL = ("https://url-user:url-pass-5c0f@127.0.0.1:9/in.png?X-Amz-Signature=amz-sig-abc123&token=tok-def456"
       "&sig=sig-0a1b&signature=signature-2c3d&key=key-4e5f&access_token=access-6a7b")
DEBUG = {"RUNPOD_LOG_LEVEL": "DEBUG", "LOG_LEVEL": "DEBUG"}


def _env(comfy_sim) -> dict:
    return {"COMFY_HOST": comfy_sim.host, "OUTPUT_SINK": "base64", **DEBUG}


def test_the_sdk_job_dump_masks_url_credentials_and_signatures(comfy_sim, start_worker):
    job = {**SAMPLE, "images": [{"name": SAMPLE["images"][0]["name"], "url": URL}]}
    worker = start_worker(_env(comfy_sim), "--test_input", json.dumps({"input": job}))
    worker.process.wait(timeout=120)
    output = worker.output()
    assert "Retrieved local job" in output and "127.0.0.1:9/in.png" in output, output[-3000:]
    leaked = [secret for secret in URL_SECRETS if secret in output]
    assert not leaked, f"{leaked} printed"


def test_the_local_api_masks_url_secrets_at_debug(comfy_sim, start_worker):
    worker = start_worker(_env(comfy_sim))
    answer = worker.runsync({**SAMPLE, "images": [{"name": SAMPLE["images"][0]["name"], "url": URL}]})
    assert answer["status"] == "FAILED", answer
    output = worker.output() + json.dumps(answer)
    leaked = [secret for secret in URL_SECRETS if secret in output]
    assert not leaked, f"{leaked} printed or answered"


def _huge_format(length: int) -> dict:
    return {**SAMPLE, "output_format": {"format": ("a-" * length)[:length]}}


def _assert_bounded(output: str) -> None:
    assert max(map(len, output.splitlines())) < MAX_LINE_CHARS + 300


@pytest.mark.parametrize("length", [12_000, 100_000], ids=["12k", "100k"])  # an argument holds at most 128 kB
def test_a_test_input_job_echoing_a_huge_format_answers_at_once(comfy_sim, start_worker, length):
    worker = start_worker(_env(comfy_sim), "--test_input", json.dumps({"input": _huge_format(length)}))
    worker.process.wait(timeout=60)  # the start and one refused job: a few seconds; it took minutes
    output = worker.output()
    assert "failed with error: invalid_input: input.output_format.format must be one of" in output, output[-2000:]
    _assert_bounded(output)


def test_a_local_api_job_echoing_10_MB_answers_at_once(comfy_sim, start_worker):
    worker = start_worker(_env(comfy_sim))
    answer = worker.runsync(_huge_format(10_000_000))  # within runsync's own timeout; it never came
    assert answer["status"] == "FAILED" and len(answer["error"]) < 400, str(answer)[:500]
    assert answer["error"].startswith("invalid_input: input.output_format.format must be one of")
    _assert_bounded(worker.output())
