"""The core loaders' model inputs, in one table with the ComfyUI model folder each reads; a URL written as the value
of one of them is a model file the job downloads into that folder, and the input is given the file's name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from domain.errors import InvalidInput, clip
from domain.inputs.model_requests import ModelRequest, default_name, extension_problem, name_problem, shown_source

_CLIP_NAMES = ("clip_name1", "clip_name2", "clip_name3", "clip_name4")

# (class_type, input) -> the folder its list comes from (folder_paths.get_filename_list in ComfyUI's nodes.py and
# comfy_extras, 0.3.64 and later)
LOADER_FOLDERS: Mapping[tuple[str, str], str] = {
    ("CheckpointLoaderSimple", "ckpt_name"): "checkpoints",
    ("CheckpointLoader", "ckpt_name"): "checkpoints",
    ("CheckpointLoader", "config_name"): "configs",
    ("unCLIPCheckpointLoader", "ckpt_name"): "checkpoints",
    ("ImageOnlyCheckpointLoader", "ckpt_name"): "checkpoints",
    ("LoraLoader", "lora_name"): "loras",
    ("LoraLoaderModelOnly", "lora_name"): "loras",
    ("CreateHookLora", "lora_name"): "loras",
    ("CreateHookLoraModelOnly", "lora_name"): "loras",
    ("CreateHookModelAsLora", "ckpt_name"): "checkpoints",
    ("CreateHookModelAsLoraModelOnly", "ckpt_name"): "checkpoints",
    ("VAELoader", "vae_name"): "vae",
    ("ControlNetLoader", "control_net_name"): "controlnet",
    ("DiffControlNetLoader", "control_net_name"): "controlnet",
    ("UNETLoader", "unet_name"): "diffusion_models",
    ("CLIPLoader", "clip_name"): "text_encoders",
    ("DualCLIPLoader", "clip_name1"): "text_encoders",
    ("DualCLIPLoader", "clip_name2"): "text_encoders",
    **{("TripleCLIPLoader", name): "text_encoders" for name in _CLIP_NAMES[:3]},
    **{("QuadrupleCLIPLoader", name): "text_encoders" for name in _CLIP_NAMES},
    ("CLIPVisionLoader", "clip_name"): "clip_vision",
    ("StyleModelLoader", "style_model_name"): "style_models",
    ("GLIGENLoader", "gligen_name"): "gligen",
    ("UpscaleModelLoader", "model_name"): "upscale_models",
    ("HypernetworkLoader", "hypernetwork_name"): "hypernetworks",
    ("PhotoMakerLoader", "photomaker_model_name"): "photomaker",
    ("ModelPatchLoader", "name"): "model_patches",
    ("AudioEncoderLoader", "audio_encoder_name"): "audio_encoders",
}


@dataclass(frozen=True)
class LoaderModels:
    """The workflow with each loader URL replaced by its file's name, and the files those URLs ask for."""

    workflow: Mapping[str, Any]
    models: tuple[ModelRequest, ...]


def loader_folder(class_type: Optional[str], input_name: Optional[str]) -> Optional[str]:
    """The folder a core loader's input reads, None for any other input."""
    return LOADER_FOLDERS.get((str(class_type), str(input_name)))


def is_url(value: Any) -> bool:
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))


def loader_models(workflow: Mapping[str, Any]) -> LoaderModels:
    """Each core loader input whose value is an http(s) URL: the file it asks for (named by the URL path's last
    segment) and the workflow with the name in its place. The workflow is returned as it is when it has none."""
    found: list[ModelRequest] = []
    changed: dict[str, Any] = {}
    for node_id, node in workflow.items():
        inputs = node.get("inputs") if isinstance(node, Mapping) else None
        if not isinstance(inputs, Mapping):
            continue
        urls = {name: value for name, value in inputs.items() if is_url(value)}
        named = {}
        for input_name, url in urls.items():
            folder = loader_folder(node.get("class_type"), input_name)
            if folder is None:
                continue
            where = f"node {clip(str(node_id))} ({clip(str(node.get('class_type')))}) input '{clip(str(input_name))}'"
            name = default_name(url)
            problem = name_problem(name) or extension_problem(name)
            if problem:
                raise InvalidInput(
                    f"{where}: {shown_source(url)} names no model file to save (its last part "
                    f"{clip(repr(name))} {problem}); list it in input.models with a 'name' and write that name here"
                )
            found.append(ModelRequest(url, folder, name))
            named[input_name] = name
        if named:
            changed[str(node_id)] = {**node, "inputs": {**inputs, **named}}
    if not changed:
        return LoaderModels(workflow, ())
    rewritten = {node_id: changed.get(str(node_id), node) for node_id, node in workflow.items()}
    return LoaderModels(rewritten, tuple(found))
