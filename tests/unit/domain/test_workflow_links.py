"""workflow_links: one reading of "this input names another node's output", shared by progress and the dry run."""
import pytest

from domain.workflow.check import check_workflow
from domain.workflow.links import is_link, nodes_to_run

OBJECT_INFO = {
    "Loop": {"input": {"required": {"a": ["IMAGE"]}}, "output": ["IMAGE"], "output_node": True},
}
VALUES = [
    (["1", 0], True),
    ([1, 0], True),
    (["1", True], False),
    (["1", 0.0], False),
    (["1", "0"], False),
    (["1"], False),
    (["1", 0, 0], False),
    ([], False),
    ("1", False),
    (None, False),
    ({"0": "1"}, False),
]


@pytest.mark.parametrize("value, expected", VALUES)
def test_a_link_is_a_list_of_a_node_id_and_a_whole_output_slot(value, expected):
    assert is_link(value) is expected


@pytest.mark.parametrize("value, expected", VALUES)
def test_progress_and_the_dry_run_read_the_same_values_as_links(value, expected):
    # a node whose input names its own output: only a link makes it consumed (no final node, nothing to count)
    workflow = {"1": {"class_type": "Loop", "inputs": {"a": value}}}
    progress_reads_a_link = not nodes_to_run(workflow)
    dry_run_reads_a_link = not any(
        issue.type == "bad_linked_input" and "length-2 list" in issue.message
        for issue in check_workflow(workflow, OBJECT_INFO)
    ) and isinstance(value, list)

    assert progress_reads_a_link is dry_run_reads_a_link is expected
