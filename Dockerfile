# syntax=docker/dockerfile:1
# The worker image: ComfyUI (installed with comfy-cli) and the worker, started by scripts/start.sh.
#   docker build --build-arg COMFYUI_VERSION=0.8.0 -t comfyui-worker .
# Targets: `comfyui-worker` (default, GPU), `worker` (the worker alone), `comfyui-simulator` (no GPU, for compose).
ARG BASE_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

FROM python:3.11-slim AS worker
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /worker
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir .
ENV COMFY_HOST=127.0.0.1:8188
CMD ["python", "-m", "entrypoints.runpod_handler"]

FROM python:3.11-slim AS comfyui-simulator
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /sim
COPY pyproject.toml README.md ./
COPY src ./src
# the project itself: its dependency pins are in pyproject.toml
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[sim]'
EXPOSE 8188
CMD ["python", "-m", "comfyui_sim", "--host", "0.0.0.0", "--port", "8188"]

FROM ${BASE_IMAGE} AS comfyui-worker
ARG COMFYUI_VERSION=0.8.0
ARG COMFY_CLI_VERSION=1.23.0
ENV DEBIAN_FRONTEND=noninteractive PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv git ca-certificates libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv
COPY scripts/install_comfyui.sh /scripts/install_comfyui.sh
RUN COMFYUI_VERSION="${COMFYUI_VERSION}" COMFY_CLI_VERSION="${COMFY_CLI_VERSION}" PYTHON=python \
    /scripts/install_comfyui.sh
COPY scripts/extra_model_paths.yaml /comfyui/extra_model_paths.yaml
WORKDIR /worker
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir .
COPY scripts/start.sh /start.sh
ENV COMFYUI_DIR=/comfyui PYTHON=python COMFY_HOST=127.0.0.1:8188
EXPOSE 8000 8188
CMD ["/start.sh"]
