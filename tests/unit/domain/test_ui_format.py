"""The UI-to-API conversion on hand-made graphs: widget mapping, mute, bypass, primitives, reroutes."""
import random
from datetime import datetime

import pytest

from domain.workflow.ui_format import convert_ui_workflow, is_ui_workflow
from unit.domain.ui_graphs import UiGraph, object_info, txt2img


def convert(graph, info=None, **options):
    workflow = graph.workflow() if isinstance(graph, UiGraph) else graph
    return convert_ui_workflow(workflow, info or object_info(), choose=options.pop("choose", lambda n: 0), **options)


def prompt(graph, info=None, **options):
    return convert(graph, info, **options).prompt


def test_the_default_graph_converts_as_the_editor_exports_it():
    assert prompt(txt2img()) == {
        "4": {"inputs": {"ckpt_name": "model.safetensors"}, "class_type": "CheckpointLoaderSimple",
              "_meta": {"title": "Load Checkpoint"}},
        "6": {"inputs": {"text": "a cat", "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
              "_meta": {"title": "CLIP Text Encode (Prompt)"}},
        "7": {"inputs": {"text": "text, watermark", "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
              "_meta": {"title": "CLIP Text Encode (Prompt)"}},
        "5": {"inputs": {"width": 512, "height": 512, "batch_size": 1}, "class_type": "EmptyLatentImage",
              "_meta": {"title": "Empty Latent Image"}},
        "3": {"inputs": {"seed": 42, "steps": 20, "cfg": 8, "sampler_name": "euler", "scheduler": "normal",
                         "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                         "latent_image": ["5", 0]},
              "class_type": "KSampler", "_meta": {"title": "KSampler"}},
        "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]}, "class_type": "VAEDecode",
              "_meta": {"title": "VAE Decode"}},
        "9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}, "class_type": "SaveImage",
              "_meta": {"title": "Save Image"}},
    }


def test_a_saved_title_names_the_node_and_a_class_without_display_name_uses_its_name():
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], title="My photo", outputs=("IMAGE", "MASK"))
    g.node(2, "ImageBlur", [3, 0.5], outputs=("IMAGE",))
    g.link(1, 0, 2, "image", "IMAGE")
    result = prompt(g)
    assert result["1"]["_meta"] == {"title": "My photo"}
    assert result["2"]["_meta"] == {"title": "ImageBlur"}


def test_is_ui_workflow_tells_the_editor_format_from_the_api_format():
    assert is_ui_workflow(txt2img().workflow())
    assert not is_ui_workflow(prompt(txt2img()))
    assert not is_ui_workflow({"nodes": {"class_type": "SaveImage", "inputs": {}}, "links": {"class_type": "X"}})
    assert not is_ui_workflow({"nodes": []})
    assert not is_ui_workflow('{"nodes": [], "links": []}')
    assert not is_ui_workflow(None)


# --- widgets and their companions ---


def test_a_seed_control_value_is_skipped_and_never_sent():
    g = UiGraph()
    g.node(1, "KSampler", [7, "fixed", 3, 4.5, "dpmpp_2m", "karras", 0.5])
    assert prompt(g)["1"]["inputs"] == {"seed": 7, "steps": 3, "cfg": 4.5, "sampler_name": "dpmpp_2m",
                                        "scheduler": "karras", "denoise": 0.5}


def test_a_legacy_boolean_control_value_still_takes_the_control_slot():
    # workflows saved before control_after_generate had modes stored true/false there (the editor reads them)
    g = UiGraph()
    g.node(1, "KSampler", [156680208700286, True, 20, 8, "euler", "normal", 1])
    inputs = prompt(g)["1"]["inputs"]
    assert (inputs["seed"], inputs["steps"], inputs["cfg"], inputs["sampler_name"]) == (156680208700286, 20, 8, "euler")


def test_the_oldest_saves_sampler_names_lose_their_sample_prefix():
    g = UiGraph()
    g.node(1, "KSampler", [1, "fixed", 20, 8, "sample_euler_ancestral", "normal", 1])
    assert prompt(g)["1"]["inputs"]["sampler_name"] == "euler_ancestral"


def test_a_combo_with_control_after_generate_has_a_control_and_a_filter_list_after_it():
    g = UiGraph()
    g.node(1, "PickStyle", ["anime", "increment", "ani", 0.75])
    assert prompt(g)["1"]["inputs"] == {"style": "anime", "strength": 0.75}


