"""workflow_links: one reading of "this input names another node's output", shared by progress and the dry run."""
import pytest

from domain.workflow.check import check_workflow
from domain.workflow.links import is_link, link_cycle, nodes_to_run

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


def _linked(*edges: tuple) -> dict:
    """A workflow of nodes whose input `in<n>` links to each source given: (node, source), ..."""
    workflow: dict = {}
    for node, source in edges:
        workflow.setdefault(node, {"class_type": "X", "inputs": {}})
        workflow.setdefault(source, {"class_type": "X", "inputs": {}})
        inputs = workflow[node]["inputs"]
        inputs[f"in{len(inputs)}"] = [source, 0]
    return workflow


@pytest.mark.parametrize("edges, cycle", [
    ([("1", "2"), ("2", "1"), ("3", "2")], ["1", "2", "1"]),
    ([("1", "1")], ["1", "1"]),
    ([("3", "2"), ("2", "4"), ("4", "5"), ("5", "2")], ["2", "4", "5", "2"]),
    ([("2", "1"), ("3", "1"), ("3", "2")], []),  # a diamond is no cycle
    ([("10:2", "10:1"), ("10:1", "10:2")], ["10:2", "10:1", "10:2"]),
])
def test_a_cycle_of_links_is_found_with_its_nodes(edges, cycle):
    assert link_cycle(_linked(*edges)) == cycle


def test_a_long_chain_is_walked_without_recursion():
    chain = _linked(*((str(n), str(n + 1)) for n in range(50_000)))
    assert link_cycle(chain) == []
    assert link_cycle({**chain, "50000": {"class_type": "X", "inputs": {"a": ["0", 0]}}})[-1] == "0"
