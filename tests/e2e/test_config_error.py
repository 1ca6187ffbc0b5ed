"""A configuration mistake as the user meets it: the worker process answers jobs `config_error`, never exits early."""
import json

import pytest

from e2e.conftest import ROOT

SAMPLE = json.loads((ROOT / "test_input.json").read_text())


def test_test_input_answers_config_error_naming_the_variable(start_worker):
    worker = start_worker({"COMFY_API_AVAILABLE_MAX_RETRIES": "some"}, "--test_input", json.dumps(SAMPLE))
    # the SDK's --test_input ends with 1 on a failed job, 0 on a completed one
    assert worker.process.wait(timeout=120) == 1, worker.output()
    assert "config_error: COMFY_API_AVAILABLE_MAX_RETRIES: 'some' must be a whole number" in worker.output()


def test_a_bad_logging_variable_still_answers_and_hides_the_secrets(start_worker):
    key, secret = "comfy-org-key-0123456789", "bucket-secret-0123456789"
    worker = start_worker({"RUNPOD_LOG_LEVEL": "TRACE", "COMFY_ORG_API_KEY": key, "BUCKET_ACCESS_KEY_ID": "id-1234567",
                           "BUCKET_SECRET_ACCESS_KEY": secret, "BUCKET_ENDPOINT_URL": "http://127.0.0.1:9"})
    answer = worker.runsync({**SAMPLE["input"], "comfy_org_api_key": key})
    assert answer["status"] == "FAILED" and answer["error"].startswith("config_error: "), answer
    assert "RUNPOD_LOG_LEVEL: 'TRACE' must be one of DEBUG, INFO" in answer["error"]
    assert key not in worker.output() and secret not in worker.output()


def test_an_empty_value_for_every_variable_is_no_mistake(comfy_sim, start_worker):
    from deploy.settings_reader import read_variables

    env = dict.fromkeys(read_variables(), "")
    worker = start_worker({**env, "COMFY_HOST": comfy_sim.host}, "--test_input", json.dumps(SAMPLE))
    assert worker.process.wait(timeout=120) == 0, worker.output()
    assert "config_error" not in worker.output()


def test_refresh_worker_true_says_at_start_that_each_job_replaces_the_worker(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "REFRESH_WORKER": "true"}, "--test_input", json.dumps(SAMPLE))
    assert worker.process.wait(timeout=120) == 0, worker.output()
    assert "REFRESH_WORKER is true: every job will now replace the worker" in worker.output()


def test_refresh_worker_enabled_is_false_as_in_5x(comfy_sim, start_worker):
    worker = start_worker({"COMFY_HOST": comfy_sim.host, "REFRESH_WORKER": "enabled"}, "--test_input",
                          json.dumps(SAMPLE))
    assert worker.process.wait(timeout=120) == 0, worker.output()
    assert "REFRESH_WORKER is true" not in worker.output() and "config_error" not in worker.output()


ACCESS_KEY, SECRET_KEY = "AKIAKEYID0123456789", "bucket-secret-key-0123456789"
S3_ENV = {"BUCKET_ENDPOINT_URL": "https://s3.example.com", "BUCKET_ACCESS_KEY_ID": ACCESS_KEY,
          "BUCKET_SECRET_ACCESS_KEY": SECRET_KEY}


def deep_workflow(path, depth=100_000):
    path.write_text('{"a":' * depth + "1" + "}" * depth)
    return str(path)


@pytest.mark.parametrize("env, variable, hidden", [
    ({**S3_ENV, "BUCKET_REGION": "us east!"}, "BUCKET_REGION", ()),
    ({**S3_ENV, "BUCKET_ENDPOINT_URL": "https://AKIAUSER:pw0123@a b.example"}, "BUCKET_ENDPOINT_URL",
     ("AKIAUSER", "pw0123")),
    ({**S3_ENV, "BUCKET_ENDPOINT_URL": "https://AKIAUSER:pw0123@s3.example.com"}, "BUCKET_ENDPOINT_URL",
     ("AKIAUSER", "pw0123")),
    ({"WARMUP_WORKFLOW": "deep"}, "WARMUP_WORKFLOW", ()),
], ids=["region", "endpoint-with-space", "endpoint-with-credentials", "deep-warmup-workflow"])
def test_a_setting_that_fails_at_start_is_answered_config_error_and_the_worker_keeps_serving(
        tmp_path, start_worker, env, variable, hidden):
    if env.get("WARMUP_WORKFLOW") == "deep":
        env = {**env, "WARMUP_WORKFLOW": deep_workflow(tmp_path / "deep.json")}
    worker = start_worker(env)
    for _ in range(2):
        answer = worker.runsync(SAMPLE["input"])
        assert answer["status"] == "FAILED" and answer["error"].startswith(f"config_error: {variable}: "), answer
        assert worker.process.poll() is None
    shown = json.dumps(answer) + worker.output()
    for secret in (ACCESS_KEY, SECRET_KEY, *hidden):
        assert secret not in shown, (secret, shown)
    assert "Traceback" not in worker.output()
