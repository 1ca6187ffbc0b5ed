"""Whatever fails while the worker starts is answered config_error on every job, redacted; the worker never exits."""
import json
import os
import pathlib
import subprocess
import sys

SRC = pathlib.Path(__file__).resolve().parents[3] / "src"
# The worker's entry with the container's making replaced by a failure no setting check foresaw.
CODE = """
import sys
from entrypoints import runpod_handler

def fail(**_):
    raise RuntimeError("cannot reach https://user:url-pass-0123@s3.example.com with org-api-key-0123")

runpod_handler.build_container = fail
sys.argv[1:] = ["--test_input", sys.argv[1]]
runpod_handler.main()
"""


def test_an_unforeseen_failure_while_building_the_adapters_answers_config_error_with_secrets_hidden():
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("BUCKET_", "COMFY_", "OUTPUT_"))},
           "PYTHONPATH": str(SRC), "COMFY_ORG_API_KEY": "org-api-key-0123"}
    job = json.dumps({"input": {"workflow": {"1": {"class_type": "x", "inputs": {}}}}})
    done = subprocess.run([sys.executable, "-c", CODE, job], env=env, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output  # the SDK's --test_input: 1 for a failed job
    assert ("Job local_test failed with error: config_error: configuration: the worker cannot start with it: "
            "RuntimeError: cannot reach https://***@s3.example.com with ***") in output
    assert "RuntimeError: cannot reach https://***@s3.example.com" in output.split("Traceback", 1)[1]  # logged once
    assert "url-pass-0123" not in output and "org-api-key-0123" not in output
