#!/usr/bin/env bash
# `make image-check`: builds the image's targets and runs test_input.json through them on loopback.
#
#   1. builds `worker` and `comfyui-simulator`, runs both with --network host on free ports, sends
#      test_input.json to the worker container's local API (/runsync) and checks the answer;
#   2. with COMFYUI_SOURCE (a ComfyUI source archive) also builds `comfyui-worker` on the CPU
#      (COMFY_GPU_FLAG=--cpu) and runs its start.sh (real ComfyUI and the worker) against test_input.json.
# Skipped, with a line saying so, when no Docker engine answers. Containers are removed in any case.
#
#   PYTHON_IMAGE, BASE_IMAGE   base images (defaults: the Dockerfile's)
#   IMAGE_TAG                  tag prefix of the built images (default comfyui-worker-check)
#   TORCH_WHEELS               a folder of wheels (a CPU torch and its torchvision) for a build that cannot reach
#                              PyTorch's index: installed first and pinned
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
    echo "image-check: SKIPPED: no Docker engine answers (docker info failed)"
    exit 0
fi
tag="${IMAGE_TAG:-comfyui-worker-check}"
build_args=()
[[ -z "${PYTHON_IMAGE:-}" ]] || build_args+=(--build-arg "PYTHON_IMAGE=${PYTHON_IMAGE}")
[[ -z "${BASE_IMAGE:-}" ]] || build_args+=(--build-arg "BASE_IMAGE=${BASE_IMAGE}")
containers=()
context=""
cleanup() {
    ((${#containers[@]} == 0)) || docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
    [[ -z "${context}" ]] || rm -rf "${context}"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

build() {  # target, tag, context, extra args...
    local target="$1" image="$2" dir="$3" started=${SECONDS}
    shift 3
    echo "image-check: building ${target} as ${image}"
    docker build --network host "${build_args[@]}" "$@" --target "${target}" -t "${image}" "${dir}"
    echo "image-check: ${target} built in $((SECONDS - started)) s, $(docker image inspect -f '{{.Size}}' "${image}" \
        | awk '{printf "%.0f MB", $1 / 1e6}')"
}

runsync() {  # port: posts test_input.json, checks the answer has images and no error
    local url="http://127.0.0.1:$1/runsync" answer
    for _ in $(seq 1 600); do
        curl -sf -m 2 "http://127.0.0.1:$1/docs" >/dev/null 2>&1 && break
        sleep 1
    done
    answer="$(curl -sf -m 300 -H 'Content-Type: application/json' -d @test_input.json "${url}")"
    python3 - "${answer}" <<'PY'
import json, sys
answer = json.loads(sys.argv[1])
output = answer.get("output") or {}
images = output.get("images") or []
assert answer.get("status") == "COMPLETED", f"image-check: the job did not complete: {str(answer)[:500]}"
assert images and all(image.get("data") for image in images), f"image-check: no images: {str(answer)[:500]}"
print(f"image-check: COMPLETED with {len(images)} images")
PY
}

build worker "${tag}:worker" .
build comfyui-simulator "${tag}:simulator" .
comfy_port="$(free_port)"
api_port="$(free_port)"
containers+=("${tag}-sim-${comfy_port}" "${tag}-worker-${api_port}")
docker run -d --name "${tag}-sim-${comfy_port}" --network host "${tag}:simulator" \
    python -m comfyui_sim --host 127.0.0.1 --port "${comfy_port}" >/dev/null
docker run -d --name "${tag}-worker-${api_port}" --network host -e "COMFY_HOST=127.0.0.1:${comfy_port}" \
    -e COMFY_API_AVAILABLE_MAX_RETRIES=1200 "${tag}:worker" \
    python -m entrypoints.runpod_handler --rp_serve_api --rp_api_host 127.0.0.1 --rp_api_port "${api_port}" >/dev/null
runsync "${api_port}" || { docker logs "${tag}-worker-${api_port}" 2>&1 | tail -30; exit 1; }

if [[ -z "${COMFYUI_SOURCE:-}" ]]; then
    echo "image-check: the comfyui-worker target was not built (set COMFYUI_SOURCE to a ComfyUI source archive)"
    exit 0
fi
# a context of its own: the tracked and new files of the project, and the archive as comfyui-source.tar.gz
context="$(mktemp -d)"
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "${context}"
cp "${COMFYUI_SOURCE}" "${context}/comfyui-source.tar.gz"
# TORCH_WHEELS: a folder of wheels (a CPU torch) for a build that cannot reach PyTorch's index
torch_args=()
if [[ -n "${TORCH_WHEELS:-}" ]]; then
    mkdir "${context}/wheels" && cp "${TORCH_WHEELS}"/*.whl "${context}/wheels/"
    torch_args=(--build-arg TORCH_INDEX_URL=none)
fi
build comfyui-worker "${tag}:comfyui-cpu" "${context}" --build-arg COMFY_GPU_FLAG=--cpu \
    --build-arg COMFYUI_SOURCE=comfyui-source.tar.gz "${torch_args[@]}"
docker history --format '{{.Size}}\t{{.CreatedBy}}' "${tag}:comfyui-cpu" | head -12 | cut -c 1-140
gpu_port="$(free_port)"
gpu_api_port="$(free_port)"
containers+=("${tag}-comfyui-${gpu_api_port}")
docker run -d --name "${tag}-comfyui-${gpu_api_port}" --network host -e SERVE_API_LOCALLY=true \
    -e "COMFY_LISTEN=127.0.0.1" -e "COMFY_PORT=${gpu_port}" -e RP_API_HOST=127.0.0.1 -e "RP_API_PORT=${gpu_api_port}" \
    "${tag}:comfyui-cpu" >/dev/null
runsync "${gpu_api_port}" || { docker logs "${tag}-comfyui-${gpu_api_port}" 2>&1 | tail -40; exit 1; }
docker exec "${tag}-comfyui-${gpu_api_port}" bash -c \
    '! /opt/venv/bin/python -c "import entrypoints.runpod_handler" 2>/dev/null && ! /opt/worker/bin/python -c "import torch" 2>/dev/null' \
    && echo "image-check: two environments: the worker is not importable by ComfyUI's python, torch not by the worker's"
started=${SECONDS}
docker stop -t 10 "${tag}-comfyui-${gpu_api_port}" >/dev/null
echo "image-check: docker stop took $((SECONDS - started)) s"
