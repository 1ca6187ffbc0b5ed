"""Node ids are any JSON key: they sort without int() failing on Unicode digits or on very long numbers."""
from domain.workflow.check import check_workflow
from domain.workflow.node_ids import node_order

INFO = {
    "EmptyImage": {"input": {"required": {"width": ["INT", {"min": 1}]}}, "output": ["IMAGE"]},
    "PreviewImage": {"input": {"required": {"images": ["IMAGE"]}}, "output": [], "output_node": True},
}


def test_numbers_sort_by_value_then_other_ids_by_text():
    ids = ["10", "9", "a", "2:10", "2:3", "09", "", "\u00b2", "\u2460", "1" * 5000, "0"]
    assert sorted(ids, key=node_order) == ["0", "2:3", "2:10", "09", "9", "10", "1" * 5000, "", "a", "\u00b2", "\u2460"]


def test_unicode_digit_ids_are_text():
    # str.isdigit() is true for these, int() refuses them
    for node_id in ("\u00b2", "\u2460", "\u0663"):
        assert node_order(node_id) > node_order("99999")


def test_validation_issues_of_unicode_digit_nodes_sort():
    workflow = {
        "\u00b2": {"class_type": "EmptyImage", "inputs": {"width": 0}},
        "\u2460": {"class_type": "EmptyImage", "inputs": {"width": 0}},
        "7": {"class_type": "EmptyImage", "inputs": {"width": 0}},
        "out": {"class_type": "PreviewImage", "inputs": {"images": ["\u00b2", 0]}},
        "out2": {"class_type": "PreviewImage", "inputs": {"images": ["\u2460", 0]}},
        "out3": {"class_type": "PreviewImage", "inputs": {"images": ["7", 0]}},
    }
    issues = check_workflow(workflow, INFO)
    assert [issue.node_id for issue in issues] == ["7", "\u00b2", "\u2460"]
