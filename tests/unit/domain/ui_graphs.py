"""Hand-made UI-format graphs for the converter's unit tests, and /object_info entries as ComfyUI 0.3.64 gives
them (tooltips left out; a few invented classes where 0.3.64 has no example)."""
from __future__ import annotations

import copy
import itertools
from typing import Any, Optional

SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m"]
SCHEDULERS = ["simple", "normal", "karras"]


def _entry(required: dict, output: list, optional: Optional[dict] = None, output_node: bool = False,
           display_name: Optional[str] = None) -> dict:
    inputs = {"required": required, **({"optional": optional} if optional else {})}
    order = {"required": list(required), **({"optional": list(optional)} if optional else {})}
    return {"input": inputs, "input_order": order, "output": output, "output_node": output_node,
            "display_name": display_name}


OBJECT_INFO = {
    "CheckpointLoaderSimple": _entry({"ckpt_name": [["model.safetensors"], {}]}, ["MODEL", "CLIP", "VAE"],
                                     display_name="Load Checkpoint"),
    "CLIPTextEncode": _entry({"text": ["STRING", {"multiline": True, "dynamicPrompts": True}],
                              "clip": ["CLIP", {}]}, ["CONDITIONING"], display_name="CLIP Text Encode (Prompt)"),
    "KSampler": _entry({
        "model": ["MODEL", {}],
        "seed": ["INT", {"default": 0, "min": 0, "max": 18446744073709551615, "control_after_generate": True}],
        "steps": ["INT", {"default": 20, "min": 1, "max": 10000}],
        "cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01}],
        "sampler_name": [SAMPLERS, {}],
        "scheduler": [SCHEDULERS, {}],
        "positive": ["CONDITIONING", {}],
        "negative": ["CONDITIONING", {}],
        "latent_image": ["LATENT", {}],
        "denoise": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01}],
    }, ["LATENT"], display_name="KSampler"),
    "EmptyLatentImage": _entry({"width": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8}],
                                "height": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8}],
                                "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}]}, ["LATENT"],
                               display_name="Empty Latent Image"),
    "VAEDecode": _entry({"samples": ["LATENT", {}], "vae": ["VAE", {}]}, ["IMAGE"], display_name="VAE Decode"),
    "SaveImage": _entry({"images": ["IMAGE", {}], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}, [],
                        output_node=True, display_name="Save Image"),
    "PreviewImage": _entry({"images": ["IMAGE", {}]}, [], output_node=True, display_name="Preview Image"),
    "LoadImage": _entry({"image": [["example.png", "cat.png"], {"image_upload": True}]}, ["IMAGE", "MASK"],
                        display_name="Load Image"),
    "LoadImageOutput": _entry({"image": ["COMBO", {"image_upload": True, "image_folder": "output", "remote": {
        "route": "/internal/files/output", "refresh_button": True, "control_after_refresh": "first"}}]},
        ["IMAGE", "MASK"], display_name="Load Image (from Outputs)"),
    "LoraLoader": _entry({"model": ["MODEL", {}], "clip": ["CLIP", {}], "lora_name": [["lora.safetensors"], {}],
                          "strength_model": ["FLOAT", {"default": 1.0, "min": -100.0, "max": 100.0}],
                          "strength_clip": ["FLOAT", {"default": 1.0, "min": -100.0, "max": 100.0}]},
                         ["MODEL", "CLIP"], display_name="Load LoRA"),
    "ImageScale": _entry({"image": ["IMAGE"], "upscale_method": [["nearest-exact", "bilinear", "area"]],
                          "width": ["INT", {"default": 512, "min": 0, "max": 16384}],
                          "height": ["INT", {"default": 512, "min": 0, "max": 16384}],
                          "crop": [["disabled", "center"]]}, ["IMAGE"], display_name="Upscale Image"),
    "ImageInvert": _entry({"image": ["IMAGE"]}, ["IMAGE"], display_name="Invert Image"),
    "ImageBlur": _entry({"image": ["IMAGE", {}], "blur_radius": ["INT", {"default": 1, "min": 1, "max": 31}],
                         "sigma": ["FLOAT", {"default": 1.0, "min": 0.1, "max": 10.0}]}, ["IMAGE"]),
    "VAEEncode": _entry({"pixels": ["IMAGE"], "vae": ["VAE"]}, ["LATENT"], display_name="VAE Encode"),
    "PrimitiveInt": _entry({"value": ["INT", {"min": -9223372036854775807, "max": 9223372036854775807,
                                              "control_after_generate": True}]}, ["INT"], display_name="Int"),
    "StringConcatenate": _entry({"string_a": ["STRING", {"multiline": True}],
                                 "string_b": ["STRING", {"multiline": True}],
                                 "delimiter": ["STRING", {"default": "", "multiline": False}]}, ["STRING"]),
    "PreviewAny": _entry({"source": ["*", {}]}, [], output_node=True, display_name="Preview Any"),
    # invented: a combo with control_after_generate (0.3.64 has none) and a list-valued widget
    "PickStyle": _entry({"style": [["photo", "anime", "sketch"], {"control_after_generate": True}],
                         "strength": ["FLOAT", {"default": 0.5}]}, ["STRING"]),
    "ListSizes": _entry({"sizes": ["INT", {"default": [64, 64]}], "label": ["STRING", {"default": ""}]}, ["INT"]),
    "TextWithForcedSeed": _entry({"text": ["STRING", {}], "seed": ["INT", {"forceInput": True}],
                                  "count": ["INT", {"default": 1}]}, ["STRING"]),
}


