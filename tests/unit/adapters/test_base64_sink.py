"""Base64OutputSink encodes streamed chunks to exactly `b64encode` of the whole, within a memory bound."""
import base64
import os
import threading
import tracemalloc

import pytest

from adapters.base64_sink import Base64OutputSink
from domain.budget import Budget
from domain.errors import Cancelled, JobTimedOut

DATA = os.urandom(10_007)
MiB = 1024 * 1024


def _chunked(data, size):
    return (data[start:start + size] for start in range(0, len(data), size))


def _store(chunks, budget=None):
    return Base64OutputSink().store("job-1", "rec_single_00001_.png", "image/png", chunks, budget or Budget())


def test_it_is_an_inline_store():
    assert Base64OutputSink.inline is True and Base64OutputSink().name == "base64"


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 4, 5, 6, 7, 999, 1000, 3 * 1024, MiB, len(DATA), len(DATA) + 1])
def test_equals_b64encode_of_the_whole_for_any_chunk_size(chunk_size):
    text = _store(_chunked(DATA, chunk_size))

    assert isinstance(text, str) and text.isascii()
    assert text == base64.b64encode(DATA).decode("ascii")


@pytest.mark.parametrize("sizes", [[1, 1, 1, 1], [2, 0, 2, 0, 2], [0], [5, 7, 11, 13], [3, 1, 3, 2]])
def test_uneven_and_empty_chunks_keep_the_remainder_between_chunks(sizes):
    data = os.urandom(sum(sizes))
    chunks, start = [], 0
    for size in sizes:
        chunks.append(data[start:start + size])
        start += size

    assert _store(iter(chunks)) == base64.b64encode(data).decode("ascii")


def test_bytearray_and_memoryview_chunks_are_accepted():
    assert _store([bytearray(b"ab"), memoryview(b"cde"), b"f"]) == base64.b64encode(b"abcdef").decode("ascii")


def test_empty_input_is_empty_text():
    assert _store(iter([])) == ""
    assert _store([b""]) == ""


def test_a_cancel_mid_stream_raises_cancelled_and_stops_reading():
    stop = threading.Event()
    taken = []

    def chunks():
        for index in range(10):
            taken.append(index)
            if index == 2:
                stop.set()
            yield b"x" * 100

    with pytest.raises(Cancelled, match=r"rec_single_00001_\.png"):
        _store(chunks(), Budget(stop=stop))

    assert taken == [0, 1, 2]


def test_a_passed_deadline_raises_job_timed_out():
    with pytest.raises(JobTimedOut):
        _store([b"abc"], Budget(deadline=0.0, clock=lambda: 1.0))


def test_a_24_mb_stream_peaks_below_twice_its_base64_size_plus_4_mb():
    total, chunk_size = 24 * 1000 * 1000, MiB

    def chunks():
        sent = 0
        while sent < total:
            size = min(chunk_size, total - sent)
            sent += size
            yield os.urandom(size)

    encoded_size = 4 * ((total + 2) // 3)
    tracemalloc.start()
    try:
        text = _store(chunks())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(text) == encoded_size
    assert peak < 2 * encoded_size + 4 * MiB, f"peak {peak / MiB:.1f} MiB for {encoded_size / MiB:.1f} MiB of base64"
