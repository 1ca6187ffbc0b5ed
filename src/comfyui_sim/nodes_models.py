"""Latent and model nodes: the weight-free pixel_space VAE runs; loaders only validate (no model files exist)."""

import math
from typing import Optional

from .nodes_image import Batch
from .registry import FLOAT, INT, STRING, NodeError, node, schema_only

SAMPLERS = [
    "euler",
    "euler_cfg_pp",
    "euler_ancestral",
    "euler_ancestral_cfg_pp",
    "heun",
    "heunpp2",
    "dpm_2",
    "dpm_2_ancestral",
    "lms",
    "dpm_fast",
    "dpm_adaptive",
    "dpmpp_2s_ancestral",
    "dpmpp_sde",
    "dpmpp_2m",
    "dpmpp_2m_sde",
    "dpmpp_3m_sde",
    "ddpm",
    "lcm",
    "ipndm",
    "deis",
    "res_multistep",
    "ddim",
    "uni_pc",
]
SCHEDULERS = [
    "simple",
    "sgm_uniform",
    "karras",
    "exponential",
    "ddim_uniform",
    "beta",
    "normal",
    "linear_quadratic",
    "kl_optimal",
]


class VAE:
    """Prints as `<comfy.sd.VAE object at 0x...>` in PreviewAny (missing_model_validation.json)."""


VAE.__module__ = "comfy.sd"