def test_an_upload_button_value_is_skipped_and_never_sent():
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    assert prompt(g)["1"]["inputs"] == {"image": "cat.png"}


def test_a_remote_combo_has_its_refresh_widgets_and_an_output_file_is_annotated():
    g = UiGraph()
    g.node(1, "LoadImageOutput", ["ComfyUI_00001_.png", False, "refresh", "image"])
    g.node(2, "LoadImageOutput", ["ComfyUI_00002_.png [output]", False, "refresh", "image"])
    result = prompt(g)
    assert result["1"]["inputs"] == {"image": "ComfyUI_00001_.png [output]"}
    assert result["2"]["inputs"] == {"image": "ComfyUI_00002_.png [output]"}


def test_widgets_missing_from_the_save_take_the_definitions_defaults():
    g = UiGraph()
    g.node(1, "KSampler", [5, "fixed", 10])
    g.node(2, "EmptyLatentImage")
    result = prompt(g)
    assert result["1"]["inputs"] == {"seed": 5, "steps": 10, "cfg": 8.0, "sampler_name": "euler",
                                     "scheduler": "simple", "denoise": 1.0}
    assert result["2"]["inputs"] == {"width": 512, "height": 512, "batch_size": 1}


def test_extra_saved_values_are_ignored():
    g = UiGraph()
    g.node(1, "ImageInvert", ["left over", 3])
    assert prompt(g)["1"]["inputs"] == {}


def test_array_values_are_wrapped_so_comfyui_does_not_read_them_as_links():
    g = UiGraph()
    g.node(1, "ListSizes", [[512, 768], "two"])
    g.node(2, "ListSizes", [["3", 0], "looks like a link"])
    result = prompt(g)
    assert result["1"]["inputs"] == {"sizes": {"__value__": [512, 768]}, "label": "two"}
    assert result["2"]["inputs"]["sizes"] == {"__value__": ["3", 0]}


def test_a_widget_turned_into_an_input_keeps_its_slot_and_the_link_wins():
    g = UiGraph()
    g.node(1, "PrimitiveInt", [12, "fixed"], outputs=("INT",))
    g.node(2, "KSampler", [42, "randomize", 20, 6.5, "euler", "karras", 0.8])
    g.link(1, 0, 2, "steps", "INT", widget=True)
    assert prompt(g)["2"]["inputs"] == {"seed": 42, "steps": ["1", 0], "cfg": 6.5, "sampler_name": "euler",
                                        "scheduler": "karras", "denoise": 0.8}


def test_widgets_values_named_wins_over_positions():
    g = UiGraph()
    g.node(1, "KSampler", [1, "fixed", 2, 3.0, "euler", "simple", 1.0],
           widgets_values_named={"seed": 99, "control_after_generate": "fixed", "steps": 30, "cfg": 7.5,
                                 "sampler_name": "dpmpp_2m", "scheduler": "karras", "denoise": 0.25})
    g.node(2, "EmptyLatentImage", [512, 512, 1], widgets_values_named={"height": 768})
    result = prompt(g)
    assert result["1"]["inputs"] == {"seed": 99, "steps": 30, "cfg": 7.5, "sampler_name": "dpmpp_2m",
                                     "scheduler": "karras", "denoise": 0.25}
    assert result["2"]["inputs"] == {"width": 512, "height": 768, "batch_size": 1}


def test_values_saved_by_name_are_read_by_name():
    g = UiGraph()
    g.node(1, "EmptyLatentImage", {"batch_size": 4, "width": 640, "unknown": 1})
    assert prompt(g)["1"]["inputs"] == {"width": 640, "height": 512, "batch_size": 4}


def test_an_old_save_keeps_a_value_for_a_force_input_widget_and_it_is_dropped():
    # before frontend 1.16 a forceInput input still had a widget value (a seed: and its control value); a list
    # of the old length is migrated (the editor leaves the control value in and shifts the rest: not copied)
    g = UiGraph()
    g.node(1, "TextWithForcedSeed", ["hello", 123, "randomize", 5])
    g.node(2, "TextWithForcedSeed", ["hello", 5])
    result = prompt(g)
    assert result["1"]["inputs"] == {"text": "hello", "count": 5}
    assert result["2"]["inputs"] == {"text": "hello", "count": 5}


