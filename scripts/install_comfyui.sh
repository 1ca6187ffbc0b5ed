#!/usr/bin/env bash
# Installs ComfyUI at a pinned version into its own venv (the image's build step; runnable on any Linux host).
#
#   COMFYUI_VERSION       ComfyUI release to install with comfy-cli (e.g. 0.8.0); not needed with COMFYUI_SOURCE
#   COMFYUI_SOURCE        a ComfyUI source archive (.tar.gz, a path or a URL) installed instead of a clone;
#                         none: nothing is installed (a ComfyUI and its venv are mounted at run time)
#   COMFY_CLI_VERSION     comfy-cli release (default 1.23.0)
#   COMFYUI_DIR           install folder (default /comfyui)
#   COMFY_GPU_FLAG        --nvidia (default) or --cpu
#   CUDA_VERSION_FOR_COMFY  the CUDA build of torch (12.6, 12.8, ...); required with --nvidia, so the build
#                         host's driver is never what decides it. It must match the base image's CUDA_VERSION.
#   TORCH_INDEX_URL       where torch comes from with COMFYUI_SOURCE (default: PyTorch's index for that build;
#                         none: the default index only); *.whl files in the current folder (a CPU torch and
#                         torchvision, say) are installed first and pinned: the torch family comes from them alone
#   PYTHON                the interpreter of ComfyUI's venv (default python3)
set -euo pipefail

COMFY_CLI_VERSION="${COMFY_CLI_VERSION:-1.23.0}"
COMFYUI_DIR="${COMFYUI_DIR:-/comfyui}"
COMFY_GPU_FLAG="${COMFY_GPU_FLAG:---nvidia}"
CUDA_VERSION_FOR_COMFY="${CUDA_VERSION_FOR_COMFY:-}"
PYTHON="${PYTHON:-python3}"

fail() { echo "install_comfyui.sh: $*" >&2; exit 2; }

if [[ "${COMFYUI_SOURCE:-}" == none ]]; then
    echo "install_comfyui.sh: COMFYUI_SOURCE=none: no ComfyUI installed; mount one at ${COMFYUI_DIR} and its venv"
    exit 0
fi

case "${COMFY_GPU_FLAG}" in
    --cpu) gpu_args=(--cpu); torch_tag=cpu ;;
    --nvidia)
        [[ -n "${CUDA_VERSION_FOR_COMFY}" ]] || fail "set CUDA_VERSION_FOR_COMFY (e.g. 12.6) to the base image's CUDA"
        # nvidia/cuda images set CUDA_VERSION (e.g. 12.6.3): a torch for another CUDA would not run on it
        if [[ -n "${CUDA_VERSION:-}" && "${CUDA_VERSION}" != "${CUDA_VERSION_FOR_COMFY}" \
              && "${CUDA_VERSION}" != "${CUDA_VERSION_FOR_COMFY}."* ]]; then
            fail "CUDA_VERSION_FOR_COMFY=${CUDA_VERSION_FOR_COMFY} does not match the base image's CUDA ${CUDA_VERSION}"
        fi
        gpu_args=(--nvidia --cuda-version "${CUDA_VERSION_FOR_COMFY}")
        torch_tag="cu${CUDA_VERSION_FOR_COMFY//./}" ;;
    *) fail "COMFY_GPU_FLAG=${COMFY_GPU_FLAG}: use --nvidia or --cpu" ;;
esac

"${PYTHON}" -m pip install --no-cache-dir "comfy-cli==${COMFY_CLI_VERSION}"
comfy --skip-prompt tracking disable

if [[ -n "${COMFYUI_SOURCE:-}" ]]; then
    archive="${COMFYUI_SOURCE}"
    if [[ "${archive}" == http://* || "${archive}" == https://* ]]; then
        archive="$(mktemp)"
        "${PYTHON}" -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
            "${COMFYUI_SOURCE}" "${archive}"
    fi
    [[ -f "${archive}" ]] || fail "COMFYUI_SOURCE=${COMFYUI_SOURCE}: no such archive"
    mkdir -p "${COMFYUI_DIR}"
    tar -xzf "${archive}" -C "${COMFYUI_DIR}" --strip-components=1
    [[ -f "${COMFYUI_DIR}/main.py" ]] || fail "COMFYUI_SOURCE=${COMFYUI_SOURCE} holds no ComfyUI (no main.py at its top)"
    # wheels beside the archive (an offline build) come first; TORCH_INDEX_URL=none: the default index only
    pip_sources=()
    wheels=()
    compgen -G "*.whl" > /dev/null && wheels=("${PWD}"/*.whl) && pip_sources+=(--find-links "${PWD}")
    index="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/${torch_tag}}"
    [[ "${index}" == none ]] || pip_sources+=(--extra-index-url "${index}")
    if ((${#wheels[@]} == 0)); then
        "${PYTHON}" -m pip install --no-cache-dir "${pip_sources[@]}" torch torchvision torchaudio \
            -r "${COMFYUI_DIR}/requirements.txt"
    else
        # the wheels are the chosen builds of the torch family: installed first, then pinned (ComfyUI's
        # requirements name torch unpinned, and the index's newer release would replace them); ComfyUI's own
        # requirement on a torch-family package that no wheel provides is dropped
        "${PYTHON}" -m pip install --no-cache-dir "${pip_sources[@]}" "${wheels[@]}"
        constraints="$(mktemp)" requirements="$(mktemp)"
        for wheel in "${wheels[@]}"; do  # name-version-...whl
            wheel="$(basename "${wheel}")" && rest="${wheel#*-}"
            echo "${wheel%%-*}==${rest%%-*}" >> "${constraints}"
        done
        grep -viE '^[[:space:]]*torch(vision|audio)?[[:space:]]*([<>=!~;[].*)?$' "${COMFYUI_DIR}/requirements.txt" \
            > "${requirements}" || true
        for package in torch torchvision torchaudio; do
            grep -qiE "^${package}==" "${constraints}" || echo "install_comfyui.sh: ${package}: no wheel provides it;" \
                "ComfyUI's own requirement is dropped (a package that needs it still takes the index's build)"
        done
        "${PYTHON}" -m pip install --no-cache-dir "${pip_sources[@]}" -c "${constraints}" -r "${requirements}"
    fi
    comfy --skip-prompt set-default "${COMFYUI_DIR}"
    echo "install_comfyui.sh: ComfyUI from ${COMFYUI_SOURCE} installed in ${COMFYUI_DIR} (${COMFY_GPU_FLAG}, torch ${torch_tag})"
    exit 0
fi

: "${COMFYUI_VERSION:?set COMFYUI_VERSION, e.g. 0.8.0, or COMFYUI_SOURCE}"
comfy --skip-prompt --workspace "${COMFYUI_DIR}" install --version "${COMFYUI_VERSION}" "${gpu_args[@]}"
comfy --skip-prompt set-default "${COMFYUI_DIR}"
echo "install_comfyui.sh: ComfyUI ${COMFYUI_VERSION} installed in ${COMFYUI_DIR} (${COMFY_GPU_FLAG}, torch ${torch_tag})"
