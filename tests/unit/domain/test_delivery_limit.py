"""The answer's size limit while delivering: what does not fit goes to the overflow store (S3), or the job fails
without fetching more."""
import base64
import hashlib
from contextlib import contextmanager

from domain.errors import OutputNotConverted, ResponseTooLarge
from domain.execution.events import NodeExecuted, NodeStarted
from domain.model import Download, Outcome, OutputRef, PromptHistory
from unit.domain.fake_stream import WaitUntil
from unit.domain.fakes import FakeAnswerFormat, FakeConverter, InMemorySink
from unit.domain.world import PID, plain_run, world

SUCCESS = Outcome("success")
KB = 1000


def refs(*names, node="9"):
    return tuple(OutputRef(node, "images", name) for name in names)


def limited_world(files, limit, *, overflow=None, concurrency=1, **kwargs):
    ordered = tuple(OutputRef(str(n + 1), "images", name) for n, name in enumerate(files))
    w = world(history=PromptHistory(SUCCESS, files=ordered), files=files, max_response_bytes=limit,
              overflow=overflow, overflow_hint="configure S3 (...) to get URLs, ", concurrency=concurrency, **kwargs)
    w.sink = InMemorySink(w.calls, inline=True)
    return w


def answer_bytes(result) -> int:
    return FakeAnswerFormat().result_bytes(result)


def kinds(result) -> list:
    return [(out.filename, "inline" if out.inline else "url") for out in result.outputs]


def test_without_s3_the_job_fails_at_the_first_output_that_does_not_fit_and_fetches_nothing_after_it():
    files = {"a.png": b"a" * 3 * KB, "b.png": b"b" * 9 * KB, "c.png": b"c" * KB}
    w = limited_world(files, limit=10 * KB)
    caught = w.fails(ResponseTooLarge)
    line = caught.summary()
    assert line.startswith("response_too_large: the outputs make a ") and "max_response_bytes=10,000" in line
    assert "b.png (node 2, 9,000 bytes)" in line and "a.png (node 1, 3,000 bytes)" in line and "S3" in line
    assert w.sink.stored.keys() == {"a.png"}  # b's bytes were never read: its length told it would not fit
    assert ("fetch", "c.png") not in w.calls


def test_with_s3_what_does_not_fit_goes_there_as_it_comes_and_the_rest_stays_inline():
    files = {"a.png": b"a" * 3 * KB, "b.png": b"b" * 9 * KB, "c.png": b"c" * KB}
    overflow = InMemorySink(name="s3")
    w = limited_world(files, limit=10 * KB, overflow=overflow)
    result = w.run()
    assert kinds(result) == [("a.png", "inline"), ("b.png", "url"), ("c.png", "inline")]
    assert overflow.stored == {"b.png": files["b.png"]} and w.sink.stored.keys() == {"a.png", "c.png"}
    assert result.outputs[1].sha256 == hashlib.sha256(files["b.png"]).hexdigest()
    assert answer_bytes(result) <= 10 * KB


def test_concurrent_deliveries_never_take_more_than_the_limit_and_nothing_is_moved_at_the_end():
    files = {f"{n}.png": bytes([n]) * 3 * KB for n in range(12)}
    overflow = InMemorySink(name="s3")
    w = limited_world(files, limit=20 * KB, overflow=overflow, concurrency=4)
    result = w.run()
    inline = [out for out in result.outputs if out.inline]
    assert len(inline) == 4 and len(overflow.stored) == 8  # 4 x 4,000 base64 characters and their entries fit
    assert all(base64.b64decode(out.value) == files[out.filename] for out in inline)
    assert answer_bytes(result) <= 20 * KB
    # each output stored once: the final check had nothing left to move
    stored_once = [name for _, name in w.calls.of("store") + overflow.calls.of("store")]
    assert sorted(stored_once) == sorted(files)


class UnknownLengthSource:
    """`OutputSource` that does not know how long its downloads are (a compressed `/view`, say)."""

    def __init__(self, files, chunk=1000):
        self.files, self.chunk, self.read = files, chunk, {}

    @contextmanager
    def open(self, ref, budget):
        data = self.files[ref.filename]
        self.read[ref.filename] = 0

        def chunks():
            for i in range(0, len(data), self.chunk):
                self.read[ref.filename] += len(data[i:i + self.chunk])
                yield data[i:i + self.chunk]
        yield Download("image/png", chunks(), None)


