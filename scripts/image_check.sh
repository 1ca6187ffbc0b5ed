#!/usr/bin/env bash
# `make image-check`: builds the image's targets and runs jobs through them on loopback (--network host).
#
#   1. `worker` and `comfyui-simulator`: test_input.json through the worker container's local API (/runsync);
#   2. with COMFYUI_TREE and COMFYUI_VENV (a ComfyUI folder and the venv it runs from): `comfyui-worker` built on the
#      CPU without a ComfyUI of its own (COMFYUI_SOURCE=none), that ComfyUI and venv mounted at /comfyui and /opt/venv
#      (copies: the originals are never written), so that start.sh starts it for real. Checked: a custom node with a
#      pip requirement, installed by comfy-node-install from a folder, imports in ComfyUI's venv (and its package is
#      not in the worker's); ComfyUI starts with tcmalloc, ComfyUI-Manager offline, the NETWORK_VOLUME_DEBUG report,
#      sshd for PUBLIC_KEY; test_input.json and (with CHECKPOINT, an SD1.5 .safetensors, served from a stand-in
#      network volume) a KSampler job complete; outputs carry no workflow metadata; job folders are cleaned; killing
#      ComfyUI fails the next job fast and retires the container;
#   3. with COMFYUI_SOURCE (a ComfyUI source archive): `comfyui-worker` built with that ComfyUI on the CPU, and
#      test_input.json through its start.sh (TORCH_WHEELS: a folder of CPU torch wheels for an offline build).
# Timings and sizes are printed as `image-check: figure: ...` lines.
#
# Exit status: 0 passed, 1 failed, 77 SKIPPED (no Docker engine: nothing was built or run; never a pass).
#
#   PYTHON_IMAGE, BASE_IMAGE   base images (defaults: the Dockerfile's)
#   IMAGE_TAG                  tag prefix of the built images (default comfyui-worker-check)
#   SKIP_SIMULATOR=1           leaves part 1 out
#   PIP_*                      pip's settings (PIP_INDEX_URL, PIP_CERT, ...) for the node install of part 2
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
    printf '%s\n' "########################################################################" \
        "# image-check: SKIPPED: no Docker engine answers (docker info failed)." \
        "# Nothing was built or run: this is NOT a pass. Exit status 77." \
        "########################################################################" >&2
    echo "image-check: SKIPPED"
    exit 77
