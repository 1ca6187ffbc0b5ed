"""Subgraphs: expansion with "outer:inner" ids, promoted widgets, nesting, muted and bypassed subgraph nodes."""
from domain.workflow.ui_format import convert_ui_workflow
from unit.domain.ui_graphs import UiGraph, object_info, subgraph

SCALE = "2b0f3a0e-0000-4000-8000-000000000001"
PAIR = "2b0f3a0e-0000-4000-8000-000000000002"
WRAPPER = "2b0f3a0e-0000-4000-8000-000000000003"


def _inner_graph() -> UiGraph:
    """A graph whose links may start at -10 or end at -20 (the subgraph's input and output sides)."""
    graph = UiGraph()
    graph.node(-10, "io")
    graph.node(-20, "io")
    return graph


def scale_graph(widgets=(1024,), **instance) -> UiGraph:
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(5, SCALE, list(widgets), title="Upscale", outputs=("IMAGE",), **instance)
    g.node(9, "PreviewImage")
    g.link(1, 0, 5, "image", "IMAGE")
    g.link(5, 0, 9, "images", "IMAGE")
    return g


def convert(graph, definitions, **options):
    workflow = graph.workflow(definitions={"subgraphs": definitions})
    return convert_ui_workflow(workflow, object_info(), choose=lambda n: 0, **options)


def build_scale_definition() -> dict:
    inner = _inner_graph()
    inner.node(1, "ImageScale", ["area", 512, 256, "center"], title="Scale it", outputs=("IMAGE",))
    inner.link(-10, 0, 1, "image", "IMAGE")
    inner.link(-10, 1, 1, "width", "INT", widget=True)
    inner.link(1, 0, -20, "IMAGE", "IMAGE")
    inner.nodes = [n for n in inner.nodes if n["id"] not in (-10, -20)]
    return subgraph(SCALE, "Scale", inner, [("image", "IMAGE", [1]), ("width", "INT", [2])], [("IMAGE", "IMAGE", [3])])


def test_a_subgraph_node_is_expanded_with_outer_inner_ids_and_its_promoted_widget_applies():
    result = convert(scale_graph(), [build_scale_definition()]).prompt
    assert set(result) == {"1", "5:1", "9"}
    assert result["5:1"] == {"inputs": {"upscale_method": "area", "width": 1024, "height": 256, "crop": "center",
                                        "image": ["1", 0]},
                             "class_type": "ImageScale", "_meta": {"title": "Scale it"}}
    assert result["9"]["inputs"] == {"images": ["5:1", 0]}


def test_the_origin_of_an_inner_node_names_the_subgraph_node_too():
    conversion = convert(scale_graph(), [build_scale_definition()])
    origin = conversion.origins["5:1"]
    assert (origin.ui_path, origin.titles, origin.ui_id, origin.title) == (("5", "1"), ("Upscale", "Scale it"), "5:1",
                                                                           "Scale it")
    assert origin.describe() == "node 5:1 ('Scale it', in subgraph node 5 'Upscale')"
    assert conversion.origins["9"].describe() == "node 9 ('Preview Image')"


def test_without_a_saved_value_the_inner_widgets_own_value_is_used():
    result = convert(scale_graph(widgets=()), [build_scale_definition()]).prompt
    assert result["5:1"]["inputs"]["width"] == 512


def test_a_promoted_value_saved_by_name_wins():
    g = scale_graph(widgets_values_named={"width": 2048})
    assert convert(g, [build_scale_definition()]).prompt["5:1"]["inputs"]["width"] == 2048


def test_a_link_into_a_promoted_input_wins_over_its_value():
    g = scale_graph()
    g.node(2, "PrimitiveInt", [300, "fixed"], outputs=("INT",))
    g.link(2, 0, 5, "width", "INT", widget=True)
    assert convert(g, [build_scale_definition()]).prompt["5:1"]["inputs"]["width"] == ["2", 0]


