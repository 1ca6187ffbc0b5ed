"""The config_error handler: every job answers the bad variable's line, the same as docs/errors.md shows."""
import asyncio
import json
import logging
import pathlib

import pytest

from entrypoints.config_error import config_error_handler
from entrypoints.environment import read_settings
from entrypoints.job_logging import JobIdFilter
from entrypoints.settings import ConfigError

ERRORS_DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "errors.md"


def problem(env):
    with pytest.raises(ConfigError) as caught:
        read_settings(env)
    return caught.value


def test_every_job_answers_config_error_naming_the_variable(caplog):
    handler = config_error_handler(problem({"OUTPUT_SINK": "ftp"}))
    caplog.handler.addFilter(JobIdFilter())
    with caplog.at_level(logging.ERROR):
        answers = [asyncio.run(handler({"id": job_id, "input": {}})) for job_id in ("a", "b")]
    assert answers == [{"error": "config_error: OUTPUT_SINK: 'ftp' is not supported: use 'base64' or 's3'",
                        "error_code": "config_error"}] * 2
    assert [(r.job_id, r.getMessage()) for r in caplog.records] == [
        ("a", "job answered config_error: OUTPUT_SINK is not valid"),
        ("b", "job answered config_error: OUTPUT_SINK is not valid"),
    ]


def test_the_docs_example_is_what_the_code_answers():
    answer = asyncio.run(config_error_handler(problem({"OUTPUT_SINK": "ftp"}))({"id": "x"}))
    assert json.dumps(answer) in ERRORS_DOC.read_text()


def test_a_failure_that_is_no_config_error_is_answered_by_its_type_with_credentials_hidden():
    from entrypoints.config_error import as_config_error
    from entrypoints.job_logging import redactor

    redactor.add("worker-secret-0123")
    problem = as_config_error(RuntimeError("https://user:pw-0123@s3.example.com refused worker-secret-0123"))
    answer = asyncio.run(config_error_handler(problem)({"id": "x"}))
    assert answer == {"error": "config_error: configuration: the worker cannot start with it: RuntimeError: "
                               "https://***@s3.example.com refused ***", "error_code": "config_error"}


def test_a_config_error_is_answered_as_it_is():
    from entrypoints.config_error import as_config_error

    config = problem({"OUTPUT_SINK": "ftp"})
    assert as_config_error(config) is config