@node(
    "EmptyLatentImage",
    required={
        "width": INT(512, 16, 16384, step=8),
        "height": INT(512, 16, 16384, step=8),
        "batch_size": INT(1, 1, 4096),
    },
    output=("LATENT",),
    category="latent",
)
def empty_latent_image(ctx, width, height, batch_size):
    return ({"shape": (batch_size, 4, height // 8, width // 8)},)


def files_in(folder: str, extra: Optional[dict] = None, combo: bool = False, tail: tuple = ()):
    """A loader's file list, read from the simulator's model files per request like folder_paths: the old
    `[[files], {...}]` or the new `["COMBO", {"options": [files]}]` shape (missing_model_validation.json)."""

    def declaration(dirs) -> list:
        names = dirs.model_files(folder) + list(tail)
        if combo:
            return ["COMBO", {"multiselect": False, "options": names, **(extra or {})}]
        return [names, extra] if extra else [names]

    return declaration


@node(
    "VAELoader",
    required={"vae_name": files_in("vae", tail=("pixel_space",))},
    output=("VAE",),
    category="loaders",
    display_name="Load VAE",
)
def vae_loader(ctx, vae_name):
    return (VAE(),)


def tiled_steps(width: int, height: int, tile: int, overlap: int) -> int:
    """comfy.utils.get_tiled_scale_steps over the three tilings encode/decode_tiled_ use (115 for 1024², 256/64)."""

    def steps(tile_x, tile_y):
        rows = max(1, math.ceil((height - overlap) / max(1, tile_y - overlap)))
        return rows * max(1, math.ceil((width - overlap) / max(1, tile_x - overlap)))

    return steps(tile, tile) + steps(tile // 2, tile * 2) + steps(tile * 2, tile // 2)


def run_tiled(ctx, images, tile_size, overlap):
    if tile_size < overlap * 4:
        overlap = tile_size // 4
    width, height = images[0].size
    total = len(images) * tiled_steps(width, height, tile_size, overlap)
    for step in range(1, total + 1):
        ctx.progress(step, total)
    return Batch(images)


TILED = {
    "tile_size": INT(512, 64, 4096, step=64),
    "overlap": INT(64, 0, 4096, step=32),
    "temporal_size": INT(64, 8, 4096, step=4),
    "temporal_overlap": INT(8, 4, 4096, step=4),
}


@node(
    "VAEEncodeTiled",
    required={"pixels": ["IMAGE"], "vae": ["VAE"], **TILED},
    output=("LATENT",),
    category="_for_testing",
)
def vae_encode_tiled(ctx, pixels, vae, tile_size, overlap, temporal_size, temporal_overlap):
    images = run_tiled(ctx, pixels, tile_size, overlap)
    return ({"shape": (len(images), 3, images[0].height, images[0].width), "pixels": images},)


def pixels_of(samples) -> Batch:
    if "pixels" not in samples:
        raise NodeError("pixel_space VAE can only decode latents it encoded")
    return samples["pixels"]


@node(
    "VAEDecodeTiled",
    required={"samples": ["LATENT"], "vae": ["VAE"], **TILED},
    output=("IMAGE",),
    category="_for_testing",
)
def vae_decode_tiled(ctx, samples, vae, tile_size, overlap, temporal_size, temporal_overlap):
    return (run_tiled(ctx, pixels_of(samples), tile_size, overlap),)


@node("VAEDecode", required={"samples": ["LATENT"], "vae": ["VAE"]}, output=("IMAGE",), category="latent")
def vae_decode(ctx, samples, vae):
    return (pixels_of(samples),)


@node("VAEEncode", required={"pixels": ["IMAGE"], "vae": ["VAE"]}, output=("LATENT",), category="latent")
def vae_encode(ctx, pixels, vae):
    return ({"shape": (len(pixels), 3, pixels[0].height, pixels[0].width), "pixels": pixels},)


def tip(text: str) -> dict:
    return {"tooltip": text}


# missing_model_validation.json object_info: the loaders' combos list `ComfySimulator(models=...)`'s files
CLIP_TYPES = [
    "stable_diffusion",
    "stable_cascade",
    "sd3",
    "stable_audio",
    "mochi",
    "ltxv",
    "pixart",
    "cosmos",
    "lumina2",
    "wan",
    "hidream",
    "chroma",
    "ace",
    "omnigen2",
    "qwen_image",
    "hunyuan_image",
    "flux2",
    "ovis",
]
DUAL_TYPES = [
    "sdxl",
    "sd3",
    "flux",
    "hunyuan_video",
    "hidream",
    "hunyuan_image",
    "hunyuan_video_15",
    "kandinsky5",
    "kandinsky5_image",
    "ltxv",
    "newbie",
]
LORA_HELP = (
    "LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are denoised "
    "such as applying styles. Multiple LoRA nodes can be linked together."
)
CLIP_HELP = (
    "[Recipes]\n\nstable_diffusion: clip-l\nstable_cascade: clip-g\nsd3: t5 xxl/ clip-g / clip-l\n"
    "stable_audio: t5 base\nmochi: t5 xxl\ncosmos: old t5 xxl\nlumina2: gemma 2 2B\nwan: umt5 xxl\n "
    "hidream: llama-3.1 (Recommend) or t5\nomnigen2: qwen vl 2.5 3B"
)
DUAL_HELP = (
    "[Recipes]\n\nsdxl: clip-l, clip-g\nsd3: clip-l, clip-g / clip-l, t5 / clip-g, t5\nflux: clip-l, t5\n"
    "hidream: at least one of t5 or llama, recommended t5 and llama\nhunyuan_image: qwen2.5vl 7b and byt5 "
    "small\nnewbie: gemma-3-4b-it, jina clip v2"
)
DEVICE = {"device": [["default", "cpu"], {"advanced": True}]}
schema_only(
    "CheckpointLoaderSimple",
    required={"ckpt_name": files_in("checkpoints", tip("The name of the checkpoint (model) to load."))},
    output=("MODEL", "CLIP", "VAE"),
    category="loaders",
    display_name="Load Checkpoint",
    description="Loads a diffusion model checkpoint, diffusion models are used to denoise latents.",
)
schema_only(
    "LoraLoader",
    required={
        "model": ["MODEL", tip("The diffusion model the LoRA will be applied to.")],
        "clip": ["CLIP", tip("The CLIP model the LoRA will be applied to.")],
        "lora_name": files_in("loras", tip("The name of the LoRA.")),
        "strength_model": FLOAT(
            1.0, -100.0, 100.0, 0.01, **tip("How strongly to modify the diffusion model. This value can be negative.")
        ),
        "strength_clip": FLOAT(
            1.0, -100.0, 100.0, 0.01, **tip("How strongly to modify the CLIP model. This value can be negative.")
        ),
    },
    output=("MODEL", "CLIP"),
    category="loaders",
    display_name="Load LoRA",
    description=LORA_HELP,
)
schema_only(
    "LoraLoaderModelOnly",
    required={"model": ["MODEL"], "lora_name": files_in("loras"), "strength_model": FLOAT(1.0, -100.0, 100.0, 0.01)},
    output=("MODEL",),
    category="loaders",
    description=LORA_HELP,
)
schema_only(
    "UNETLoader",
    required={
        "unet_name": files_in("diffusion_models"),
        "weight_dtype": [["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]],
    },
    output=("MODEL",),
    category="advanced/loaders",
    display_name="Load Diffusion Model",
)
schema_only(
    "CLIPLoader",
    required={"clip_name": files_in("text_encoders"), "type": [CLIP_TYPES]},
    optional=DEVICE,
    output=("CLIP",),
    category="advanced/loaders",
    display_name="Load CLIP",
    description=CLIP_HELP,
)
schema_only(
    "DualCLIPLoader",
    required={"clip_name1": files_in("text_encoders"), "clip_name2": files_in("text_encoders"), "type": [DUAL_TYPES]},
    optional=DEVICE,
    output=("CLIP",),
    category="advanced/loaders",
    display_name="DualCLIPLoader",
    description=DUAL_HELP,
)
schema_only(
    "UpscaleModelLoader",
    required={"model_name": files_in("upscale_models", combo=True)},
    output=("UPSCALE_MODEL",),
    category="loaders",
    display_name="Load Upscale Model",
    python_module="comfy_extras.nodes_upscale_model",
)
schema_only(
    "ControlNetLoader",
    required={"control_net_name": files_in("controlnet")},
    output=("CONTROL_NET",),
    category="loaders",
    display_name="Load ControlNet Model",
)
schema_only(
    "CLIPVisionLoader",
    required={"clip_name": files_in("clip_vision")},
    output=("CLIP_VISION",),
    category="loaders",
    display_name="Load CLIP Vision",
)
schema_only(
    "StyleModelLoader",
    required={"style_model_name": files_in("style_models")},
    output=("STYLE_MODEL",),
    category="loaders",
    display_name="Load Style Model",
)
schema_only(
    "HypernetworkLoader",
    required={
        "model": ["MODEL", {}],
        "hypernetwork_name": files_in("hypernetworks", combo=True),
        "strength": FLOAT(1.0, -10.0, 10.0, 0.01),
    },
    output=("MODEL",),
    category="loaders",
    display_name=False,
    python_module="comfy_extras.nodes_hypernetwork",
)
schema_only(
    "CLIPTextEncode",
    required={"text": STRING("", multiline=True, dynamicPrompts=True), "clip": ["CLIP"]},
    output=("CONDITIONING",),
    category="conditioning",
)
schema_only(
    "ImageUpscaleWithModel",
    required={"upscale_model": ["UPSCALE_MODEL"], "image": ["IMAGE"]},
    output=("IMAGE",),
    category="image/upscaling",
)
schema_only(
    "KSampler",
    required={
        "model": ["MODEL"],
        "seed": INT(0, 0, 0xFFFFFFFFFFFFFFFF, control_after_generate=True),
        "steps": INT(20, 1, 10000),
        "cfg": FLOAT(8.0, 0.0, 100.0, 0.1, round=0.01),
        "sampler_name": [SAMPLERS],
        "scheduler": [SCHEDULERS],
        "positive": ["CONDITIONING"],
        "negative": ["CONDITIONING"],
        "latent_image": ["LATENT"],
        "denoise": FLOAT(1.0, 0.0, 1.0, 0.01),
    },
    output=("LATENT",),
    category="sampling",
)