def test_a_primitive_feeding_a_promoted_input_gives_its_value_inside():
    g = scale_graph()
    g.node(10, "PrimitiveNode", [777, "fixed"], outputs=("INT",))
    g.link(10, 0, 5, "width", "INT", widget=True)
    assert convert(g, [build_scale_definition()]).prompt["5:1"]["inputs"]["width"] == 777


def test_two_instances_of_one_definition_keep_their_own_values():
    g = scale_graph()
    g.node(6, SCALE, [64], outputs=("IMAGE",))
    g.link(5, 0, 6, "image", "IMAGE")
    result = convert(g, [build_scale_definition()]).prompt
    assert (result["5:1"]["inputs"]["width"], result["6:1"]["inputs"]["width"]) == (1024, 64)
    assert result["6:1"]["inputs"]["image"] == ["5:1", 0]


def test_a_muted_subgraph_node_runs_nothing_inside_and_its_consumers_lose_the_link():
    result = convert(scale_graph(mode=2), [build_scale_definition()]).prompt
    assert set(result) == {"1", "9"}
    assert result["9"]["inputs"] == {}


def test_a_bypassed_subgraph_node_passes_its_matching_input_on():
    result = convert(scale_graph(mode=4), [build_scale_definition()]).prompt
    assert set(result) == {"1", "9"}
    assert result["9"]["inputs"] == {"images": ["1", 0]}


def test_nodes_muted_or_bypassed_inside_a_subgraph_follow_the_same_rules():
    definition = build_scale_definition()
    definition["nodes"][0]["mode"] = 4
    result = convert(scale_graph(), [definition]).prompt
    assert set(result) == {"1", "9"}
    assert result["9"]["inputs"] == {"images": ["1", 0]}


def pair_definition() -> dict:
    """Inside: an instance of Scale (id 3) then ImageInvert (id 4); the Scale width promoted once more."""
    inner = _inner_graph()
    inner.node(3, SCALE, [100], title="Inner scale", outputs=("IMAGE",))
    inner.node(4, "ImageInvert", outputs=("IMAGE",))
    inner.link(-10, 0, 3, "image", "IMAGE")  # 1
    inner.link(-10, 1, 3, "width", "INT", widget=True)  # 2
    inner.link(3, 0, 4, "image", "IMAGE")  # 3
    inner.link(4, 0, -20, "IMAGE", "IMAGE")  # 4
    inner.nodes = [n for n in inner.nodes if n["id"] not in (-10, -20)]
    return subgraph(PAIR, "Pair", inner, [("image", "IMAGE", [1]), ("size", "INT", [2])], [("IMAGE", "IMAGE", [4])])


def pair_graph(widgets=(4096,)) -> UiGraph:
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(7, PAIR, list(widgets), title="Scale and invert", outputs=("IMAGE",))
    g.node(9, "PreviewImage")
    g.link(1, 0, 7, "image", "IMAGE")
    g.link(7, 0, 9, "images", "IMAGE")
    return g


def test_nested_subgraphs_get_one_id_part_per_level_and_promoted_values_reach_the_innermost_widget():
    conversion = convert(pair_graph(), [pair_definition(), build_scale_definition()])
    result = conversion.prompt
    assert set(result) == {"1", "7:3:1", "7:4", "9"}
    assert result["7:3:1"]["inputs"] == {"upscale_method": "area", "width": 4096, "height": 256, "crop": "center",
                                         "image": ["1", 0]}
    assert result["7:4"]["inputs"] == {"image": ["7:3:1", 0]}
    assert result["9"]["inputs"] == {"images": ["7:4", 0]}
    assert conversion.origins["7:3:1"].titles == ("Scale and invert", "Inner scale", "Scale it")


def test_a_nested_subgraph_nodes_own_value_stands_when_the_outer_one_saved_none():
    result = convert(pair_graph(widgets=()), [pair_definition(), build_scale_definition()]).prompt
    assert result["7:3:1"]["inputs"]["width"] == 100


