"""read_settings: typed frozen defaults, every variable, 5.x-tolerated values, empty as unset, and a refusal naming
the variable for each bad value."""
import dataclasses
import json
import time

import pytest
from runpod.serverless.utils import rp_upload

from entrypoints.environment import read_settings
from entrypoints.s3_settings import region_from_endpoint
from entrypoints.settings import ConfigError, Settings

asdict = dataclasses.asdict
S3_ENV = {"BUCKET_ENDPOINT_URL": "http://127.0.0.1:9", "BUCKET_ACCESS_KEY_ID": "id", "BUCKET_SECRET_ACCESS_KEY": "secret"}


def test_defaults():
    settings = read_settings({})
    assert asdict(settings.comfy) == {
        "host": "127.0.0.1:8188", "base_url": "http://127.0.0.1:8188", "ready_interval_s": 0.05,
        "ready_max_retries": 1200, "pid_file": None, "log_file": None, "org_api_key": None, "silence_check_s": 60,
    }
    assert asdict(settings.websocket) == {"reconnect_attempts": 5, "reconnect_delay_s": 3, "ping_interval_s": 3,
                                     "trace": False}
    assert asdict(settings.output) == {"sink": "base64", "concurrency": 4, "max_response_bytes": 10_000_000,
                                  "stream": False}
    assert asdict(settings.inputs) == {"max_bytes": 50_000_000, "allow_private": False, "fetch_timeout_s": 120,
                                  "max_files": 64, "max_total_bytes": 200_000_000}
    assert asdict(settings.warmup) == {"workflow": None}
    assert asdict(settings.logging) == {"level": "INFO", "runpod_level": "INFO"}
    assert asdict(settings.job) == {"timeout_s": None, "stall_timeout_s": 900, "refresh_worker": False,
                               "progress_updates": False, "partial_results": True,
                               "max_concurrency": 1}
    assert asdict(settings.s3) == {"configured": False, "endpoint_url": None, "access_key_id": None,
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
    assert asdict(settings.output) == {"sink": "base64", "concurrency": 32, "max_response_bytes": 1000, "stream": True}
    assert settings.job.stall_timeout_s == 0.5
    assert asdict(settings.inputs) == {"max_bytes": 1, "allow_private": True, "fetch_timeout_s": 1.5, "max_files": 0,
                                  "max_total_bytes": 5}
    assert settings.warmup.workflow == workflow
    assert asdict(settings.logging) == {"level": "WARNING", "runpod_level": "WARN"}
    assert settings.websocket.ping_interval_s == 2.5
    assert settings.comfy.silence_check_s == 30
    assert settings.comfy.ready_max_retries == 0
    assert settings.comfy.pid_file == "comfy.pid"


@pytest.mark.parametrize("given, runpod, python", [
    ("DEBUG", "DEBUG", "DEBUG"), ("info", "INFO", "INFO"), ("WARN", "WARN", "WARNING"),
    ("ERROR", "ERROR", "ERROR"), ("critical", "ERROR", "CRITICAL"),
])
def test_log_levels_map_to_what_each_logger_understands(given, runpod, python):
    settings = read_settings({"RUNPOD_LOG_LEVEL": given, "LOG_LEVEL": given})
    assert asdict(settings.logging) == {"level": python, "runpod_level": runpod}


def test_s3_is_configured_by_the_three_bucket_values_even_with_base64_output():
    settings = read_settings({**S3_ENV, "OUTPUT_SINK": "base64", "BUCKET_NAME": "outputs"})
    assert settings.output.sink == "base64"
    assert asdict(settings.s3) == {"configured": True, "endpoint_url": "http://127.0.0.1:9", "access_key_id": "id",
                              "secret_access_key": "secret", "bucket_name": "outputs", "region": None}
    assert read_settings(S3_ENV).output.sink == "s3"


@pytest.mark.parametrize("endpoint", [
    "https://s3.us-west-2.amazonaws.com", "https://bucket.s3.eu-central-1.amazonaws.com/x",
    "https://s3.us-west-004.backblazeb2.com", "https://nyc3.digitaloceanspaces.com",
    "https://acc.r2.cloudflarestorage.com", "http://127.0.0.1:9000",
])
def test_the_region_is_derived_exactly_as_rp_upload_does(endpoint):
    assert region_from_endpoint(endpoint) == rp_upload.extract_region_from_url(endpoint)
    # an endpoint with credentials in it is refused, but would be read the same
    with_credentials = endpoint.replace("://", "://user:pw@")
    assert region_from_endpoint(with_credentials) == rp_upload.extract_region_from_url(with_credentials)
    env = {**S3_ENV, "BUCKET_ENDPOINT_URL": endpoint}
    assert read_settings(env).s3.region == rp_upload.extract_region_from_url(endpoint)
    assert read_settings({**env, "BUCKET_REGION": "auto"}).s3.region == "auto"


@pytest.mark.parametrize("host", ["comfy:9000", "127.0.0.1:8188", "comfy", "[::1]:8188", "[fe80::1]", "my-host.local:1",
                                  "host:65535"])
def test_accepted_hosts(host):
    assert read_settings({"COMFY_HOST": host}).comfy.base_url == f"http://{host}"


@pytest.mark.parametrize("host", ["::1", "::1:8188", "a:b:c", "host:65536", "host:0", "host:99999999",
                                  "http://h:1", "h:1/path", "[::1", "[nothost]:1", "h :1", "user@h:1", "-h:1", "h:"])
def test_refused_hosts_name_the_variable(host):
    with pytest.raises(ConfigError, match="COMFY_HOST"):
        read_settings({"COMFY_HOST": host})


@pytest.mark.parametrize("name", [
    "WEBSOCKET_RECONNECT_DELAY_S", "JOB_TIMEOUT_S", "COMFY_STALL_TIMEOUT_S",
    "WEBSOCKET_PING_INTERVAL_S", "COMFY_SILENCE_CHECK_S",
])
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "-1", "-0.5"])
def test_non_finite_and_negative_numbers_are_refused_with_the_name(name, value):
    with pytest.raises(ConfigError, match=name):
        read_settings({name: value})


