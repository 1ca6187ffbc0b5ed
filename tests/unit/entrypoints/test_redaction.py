"""Redaction of hostile text: a bounded line, every pattern handed at most that line, no secret's beginning left by
the cut, URLs' secrets masked. Work is counted, not timed: `python -m bench.hostile` has the figures."""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from entrypoints import job_logging
from entrypoints.job_logging import MAX_JOB_ID_CHARS, MAX_LINE_CHARS, REDACTED, Redactor

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
PATTERNS = ("_QUOTED_SECRET", "_BARE_SECRET", "_SIGNATURE_QUERY", "_BASE64_RUN")


class Handed:
    """Stands in for a compiled pattern (or a function of a text) and records the length of each text it is given."""

    def __init__(self, real, lengths: list):
        self.real, self.lengths = real, lengths

    def sub(self, replacement, text, *args, **kwargs):
        self.lengths.append(len(text))
        return self.real.sub(replacement, text, *args, **kwargs)

    def __call__(self, text, *args, **kwargs):
        self.lengths.append(len(text))
        return self.real(text, *args, **kwargs)


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text a redaction pattern (and the URL-credentials function) is handed."""
    lengths: list[int] = []
    for name in (*PATTERNS, "hide_credentials"):
        monkeypatch.setattr(job_logging, name, Handed(getattr(job_logging, name), lengths))
    return lengths


@pytest.mark.parametrize("make", HOSTILE.values(), ids=list(HOSTILE))
def test_a_10_MB_line_is_cut_before_any_pattern_sees_it(make, handed):
    line = Redactor(["env-secret-value"])(make(HUGE))
    assert len(line) < MAX_LINE_CHARS + 100 and line.endswith("more characters not logged]")
    assert len(handed) == len(PATTERNS) + 1 and max(handed) <= MAX_LINE_CHARS, handed


def test_hostile_lines_as_long_as_a_pattern_is_handed_do_not_hang_the_redactor():
    """Catastrophic backtracking never ends, and holds the interpreter meanwhile: a process of its own, with a
    generous guard (linear patterns take milliseconds here; the figures per pattern are the benchmark's)."""
    script = (
        "import json, sys\n"
        "from entrypoints.job_logging import Redactor\n"
        "redact = Redactor(['env-secret-value'])\n"
        "print(sum(len(redact(text)) for text in json.loads(sys.stdin.read())))\n"
    )
    texts = [make(MAX_LINE_CHARS) for make in HOSTILE.values()]
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(texts), env={**os.environ,
                          "PYTHONPATH": str(SRC)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and int(done.stdout) > 0, done.stderr[-2000:]


def test_many_large_registered_secrets_are_replaced_as_plain_text():
    """64 jobs' 150 kB keys: kept as plain strings and replaced as substrings (compiling them into one pattern, as
    before, took seconds); no pattern is made from them."""
    secrets = [f"{n:03d}" + os.urandom(75_000).hex() for n in range(64)]
    redact = Redactor(["env-secret-value"])
    for secret in secrets:
        redact.add(secret, recent=True)
    line = redact(f"a key {secrets[-1][:3000]} and the worker's env-secret-value")
    assert "env-secret-value" not in line
    assert not [name for name, value in vars(redact).items() if isinstance(value, re.Pattern)]
    assert len(redact._known) == 65 and all(isinstance(value, str) for value in redact._known)


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
    # a JSON line: the message cut at MAX_LINE_CHARS, the job id at MAX_JOB_ID_CHARS, and the keys
    assert max(map(len, done.stdout.splitlines())) < MAX_LINE_CHARS + MAX_JOB_ID_CHARS + 200
