"""Read-only ComfyUI endpoints: system stats, server features, node schemas and model folders."""

import sys

from aiohttp import web

from . import nodes_audio, nodes_image, nodes_models, nodes_save, nodes_sim, nodes_video
from .app_key import SIM
from .registry import NODES

NODE_MODULES = (nodes_image, nodes_models, nodes_save, nodes_audio, nodes_video, nodes_sim)

# missing_model_validation.json model_routes: /models lists these folders, each empty without weights
MODEL_FOLDERS = [
    "checkpoints",
    "configs",
    "loras",
    "vae",
    "text_encoders",
    "diffusion_models",
    "clip_vision",
    "style_models",
    "embeddings",
    "diffusers",
    "vae_approx",
    "controlnet",
    "gligen",
    "upscale_models",
    "latent_upscale_models",
    "custom_nodes",
    "hypernetworks",
    "photomaker",
    "classifiers",
    "model_patches",
    "audio_encoders",
]
routes = web.RouteTableDef()


@routes.get("/system_stats")
async def system_stats(request):
    profile = request.app[SIM].profile
    system = {
        "os": "posix",
        "ram_total": 8 << 30,
        "ram_free": 6 << 30,
        "comfyui_version": profile.version,
        "required_frontend_version": profile.frontend,
        "installed_templates_version": "0.7.67",
        "required_templates_version": "0.7.67",
        "python_version": sys.version,
        "pytorch_version": "simulated",
        "embedded_python": False,
        "argv": ["main.py", "--cpu"],
        **profile.extra_system,
    }
    device = {
        "name": "cpu",
        "type": "cpu",
        "index": None,
        "vram_total": 8 << 30,
        "vram_free": 6 << 30,
        "torch_vram_total": 8 << 30,
        "torch_vram_free": 6 << 30,
    }
    return web.json_response({"system": system, "devices": [device]})


@routes.get("/features")
async def features(request):
    return web.json_response(request.app[SIM].profile.server_features)


@routes.get("/object_info")
async def object_info(request):
    dirs = request.app[SIM].dirs
    return web.json_response({name: ndef.object_info(dirs) for name, ndef in NODES.items()})


@routes.get("/object_info/{node_class}")
async def object_info_one(request):
    name = request.match_info["node_class"]
    return web.json_response({name: NODES[name].object_info(request.app[SIM].dirs)} if name in NODES else {})


@routes.get("/models")
async def models(request):
    return web.json_response(MODEL_FOLDERS)


@routes.get("/models/{folder}")
async def models_in(request):
    folder = request.match_info["folder"]
    if folder not in MODEL_FOLDERS:
        return web.Response(status=404)
    return web.json_response(request.app[SIM].dirs.model_files(folder))


@routes.get("/internal/folder_paths")
async def internal_folder_paths(request):
    return web.json_response(request.app[SIM].dirs.model_paths.paths)


@routes.get("/embeddings")
async def embeddings(request):
    return web.json_response([])


@routes.get("/experiment/models")
async def experiment_models(request):
    root = request.app[SIM].dirs.root
    return web.json_response(
        [
            {"name": name, "folders": [f"{root}/models/{name}"]}
            for name in MODEL_FOLDERS
            if name not in ("configs", "custom_nodes")
        ]
    )


@routes.get("/experiment/models/{folder}")
async def experiment_models_in(request):
    return web.json_response([]) if request.match_info["folder"] in MODEL_FOLDERS else web.Response(status=404)
