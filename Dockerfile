# Draft: the worker image, to run beside ComfyUI in the same RunPod container or pod.
# A later change bundles ComfyUI itself and a start script that writes COMFY_PID_FILE.
FROM python:3.11-slim AS worker
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /worker
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .
ENV COMFY_HOST=127.0.0.1:8188
CMD ["python", "-m", "entrypoints.runpod_handler"]

# The ComfyUI simulator, for trying the worker locally without a GPU (docker-compose.yml).
FROM python:3.11-slim AS comfyui-simulator
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /sim
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[sim]'
EXPOSE 8188
CMD ["python", "-m", "comfyui_sim", "--host", "0.0.0.0", "--port", "8188"]
