"""Redaction of hostile text: linear time, a bounded line, no secret's beginning left by the cut, URLs' secrets masked."""
import os
import pathlib
import subprocess
import sys
import time

import pytest

from entrypoints.job_logging import REDACTED, Redactor

SRC = pathlib.Path(__file__).resolve().parents[3] / "src"
HUGE = 10_000_000
# Texts that made the old patterns backtrack: runs of name characters, names without values, unclosed quotes.
HOSTILE = {
    "a- run": lambda n: ("a-" * n)[:n],
    "api_key and dashes": lambda n: "api_key" + "-" * (n - 7),
    "quoted token, never closed": lambda n: "'token': '" + "x" * (n - 10),
    "keywords only": lambda n: ("token" * n)[:n],
    "keyword, colon, quote": lambda n: ("token: '" * n)[:n],
    "URL authority without @": lambda n: "https://" + "u" * (n - 8),
    "almost base64": lambda n: (("A" * 119 + " ") * n)[:n],
}


def _best_time(redact, text: str, runs: int = 5) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        redact(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("make", HOSTILE.values(), ids=list(HOSTILE))
def test_redaction_time_grows_linearly_with_the_line(make):
    redact = Redactor(["env-secret-value"])
    small, large = make(1000), make(8000)  # both within one log line: the patterns themselves are timed
    assert _best_time(redact, large) < 20 * max(_best_time(redact, small), 0.0005)


@pytest.mark.parametrize("make", HOSTILE.values(), ids=list(HOSTILE))
def test_a_10_MB_line_is_cut_and_redacted_at_once(make):
    redact = Redactor(["env-secret-value"])
    text = make(HUGE)
    started = time.perf_counter()
    line = redact(text)
    assert time.perf_counter() - started < 0.5  # a generous bound: it takes a few milliseconds
    assert len(line) < 8192 + 100 and line.endswith("more characters not logged]")


def test_many_large_registered_secrets_are_replaced_as_plain_text():
    secrets = [f"{n:03d}" + os.urandom(75_000).hex() for n in range(64)]  # 64 jobs' 150 kB keys
    redact = Redactor(["env-secret-value"])
    started = time.perf_counter()
    for secret in secrets:
        redact.add(secret, recent=True)
    line = redact(f"a key {secrets[-1][:3000]} and the worker's env-secret-value")
    assert time.perf_counter() - started < 2.0  # compiling them into one pattern took seconds
    assert "env-secret-value" not in line


def test_the_cut_never_leaves_the_beginning_of_a_known_secret():
    secret = "registered-secret-" + "s" * 100
    redact = Redactor([secret])
    for start in range(8192 - len(secret), 8192 + 2):
        line = redact("x" * start + secret + "y" * HUGE)
        assert "registered-secret" not in line and "sss" not in line, start


@pytest.mark.parametrize("text", [
    "{'comfy_org_api_key': 'value-cut-by-the-line-limit" + "v" * HUGE,
    "COMFY_ORG_API_KEY=value-cut-by-the-line-limit" + "v" * HUGE,
    "url https://url-user:value-cut-by-the-line-limit" + "v" * HUGE,
    "url https://h/x?X-Amz-Signature=value-cut-by-the-line-limit" + "v" * HUGE,
])
def test_a_value_under_a_secret_name_cut_by_the_line_limit_is_still_hidden(text):
    line = Redactor()(text)
    assert "value-cut" not in line and "vvv" not in line, line[:200]


@pytest.mark.parametrize("name", ["X-Amz-Signature", "x-amz-credential", "X-Amz-Security-Token", "sig", "signature",
                                  "token", "key", "access_token"])
def test_signature_query_values_and_url_credentials_are_masked(name):
    url = f"https://url-user:url-pass-31f9@example.com:8443/path/in.png?a=1&{name}=value-8c2e&b=2#frag"
    assert Redactor()(f"fetching {url} now") == (
        f"fetching https://{REDACTED}@example.com:8443/path/in.png?a=1&{name}={REDACTED}&b=2#frag now"
    )


def test_urls_without_secrets_and_ports_are_left_alone():
    line = "ComfyUI at http://127.0.0.1:8188/prompt?client_id=abc answered; see https://example.com/a/b?page=2"
    assert Redactor()(line) == line


def test_the_sdk_prints_its_job_dump_masked_and_bounded():
    """The SDK's own print-based logger at DEBUG, as it dumps a job: no URL secret, no line longer than the cut."""
    script = (
        "from entrypoints.job_logging import configure_logging\n"
        "configure_logging('INFO', 'DEBUG')\n"
        "from runpod.serverless.modules.rp_logger import RunPodLogger\n"
        "job = {'id': 'local_test', 'input': {'images': [{'name': 'a.png',\n"
        "       'url': 'https://url-user:url-pass-31f9@h.example/x?X-Amz-Signature=sig-abc123&token=tok-def456'}],\n"
        "       'output_format': {'format': 'a-' * 5_000_000}}}\n"
        "RunPodLogger().debug(f'Retrieved local job: {job}', 'j' * 10_000)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    env.pop("RUNPOD_ENDPOINT_ID", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Retrieved local job" in done.stdout and "h.example/x?X-Amz-Signature=***&token=***" in done.stdout
    for secret in ("url-pass-31f9", "sig-abc123", "tok-def456"):
        assert secret not in done.stdout
    assert max(map(len, done.stdout.splitlines())) < 8192 + 200
