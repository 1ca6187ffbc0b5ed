"""Base64 inputs broken into lines: decoded as b64decode(validate=True) would, with the peak near the input's size."""
import base64
import binascii
import os
import random
import tracemalloc

import pytest

from domain.errors import InvalidInput
from domain.inputs.limits import InputLimits
from entrypoints.base64_text import decode_base64_text
from entrypoints.request import parse_request

WORKFLOW = {"1": {"class_type": "EmptyImage", "inputs": {"width": 8}}}
MB = 1_000_000


def joined_then_strict(text):
    return base64.b64decode("".join(text.split()), validate=True)


def outcome(decode, text):
    try:
        return "ok", decode(text)
    except (binascii.Error, ValueError):
        return "refused", None  # the message may differ: a non-ASCII stranger was a ValueError


@pytest.mark.parametrize("text", [
    "YQ==", "YQ= =", "YQ==\n", " YWJj\nZGVm\r\n", "a\xa0b\u2028c\u3000d", "YWE=", "YWE= ", "\x1cYWJj\x1f",
    "YQ==YQ==", "YQ=", "YQ", "Y", "==", "=", " =YWJj", "YWE==", "YQ==x", "YW-J", "YWJj!", "Y\x00WJj", "YWJé",
    "YW_J", "YWJj.", "\U0001d400YWJ",
])
def test_accepts_and_refuses_what_validate_true_does_on_the_joined_text(text):
    assert outcome(decode_base64_text, text) == outcome(joined_then_strict, text)


def test_random_texts_of_the_alphabet_whitespace_padding_and_strangers_agree():
    pieces = [*"AQZaz09+/=", " ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\xa0", "\u2028", "-", "_", "é", "."]
    chance = random.Random(13)
    for _ in range(20_000):
        text = "".join(chance.choice(pieces) for _ in range(chance.randint(1, 12)))
        if "===" in "".join(text.split()):
            continue  # Python 3.11's strict mode lets any '=' follow whole groups; both 3.10 and 3.13 refuse it
        assert outcome(decode_base64_text, text) == outcome(joined_then_strict, text), repr(text)


def test_a_20_mb_input_with_a_line_break_every_76_characters_peaks_near_its_own_size():
    raw = os.urandom(20 * MB)
    text = base64.encodebytes(raw).decode("ascii")  # MIME lines: 76 characters and a newline
    raw_input = {"workflow": WORKFLOW, "images": [{"name": "big.png", "image": text}]}
    tracemalloc.start()
    try:
        parsed = parse_request(raw_input, InputLimits(max_input_bytes=50 * MB))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed.inputs[0].source.data == raw
    print(f"decoding {len(text) / MB:.1f} MB of base64 lines: peak traced {peak / MB:.1f} MB")
    # the decoded bytes (20 MB) and little else; splitting the text into lines first peaked at 73.5 MB
    assert peak <= 1.25 * len(raw)


def test_a_stranger_deep_in_a_big_input_is_invalid_input():
    text = base64.encodebytes(b"\x00" * 3 * MB).decode("ascii")
    text = text[: len(text) // 2] + "*" + text[len(text) // 2 :]
    with pytest.raises(InvalidInput, match="is not valid base64: Non-base64 digit found"):
        parse_request({"workflow": WORKFLOW, "images": [{"name": "big.png", "image": text}]})