def test_a_subgraph_input_wired_straight_to_an_output_passes_through():
    inner = _inner_graph()
    inner.link(-10, 0, -20, "IMAGE", "IMAGE")  # 1
    inner.nodes = []
    definition = subgraph(WRAPPER, "Pass", inner, [("image", "IMAGE", [1])], [("IMAGE", "IMAGE", [1])])
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(5, WRAPPER, outputs=("IMAGE",))
    g.node(9, "PreviewImage")
    g.link(1, 0, 5, "image", "IMAGE")
    g.link(5, 0, 9, "images", "IMAGE")
    assert convert(g, [definition]).prompt["9"]["inputs"] == {"images": ["1", 0]}


def test_one_subgraph_input_feeding_a_widget_and_a_socket_gives_both_the_promoted_value():
    inner = _inner_graph()
    inner.node(1, "EmptyLatentImage", [512, 512, 1], outputs=("LATENT",))
    inner.node(2, "FancyNode", outputs=("LATENT",))  # a class this ComfyUI lacks: a socket for the value
    inner.link(-10, 0, 1, "width", "INT", widget=True)  # 1
    inner.link(-10, 0, 2, "size", "INT")  # 2
    inner.nodes = [n for n in inner.nodes if n["id"] not in (-10, -20)]
    definition = subgraph(WRAPPER, "Sizes", inner, [("size", "INT", [1, 2])], [])
    g = UiGraph()
    g.node(5, WRAPPER, [832])
    result = convert(g, [definition]).prompt
    assert result["5:1"]["inputs"]["width"] == 832
    assert result["5:2"]["inputs"] == {"size": 832}


def test_a_subgraph_output_whose_link_is_gone_gives_nothing():
    definition = build_scale_definition()
    definition["outputs"][0]["linkIds"] = [99]
    result = convert(scale_graph(), [definition]).prompt
    assert result["9"]["inputs"] == {}


def test_a_widget_of_a_class_this_comfyui_lacks_still_counts_as_promoted():
    # the saved input says it is a widget: its value keeps its place, so the next promoted value lands right
    inner = _inner_graph()
    inner.node(1, "FancyNode", outputs=("LATENT",))
    inner.node(2, "EmptyLatentImage", [512, 512, 1], outputs=("LATENT",))
    inner.link(-10, 0, 1, "strength", "FLOAT", widget=True)  # 1
    inner.link(-10, 1, 2, "width", "INT", widget=True)  # 2
    inner.nodes = [n for n in inner.nodes if n["id"] not in (-10, -20)]
    definition = subgraph(WRAPPER, "Mixed", inner, [("strength", "FLOAT", [1]), ("width", "INT", [2])], [])
    g = UiGraph()
    g.node(5, WRAPPER, [0.25, 1024])
    result = convert(g, [definition]).prompt
    assert result["5:1"]["inputs"] == {"strength": 0.25}
    assert result["5:2"]["inputs"]["width"] == 1024


def test_a_promoted_widget_of_a_class_this_comfyui_lacks_leaves_the_other_widgets_their_own_values():
    # one subgraph input feeds a widget of a missing class first (the promoted one), then a known class's widget;
    # with no value saved on the subgraph node, the known widget keeps its own
    inner = _inner_graph()
    inner.node(1, "FancyLoader", outputs=("MODEL",))
    inner.node(2, "CheckpointLoaderSimple", ["model.safetensors"], outputs=("MODEL", "CLIP", "VAE"))
    inner.link(-10, 0, 1, "ckpt_name", "COMBO", widget=True)  # 1
    inner.link(-10, 0, 2, "ckpt_name", "COMBO", widget=True)  # 2
    inner.nodes = [n for n in inner.nodes if n["id"] not in (-10, -20)]
    definition = subgraph(WRAPPER, "Loaders", inner, [("ckpt_name", "COMBO", [1, 2])], [])
    g = UiGraph()
    g.node(5, WRAPPER, [])
    result = convert(g, [definition]).prompt
    assert result["5:2"]["inputs"] == {"ckpt_name": "model.safetensors"}
    assert result["5:1"]["inputs"] == {}
