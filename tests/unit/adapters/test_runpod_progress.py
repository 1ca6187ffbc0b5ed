"""Progress reporting to RunPod is throttled per node but never misses a node change."""
from adapters.runpod_progress import RunpodProgressReporter
from domain.model import Progress


def test_sends_each_new_node_and_throttles_steps_within_a_node():
    sent = []
    report = RunpodProgressReporter({"id": "j"}, min_interval_s=3600, send=lambda job, payload: sent.append(payload))
    for node, value in (("5", 1), ("5", 2), ("5", 3), ("6", 1), ("6", 2)):
        report(Progress("p", node, value, 3))
    assert sent == [{"node": "5", "value": 1, "max": 3}, {"node": "6", "value": 1, "max": 3}]


def test_sends_every_step_when_the_interval_allows():
    sent = []
    report = RunpodProgressReporter({"id": "j"}, min_interval_s=0, send=lambda job, payload: sent.append(payload))
    for value in (1, 2, 3):
        report(Progress("p", "5", value, 3))
    assert [p["value"] for p in sent] == [1, 2, 3]
