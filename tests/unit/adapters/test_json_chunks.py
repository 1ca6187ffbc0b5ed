"""JSON in bounded calls: the bytes sent equal json.dumps's, and a refusal repeating a megabyte value parses to the
same structure with that value cut to its head and tail."""
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters import json_chunks
from adapters.json_chunks import ELISION, HEAD, LONG, MAX_PARSED, SLICE, TAIL, TooLongToRead, dumps_bytes, loads_elided

NASTY = 'a"b\\c\n\t\x00\x1f\u2028\ud83d\ude00\U0001f600\ud800é\x7f/'  # quotes, escapes, controls, non-BMP, a lone surrogate

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=30,
)


def long_text(length: int, alphabet: str = NASTY) -> str:
    return (alphabet * (length // len(alphabet) + 1))[:length]


@given(json_values)
def test_small_values_are_json_dumps_byte_for_byte(value):
    assert dumps_bytes(value) == json.dumps(value, allow_nan=False).encode()


@settings(max_examples=25, deadline=None)
@given(json_values, st.integers(min_value=SLICE - 3, max_value=3 * SLICE + 7), st.sampled_from([NASTY, "x", "\\\"", "\ud83d\ude00"]))
def test_values_holding_long_strings_are_json_dumps_byte_for_byte(value, length, alphabet):
    long = long_text(length, alphabet)
    for holder in ({"k": [value, long], long: value}, [long, {"inputs": {"v": long}}, 1.5, None, True]):
        assert dumps_bytes(holder) == json.dumps(holder, allow_nan=False).encode()


def test_non_string_keys_and_tuples_are_written_as_json_dumps_writes_them():
    value = {1: "a", 2.5: (1, 2), False: None, None: [long_text(SLICE + 1)]}
    assert dumps_bytes(value) == json.dumps(value).encode()


def test_a_long_string_is_escaped_in_slices_not_in_one_call(mocker):
    spy = mocker.spy(json_chunks, "encode_basestring_ascii")
    dumps_bytes({"1": {"inputs": {"text": long_text(10 * SLICE + 5)}}})
    assert spy.call_count >= 11 and max(len(call.args[0]) for call in spy.call_args_list) <= SLICE


def test_nan_is_refused_as_json_dumps_refuses_it():
    for value in ({"x": math.nan}, {"x": [long_text(SLICE + 1), math.inf]}):
        with pytest.raises(ValueError):
            dumps_bytes(value)


@given(json_values)
def test_a_body_without_long_strings_parses_exactly_as_json_loads(value):
    data = json.dumps(value).encode()
    assert loads_elided(data) == json.loads(data)


@pytest.mark.parametrize("alphabet", [NASTY, "a-", "\\", '"', "\ud83d\ude00", "\u00e9"])
@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_a_long_string_is_cut_to_head_and_tail_and_the_rest_parses_as_before(alphabet, ensure_ascii):
    if not ensure_ascii:  # UTF-8 has no surrogates: a server sending them raw is not JSON's concern
        alphabet = "".join(c for c in alphabet if not "\ud800" <= c <= "\udfff") or "\U0001f600"
    value = long_text(3 * LONG + 11, alphabet)
    message = f"Cannot execute because node {value} does not exist."
    body = {"error": {"type": "invalid_prompt", "message": message, "details": "Node ID '#1'"},
            "node_errors": {"1": {"errors": [{"type": "value_not_in_list", "extra_info": {"received_value": value}}],
                                  "class_type": value}, "2": {"errors": [], "class_type": "x" * 100}}}
    parsed = loads_elided(json.dumps(body, ensure_ascii=ensure_ascii).encode())
    for got, sent in ((parsed["error"]["message"], message), (parsed["node_errors"]["1"]["class_type"], value)):
        sent = json.loads(json.dumps(sent))  # json.loads joins an escaped surrogate pair into one code point
        head, _, tail = got.partition(ELISION)
        assert sent.startswith(head) and sent.endswith(tail) and got.count(ELISION) == 1
        assert HEAD // 12 - 2 <= len(head) <= HEAD and TAIL // 12 - 2 <= len(tail) <= TAIL + 6  # 12: a pair escaped
    assert parsed["error"]["message"].endswith(" does not exist.")
    assert parsed["node_errors"]["2"] == body["node_errors"]["2"] and parsed["error"]["details"] == "Node ID '#1'"


def test_strings_up_to_the_limit_of_json_text_are_kept_whole():
    body = {"a": "ab\\\"" * (LONG // 6), "b": ["c" * LONG] * 3, "c": long_text(LONG // 12, NASTY)}
    data = json.dumps(body).encode()
    assert loads_elided(data) == json.loads(data)


def test_a_body_still_too_long_without_its_long_strings_is_refused_and_non_json_raises_value_error():
    with pytest.raises(TooLongToRead):
        loads_elided(json.dumps([1] * (MAX_PARSED // 2)).encode())
    for data in (b"<html>proxy</html>", b'{"a": "unclosed', b'{"a": "' + b"x" * (3 * LONG) + b'\\', b'"\\u12'):
        with pytest.raises(ValueError):
            loads_elided(data)
