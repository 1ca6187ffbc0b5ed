"""Property: any JSON at `parse_job_input` either parses or raises the worker's own `InvalidInput`."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.job_input import parse_job_input

pytestmark = pytest.mark.faults

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(scalars, lambda children: st.lists(children, max_size=4)
                           | st.dictionaries(st.text(max_size=8), children, max_size=4), max_leaves=30)
fields = st.sampled_from(["workflow", "images", "comfy_org_api_key", "include_temp", "output_format",
                          "validate_only", "name", "image", "url", "class_type", "inputs", "format", "quality"])
shaped = st.recursive(scalars, lambda children: st.lists(children, max_size=3)
                      | st.dictionaries(fields | st.text(max_size=4), children, max_size=5), max_leaves=40)


def parses_or_refuses(raw) -> None:
    try:
        parse_job_input(raw, max_input_bytes=10_000)
    except InvalidInput as exc:
        assert exc.summary().startswith("invalid_input: ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values | shaped)
def test_any_json_value_parses_or_is_invalid_input(raw):
    parses_or_refuses(raw)


@settings(max_examples=200, deadline=None)
@given(json_values | shaped)
def test_any_json_text_parses_or_is_invalid_input(raw):
    parses_or_refuses(json.dumps(raw))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=50))
def test_any_text_parses_or_is_invalid_input(raw):
    parses_or_refuses(raw)
