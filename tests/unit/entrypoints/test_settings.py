"""read_settings: defaults, every new key, and a refusal naming the variable for each bad value."""
import json
import time

import pytest
from runpod.serverless.utils import rp_upload

from entrypoints.settings import ConfigError, read_settings, region_from_endpoint

S3_ENV = {"BUCKET_ENDPOINT_URL": "http://127.0.0.1:9", "BUCKET_ACCESS_KEY_ID": "id", "BUCKET_SECRET_ACCESS_KEY": "secret"}


def test_defaults():
    settings = read_settings({})
    assert settings["comfy"] == {
        "host": "127.0.0.1:8188", "base_url": "http://127.0.0.1:8188", "ready_interval_s": 0.05,
        "ready_max_retries": 1200, "pid_file": None, "org_api_key": None, "silence_check_s": 60,
    }
    assert settings["websocket"] == {"reconnect_attempts": 5, "reconnect_delay_s": 3, "ping_interval_s": 3,
                                     "trace": False}
    assert settings["output"] == {"sink": "base64", "concurrency": 4, "max_response_bytes": 10_000_000,
                                  "stream": False}
    assert settings["inputs"] == {"max_bytes": 50_000_000, "allow_private": False, "fetch_timeout_s": 120,
                                  "max_files": 64, "max_total_bytes": 200_000_000}
    assert settings["warmup"] == {"workflow": None}
    assert settings["logging"] == {"level": "INFO", "runpod_level": "INFO"}
    assert settings["job"] == {"timeout_s": None, "stall_timeout_s": 900, "refresh_worker": False,
                               "progress_updates": False}
    assert settings["s3"] == {"configured": False, "endpoint_url": None, "access_key_id": None,
                              "secret_access_key": None, "bucket_name": time.strftime("%m-%y"), "region": None}


def test_every_new_variable_reaches_its_key(tmp_path):
    workflow = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8}}}
    path = tmp_path / "warmup.json"
    path.write_text(json.dumps(workflow))
    settings = read_settings({
        "OUTPUT_CONCURRENCY": "32", "MAX_RESPONSE_BYTES": "1000", "STREAM_OUTPUTS": "true",
        "COMFY_STALL_TIMEOUT_S": "0.5", "INPUT_MAX_BYTES": "1", "INPUT_URL_ALLOW_PRIVATE": "yes",
        "WARMUP_WORKFLOW": str(path), "RUNPOD_LOG_LEVEL": "warning", "LOG_LEVEL": "warn",
        "WEBSOCKET_PING_INTERVAL_S": "2.5", "COMFY_SILENCE_CHECK_S": "30", "COMFY_API_AVAILABLE_MAX_RETRIES": "0",
        "COMFY_PID_FILE": " comfy.pid ", "INPUT_FETCH_TIMEOUT_S": "1.5", "INPUT_MAX_FILES": "0",
        "INPUT_MAX_TOTAL_BYTES": "5",
    })
    assert settings["output"] == {"sink": "base64", "concurrency": 32, "max_response_bytes": 1000, "stream": True}
    assert settings["job"]["stall_timeout_s"] == 0.5
    assert settings["inputs"] == {"max_bytes": 1, "allow_private": True, "fetch_timeout_s": 1.5, "max_files": 0,
                                  "max_total_bytes": 5}
    assert settings["warmup"]["workflow"] == workflow
    assert settings["logging"] == {"level": "WARNING", "runpod_level": "WARN"}
    assert settings["websocket"]["ping_interval_s"] == 2.5
    assert settings["comfy"]["silence_check_s"] == 30
    assert settings["comfy"]["ready_max_retries"] == 0
    assert settings["comfy"]["pid_file"] == "comfy.pid"


@pytest.mark.parametrize("given, runpod, python", [
    ("DEBUG", "DEBUG", "DEBUG"), ("info", "INFO", "INFO"), ("WARN", "WARN", "WARNING"),
    ("ERROR", "ERROR", "ERROR"), ("critical", "ERROR", "CRITICAL"),
])
def test_log_levels_map_to_what_each_logger_understands(given, runpod, python):
    settings = read_settings({"RUNPOD_LOG_LEVEL": given, "LOG_LEVEL": given})
    assert settings["logging"] == {"level": python, "runpod_level": runpod}


def test_s3_is_configured_by_the_three_bucket_values_even_with_base64_output():
    settings = read_settings({**S3_ENV, "OUTPUT_SINK": "base64", "BUCKET_NAME": "outputs"})
    assert settings["output"]["sink"] == "base64"
    assert settings["s3"] == {"configured": True, "endpoint_url": "http://127.0.0.1:9", "access_key_id": "id",
                              "secret_access_key": "secret", "bucket_name": "outputs", "region": None}
    assert read_settings(S3_ENV)["output"]["sink"] == "s3"


@pytest.mark.parametrize("endpoint", [
    "https://s3.us-west-2.amazonaws.com", "https://bucket.s3.eu-central-1.amazonaws.com/x",
    "https://s3.us-west-004.backblazeb2.com", "https://nyc3.digitaloceanspaces.com",
    "https://acc.r2.cloudflarestorage.com", "http://127.0.0.1:9000", "https://user:pw@fra1.digitaloceanspaces.com",
])
def test_the_region_is_derived_exactly_as_rp_upload_does(endpoint):
    assert region_from_endpoint(endpoint) == rp_upload.extract_region_from_url(endpoint)
    env = {**S3_ENV, "BUCKET_ENDPOINT_URL": endpoint}
    assert read_settings(env)["s3"]["region"] == rp_upload.extract_region_from_url(endpoint)
    assert read_settings({**env, "BUCKET_REGION": "auto"})["s3"]["region"] == "auto"


