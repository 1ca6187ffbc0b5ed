"""The container reads the environment once, picks the sink, and refuses bad values at start."""
import dataclasses

import pytest

from adapters.base64_sink import Base64OutputSink
from adapters.s3_sink import S3OutputSink
from domain.model import FileUrl
from entrypoints.container import build_container
from entrypoints.environment import read_settings
from entrypoints.settings import ConfigError

S3_ENV = {"BUCKET_ENDPOINT_URL": "http://127.0.0.1:9", "BUCKET_ACCESS_KEY_ID": "id", "BUCKET_SECRET_ACCESS_KEY": "secret"}


def test_base64_by_default():
    assert isinstance(build_container({}).output_sink(), Base64OutputSink)


def test_s3_when_a_bucket_endpoint_is_set():
    sink = build_container({**S3_ENV, "BUCKET_NAME": "outputs"}).output_sink()
    assert isinstance(sink, S3OutputSink)


def test_explicit_base64_wins_over_the_bucket_endpoint():
    assert isinstance(build_container({**S3_ENV, "OUTPUT_SINK": "base64"}).output_sink(), Base64OutputSink)


@pytest.mark.parametrize(
    "env, message",
    [
        ({"OUTPUT_SINK": "ftp"}, "OUTPUT_SINK: 'ftp' is not supported"),
        ({"OUTPUT_SINK": "s3"}, "needs BUCKET_ENDPOINT_URL, BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY"),
        ({"BUCKET_ENDPOINT_URL": "http://x"}, "needs BUCKET_ACCESS_KEY_ID, BUCKET_SECRET_ACCESS_KEY"),
        ({**S3_ENV, "BUCKET_ENDPOINT_URL": "s3.example"}, "must start with http"),
        ({"COMFY_HOST": "http://127.0.0.1:8188"}, "without a scheme"),
        ({"WEBSOCKET_RECONNECT_ATTEMPTS": "five"}, "must be a whole number"),
        ({"WEBSOCKET_RECONNECT_DELAY_S": "-1"}, "at least 0"),
        ({"COMFY_API_AVAILABLE_INTERVAL_MS": "soon"}, "must be a number"),
        ({"STREAM_OUTPUTS": "maybe"}, "true or false"),
        ({"JOB_TIMEOUT_S": "0"}, "greater than 0"),
    ],
)
def test_bad_values_stop_the_worker_with_a_clear_message(env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        build_container(env)


def test_values_reach_the_adapters():
    container = build_container({"COMFY_HOST": "comfy:9000", "WEBSOCKET_RECONNECT_ATTEMPTS": "7",
                                 "COMFY_API_AVAILABLE_INTERVAL_MS": "20", "COMFY_ORG_API_KEY": "k"})
    config = container.config()
    assert config["comfy"]["base_url"] == "http://comfy:9000" == container.comfy_api()._base_url
    assert config["comfy"]["ready_interval_s"] == 0.02
    assert container.services().policy.reconnect_attempts == 7
    assert container.services().comfy is container.comfy_api()
    assert container.comfy_api() is container.comfy_api()


def test_the_job_runner_is_built_once_with_the_converter_and_no_overflow_by_default():
    container = build_container({})
    assert container.job_runner() is container.job_runner()
    assert container.services().converter is not None
    assert container.services().overflow is None


def test_a_container_is_built_from_typed_settings_as_from_the_environment():
    settings = read_settings({"COMFY_HOST": "comfy:9000", "OUTPUT_FORMAT_MAX_PIXELS": "1234"})
    container = build_container(settings=settings)
    assert container.config() == dataclasses.asdict(settings) == build_container(
        {"COMFY_HOST": "comfy:9000", "OUTPUT_FORMAT_MAX_PIXELS": "1234"}).config()
    assert container.services().converter._max_pixels == 1234


def test_the_fetcher_timeouts_are_its_own_defaults():
    fetcher = build_container({"INPUT_FETCH_TIMEOUT_S": "7"}).services().readers[FileUrl]
    assert (fetcher.connect_timeout_s, fetcher.read_timeout_s, fetcher.fetch_timeout_s) == (10.0, 30.0, 7)


def test_an_s3_client_boto3_refuses_to_make_is_a_config_error_naming_the_bucket_variables(mocker):
    from adapters.s3_sink import S3OutputSink

    mocker.patch.object(S3OutputSink, "prepare", side_effect=ValueError("Invalid endpoint: https://u:pw-123456@h x"))
    with pytest.raises(ConfigError) as caught:
        build_container(S3_ENV).job_runner()
    assert caught.value.variable == "BUCKET_ENDPOINT_URL, BUCKET_REGION"
    assert "the S3 client cannot be made from them: ValueError: Invalid endpoint" in str(caught.value)
