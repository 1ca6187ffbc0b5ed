"""docs/deployment.md's "Moving from worker-comfyui 5.x" names every variable, build argument, input and output field
of worker-comfyui 5.8.5 (listed here from its start.sh, handler.py, network_volume.py, scripts/, Dockerfile and
docker-bake.hcl), and every 5.x variable a user may have set is one this worker or its start script reads."""
import re

from deploy.settings_reader import ROOT, read_variables

DEPLOYMENT = (ROOT / "docs/deployment.md").read_text()
SECTION = DEPLOYMENT.split("## Moving from worker-comfyui 5.x", 1)[-1]
START = (ROOT / "scripts/start.sh").read_text()

FIVE_X_VARIABLES = {  # read by 5.8.5's handler.py, network_volume.py, start.sh and comfy-manager-set-mode
    "REFRESH_WORKER", "SERVE_API_LOCALLY", "COMFY_ORG_API_KEY", "COMFY_LOG_LEVEL", "NETWORK_VOLUME_DEBUG",
    "WEBSOCKET_RECONNECT_ATTEMPTS", "WEBSOCKET_RECONNECT_DELAY_S", "WEBSOCKET_TRACE",
    "COMFY_API_AVAILABLE_INTERVAL_MS", "COMFY_API_AVAILABLE_MAX_RETRIES", "BUCKET_ENDPOINT_URL",
    "BUCKET_ACCESS_KEY_ID", "BUCKET_SECRET_ACCESS_KEY", "PUBLIC_KEY", "LD_PRELOAD", "COMFYUI_MANAGER_CONFIG",
}
FIVE_X_BUILD = {"BASE_IMAGE", "COMFYUI_VERSION", "CUDA_VERSION_FOR_COMFY", "ENABLE_PYTORCH_UPGRADE",
                "PYTORCH_INDEX_URL", "MODEL_TYPE", "HUGGINGFACE_ACCESS_TOKEN", "DOCKERHUB_REPO", "DOCKERHUB_IMG",
                "RELEASE_VERSION"}
FIVE_X_INPUT = {"workflow", "images[].name", "images[].image", "comfy_org_api_key"}
FIVE_X_OUTPUT = {"images[]", "errors[]", "error", "details", "success_no_images", "message"}
FIVE_X_TOOLS = {"comfy-node-install", "comfy-manager-set-mode", "/restore_snapshot.sh", "comfy model download",
                "/comfyui/extra_model_paths.yaml"}


def quoted() -> set:
    return set(re.findall(r"`([^`]+)`", SECTION))


def test_every_five_x_name_has_a_row_saying_what_it_does_here():
    names = quoted()  # a tool may be quoted with its arguments: `comfy-node-install NODE...`
    missing = {name for name in FIVE_X_VARIABLES | FIVE_X_BUILD | FIVE_X_INPUT | FIVE_X_TOOLS
               if not any(quote == name or quote.startswith(name + " ") for quote in names)}
    assert not missing, f"not in the 5.x section of docs/deployment.md: {sorted(missing)}"
    assert all(any(field in name for name in names) for field in FIVE_X_OUTPUT)


def test_every_five_x_variable_a_user_may_have_set_is_read_here():
    read = read_variables() | set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", START))
    read |= {"COMFYUI_MANAGER_CONFIG"} & set((ROOT / "scripts/comfy-manager-set-mode").read_text().split('"'))
    assert read >= FIVE_X_VARIABLES, f"5.x knobs nothing reads: {sorted(FIVE_X_VARIABLES - read)}"


def test_every_five_x_build_argument_is_an_argument_here_or_says_why_not():
    dockerfile_args = set(re.findall(r"^ARG (\w+)", (ROOT / "Dockerfile").read_text(), re.M))
    bake_variables = set(re.findall(r'^variable "(\w+)"', (ROOT / "docker-bake.hcl").read_text(), re.M))
    dropped = FIVE_X_BUILD - dockerfile_args - bake_variables
    assert dropped == {"ENABLE_PYTORCH_UPGRADE", "PYTORCH_INDEX_URL"}, dropped
    row = next(line for line in SECTION.splitlines() if "`ENABLE_PYTORCH_UPGRADE`" in line)
    assert "not needed" in row
