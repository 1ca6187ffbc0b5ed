"""Malformed and hostile UI graphs: a clear InvalidInput naming the UI node, bounded work, nothing unbounded built."""
import pytest

from domain.errors import InvalidInput
from domain.workflow import ui_links
from domain.workflow.ui_expand import MAX_NODES, MAX_SUBGRAPH_DEPTH
from domain.workflow.ui_format import convert_ui_workflow
from unit.domain.ui_graphs import UiGraph, object_info, subgraph, txt2img

LOOP = "3c1d0000-0000-4000-8000-000000000001"


def convert(workflow):
    return convert_ui_workflow(workflow, object_info(), choose=lambda n: 0)


def refused(workflow) -> str:
    with pytest.raises(InvalidInput) as caught:
        convert(workflow)
    assert len(caught.value.message) < 600
    return caught.value.message


def test_an_input_whose_link_is_missing_names_the_node_and_its_title():
    workflow = txt2img().workflow()
    workflow["links"] = [link for link in workflow["links"] if link[0] != 5]  # 7 -> KSampler.negative
    message = refused(workflow)
    assert "node 3 ('KSampler')" in message and "input 'negative'" in message and "link 5" in message


def test_a_link_from_a_node_that_is_not_there_is_refused():
    workflow = txt2img().workflow()
    workflow["links"][0][1] = 404
    message = refused(workflow)
    assert "node 6 ('CLIP Text Encode (Prompt)')" in message and "'404'" in message


@pytest.mark.parametrize("node_id", [True, None, [1], {"a": 1}, 1.5, float("inf"), "", "x" * 500])
def test_node_ids_of_other_types_are_refused(node_id):
    workflow = txt2img().workflow()
    workflow["nodes"][0]["id"] = node_id
    assert "has no valid id" in refused(workflow)


