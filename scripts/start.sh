#!/usr/bin/env bash
# Container entry: starts ComfyUI in the background, records its PID, then runs the worker in the foreground.
#
#   COMFYUI_CMD        the ComfyUI command (default: python main.py in COMFYUI_DIR, listening on 127.0.0.1:8188)
#   COMFYUI_DIR        where ComfyUI is installed (default /comfyui)
#   COMFYUI_ARGS       extra arguments for ComfyUI's main.py
#   COMFY_PID_FILE     where ComfyUI's PID is written (default /tmp/comfyui.pid); the worker watches it
#   SERVE_API_LOCALLY  true: serve the RunPod SDK's local API on RP_API_HOST:RP_API_PORT (0.0.0.0:8000)
set -euo pipefail

PYTHON="${PYTHON:-python3}"
COMFYUI_DIR="${COMFYUI_DIR:-/comfyui}"
COMFY_LISTEN="${COMFY_LISTEN:-127.0.0.1}"
COMFY_PORT="${COMFY_PORT:-8188}"
export COMFY_HOST="${COMFY_HOST:-${COMFY_LISTEN}:${COMFY_PORT}}"
export COMFY_PID_FILE="${COMFY_PID_FILE:-/tmp/comfyui.pid}"

if [[ -n "${COMFYUI_CMD:-}" ]]; then
    read -r -a comfyui_cmd <<< "${COMFYUI_CMD}"
else
    read -r -a extra_args <<< "${COMFYUI_ARGS:-}"
    comfyui_cmd=("${PYTHON}" "${COMFYUI_DIR}/main.py" --listen "${COMFY_LISTEN}" --port "${COMFY_PORT}"
                 --disable-auto-launch "${extra_args[@]}")
fi

echo "start.sh: starting ComfyUI: ${comfyui_cmd[*]}"
"${comfyui_cmd[@]}" &
echo "$!" > "${COMFY_PID_FILE}"
echo "start.sh: ComfyUI runs as PID $(cat "${COMFY_PID_FILE}") (${COMFY_PID_FILE})"

worker_cmd=("${PYTHON}" -m entrypoints.runpod_handler)
if [[ "${SERVE_API_LOCALLY:-false}" == "true" ]]; then
    worker_cmd+=(--rp_serve_api --rp_api_host "${RP_API_HOST:-0.0.0.0}" --rp_api_port "${RP_API_PORT:-8000}")
fi
echo "start.sh: starting the worker: ${worker_cmd[*]}"
exec "${worker_cmd[@]}"