def test_a_class_this_comfyui_lacks_is_sent_with_its_linked_inputs_only():
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(2, "FancyUpscaler", [4, "lanczos"], title="Upscale x4", outputs=("IMAGE",))
    g.node(3, "SaveImage", ["out"])
    g.link(1, 0, 2, "image", "IMAGE")
    g.link(2, 0, 3, "images", "IMAGE")
    result = prompt(g)
    assert result["2"] == {"inputs": {"image": ["1", 0]}, "class_type": "FancyUpscaler",
                           "_meta": {"title": "Upscale x4"}}
    assert result["3"]["inputs"]["images"] == ["2", 0]


# --- the editor's own nodes: notes, primitives, reroutes ---


def test_notes_are_not_sent():
    g = txt2img()
    g.node(20, "Note", ["remember to change the prompt"])
    g.node(21, "MarkdownNote", ["# Models"])
    assert set(prompt(g)) == {"3", "4", "5", "6", "7", "8", "9"}


def test_a_primitive_value_goes_into_every_target_over_their_stale_saved_values():
    g = UiGraph()
    g.node(10, "PrimitiveNode", [640, "fixed"], outputs=("INT",))
    g.node(1, "EmptyLatentImage", [512, 512, 1])
    g.node(2, "ImageScale", ["bilinear", 100, 200, "disabled"])
    g.link(10, 0, 1, "width", "INT", widget=True)
    g.link(10, 0, 1, "height", "INT", widget=True)
    g.link(10, 0, 2, "width", "INT", widget=True)
    result = prompt(g)
    assert "10" not in result
    assert result["1"]["inputs"] == {"width": 640, "height": 640, "batch_size": 1}
    assert result["2"]["inputs"] == {"upscale_method": "bilinear", "width": 640, "height": 200, "crop": "disabled"}


def test_a_primitive_without_a_saved_value_takes_its_first_targets_value():
    g = UiGraph()
    g.node(10, "PrimitiveNode", outputs=("INT",))
    g.node(1, "EmptyLatentImage", [320, 512, 1])
    g.node(2, "EmptyLatentImage", [999, 512, 1])
    g.link(10, 0, 1, "width", "INT", widget=True)
    g.link(10, 0, 2, "width", "INT", widget=True)
    result = prompt(g)
    assert result["1"]["inputs"]["width"] == 320
    assert result["2"]["inputs"]["width"] == 320


def test_a_muted_primitive_still_gives_its_value():
    # graphToPrompt applies every virtual node's value, whatever its mode
    g = UiGraph()
    g.node(10, "PrimitiveNode", ["a dog"], mode=2, outputs=("STRING",))
    g.node(1, "CLIPTextEncode", ["a cat"])
    g.link(10, 0, 1, "text", "STRING", widget=True)
    assert prompt(g)["1"]["inputs"] == {"text": "a dog"}


def test_a_primitive_list_value_is_wrapped():
    g = UiGraph()
    g.node(10, "PrimitiveNode", [[1, 2]], outputs=("INT",))
    g.node(1, "ListSizes", [[8, 8], "x"])
    g.link(10, 0, 1, "sizes", "INT", widget=True)
    assert prompt(g)["1"]["inputs"]["sizes"] == {"__value__": [1, 2]}


def test_a_reroute_chain_passes_the_link_through():
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(20, "Reroute", outputs=("*",))
    g.node(21, "Reroute", outputs=("*",))
    g.node(22, "Reroute", outputs=("*",))
    g.node(2, "ImageInvert", outputs=("IMAGE",))
    g.node(3, "PreviewImage")
    g.link(1, 0, 20, "", "IMAGE")
    g.link(20, 0, 21, "", "IMAGE")
    g.link(21, 0, 22, "", "IMAGE")
    g.link(22, 0, 2, "image", "IMAGE")
    g.link(21, 0, 3, "images", "IMAGE")
    result = prompt(g)
    assert set(result) == {"1", "2", "3"}
    assert result["2"]["inputs"] == {"image": ["1", 0]}
    assert result["3"]["inputs"] == {"images": ["1", 0]}


def test_a_reroute_with_nothing_in_gives_nothing():
    g = UiGraph()
    g.node(20, "Reroute", outputs=("*",))
    g.node(2, "ImageInvert", outputs=("IMAGE",))
    g.link(20, 0, 2, "image", "IMAGE")
    assert prompt(g)["2"]["inputs"] == {}


