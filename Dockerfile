# The worker image: ComfyUI and the worker, each in its own venv, started and stopped together by scripts/start.sh.
#   docker build --platform linux/amd64 -t comfyui-worker .                       CUDA 12.6 (the default)
#   docker build --platform linux/amd64 -t comfyui-worker:cuda12.8 \
#     --build-arg BASE_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04 --build-arg CUDA_VERSION_FOR_COMFY=12.8 .
#   docker build --platform linux/amd64 -t comfyui-worker:sdxl --build-arg MODEL_TYPE=sdxl .     with SDXL's models
# Targets: `comfyui-worker` (default, GPU), `worker` (the worker alone), `comfyui-simulator` (no GPU, for compose).
# docker-bake.hcl builds the published variants (base, the model images, CUDA 12.8) from these.
ARG PYTHON_IMAGE=python:3.11-slim
ARG BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM ${PYTHON_IMAGE} AS worker
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /worker
# the dependencies alone first (read from pyproject.toml): a code change does not reinstall them
COPY pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > requirements.txt \
    && pip install --no-cache-dir -r requirements.txt
COPY README.md ./
COPY src ./src
RUN pip install --no-cache-dir --no-deps .
CMD ["python", "-m", "entrypoints.runpod_handler"]

FROM ${PYTHON_IMAGE} AS comfyui-simulator
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /sim
# the simulator is a distribution of its own (src/comfyui_sim/pyproject.toml): nothing of the worker; its
# dependencies first, so that a code change does not reinstall them
COPY src/comfyui_sim/pyproject.toml ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" \
      > requirements.txt \
    && pip install --no-cache-dir -r requirements.txt
COPY src/comfyui_sim ./comfyui_sim
RUN pip install --no-cache-dir --no-deps ./comfyui_sim
EXPOSE 8188
CMD ["python", "-m", "comfyui_sim", "--host", "0.0.0.0", "--port", "8188"]

# the model files of a model image (scripts/models.json): a stage of its own, so that the token a gated model needs
# stays in this stage's history, never in the image (only the files are copied). Not a BuildKit secret: the classic
# builder (and builders without BuildKit) refuse RUN --mount in any stage before the target.
FROM ${PYTHON_IMAGE} AS model-files
ARG MODEL_TYPE=base
# hadolint ignore=DL3064
ARG HUGGINGFACE_ACCESS_TOKEN=""
COPY scripts/download_models.py scripts/models.json /opt/model-files/
RUN python /opt/model-files/download_models.py "${MODEL_TYPE}" /models

FROM ${BASE_IMAGE} AS comfyui-worker
ARG COMFYUI_VERSION=0.35.1
ARG COMFY_CLI_VERSION=1.23.0
# the CUDA build of torch: it must match BASE_IMAGE's CUDA (12.6 here; 12.8 with a 12.8 base, for Blackwell GPUs)
ARG CUDA_VERSION_FOR_COMFY=12.6
# --cpu: a CPU-only image (no GPU preflight, ComfyUI started with --cpu), for checks without a GPU
ARG COMFY_GPU_FLAG=--nvidia
# a ComfyUI source archive instead of a clone: a URL, or comfyui-source.tar.gz at the build context's root
# (wheels/ there, if any, is an offline source of packages; TORCH_INDEX_URL: where torch comes from);
# `none`: no ComfyUI in the image (one is mounted at COMFYUI_DIR with its venv at /opt/venv, as `make image-check` does)
ARG COMFYUI_SOURCE=""
ARG TORCH_INDEX_URL=""
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH COMFYUI_DIR=/comfyui \
    COMFYUI_PYTHON=/opt/venv/bin/python
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# openssh-server: sshd for PUBLIC_KEY (its host keys are removed: each container makes its own); tcmalloc for
# ComfyUI (libtcmalloc-minimal4t64 on Ubuntu 24.04, libtcmalloc-minimal4 before)
# hadolint ignore=DL3008
RUN apt-get update \
    && tcmalloc="$(apt-cache show libtcmalloc-minimal4t64 >/dev/null 2>&1 \
        && echo libtcmalloc-minimal4t64 || echo libtcmalloc-minimal4)" \
    && apt-get install -y --no-install-recommends python3 python3-venv git ca-certificates libgl1 libglib2.0-0 tini \
        openssh-server "${tcmalloc}" \
    && rm -rf /var/lib/apt/lists/* /etc/ssh/ssh_host_*_key* \
    && python3 -m venv /opt/venv \
    && python3 -m venv /opt/worker
# ComfyUI and its custom nodes live in /opt/venv (on PATH and VIRTUAL_ENV: comfy, pip and comfy-node-install use it);
# a ComfyUI-Manager snapshot (*snapshot*.json at the build context's root) is restored into it
COPY scripts/install_comfyui.sh scripts/restore_snapshot.sh scripts/check_node_requirements.py \
     comfyui-source.tar.g[z] wheel[s] *snapshot*.jso[n] /opt/comfyui-build/
WORKDIR /opt/comfyui-build
RUN COMFYUI_VERSION="${COMFYUI_VERSION}" COMFY_CLI_VERSION="${COMFY_CLI_VERSION}" COMFY_GPU_FLAG="${COMFY_GPU_FLAG}" \
      CUDA_VERSION_FOR_COMFY="${CUDA_VERSION_FOR_COMFY}" COMFYUI_SOURCE="${COMFYUI_SOURCE}" PYTHON=python \
      TORCH_INDEX_URL="${TORCH_INDEX_URL}" \
      ./install_comfyui.sh \
    && ./restore_snapshot.sh /opt/comfyui-build \
    && rm -rf /opt/comfyui-build/* /root/.cache
# a model image's files (MODEL_TYPE; none for the base image), below the worker's layers: a code change keeps them
COPY --from=model-files /models/ /comfyui/models/
COPY scripts/extra_model_paths.yaml /comfyui/extra_model_paths.yaml
# the worker in /opt/worker, a venv of its own without torch: custom nodes' pins of requests, urllib3, Pillow,
# boto3 or websocket-client cannot break it, and its packages (domain, adapters, entrypoints) never meet ComfyUI's
WORKDIR /opt/worker/app
COPY pyproject.toml ./
RUN /opt/worker/bin/python -c "import tomllib; \
      print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > requirements.txt \
    && /opt/worker/bin/pip install --no-cache-dir -r requirements.txt
COPY README.md ./
COPY src ./src
RUN /opt/worker/bin/pip install --no-cache-dir --no-deps .
# the tools for derived images (custom nodes, ComfyUI-Manager's mode), and start.sh with its helpers at / (where
# worker-comfyui 5.x kept start.sh and restore_snapshot.sh)
COPY scripts/comfy-node-install scripts/comfy-manager-set-mode scripts/check_node_requirements.py /usr/local/bin/
COPY scripts/start.sh scripts/gpu_preflight.py scripts/start_sshd.sh scripts/network_volume_report.py \
     scripts/restore_snapshot.sh scripts/check_node_requirements.py /
WORKDIR /
ENV WORKER_PYTHON=/opt/worker/bin/python COMFY_GPU_FLAG=${COMFY_GPU_FLAG}
EXPOSE 8000 8188
# tini is PID 1: it reaps orphans and hands SIGTERM to start.sh, which stops ComfyUI and the worker
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/start.sh"]