def test_a_whole_float_id_is_the_same_id():
    g = UiGraph()
    g.node(1.0, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(2, "PreviewImage")
    g.link(1.0, 0, 2, "images", "IMAGE")
    assert convert(g.workflow()).prompt["2"]["inputs"] == {"images": ["1", 0]}


@pytest.mark.parametrize("link_value", [True, [3], {"id": 3}, 2.5])
def test_input_links_of_other_types_are_refused(link_value):
    workflow = txt2img().workflow()
    workflow["nodes"][4]["inputs"][0]["link"] = link_value
    assert "node 3 ('KSampler'): input 'model' has a malformed link" in refused(workflow)


@pytest.mark.parametrize("entry", [[3], "x", {"id": 3}, [3, None, 0, 9, 0, "MODEL"], [3, 4, -1, 9, 0, "MODEL"]])
def test_malformed_link_entries_are_refused_when_used(entry):
    workflow = txt2img().workflow()
    workflow["links"] = [entry if isinstance(link, list) and link[0] == 3 else link for link in workflow["links"]]
    message = refused(workflow)
    assert message.startswith("node 3 ('KSampler') input 'model': link 3 is ")


def test_two_nodes_with_one_id_are_refused():
    workflow = txt2img().workflow()
    workflow["nodes"][1]["id"] = 4
    assert "two nodes have the id 4" in refused(workflow)


@pytest.mark.parametrize("field, value, expected", [
    ("widgets_values", "512", "'widgets_values' must be a list"),
    ("widgets_values_named", [1], "'widgets_values_named' must be an object"),
    ("inputs", {"a": 1}, "'inputs' must be a list"),
    ("inputs", [{"link": None}], "inputs[0] has no name"),
    ("outputs", "IMAGE", "'outputs' must be a list"),
    ("mode", "4", "'mode' must be a number"),
    ("type", None, "has no type"),
])
def test_malformed_node_fields_are_refused_with_the_node_named(field, value, expected):
    workflow = txt2img().workflow()
    workflow["nodes"][3][field] = value
    message = refused(workflow)
    assert expected in message and "node 5" in message


@pytest.mark.parametrize("nodes", ["x", {"1": {}}, [1]])
def test_a_nodes_list_that_is_not_a_list_of_objects_is_refused(nodes):
    refused({"nodes": nodes, "links": []})


def test_a_long_title_is_echoed_in_short():
    workflow = txt2img().workflow()
    workflow["nodes"][4]["title"] = "T" * 100_000
    workflow["links"] = [link for link in workflow["links"] if link[0] != 5]
    message = refused(workflow)
    assert "T" * 60 in message and "T" * 200 not in message and "…" in message


def self_containing_definition() -> dict:
    inner = UiGraph()
    inner.node(1, LOOP)
    return subgraph(LOOP, "Loop", inner, [], [])


def test_a_subgraph_that_contains_itself_is_refused():
    g = UiGraph()
    g.node(5, LOOP, title="Loopy")
    message = refused(g.workflow(definitions={"subgraphs": [self_containing_definition()]}))
    assert message == "node 1 ('Loop') in subgraph node 5: subgraph 'Loop' contains itself"


def test_a_muted_subgraph_node_is_not_expanded_so_its_loop_does_not_matter():
    g = UiGraph()
    g.node(5, LOOP, mode=2)
    assert convert(g.workflow(definitions={"subgraphs": [self_containing_definition()]})).prompt == {}


def chain_of_definitions(depth: int) -> list:
    definitions = []
    for level in range(depth):
        inner = UiGraph()
        if level + 1 < depth:
            inner.node(1, f"3c1d0000-0000-4000-8000-{level + 1:012d}")
        else:
            inner.node(1, "EmptyLatentImage", [64, 64, 1])
        definitions.append(subgraph(f"3c1d0000-0000-4000-8000-{level:012d}", f"Level {level}", inner, [], []))
    return definitions


def test_subgraphs_nested_to_the_limit_expand():
    g = UiGraph()
    g.node(1, "3c1d0000-0000-4000-8000-000000000000")
    result = convert(g.workflow(definitions={"subgraphs": chain_of_definitions(MAX_SUBGRAPH_DEPTH)})).prompt
    assert list(result) == [":".join(["1"] * (MAX_SUBGRAPH_DEPTH + 1))]


def test_subgraphs_nested_deeper_than_the_limit_are_refused():
    g = UiGraph()
    g.node(1, "3c1d0000-0000-4000-8000-000000000000")
    workflow = g.workflow(definitions={"subgraphs": chain_of_definitions(MAX_SUBGRAPH_DEPTH + 1)})
    assert f"nested more than {MAX_SUBGRAPH_DEPTH} deep" in refused(workflow)


def test_subgraphs_that_multiply_past_the_node_limit_are_refused_early():
    # six levels of ten instances each would be a million nodes: refused once the limit is passed
    definitions = []
    for level in range(6):
        inner = UiGraph()
        for index in range(10):
            if level < 5:
                inner.node(index, f"3c1d0000-0000-4000-8000-{level + 1:012d}")
            else:
                inner.node(index, "EmptyLatentImage", [64, 64, 1])
        definitions.append(subgraph(f"3c1d0000-0000-4000-8000-{level:012d}", "Ten", inner, [], []))
    g = UiGraph()
    g.node(1, "3c1d0000-0000-4000-8000-000000000000")
    assert f"more than {MAX_NODES:,} nodes" in refused(g.workflow(definitions={"subgraphs": definitions}))


def test_reroutes_in_a_circle_are_refused():
    g = UiGraph()
    g.node(20, "Reroute", outputs=("*",))
    g.node(21, "Reroute", outputs=("*",))
    g.node(2, "ImageInvert", outputs=("IMAGE",))
    g.link(20, 0, 21, "", "*")
    g.link(21, 0, 20, "", "*")
    g.link(21, 0, 2, "image", "IMAGE")
    message = refused(g.workflow())
    assert "node 2 ('Invert Image')" in message and "circle" in message


def test_a_long_reroute_chain_is_followed_without_recursion():
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    previous = 1
    for index in range(100, 5100):
        g.node(index, "Reroute", outputs=("*",))
        g.link(previous, 0, index, "", "IMAGE")
        previous = index
    g.node(2, "PreviewImage")
    g.link(previous, 0, 2, "images", "IMAGE")
    assert convert(g.workflow()).prompt["2"]["inputs"] == {"images": ["1", 0]}


def test_link_following_has_a_budget_for_the_whole_workflow(monkeypatch):
    monkeypatch.setattr(ui_links, "MAX_STEPS", 50)
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    previous = 1
    for index in range(100, 130):
        g.node(index, "Reroute", outputs=("*",))
        g.link(previous, 0, index, "", "IMAGE")
        previous = index
    for index in range(2, 4):
        g.node(index, "PreviewImage")
        g.link(previous, 0, index, "images", "IMAGE")
    assert "too many or too long" in refused(g.workflow())


def test_many_primitives_cost_work_in_proportion_to_the_graph(monkeypatch):
    from domain.workflow.ui_graph import UiGraph as Graph

    peeks = []
    original = Graph.peek
    monkeypatch.setattr(Graph, "peek", lambda self, link_id: peeks.append(link_id) or original(self, link_id))
    g = UiGraph()
    for index in range(2000):
        g.node(10_000 + index, "PrimitiveNode", [index], outputs=("INT",))
        g.node(index, "EmptyLatentImage", [512, 512, 1])
        g.link(10_000 + index, 0, index, "width", "INT", widget=True)
    result = convert(g.workflow()).prompt
    assert result["1999"]["inputs"]["width"] == 1999
    assert len(peeks) < 10 * 2000


def test_a_huge_widgets_values_list_costs_only_what_the_widgets_need():
    g = UiGraph()
    g.node(1, "EmptyLatentImage", [640, 480, 2] + [0] * 1_000_000)
    assert convert(g.workflow()).prompt["1"]["inputs"] == {"width": 640, "height": 480, "batch_size": 2}


def test_deeply_nested_dynamic_prompt_choices_are_refused():
    g = UiGraph()
    g.node(6, "CLIPTextEncode", ["{" * 200 + "a" + "}" * 200], title="Prompt")
    assert "node 6 ('Prompt') input 'text'" in refused(g.workflow())


def test_a_legacy_group_node_is_refused_with_a_way_out():
    g = UiGraph()
    g.node(1, "workflow>My group", [1, 2])
    message = refused(g.workflow(extra={"groupNodes": {"My group": {"nodes": []}}}))
    assert "legacy group node" in message and "subgraph" in message


def test_a_subgraph_definition_without_an_id_is_refused():
    assert "subgraph definition 0 has no id" in refused({"nodes": [], "links": [], "definitions": {"subgraphs": [{}]}})