# --- mute and bypass ---


def test_a_muted_node_is_not_sent_and_links_from_it_are_dropped():
    g = txt2img()
    g.find(8)["mode"] = 2
    result = prompt(g)
    assert "8" not in result
    assert result["9"]["inputs"] == {"filename_prefix": "ComfyUI"}


def test_a_widget_input_linked_from_a_muted_node_is_left_out_entirely():
    # the editor writes the link over the widget value, then drops links to nodes it does not send
    g = UiGraph()
    g.node(1, "PrimitiveInt", [64, "fixed"], mode=2, outputs=("INT",))
    g.node(2, "EmptyLatentImage", [512, 512, 1])
    g.link(1, 0, 2, "width", "INT", widget=True)
    assert prompt(g)["2"]["inputs"] == {"height": 512, "batch_size": 1}


def test_a_bypassed_node_passes_the_input_in_the_same_slot_on():
    g = txt2img()
    g.node(30, "LoraLoader", ["lora.safetensors", 0.5, 0.5], mode=4, outputs=("MODEL", "CLIP"))
    g.link(4, 0, 30, "model", "MODEL")
    g.link(4, 1, 30, "clip", "CLIP")
    g.link(30, 0, 3, "model", "MODEL")
    g.link(30, 1, 6, "clip", "CLIP")
    result = prompt(g)
    assert "30" not in result
    assert result["3"]["inputs"]["model"] == ["4", 0]
    assert result["6"]["inputs"]["clip"] == ["4", 1]


def test_a_bypassed_node_passes_the_input_of_the_matching_type_when_the_slot_differs():
    g = UiGraph()
    g.node(1, "EmptyLatentImage", [64, 64, 1], outputs=("LATENT",))
    g.node(2, "CheckpointLoaderSimple", ["model.safetensors"], outputs=("MODEL", "CLIP", "VAE"))
    g.node(3, "KSampler", [1, "fixed", 1, 1, "euler", "simple", 1], mode=4, outputs=("LATENT",))
    g.node(4, "VAEDecode", outputs=("IMAGE",))
    g.link(2, 0, 3, "model", "MODEL")
    g.link(1, 0, 3, "latent_image", "LATENT")
    g.link(3, 0, 4, "samples", "LATENT")
    g.link(2, 2, 4, "vae", "VAE")
    assert prompt(g)["4"]["inputs"] == {"samples": ["1", 0], "vae": ["2", 2]}


def test_a_bypassed_node_without_an_input_of_the_matching_type_passes_nothing():
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(2, "CheckpointLoaderSimple", ["model.safetensors"], outputs=("MODEL", "CLIP", "VAE"))
    g.node(3, "VAEEncode", mode=4, outputs=("LATENT",))
    g.node(4, "VAEDecode", outputs=("IMAGE",))
    g.link(1, 0, 3, "pixels", "IMAGE")
    g.link(2, 2, 3, "vae", "VAE")
    g.link(3, 0, 4, "samples", "LATENT")
    g.link(2, 2, 4, "vae", "VAE")
    assert prompt(g)["4"]["inputs"] == {"vae": ["2", 2]}


def test_a_widget_fed_by_a_bypassed_node_without_a_match_keeps_its_own_value():
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(2, "ImageInvert", mode=4, outputs=("IMAGE",))
    g.node(3, "EmptyLatentImage", [512, 256, 1])
    g.link(1, 0, 2, "image", "IMAGE")
    g.link(2, 0, 3, "width", "INT", widget=True)
    assert prompt(g)["3"]["inputs"] == {"width": 512, "height": 256, "batch_size": 1}