@pytest.mark.parametrize("name, value, message", [
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
    ("COMFY_API_AVAILABLE_INTERVAL_MS", "nan", "finite"),
    ("COMFY_API_AVAILABLE_INTERVAL_MS", "fast", "a number"),
])
def test_bad_values_are_refused_with_the_name_and_the_rule(name, value, message):
    with pytest.raises(ConfigError, match=name) as caught:
        read_settings({name: value})
    assert message in str(caught.value)


@pytest.mark.parametrize("env, message", [
    ({"OUTPUT_SINK": "s3"}, "OUTPUT_SINK: S3 output needs BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_"),
    ({"BUCKET_ENDPOINT_URL": "http://x"}, "BUCKET_ACCESS_KEY_ID: S3 output needs BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_"),
    ({"OUTPUT_SINK": "base64", "BUCKET_ACCESS_KEY_ID": "id"},
     "BUCKET_ENDPOINT_URL: S3 is partly configured: BUCKET_ENDPOINT_URL, BUCKET_SECRET"),
    ({**S3_ENV, "BUCKET_ENDPOINT_URL": "s3.example"}, "BUCKET_ENDPOINT_URL: must start with http"),
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


def test_settings_are_typed_and_frozen() -> None:  # annotated, so mypy checks the assignments below
    settings = read_settings({})
    assert isinstance(settings, Settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.comfy.host = "elsewhere:1"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.output = settings.output  # type: ignore[misc]


def test_a_config_error_names_the_variable_and_says_why():
    with pytest.raises(ConfigError) as caught:
        read_settings({"OUTPUT_CONCURRENCY": "lots"})
    assert caught.value.variable == "OUTPUT_CONCURRENCY"
    assert caught.value.why == "'lots' must be a whole number"
    assert str(caught.value) == "OUTPUT_CONCURRENCY: 'lots' must be a whole number"


def test_a_long_bad_value_is_echoed_in_short():
    with pytest.raises(ConfigError) as caught:
        read_settings({"COMFY_HOST": "h" * 100_000 + "/path"})
    assert caught.value.variable == "COMFY_HOST" and len(str(caught.value)) < 400


# every variable read, with a value that is not its default: an empty or blank value must give the default instead
NOT_DEFAULT = {
    "COMFY_HOST": "comfy:9000", "COMFY_API_AVAILABLE_INTERVAL_MS": "20", "COMFY_API_AVAILABLE_MAX_RETRIES": "7",
    "COMFY_PID_FILE": "comfy.pid", "COMFY_LOG_FILE": "comfy.log", "COMFY_ORG_API_KEY": "key-123456",
    "COMFY_SILENCE_CHECK_S": "9",
    "WEBSOCKET_RECONNECT_ATTEMPTS": "1", "WEBSOCKET_RECONNECT_DELAY_S": "0.5", "WEBSOCKET_PING_INTERVAL_S": "9",
    "WEBSOCKET_TRACE": "true", "OUTPUT_SINK": "s3", "OUTPUT_CONCURRENCY": "2", "MAX_RESPONSE_BYTES": "5000",
    "STREAM_OUTPUTS": "true", "OUTPUT_FORMAT_MAX_PIXELS": "99", "BUCKET_NAME": "outputs", "BUCKET_REGION": "auto",
    "INPUT_MAX_BYTES": "5", "INPUT_URL_ALLOW_PRIVATE": "true", "INPUT_FETCH_TIMEOUT_S": "5", "INPUT_MAX_FILES": "3",
    "INPUT_MAX_TOTAL_BYTES": "9", "WARMUP_WORKFLOW": "no-such-file.json", "LOG_LEVEL": "DEBUG",
    "RUNPOD_LOG_LEVEL": "DEBUG", "JOB_TIMEOUT_S": "60", "COMFY_STALL_TIMEOUT_S": "9", "REFRESH_WORKER": "true",
    "PARTIAL_RESULTS": "false", "MAX_CONCURRENCY": "2", "COMFY_INPUT_DIR": "/comfyui/input",
    "COMFY_OUTPUT_DIR": "/comfyui/output", "COMFY_TEMP_DIR": "/comfyui/temp", "CLEANUP_JOB_FILES": "false",
    "MODEL_DOWNLOAD_DIR": "/runpod-volume/models", "MODEL_MAX_BYTES": "7", "MODEL_FETCH_TIMEOUT_S": "3",
    "MODEL_CACHE_MAX_BYTES": "8", "HF_TOKEN": "hf_x", "CIVITAI_TOKEN": "cv_x",
}


@pytest.mark.parametrize("name", sorted(NOT_DEFAULT))
@pytest.mark.parametrize("empty", ["", "  "])
def test_an_empty_value_is_the_default(name, empty):
    base = S3_ENV if name.startswith("BUCKET_") else {}
    default = read_settings(base)
    assert read_settings({**base, name: empty}) == default
    changed = {**base, name: NOT_DEFAULT[name]}
    try:
        assert read_settings(changed) != default, f"{name} did not change any setting: the test's value is wrong"
    except ConfigError as refused:
        assert refused.variable == name


def test_every_variable_read_is_in_the_empty_value_test():
    from deploy.settings_reader import read_variables

    assert read_variables() - set(NOT_DEFAULT) <= set(S3_ENV), "a new variable: add it to NOT_DEFAULT"


@pytest.mark.parametrize("value, seconds", [("0", 0.001), ("-5", 0.001), ("1", 0.001), ("0.5", 0.001), ("20", 0.02)])
def test_a_readiness_interval_below_one_ms_is_one_ms_as_in_5x(value, seconds):
    assert read_settings({"COMFY_API_AVAILABLE_INTERVAL_MS": value}).comfy.ready_interval_s == seconds


@pytest.mark.parametrize("value, retries", [("0", 0), ("-1", 0), ("-100", 0), ("3", 3)])
def test_zero_or_fewer_readiness_retries_is_no_limit_as_in_5x(value, retries):
    assert read_settings({"COMFY_API_AVAILABLE_MAX_RETRIES": value}).comfy.ready_max_retries == retries


@pytest.mark.parametrize("name, path", [("REFRESH_WORKER", ("job", "refresh_worker")),
                                        ("WEBSOCKET_TRACE", ("websocket", "trace"))])
@pytest.mark.parametrize("value, expected", [
    ("true", True), ("TRUE", True), (" True ", True), ("enabled", False), ("1", False), ("yes", False),
    ("on", False), ("false", False), ("maybe", False),
])
def test_the_flags_5x_reads_are_read_as_5x_reads_them(name, path, value, expected):
    """worker-comfyui 5.x: `os.environ.get(NAME, "false").lower() == "true"`; anything else is false, not an error."""
    settings = read_settings({name: value})
    assert getattr(getattr(settings, path[0]), path[1]) is expected


@pytest.mark.parametrize("env, variable", [
    ({"BUCKET_REGION": "us east!"}, "BUCKET_REGION"),
    ({"BUCKET_REGION": "-us-east-1"}, "BUCKET_REGION"),
    ({"BUCKET_ENDPOINT_URL": "https://AKIAUSER:pw@a b.example"}, "BUCKET_ENDPOINT_URL"),
    ({"BUCKET_ENDPOINT_URL": "https://AKIAUSER:pw@s3.example.com"}, "BUCKET_ENDPOINT_URL"),
    ({"BUCKET_ENDPOINT_URL": "https://a b.example"}, "BUCKET_ENDPOINT_URL"),
    ({"BUCKET_ENDPOINT_URL": "https://s3.example.com:99999"}, "BUCKET_ENDPOINT_URL"),
    ({"BUCKET_ENDPOINT_URL": "https://[::1"}, "BUCKET_ENDPOINT_URL"),
    ({"BUCKET_ENDPOINT_URL": "https:///path"}, "BUCKET_ENDPOINT_URL"),
    ({"BUCKET_ENDPOINT_URL": "https://bucket.s3.123.example.com"}, "BUCKET_ENDPOINT_URL"),  # region '123'
])
def test_s3_values_boto3_would_refuse_are_refused_at_start_without_echoing_the_endpoint(env, variable):
    env = {**S3_ENV, **env}
    with pytest.raises(ConfigError) as caught:
        read_settings(env)
    assert caught.value.variable == variable
    assert "AKIAUSER" not in str(caught.value)
    assert env["BUCKET_ENDPOINT_URL"] not in str(caught.value)


@pytest.mark.parametrize("endpoint, region", [
    ("https://s3.us-east-1.amazonaws.com", ""), ("https://bucket.s3.eu-west-3.amazonaws.com", ""),
    ("https://nyc3.digitaloceanspaces.com", ""), ("http://127.0.0.1:9000", "us-east-1"), ("http://[::1]:9000", ""),
    ("https://minio.local.:9000/", "auto"), ("https://s3.example.com", "EU-WEST-1"),
])
def test_s3_values_accepted_at_start_make_an_s3_client(endpoint, region):
    from adapters.s3_sink import S3OutputSink

    s3 = read_settings({**S3_ENV, "BUCKET_ENDPOINT_URL": endpoint, "BUCKET_REGION": region}).s3
    S3OutputSink(endpoint_url=s3.endpoint_url, access_key_id="id", secret_access_key="secret", bucket_name="b",
                region=s3.region).prepare()


def test_the_credentials_of_a_bucket_endpoint_are_secret_values():
    from entrypoints.environment import secret_values

    env = {**S3_ENV, "BUCKET_ENDPOINT_URL": "https://AKIAUSER:pw0123@s3.example.com", "COMFY_ORG_API_KEY": "key"}
    assert secret_values(env) == ["key", "id", "secret", "AKIAUSER:pw0123"]


@pytest.mark.parametrize("depth", [101, 5000, 100_000])
def test_a_warmup_workflow_nested_deeper_than_a_job_may_be_is_refused(tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_text('{"1": ' * depth + "1" + "}" * depth)
    with pytest.raises(ConfigError, match=r"WARMUP_WORKFLOW: .* is nested deeper than 100 levels"):
        read_settings({"WARMUP_WORKFLOW": str(path)})


def test_a_warmup_workflow_as_deep_as_a_job_may_be_is_read(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"1": ' * 100 + "1" + "}" * 100)
    assert read_settings({"WARMUP_WORKFLOW": str(path)}).warmup.workflow


def test_a_warmup_workflow_larger_than_the_cap_is_refused_unread(tmp_path, monkeypatch):
    from entrypoints import variables

    monkeypatch.setattr(variables, "MAX_WARMUP_WORKFLOW_BYTES", 1000)
    path = tmp_path / "large.json"
    path.write_text(json.dumps({"1": {"class_type": "x", "inputs": {"text": "x" * 1000}}}))
    with pytest.raises(ConfigError, match=r"WARMUP_WORKFLOW: .* is larger than 1,000 bytes"):
        read_settings({"WARMUP_WORKFLOW": str(path)})


def test_a_port_too_long_for_int_is_a_config_error():
    with pytest.raises(ConfigError, match="COMFY_HOST"):
        read_settings({"COMFY_HOST": "comfy:" + "9" * 5000})


def test_model_downloads_are_off_unless_a_folder_is_given():
    assert asdict(read_settings({}).models) == {"download_dir": None, "max_bytes": 50_000_000_000,
                                                "fetch_timeout_s": 60, "cache_max_bytes": None, "hf_token": None,
                                                "civitai_token": None}
    assert not read_settings({}).models.enabled
    assert not read_settings({"MODEL_DOWNLOAD_DIR": "OFF"}).models.enabled  # the image's default is turned off so
    models = read_settings({"MODEL_DOWNLOAD_DIR": "/runpod-volume/models", "MODEL_CACHE_MAX_BYTES": "100000000000",
                            "HF_TOKEN": " hf_abc ", "MODEL_MAX_BYTES": "1000"}).models
    assert models.enabled and models.download_dir == "/runpod-volume/models"
    assert (models.cache_max_bytes, models.hf_token, models.max_bytes) == (100_000_000_000, "hf_abc", 1000)
    assert "hf_abc" not in repr(models)


@pytest.mark.parametrize(("variable", "value", "why"), [
    ("MODEL_DOWNLOAD_DIR", "models", "'models' is not an absolute path"),
    ("MODEL_CACHE_MAX_BYTES", "0", "'0' must be at least 1"),
    ("MODEL_CACHE_MAX_BYTES", "10G", "'10G' must be a whole number"),
    ("MODEL_MAX_BYTES", "-1", "'-1' must be at least 1"),
    ("MODEL_FETCH_TIMEOUT_S", "0", "'0' must be greater than 0"),
])
def test_bad_model_settings_name_their_variable(variable, value, why):
    with pytest.raises(ConfigError) as caught:
        read_settings({variable: value})
    assert (caught.value.variable, caught.value.why) == (variable, why)


def test_the_model_hosts_tokens_are_secret_values():
    from entrypoints.environment import secret_values

    assert secret_values({"HF_TOKEN": "hf_secret", "CIVITAI_TOKEN": "cv_secret"}) == ["hf_secret", "cv_secret"]