def test_an_output_of_unknown_length_is_counted_as_it_streams_and_goes_to_s3_whole():
    files = {"a.png": bytes(range(256)) * 40}  # 10,240 bytes: 13,656 base64 characters
    overflow = InMemorySink(name="s3")
    w = limited_world(files, limit=10 * KB, overflow=overflow)
    w.source = UnknownLengthSource(files)
    result = w.run()
    assert not result.outputs[0].inline and overflow.stored == files
    assert result.outputs[0].size_bytes == len(files["a.png"])


def test_an_output_of_unknown_length_stops_streaming_at_the_limit_without_s3():
    files = {"a.png": b"x" * 100 * KB}
    w = limited_world(files, limit=10 * KB)
    w.source = source = UnknownLengthSource(files)
    w.fails(ResponseTooLarge, match=r"a\.png \(node 1, [\d,]+ bytes\)")
    assert source.read["a.png"] <= 10 * KB


def test_a_refusal_while_comfyui_runs_fails_the_job_at_the_next_output_and_interrupts_the_prompt(caplog):
    big, late = OutputRef("2", "images", "big.png"), OutputRef("3", "images", "late.png")
    script = plain_run(NodeExecuted(PID, "2", files=(big,)), NodeStarted(PID, "3"),
                       WaitUntil(lambda: "would pass its size limit" in caplog.text, "the refusal"),
                       NodeExecuted(PID, "3", files=(late,)), NodeStarted(PID, "4"))
    w = world(script, files={"big.png": b"b" * 20 * KB, "late.png": b"l"}, max_response_bytes=10 * KB)
    w.sink = InMemorySink(w.calls, inline=True)
    w.fails(ResponseTooLarge, match=r"big\.png \(node 2, 20,000 bytes\)")
    assert ("fetch", "late.png") not in w.calls
    assert "cancel" in w.calls.names()  # ComfyUI stops working for an answer that cannot be given


class RefusingConverter(FakeConverter):
    def convert(self, data, target):
        raise OutputNotConverted("10000x10000 is over OUTPUT_FORMAT_MAX_PIXELS (50,000,000 pixels)")


def test_an_image_over_the_pixel_limit_is_delivered_unconverted_with_a_line_in_errors():
    files = {"huge.png": b"png bytes", "small.png": b"small"}
    w = world(history=PromptHistory(SUCCESS, files=refs("huge.png")), files=files, converter=RefusingConverter(),
              raw={"workflow": {"9": {"class_type": "SaveImage", "inputs": {}}},
                   "output_format": {"format": "jpeg"}})
    result = w.run()
    [out] = result.outputs
    assert (out.filename, out.content_type, out.size_bytes) == ("huge.png", "image/png", 9)
    assert w.sink.stored == {"huge.png": b"png bytes"}
    assert [str(f) for f in result.failures] == ["output_not_converted: huge.png (node 9): 10000x10000 is over "
                                                 "OUTPUT_FORMAT_MAX_PIXELS (50,000,000 pixels)"]


def test_the_running_total_never_counts_less_than_the_answer_so_nothing_is_left_to_move_at_the_end():
    # names JSON escapes (six characters for one), a content type, sizes with more digits: all in the entries
    files = {"\u00e9\u20ac\U0001f600\"\\.png": b"a" * 2999, "b.png": b"b" * 1001, "c\u0001.png": b"c" * 17}
    everything_inline = limited_world(files, limit=10**6).run()
    just_too_small = answer_bytes(everything_inline) - 1
    overflow = InMemorySink(name="s3")
    w = limited_world(files, limit=just_too_small, overflow=overflow)
    result = w.run()
    assert overflow.stored and answer_bytes(result) <= just_too_small
    # what went to S3 went there while delivering: the final check moved nothing that had been stored inline
    assert not {name for _, name in w.calls.of("store")} & {name for _, name in overflow.calls.of("store")}
