#!/usr/bin/env bash
# restore_snapshot.sh [FILE|FOLDER]: restores a ComfyUI-Manager snapshot (the custom nodes, at their commits, and
# their pip packages from PyPI) into ComfyUI at build time, as worker-comfyui 5.x's restore_snapshot.sh did, and fails
# the build when it does not restore. Without an argument it looks for one *snapshot*.json at / (5.x's place: ADD it
# there); a FOLDER is searched the same way. No snapshot there: nothing to do. Two or more: refused (which one?).
#
# comfy-cli exits 0 when cm-cli fails, and cm-cli's restore-snapshot exits 0 with `[  FAILED   ] <node>` lines, so
# its output is read. ComfyUI's own version is not changed by a snapshot: the image's stays. Nodes installed before
# and not in the snapshot are disabled by it: restore first, then comfy-node-install.
#
#   COMFYUI_DIR      ComfyUI's folder (default /comfyui)
#   COMFYUI_PYTHON   ComfyUI's interpreter, where the nodes' requirements are checked (default: VIRTUAL_ENV's python)
set -euo pipefail

COMFY="${COMFY:-comfy}"
COMFYUI_DIR="${COMFYUI_DIR:-/comfyui}"
COMFYUI_PYTHON="${COMFYUI_PYTHON:-${VIRTUAL_ENV:+${VIRTUAL_ENV}/bin/python}}"
COMFYUI_PYTHON="${COMFYUI_PYTHON:-python3}"
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
where="${1:-/}"

if [[ -d "${where}" ]]; then
    mapfile -t found < <(find "${where}" -maxdepth 1 -type f -name '*snapshot*.json' | sort)
    if ((${#found[@]} == 0)); then
        echo "restore_snapshot.sh: no *snapshot*.json in ${where}: nothing to restore"
        exit 0
    fi
    if ((${#found[@]} > 1)); then
        echo "restore_snapshot.sh: more than one snapshot in ${where} (${found[*]}): keep one" >&2
        exit 2
    fi
    snapshot="${found[0]}"
else
    snapshot="${where}"
    [[ -f "${snapshot}" ]] || { echo "restore_snapshot.sh: ${snapshot}: no such file" >&2; exit 2; }
fi
[[ -f "${COMFYUI_DIR}/main.py" ]] || { echo "restore_snapshot.sh: no ComfyUI in ${COMFYUI_DIR}" >&2; exit 2; }

echo "restore_snapshot.sh: restoring ${snapshot} into ${COMFYUI_DIR}"
log="$(mktemp)"
trap 'rm -f "${log}"' EXIT
status=0
"${COMFY}" --skip-prompt --workspace "${COMFYUI_DIR}" node restore-snapshot "${snapshot}" --pip-non-url 2>&1 \
    | tee "${log}" || status=$?
if ((status != 0)) || grep -qE '\[ *FAILED *\]|Execution error|ComfyUI-Manager (not found|is not installed)' "${log}"; then
    failed="$(grep -E '\[ *FAILED *\]' "${log}" | sed -E 's/.*\] *//' | tr '\n' ' ' || true)"
    echo "restore_snapshot.sh: FAILED: ${snapshot} did not restore${failed:+ (nodes: ${failed% })}; see the log above" >&2
    exit 1
fi
shopt -s nullglob
nodes=("${COMFYUI_DIR}"/custom_nodes/*/)
if ((${#nodes[@]})) && ! "${COMFYUI_PYTHON}" "${here}/check_node_requirements.py" "${nodes[@]}"; then
    echo "restore_snapshot.sh: FAILED: the restored nodes' requirements are not in ${COMFYUI_PYTHON}" >&2
    exit 1
fi
echo "restore_snapshot.sh: restored ${snapshot}"