def test_bypassed_nodes_in_a_row_and_a_reroute_between_them_are_walked_through():
    g = UiGraph()
    g.node(1, "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(2, "ImageInvert", mode=4, outputs=("IMAGE",))
    g.node(20, "Reroute", outputs=("*",))
    g.node(3, "ImageBlur", [2, 1.0], mode=4, outputs=("IMAGE",))
    g.node(4, "PreviewImage")
    g.link(1, 0, 2, "image", "IMAGE")
    g.link(2, 0, 20, "", "IMAGE")
    g.link(20, 0, 3, "image", "IMAGE")
    g.link(3, 0, 4, "images", "IMAGE")
    assert prompt(g) == {
        "1": {"inputs": {"image": "cat.png"}, "class_type": "LoadImage", "_meta": {"title": "Load Image"}},
        "4": {"inputs": {"images": ["1", 0]}, "class_type": "PreviewImage", "_meta": {"title": "Preview Image"}},
    }


def test_a_bypassed_node_keeps_the_saved_outputs_its_definition_lacks():
    # PreviewAny has no outputs in 0.3.64 but newer editors save one; the editor keeps saved outputs past the
    # definition's, so a bypassed PreviewAny still passes its input on
    g = UiGraph()
    g.node(1, "StringConcatenate", ["a", "b", " "], outputs=("STRING",))
    g.node(2, "PreviewAny", mode=4, outputs=("STRING",))
    g.node(3, "CLIPTextEncode", ["unused"])
    g.link(1, 0, 2, "source", "*")
    g.link(2, 0, 3, "text", "STRING", widget=True)
    assert prompt(g)["3"]["inputs"] == {"text": ["1", 0]}


# --- what the editor does to values as it queues ---


def test_dynamic_prompts_choose_one_option_and_drop_comments():
    g = UiGraph()
    g.node(1, "CLIPTextEncode", ["a {red|green|blue} {cat|dog} // a comment\n/* note */on a \\{mat\\}"])
    g.node(2, "StringConcatenate", ["{kept|as is}", "b", ""])
    picks = iter([2, 1])
    result = prompt(g, choose=lambda n: next(picks))
    assert result["1"]["inputs"]["text"] == "a blue dog \non a {mat}"
    assert result["2"]["inputs"]["string_a"] == "{kept|as is}"  # no dynamicPrompts on this input


def test_nested_dynamic_prompts_are_resolved_inside_the_chosen_option():
    g = UiGraph()
    g.node(1, "CLIPTextEncode", ["{a {big|small} cat|a dog}"])
    chooser = random.Random(3)
    text = prompt(g, choose=chooser.randrange)["1"]["inputs"]["text"]
    assert text in {"a big cat", "a small cat", "a dog"}
    assert prompt(g, choose=lambda n: 0)["1"]["inputs"]["text"] == "a big cat"


def test_a_save_nodes_file_name_prefix_gets_the_date_and_other_widgets_values():
    g = txt2img(seed=1234)
    g.find(9)["widgets_values"] = ["%date:yyyy-MM-dd_hh%/%KSampler.seed%_%Unknown.x%_%width%"]
    result = prompt(g, now=lambda: datetime(2025, 3, 7, 9, 5))
    assert result["9"]["inputs"]["filename_prefix"] == "2025-03-07_09/1234_%Unknown.x%_%width%"


def test_a_primitive_with_replacements_on_replaces_before_giving_its_value():
    g = txt2img()
    g.node(10, "PrimitiveNode", ["shots/%date:yy%"], outputs=("STRING",),
           properties={"Run widget replace on values": True})
    g.link(10, 0, 9, "filename_prefix", "STRING", widget=True)
    assert prompt(g, now=lambda: datetime(2031, 1, 2))["9"]["inputs"]["filename_prefix"] == "shots/31"


@pytest.mark.parametrize("ids", [[1, 2], ["a", "b"]])
def test_node_ids_may_be_numbers_or_text(ids):
    g = UiGraph()
    g.node(ids[0], "LoadImage", ["cat.png", "image"], outputs=("IMAGE", "MASK"))
    g.node(ids[1], "PreviewImage")
    g.link(ids[0], 0, ids[1], "images", "IMAGE")
    assert prompt(g)[str(ids[1])]["inputs"] == {"images": [str(ids[0]), 0]}


def test_the_workflow_package_imports_only_the_standard_library_and_the_domain():
    import ast
    import pathlib
    import sys

    package = pathlib.Path(__file__).resolve().parents[3] / "src" / "domain" / "workflow"
    allowed = set(sys.stdlib_module_names) | {"domain", "__future__"}
    for path in sorted(package.glob("*.py")):
        tree = ast.parse(path.read_text())
        roots = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for alias in node.names}
        roots |= {node.module.split(".")[0] for node in ast.walk(tree)
                  if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module}
        assert roots <= allowed and "os" not in roots, path.name
