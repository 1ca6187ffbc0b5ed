#!/usr/bin/env bash
# Installs ComfyUI with comfy-cli at a pinned version (the image's build step; runnable on any Linux host).
#
#   COMFYUI_VERSION    ComfyUI release to install (required, e.g. 0.8.0)
#   COMFY_CLI_VERSION  comfy-cli release (default 1.23.0)
#   COMFYUI_DIR        install folder (default /comfyui)
#   COMFY_GPU_FLAG     comfy-cli's GPU flag: --nvidia (default), --cpu, --amd
set -euo pipefail

: "${COMFYUI_VERSION:?set COMFYUI_VERSION, e.g. 0.8.0}"
COMFY_CLI_VERSION="${COMFY_CLI_VERSION:-1.23.0}"
COMFYUI_DIR="${COMFYUI_DIR:-/comfyui}"
COMFY_GPU_FLAG="${COMFY_GPU_FLAG:---nvidia}"
PYTHON="${PYTHON:-python3}"

"${PYTHON}" -m pip install --no-cache-dir "comfy-cli==${COMFY_CLI_VERSION}"
comfy --skip-prompt tracking disable
comfy --skip-prompt --workspace "${COMFYUI_DIR}" install --version "${COMFYUI_VERSION}" "${COMFY_GPU_FLAG}"
comfy --skip-prompt set-default "${COMFYUI_DIR}"
echo "install_comfyui.sh: ComfyUI ${COMFYUI_VERSION} installed in ${COMFYUI_DIR}"
