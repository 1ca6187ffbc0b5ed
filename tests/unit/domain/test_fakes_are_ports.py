"""The domain tests' hand-written fakes are the ports they stand for: mypy checks each annotated assignment below, and
each test checks the fake has every member of its port at run time."""
from __future__ import annotations

import pytest

from domain.ports import (
    AnswerFormat,
    ComfyApi,
    EventStream,
    ExecutionMonitor,
    ImageConverter,
    ModelStore,
    OutputSink,
    OutputSource,
)
from port_members import missing_members, port_members
from unit.domain.fake_stream import ScriptedMonitor, ScriptedStream
from unit.domain.fakes import (
    Calls,
    FakeAnswerFormat,
    FakeClock,
    FakeComfy,
    FakeConverter,
    FakeModelStore,
    InMemorySink,
    InMemorySource,
)


def fakes_as_ports() -> dict[str, tuple[type, object]]:
    """fake -> (its port, an instance held as that port)."""
    calls, clock = Calls(), FakeClock()
    stream = ScriptedStream(calls, clock)
    comfy: ComfyApi = FakeComfy(calls)
    events: EventStream = stream
    monitor: ExecutionMonitor = ScriptedMonitor(calls, stream)
    source: OutputSource = InMemorySource(calls, {})
    sink: OutputSink = InMemorySink(calls)
    inline_sink: OutputSink = InMemorySink(calls, inline=True)
    converter: ImageConverter = FakeConverter()
    answer_format: AnswerFormat = FakeAnswerFormat()
    models: ModelStore = FakeModelStore(calls, clock)
    return {
        "FakeComfy": (ComfyApi, comfy),
        "ScriptedStream": (EventStream, events),
        "ScriptedMonitor": (ExecutionMonitor, monitor),
        "InMemorySource": (OutputSource, source),
        "InMemorySink": (OutputSink, sink),
        "InMemorySink(inline=True)": (OutputSink, inline_sink),
        "FakeConverter": (ImageConverter, converter),
        "FakeAnswerFormat": (AnswerFormat, answer_format),
        "FakeModelStore": (ModelStore, models),
    }


@pytest.mark.parametrize("fake", list(fakes_as_ports()))
def test_the_fake_has_every_member_of_its_port(fake: str) -> None:
    port, instance = fakes_as_ports()[fake]
    assert not missing_members(instance, port), f"{fake} is not a {port.__name__}"


def test_the_members_counted_are_the_ports_own_including_its_attributes() -> None:
    assert port_members(OutputSink) == {"inline", "name", "store"}
    assert port_members(ComfyApi) == {"version", "wait_until_ready", "ensure_alive", "upload_input", "queue_prompt",
                                      "prompt_state", "history", "object_info", "model_folders", "node_replacements",
                                      "cancel"}
    assert missing_members(object(), EventStream) == ["next_event", "reopen"]