fi
tag="${IMAGE_TAG:-comfyui-worker-check}"
build_args=()
[[ -z "${PYTHON_IMAGE:-}" ]] || build_args+=(--build-arg "PYTHON_IMAGE=${PYTHON_IMAGE}")
[[ -z "${BASE_IMAGE:-}" ]] || build_args+=(--build-arg "BASE_IMAGE=${BASE_IMAGE}")
containers=()
scratch=""
cleanup() {
    ((${#containers[@]} == 0)) || docker rm -f "${containers[@]}" >/dev/null 2>&1 || true
    # the container wrote as root into the copies: remove them through a container when this user cannot
    if [[ -n "${scratch}" ]]; then
        rm -rf "${scratch}" 2>/dev/null || docker run --rm -v "${scratch}:/scratch" "${tag}:comfyui-mounted" \
            rm -rf /scratch/comfyui /scratch/venv /scratch/volume >/dev/null 2>&1 || true
        rm -rf "${scratch}" 2>/dev/null || true
    fi
}
trap cleanup EXIT

fail() { echo "image-check: FAILED: $*" >&2; exit 1; }
figure() { echo "image-check: figure: $*"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
since() { awk -v start="$1" -v now="${EPOCHREALTIME}" 'BEGIN { printf "%.1f s", now - start }'; }
megabytes() { awk '{ printf "%.0f MB", $1 / 1e6 }'; }

build() {  # target, tag, context, extra args...
    local target="$1" image="$2" dir="$3" started="${EPOCHREALTIME}"
    shift 3
    echo "image-check: building ${target} as ${image}"
    docker build --network host "${build_args[@]}" "$@" --target "${target}" -t "${image}" "${dir}"
    figure "${image} built in $(since "${started}"), $(docker image inspect -f '{{.Size}}' "${image}" | megabytes)"
}

wait_for() {  # url, seconds, container: until the URL answers; fails early when the container stopped
    local url="$1" give_up=$((SECONDS + $2))
    until curl -sf -m 2 "${url}" >/dev/null 2>&1; do
        [[ -z "${3:-}" || "$(docker inspect -f '{{.State.Running}}' "$3")" == true ]] || return 1
        ((SECONDS < give_up)) || return 1
        sleep 0.5
    done
}

# runsync PORT FILE [CHECK]: posts FILE to the worker's /runsync; the answer goes to python with CHECK (the answer is
# `answer`; the default: COMPLETED with images)
runsync() {
    local answer
    answer="$(curl -sf -m 900 -H 'Content-Type: application/json' -d @"$2" "http://127.0.0.1:$1/runsync")" \
        || fail "POST /runsync with $2 got no answer"
    python3 - "${answer}" "${3:-}" <<'PY'
import base64, json, struct, sys
answer = json.loads(sys.argv[1])
output = answer.get("output") or {}
images = output.get("images") or []

def png_text_keys(data):
    """The keys of a PNG's text chunks (ComfyUI writes the prompt and workflow there unless --disable-metadata)."""
    keys, at = [], 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            keys.append(data[at + 8:at + 8 + length].split(b"\0", 1)[0].decode())
        at += 12 + length
    return keys

exec(sys.argv[2] or 'assert answer.get("status") == "COMPLETED" and images, str(answer)[:800]')
print(f"image-check: the job answered {answer.get('status')} ({len(images)} images)")
PY
}

if [[ "${SKIP_SIMULATOR:-}" != 1 ]]; then
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
    wait_for "http://127.0.0.1:${api_port}/docs" 300 "${tag}-worker-${api_port}" \
        || { docker logs "${tag}-worker-${api_port}" 2>&1 | tail -30; fail "the worker container's API did not answer"; }
    runsync "${api_port}" test_input.json || { docker logs "${tag}-worker-${api_port}" 2>&1 | tail -30; exit 1; }
    docker rm -f "${containers[@]}" >/dev/null
    containers=()
fi

if [[ -n "${COMFYUI_TREE:-}" || -n "${COMFYUI_VENV:-}" ]]; then
    [[ -f "${COMFYUI_TREE:-}/main.py" ]] || fail "COMFYUI_TREE='${COMFYUI_TREE:-}' holds no ComfyUI (main.py)"
    [[ -f "${COMFYUI_VENV:-}/pyvenv.cfg" ]] || fail "COMFYUI_VENV='${COMFYUI_VENV:-}' is not a venv (pyvenv.cfg)"
    image="${tag}:comfyui-mounted"
    build comfyui-worker "${image}" . --build-arg COMFY_GPU_FLAG=--cpu --build-arg COMFYUI_SOURCE=none
    docker history --format '{{.Size}}\t{{.CreatedBy}}' "${image}" | head -14 | cut -c 1-150
    figure "the worker's own layers (its venv's packages and its code): $(docker history --no-trunc --human=false \
        --format '{{.Size}} {{.CreatedBy}}' "${image}" | grep -E 'opt/worker/bin/pip install' \
        | awk '{ s += $1 } END { printf "%.0f MB", s / 1e6 }')"

    # copies the container may write: ComfyUI's folder (small), its venv as hard links (new files only: pip and
    # Python write new files and rename, never into an existing one), a stand-in network volume
    scratch="$(mktemp -d "${TMPDIR:-/tmp}/image-check.XXXXXX")"
    cp -a "${COMFYUI_TREE}" "${scratch}/comfyui"
    for folder in input output temp user; do
        rm -rf "${scratch:?}/comfyui/${folder}" && mkdir -p "${scratch}/comfyui/${folder}"
    done
    cp scripts/extra_model_paths.yaml "${scratch}/comfyui/extra_model_paths.yaml"  # the image's, hidden by the mount
    cp -al "${COMFYUI_VENV}" "${scratch}/venv" 2>/dev/null || cp -a "${COMFYUI_VENV}" "${scratch}/venv"
    mkdir -p "${scratch}/volume/models/checkpoints"
    mounts=(-v "${scratch}/comfyui:/comfyui" -v "${scratch}/venv:/opt/venv" -v "${scratch}/volume:/runpod-volume")
    # the venv's interpreter is a link to its base Python: mounted read-only where the link points, unless it is
    # the system's own (then the image's must be the same version)
    python_home="$(sed -n 's/^home *= *//p' "${COMFYUI_VENV}/pyvenv.cfg")"
    if [[ "${python_home}" != /usr/* ]]; then
        prefix="$(dirname "${python_home}")"
        mounts+=(-v "${prefix}:${prefix}:ro")
    fi
    checkpoint_name=""
    if [[ -n "${CHECKPOINT:-}" ]]; then
        checkpoint_name="$(basename "${CHECKPOINT}")"
        : > "${scratch}/volume/models/checkpoints/${checkpoint_name}"
        mounts+=(-v "${CHECKPOINT}:/runpod-volume/models/checkpoints/${checkpoint_name}:ro")
    fi

    # a custom node of our own with a pip requirement ComfyUI's venv lacks: installed as a derived image would
    mkdir -p "${scratch}/node/image_check_node"
    cat > "${scratch}/node/image_check_node/__init__.py" <<'NODE'
import inflection  # the node's pip requirement: it imports only if it went into the venv ComfyUI runs from


class ImageCheckPip:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {"default": "image check"})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    CATEGORY = "image_check"

    def run(self, text):
        return (inflection.titleize(text),)


NODE_CLASS_MAPPINGS = {"ImageCheckPip": ImageCheckPip}
NODE
    echo "inflection" > "${scratch}/node/image_check_node/requirements.txt"
    # pip's settings of the caller (PIP_INDEX_URL, PIP_CERT, ...) reach that install: the mounted venv's pip is the
    # one its owner configured, not the image's
    pip_env=()
    while IFS='=' read -r key _; do pip_env+=(-e "${key}"); done < <(env | grep -E '^PIP_[A-Z_]+=' || true)
    started="${EPOCHREALTIME}"
    docker run --rm --network host "${mounts[@]}" "${pip_env[@]}" -v "${scratch}/node:/node:ro" "${image}" \
        comfy-node-install /node/image_check_node || fail "comfy-node-install did not install a local node"
    figure "comfy-node-install of a local node with a pip requirement: $(since "${started}")"

    ssh-keygen -q -t ed25519 -N '' -f "${scratch}/key" -C image-check
    comfy_port="$(free_port)" api_port="$(free_port)" ssh_port="$(free_port)"
    name="${tag}-comfyui-${api_port}"
    containers+=("${name}")
    started="${EPOCHREALTIME}"
    docker run -d --name "${name}" --network host "${mounts[@]}" -e SERVE_API_LOCALLY=true \
        -e COMFY_LISTEN=127.0.0.1 -e "COMFY_PORT=${comfy_port}" -e RP_API_HOST=127.0.0.1 -e "RP_API_PORT=${api_port}" \
        -e NETWORK_VOLUME_DEBUG=true -e COMFY_LOG_LEVEL=INFO -e "PUBLIC_KEY=$(cat "${scratch}/key.pub")" \
        -e "SSH_PORT=${ssh_port}" -e COMFY_API_AVAILABLE_MAX_RETRIES=2400 "${image}" >/dev/null
    wait_for "http://127.0.0.1:${comfy_port}/system_stats" 600 "${name}" \
        || { docker logs "${name}" 2>&1 | tail -60; fail "ComfyUI did not start in the container"; }
    figure "the real ComfyUI started inside the container in $(since "${started}") (docker run to /system_stats)"
    wait_for "http://127.0.0.1:${api_port}/docs" 120 "${name}" \
        || { docker logs "${name}" 2>&1 | tail -60; fail "the worker's local API did not answer"; }
    figure "the worker's local API answered $(since "${started}") after docker run"

    log="$(docker logs "${name}" 2>&1)"
    curl -sf "http://127.0.0.1:${comfy_port}/object_info/ImageCheckPip" | grep -q '"ImageCheckPip"' \
        || { grep -iE "image_check_node|inflection|Cannot import" <<< "${log}" | tail -10
             fail "the local node with a pip requirement did not import in ComfyUI (its package is not in ComfyUI's venv)"; }
    echo "image-check: the local node imports in ComfyUI's venv (ImageCheckPip is in /object_info)"
    ! docker exec "${name}" /opt/worker/bin/python -c "import inflection" 2>/dev/null \
        || fail "the node's package reached the worker's venv"
    docker exec "${name}" bash -c \
        '! /opt/venv/bin/python -c "import entrypoints.runpod_handler" 2>/dev/null && ! /opt/worker/bin/python -c "import torch" 2>/dev/null' \
        || fail "the two environments are not apart"
    echo "image-check: two environments: the worker is not importable by ComfyUI's python, torch not by the worker's"
    docker exec "${name}" bash -c 'grep -q libtcmalloc "/proc/$(cat /tmp/comfyui.pid)/maps"' \
        || fail "ComfyUI does not run with tcmalloc"
    echo "image-check: ComfyUI runs with $(grep -oE 'LD_PRELOAD=\S+' <<< "${log}")"
    docker exec "${name}" grep -q "network_mode = offline" /comfyui/user/__manager/config.ini \
        || fail "ComfyUI-Manager's network_mode is not offline"
    echo "image-check: ComfyUI-Manager's network_mode is offline"
    grep -q "network_volume: summary" <<< "${log}" || fail "no NETWORK_VOLUME_DEBUG report in the log"
    grep -E "network_volume: (checkpoints|summary)" <<< "${log}"
    grep -q -- "--verbose INFO" <<< "${log}" || fail "COMFY_LOG_LEVEL did not reach ComfyUI"
    ssh -q -i "${scratch}/key" -p "${ssh_port}" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o BatchMode=yes -o ConnectTimeout=10 root@127.0.0.1 "test -f /start.sh" \
        || fail "sshd did not let PUBLIC_KEY's key in"
    echo "image-check: sshd lets PUBLIC_KEY's key in on port ${ssh_port}"

    # what ComfyUI makes in its folders by itself (its Load3D node makes input/3d when /object_info is read, as the
    # worker reads it for each job): the jobs must leave no more
    curl -sf "http://127.0.0.1:${comfy_port}/object_info" >/dev/null
    folders_before="$(docker exec "${name}" find /comfyui/input /comfyui/output /comfyui/temp -mindepth 1 | sort)"
    no_metadata="$(cat <<'PY'
assert answer.get("status") == "COMPLETED" and images, str(answer)[:800]
for image in images:
    keys = png_text_keys(base64.b64decode(image["data"]))
    assert not {"prompt", "workflow"} & set(keys), f"{image.get('filename')} carries {keys}"
print(f"image-check: none of the {len(images)} outputs carries the prompt or the workflow")
PY
)"
    started="${EPOCHREALTIME}"
    runsync "${api_port}" test_input.json "${no_metadata}" || { docker logs "${name}" 2>&1 | tail -40; exit 1; }
    figure "test_input.json through the real ComfyUI: $(since "${started}")"

    if [[ -n "${checkpoint_name}" ]]; then
        python3 - "${checkpoint_name}" > "${scratch}/ksampler.json" <<'PY'
import json, sys
node = lambda kind, **inputs: {"class_type": kind, "inputs": inputs}
workflow = {
    "1": node("CheckpointLoaderSimple", ckpt_name=sys.argv[1]),
    "2": node("CLIPTextEncode", clip=["1", 1], text="a lighthouse at dusk"),
    "3": node("CLIPTextEncode", clip=["1", 1], text="blurry"),
    "4": node("EmptyLatentImage", width=64, height=64, batch_size=1),
    "5": node("KSampler", model=["1", 0], positive=["2", 0], negative=["3", 0], latent_image=["4", 0], seed=7,
              steps=4, cfg=7.0, sampler_name="euler", scheduler="normal", denoise=1.0),
    "6": node("VAEDecode", samples=["5", 0], vae=["1", 2]),
    "7": node("SaveImage", images=["6", 0], filename_prefix="ksampler"),
}
print(json.dumps({"input": {"workflow": workflow}}))
PY
        started="${EPOCHREALTIME}"
        runsync "${api_port}" "${scratch}/ksampler.json" "${no_metadata}" \
            || { docker logs "${name}" 2>&1 | tail -40; exit 1; }
        figure "a KSampler job (SD1.5 from the network volume, 64x64, 4 steps, on the CPU): $(since "${started}")"
    else
        echo "image-check: the KSampler job was not run (set CHECKPOINT to an SD1.5 .safetensors)"
    fi

    left="$(comm -13 <(echo "${folders_before}") \
        <(docker exec "${name}" find /comfyui/input /comfyui/output /comfyui/temp -mindepth 1 | sort) | head -20)"
    [[ -z "${left}" ]] || fail "job files left in ComfyUI's folders: ${left}"
    echo "image-check: the jobs left nothing in ComfyUI's input, output and temp folders" \
        "(before and after: ${folders_before:-nothing})"

    started="${EPOCHREALTIME}"
    docker exec "${name}" bash -c 'kill -KILL "$(cat /tmp/comfyui.pid)"'
    runsync "${api_port}" test_input.json \
        'assert answer.get("status") == "FAILED" and "comfy_process_died" in json.dumps(answer), str(answer)[:800]
print("image-check: a job after ComfyUI died fails with comfy_process_died")' \
        || { docker logs "${name}" 2>&1 | tail -40; exit 1; }
    figure "a job after ComfyUI was killed failed $(since "${started}") after the kill"
    timeout 120 docker wait "${name}" >/dev/null || fail "the container was not retired after ComfyUI died"
    figure "the container exited (status $(docker inspect -f '{{.State.ExitCode}}' "${name}")) $(since "${started}") after ComfyUI was killed"
    [[ "$(docker inspect -f '{{.State.ExitCode}}' "${name}")" != 0 ]] || fail "the container exited 0 after ComfyUI died"
fi

if [[ -n "${COMFYUI_SOURCE:-}" ]]; then
    # a context of its own: the tracked and new files of the project, and the archive as comfyui-source.tar.gz
    context="$(mktemp -d)"
    trap 'cleanup; rm -rf "${context}"' EXIT
    git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C "${context}"
    cp "${COMFYUI_SOURCE}" "${context}/comfyui-source.tar.gz"
    torch_args=()
    if [[ -n "${TORCH_WHEELS:-}" ]]; then
        mkdir "${context}/wheels" && cp "${TORCH_WHEELS}"/*.whl "${context}/wheels/"
        torch_args=(--build-arg TORCH_INDEX_URL=none)
    fi
    build comfyui-worker "${tag}:comfyui-cpu" "${context}" --build-arg COMFY_GPU_FLAG=--cpu \
        --build-arg COMFYUI_SOURCE=comfyui-source.tar.gz "${torch_args[@]}"
    gpu_port="$(free_port)"
    gpu_api_port="$(free_port)"
    containers+=("${tag}-comfyui-${gpu_api_port}")
    docker run -d --name "${tag}-comfyui-${gpu_api_port}" --network host -e SERVE_API_LOCALLY=true \
        -e "COMFY_LISTEN=127.0.0.1" -e "COMFY_PORT=${gpu_port}" -e RP_API_HOST=127.0.0.1 \
        -e "RP_API_PORT=${gpu_api_port}" "${tag}:comfyui-cpu" >/dev/null
    wait_for "http://127.0.0.1:${gpu_api_port}/docs" 600 "${tag}-comfyui-${gpu_api_port}" \
        || { docker logs "${tag}-comfyui-${gpu_api_port}" 2>&1 | tail -40; fail "the worker did not answer"; }
    runsync "${gpu_api_port}" test_input.json || { docker logs "${tag}-comfyui-${gpu_api_port}" 2>&1 | tail -40; exit 1; }
    started="${EPOCHREALTIME}"
    docker stop -t 10 "${tag}-comfyui-${gpu_api_port}" >/dev/null
    figure "docker stop took $(since "${started}")"
fi
echo "image-check: PASSED"