@pytest.mark.parametrize("host", ["comfy:9000", "127.0.0.1:8188", "comfy", "[::1]:8188", "[fe80::1]", "my-host.local:1",
                                  "host:65535"])
def test_accepted_hosts(host):
    assert read_settings({"COMFY_HOST": host})["comfy"]["base_url"] == f"http://{host}"


@pytest.mark.parametrize("host", ["::1", "::1:8188", "a:b:c", "host:65536", "host:0", "host:99999999",
                                  "http://h:1", "h:1/path", "[::1", "[nothost]:1", "h :1", "user@h:1", "-h:1", "h:"])
def test_refused_hosts_name_the_variable(host):
    with pytest.raises(ConfigError, match="COMFY_HOST"):
        read_settings({"COMFY_HOST": host})


@pytest.mark.parametrize("name", [
    "COMFY_API_AVAILABLE_INTERVAL_MS", "WEBSOCKET_RECONNECT_DELAY_S", "JOB_TIMEOUT_S", "COMFY_STALL_TIMEOUT_S",
    "WEBSOCKET_PING_INTERVAL_S", "COMFY_SILENCE_CHECK_S",
])
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0.5"])
def test_non_finite_and_negative_numbers_are_refused_with_the_name(name, value):
    with pytest.raises(ConfigError, match=name):
        read_settings({name: value})


@pytest.mark.parametrize("name, value, message", [
    ("COMFY_API_AVAILABLE_MAX_RETRIES", "-1", "at least 0"),
    ("COMFY_API_AVAILABLE_MAX_RETRIES", "1.5", "whole number"),
    ("WEBSOCKET_RECONNECT_ATTEMPTS", "-1", "at least 0"),
    ("OUTPUT_CONCURRENCY", "0", "at least 1"),
    ("OUTPUT_CONCURRENCY", "33", "at most 32"),
    ("MAX_RESPONSE_BYTES", "999", "at least 1000"),
    ("MAX_RESPONSE_BYTES", "1e7", "whole number"),
    ("INPUT_MAX_BYTES", "0", "at least 1"),
    ("INPUT_MAX_FILES", "-1", "at least 0"),
    ("INPUT_MAX_TOTAL_BYTES", "0", "at least 1"),
    ("INPUT_FETCH_TIMEOUT_S", "0", "greater than 0"),
    ("COMFY_STALL_TIMEOUT_S", "0", "greater than 0"),
    ("WEBSOCKET_PING_INTERVAL_S", "0", "greater than 0"),
    ("COMFY_SILENCE_CHECK_S", "0", "greater than 0"),
    ("JOB_TIMEOUT_S", "0", "greater than 0"),
    ("STREAM_OUTPUTS", "maybe", "true or false"),
    ("INPUT_URL_ALLOW_PRIVATE", "2", "true or false"),
    ("RUNPOD_LOG_LEVEL", "TRACE", "one of DEBUG, INFO, WARN, WARNING, ERROR, CRITICAL"),
    ("LOG_LEVEL", "verbose", "one of"),
    ("OUTPUT_SINK", "ftp", "not supported"),
])
def test_bad_values_are_refused_with_the_name_and_the_rule(name, value, message):
    with pytest.raises(ConfigError, match=name) as caught:
        read_settings({name: value})
    assert message in str(caught.value)


@pytest.mark.parametrize("env, message", [
    ({"OUTPUT_SINK": "s3"}, "OUTPUT_SINK=s3 needs BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY"),
    ({"BUCKET_ENDPOINT_URL": "http://x"}, "needs BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY"),
    ({"OUTPUT_SINK": "base64", "BUCKET_ACCESS_KEY_ID": "id"}, "partly configured: BUCKET_ENDPOINT_URL, BUCKET_SECRET"),
    ({**S3_ENV, "BUCKET_ENDPOINT_URL": "s3.example"}, "BUCKET_ENDPOINT_URL='s3.example' must start with http"),
])
def test_incomplete_s3_settings_are_refused(env, message):
    with pytest.raises(ConfigError) as caught:
        read_settings(env)
    assert message in str(caught.value)


def test_the_secret_never_appears_in_a_config_error():
    with pytest.raises(ConfigError) as caught:
        read_settings({"BUCKET_ACCESS_KEY_ID": "id", "BUCKET_SECRET_ACCESS_KEY": "s3cr3t-value"})
    assert "s3cr3t-value" not in str(caught.value)


@pytest.mark.parametrize("content, message", [
    (None, "cannot be read"), ("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ("{}", "JSON object"),
])
def test_a_warmup_workflow_must_exist_and_be_a_json_object(tmp_path, content, message):
    path = tmp_path / "warmup.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match="WARMUP_WORKFLOW") as caught:
        read_settings({"WARMUP_WORKFLOW": str(path)})
    assert message in str(caught.value)