def object_info() -> dict:
    return copy.deepcopy(OBJECT_INFO)


class UiGraph:
    """Builds the JSON the editor saves: nodes with their input and output slots, links as arrays."""

    def __init__(self, link_ids: Optional[itertools.count] = None) -> None:
        self.nodes: list[dict] = []
        self.links: list[list] = []
        self._link_ids = link_ids or itertools.count(1)

    def node(self, node_id: Any, node_type: str, widgets: Any = None, *, mode: int = 0, title: Optional[str] = None,
             outputs: tuple = (), **extra: Any) -> dict:
        node = {"id": node_id, "type": node_type, "pos": [0, 0], "size": [100, 100], "flags": {}, "order": 0,
                "mode": mode, "inputs": [], "outputs": [{"name": t, "type": t, "links": []} for t in outputs],
                "properties": {}}
        if widgets is not None:
            node["widgets_values"] = widgets
        if title is not None:
            node["title"] = title
        node.update(extra)
        self.nodes.append(node)
        return node

    def link(self, origin: Any, slot: int, target: Any, input_name: str, type_: str = "*",
             widget: bool = False) -> int:
        """Links output `slot` of `origin` to the input called `input_name` of `target` (added if not there)."""
        link_id = next(self._link_ids)
        source = self.find(origin)
        while len(source["outputs"]) <= slot:
            source["outputs"].append({"name": type_, "type": type_, "links": []})
        source["outputs"][slot]["links"].append(link_id)
        node = self.find(target)
        entry = next((i for i in node["inputs"] if i["name"] == input_name), None)
        if entry is None:
            entry = {"name": input_name, "type": type_, "link": None}
            node["inputs"].append(entry)
        if widget:
            entry["widget"] = {"name": input_name}
        entry["link"] = link_id
        self.links.append([link_id, origin, slot, target, node["inputs"].index(entry), type_])
        return link_id

    def find(self, node_id: Any) -> dict:
        return next(n for n in self.nodes if n["id"] == node_id)

    def workflow(self, **extra: Any) -> dict:
        return {"last_node_id": len(self.nodes), "last_link_id": len(self.links), "nodes": self.nodes,
                "links": self.links, "groups": [], "config": {}, "extra": {}, "version": 0.4, **extra}


def subgraph(sub_id: str, name: str, inner: UiGraph, inputs: list[tuple[str, str, list[int]]],
             outputs: list[tuple[str, str, list[int]]]) -> dict:
    """A definition: `inner`'s nodes, its links as objects (-10 is the input side, -20 the output side)."""
    links = [{"id": lid, "origin_id": o, "origin_slot": os_, "target_id": t, "target_slot": ts, "type": ty}
             for lid, o, os_, t, ts, ty in inner.links]
    return {"id": sub_id, "version": 1, "name": name, "nodes": inner.nodes, "links": links,
            "inputs": [{"id": f"in-{i}", "name": n, "type": t, "linkIds": ids} for i, (n, t, ids) in enumerate(inputs)],
            "outputs": [{"id": f"out-{i}", "name": n, "type": t, "linkIds": ids}
                        for i, (n, t, ids) in enumerate(outputs)],
            "inputNode": {"id": -10}, "outputNode": {"id": -20}, "widgets": []}


def txt2img(prompt: str = "a cat", seed: int = 42) -> UiGraph:
    """The editor's default graph (ids as it numbers them)."""
    g = UiGraph()
    g.node(4, "CheckpointLoaderSimple", ["model.safetensors"], outputs=("MODEL", "CLIP", "VAE"))
    g.node(6, "CLIPTextEncode", [prompt], outputs=("CONDITIONING",))
    g.node(7, "CLIPTextEncode", ["text, watermark"], outputs=("CONDITIONING",))
    g.node(5, "EmptyLatentImage", [512, 512, 1], outputs=("LATENT",))
    g.node(3, "KSampler", [seed, "randomize", 20, 8, "euler", "normal", 1], outputs=("LATENT",))
    g.node(8, "VAEDecode", outputs=("IMAGE",))
    g.node(9, "SaveImage", ["ComfyUI"])
    g.link(4, 1, 6, "clip", "CLIP")
    g.link(4, 1, 7, "clip", "CLIP")
    g.link(4, 0, 3, "model", "MODEL")
    g.link(6, 0, 3, "positive", "CONDITIONING")
    g.link(7, 0, 3, "negative", "CONDITIONING")
    g.link(5, 0, 3, "latent_image", "LATENT")
    g.link(3, 0, 8, "samples", "LATENT")
    g.link(4, 2, 8, "vae", "VAE")
    g.link(8, 0, 9, "images", "IMAGE")
    return g
