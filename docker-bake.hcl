# The published images, as worker-comfyui 5.x publishes its own: <repo>/<image>:<version>-<variant>.
#   RELEASE_VERSION=1.0.0 DOCKERHUB_REPO=myuser docker buildx bake --push        every variant
#   docker buildx bake --print sdxl                                                what one variant builds
# base: ComfyUI and the worker on CUDA 12.6 (Ampere, Ada, Hopper); base-cuda12-8-1: the same on CUDA 12.8 (Blackwell
# too); the model images add a model family's files (MODEL_TYPE, scripts/models.json) to the CUDA 12.6 base.
# Gated models (sd3, flux1-schnell, flux1-dev, z-image-turbo) need HUGGINGFACE_ACCESS_TOKEN in the environment: it
# reaches the Dockerfile's model-files stage only, never the image.

variable "DOCKERHUB_REPO" {
  default = "comfyui-worker"
}

variable "DOCKERHUB_IMG" {
  default = "comfyui-worker"
}

variable "RELEASE_VERSION" {
  default = "dev"
}

# the Dockerfile's defaults (tests/deploy checks that they agree)
variable "COMFYUI_VERSION" {
  default = "0.35.1"
}

variable "COMFY_CLI_VERSION" {
  default = "1.23.0"
}

variable "HUGGINGFACE_ACCESS_TOKEN" {
  default = ""
}

group "default" {
  targets = ["base", "base-cuda12-8-1", "sdxl", "sd3", "flux1-schnell", "flux1-dev", "flux1-dev-fp8", "z-image-turbo"]
}

# what every variant shares; names starting with _ are not published
target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  target     = "comfyui-worker"
  platforms  = ["linux/amd64"]
  args = {
    COMFYUI_VERSION   = "${COMFYUI_VERSION}"
    COMFY_CLI_VERSION = "${COMFY_CLI_VERSION}"
  }
}

target "_cuda12-6" {
  inherits = ["_common"]
  args = {
    BASE_IMAGE             = "nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04"
    CUDA_VERSION_FOR_COMFY = "12.6"
  }
}

target "base" {
  inherits = ["_cuda12-6"]
  args = {
    MODEL_TYPE = "base"
  }
  tags = ["${DOCKERHUB_REPO}/${DOCKERHUB_IMG}:${RELEASE_VERSION}-base"]
}

target "base-cuda12-8-1" {
  inherits = ["_common"]
  args = {
    BASE_IMAGE             = "nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04"
    CUDA_VERSION_FOR_COMFY = "12.8"
    MODEL_TYPE             = "base"
  }
  tags = ["${DOCKERHUB_REPO}/${DOCKERHUB_IMG}:${RELEASE_VERSION}-base-cuda12.8.1"]
}

target "sdxl" {
  inherits = ["_cuda12-6"]
  args = {
    MODEL_TYPE = "sdxl"
  }
  tags = ["${DOCKERHUB_REPO}/${DOCKERHUB_IMG}:${RELEASE_VERSION}-sdxl"]
}

target "sd3" {
  inherits = ["_cuda12-6"]
  args = {
    MODEL_TYPE               = "sd3"
    HUGGINGFACE_ACCESS_TOKEN = "${HUGGINGFACE_ACCESS_TOKEN}"
  }
  tags = ["${DOCKERHUB_REPO}/${DOCKERHUB_IMG}:${RELEASE_VERSION}-sd3"]
}

target "flux1-schnell" {
  inherits = ["_cuda12-6"]
  args = {
    MODEL_TYPE               = "flux1-schnell"
    HUGGINGFACE_ACCESS_TOKEN = "${HUGGINGFACE_ACCESS_TOKEN}"
  }
  tags = ["${DOCKERHUB_REPO}/${DOCKERHUB_IMG}:${RELEASE_VERSION}-flux1-schnell"]
}

target "flux1-dev" {
  inherits = ["_cuda12-6"]
  args = {
    MODEL_TYPE               = "flux1-dev"
    HUGGINGFACE_ACCESS_TOKEN = "${HUGGINGFACE_ACCESS_TOKEN}"
  }
  tags = ["${DOCKERHUB_REPO}/${DOCKERHUB_IMG}:${RELEASE_VERSION}-flux1-dev"]
}

target "flux1-dev-fp8" {
  inherits = ["_cuda12-6"]
  args = {
    MODEL_TYPE = "flux1-dev-fp8"
  }
  tags = ["${DOCKERHUB_REPO}/${DOCKERHUB_IMG}:${RELEASE_VERSION}-flux1-dev-fp8"]
}

target "z-image-turbo" {
  inherits = ["_cuda12-6"]
  args = {
    MODEL_TYPE               = "z-image-turbo"
    HUGGINGFACE_ACCESS_TOKEN = "${HUGGINGFACE_ACCESS_TOKEN}"
  }
  tags = ["${DOCKERHUB_REPO}/${DOCKERHUB_IMG}:${RELEASE_VERSION}-z-image-turbo"]
}
