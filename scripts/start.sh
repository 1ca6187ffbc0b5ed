#!/usr/bin/env bash
# Container entry: checks the GPU, starts ComfyUI and the worker, and stops both together.
#
#   COMFYUI_CMD          the whole ComfyUI command (default: main.py in COMFYUI_DIR, see below)
#   COMFYUI_DIR          where ComfyUI is installed (default /comfyui)
#   COMFYUI_ARGS         extra arguments for ComfyUI's main.py
#   COMFYUI_PYTHON       ComfyUI's interpreter, in ComfyUI's own venv (default: PYTHON, else python3)
#   WORKER_PYTHON        the worker's interpreter, in the worker's own venv (default: PYTHON, else python3)
#   COMFY_LISTEN         ComfyUI's listen address (127.0.0.1; 0.0.0.0 with SERVE_API_LOCALLY)
#   COMFY_PORT           ComfyUI's port (8188); COMFY_HOST defaults to this address and port
#   COMFY_GPU_FLAG       --nvidia (default): a GPU preflight runs first; --cpu: ComfyUI runs with --cpu, no preflight
#   COMFY_KEEP_METADATA  true: ComfyUI embeds the prompt and workflow in saved files (default: --disable-metadata)
#   COMFY_EXIT_GRACE_S   after ComfyUI exits, seconds the worker keeps answering jobs (with the reason) before
#                        the container stops so that RunPod replaces it (default 10)
#   COMFY_INPUT_DIR, COMFY_OUTPUT_DIR, COMFY_TEMP_DIR  ComfyUI's folders, where the worker deletes each job's
#                        files (default: input, output, temp in COMFYUI_DIR, unless COMFYUI_ARGS names a *-directory)
#   COMFY_PID_FILE       where ComfyUI's PID is written (default /tmp/comfyui.pid); the worker watches it
#   COMFY_LOG_FILE       where ComfyUI's output is copied (default /tmp/comfyui.log); the worker reads its end to
#                        name why ComfyUI stopped
#   SERVE_API_LOCALLY    true: serve the RunPod SDK's local API on RP_API_HOST:RP_API_PORT (0.0.0.0:8000)
#   COMFY_LOG_LEVEL      ComfyUI's log level (--verbose): DEBUG, INFO, WARNING, ERROR or CRITICAL (default: ComfyUI's, INFO)
#   COMFY_TCMALLOC       true (default): ComfyUI runs with tcmalloc preloaded (LD_PRELOAD), when the image has it
#   COMFY_MANAGER_NETWORK_MODE  ComfyUI-Manager's network_mode written before ComfyUI starts (default offline)
#   NETWORK_VOLUME_DEBUG true: a report of the network volume's model folders is logged before ComfyUI starts
#   MODEL_DOWNLOAD_DIR   where jobs' model files are downloaded (default /runpod-volume/models with a network volume,
#                        else COMFYUI_DIR/models; another folder is registered with ComfyUI; off: no downloads)
#   PUBLIC_KEY, SSH_PORT an SSH public key: sshd runs on SSH_PORT (22) with that key as the only way in
#
# SIGTERM or SIGINT stop ComfyUI and the worker within 10 s at any moment; when either exits, the other is
# stopped and the script exits non-zero, so the container ends and is replaced.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
stop_grace_s=8

# the same words as the worker's own flags: 1/true/yes/on, 0/false/no/off or empty
flag() {  # name, value
    local value="$2"
    case "${value,,}" in
        1 | true | yes | on) echo true ;;
        0 | false | no | off | "") echo false ;;
        *) echo "start.sh: ${1}='${value}' must be true or false (1/true/yes/on, 0/false/no/off)" >&2; exit 2 ;;
    esac
}

# a switch whose bad value is only worth a warning (diagnostics, an allocator): the default stands
soft_flag() {  # name, value, default
    local value="$2"
    case "${value,,}" in
        1 | true | yes | on) echo true ;;
        0 | false | no | off) echo false ;;
        "") echo "$3" ;;
        *) echo "start.sh: ${1}='${value}' is not true or false: ${3} is used" >&2; echo "$3" ;;
    esac
}

# the value of ComfyUI's option NAME in COMFYUI_ARGS (--name value or --name=value), empty when absent
comfyui_option() {  # name
    local i args
    read -r -a args <<< "${COMFYUI_ARGS:-}"
    for ((i = 0; i < ${#args[@]}; i++)); do
        case "${args[i]}" in
            "$1") echo "${args[i + 1]:-}"; return ;;
            "$1"=*) echo "${args[i]#*=}"; return ;;
        esac
    done
}

serve_locally="$(flag SERVE_API_LOCALLY "${SERVE_API_LOCALLY:-}")"
keep_metadata="$(flag COMFY_KEEP_METADATA "${COMFY_KEEP_METADATA:-}")"
COMFYUI_PYTHON="${COMFYUI_PYTHON:-${PYTHON:-python3}}"
WORKER_PYTHON="${WORKER_PYTHON:-${PYTHON:-python3}}"
COMFYUI_DIR="${COMFYUI_DIR:-/comfyui}"
COMFY_GPU_FLAG="${COMFY_GPU_FLAG:---nvidia}"
COMFY_EXIT_GRACE_S="${COMFY_EXIT_GRACE_S:-10}"
if [[ "${serve_locally}" == true ]]; then
    COMFY_LISTEN="${COMFY_LISTEN:-0.0.0.0}"
else
    COMFY_LISTEN="${COMFY_LISTEN:-127.0.0.1}"
fi
COMFY_PORT="${COMFY_PORT:-8188}"
case "${COMFY_LISTEN}" in
    0.0.0.0 | "") dial="127.0.0.1" ;;
    :: | "[::]") dial="[::1]" ;;
    *:*) dial="[${COMFY_LISTEN}]" ;;
    *) dial="${COMFY_LISTEN}" ;;
esac
export COMFY_HOST="${COMFY_HOST:-${dial}:${COMFY_PORT}}"
export COMFY_PID_FILE="${COMFY_PID_FILE:-/tmp/comfyui.pid}"
export COMFY_LOG_FILE="${COMFY_LOG_FILE:-/tmp/comfyui.log}"
[[ "${COMFY_EXIT_GRACE_S}" =~ ^[0-9]+$ ]] || { echo "start.sh: COMFY_EXIT_GRACE_S='${COMFY_EXIT_GRACE_S}' must be a whole number of seconds" >&2; exit 2; }

if [[ "${COMFY_GPU_FLAG}" != "--cpu" ]]; then
    # a host whose GPU does not work must not take jobs: exit, RunPod puts the worker elsewhere
    "${COMFYUI_PYTHON}" "${here}/gpu_preflight.py" || exit 3
fi

# PUBLIC_KEY: sshd for debugging a worker; a failure to start it is logged and the worker starts anyway
if [[ -n "${PUBLIC_KEY:-}" ]]; then
    printf '%s\n' "${PUBLIC_KEY}" | "${here}/start_sshd.sh" "${SSH_PORT:-22}" \
        || echo "start.sh: sshd could not be started (PUBLIC_KEY is set): see the lines above" >&2
fi

# ComfyUI's user folder (ComfyUI-Manager's settings live there), as COMFYUI_ARGS may move it
user_dir="$(comfyui_option --user-directory)"
if [[ -z "${user_dir}" ]]; then
    base_dir="$(comfyui_option --base-directory)"
    user_dir="${base_dir:-${COMFYUI_DIR}}/user"
fi
# ComfyUI-Manager (when a derived image enables it) must not reach the network at every cold start
# (only where a ComfyUI folder exists: a ComfyUI elsewhere, COMFYUI_CMD's, is not written to)
manager_mode="${COMFY_MANAGER_NETWORK_MODE:-offline}"
if [[ -d "$(dirname "${user_dir}")" ]]; then
    set_mode="$(command -v comfy-manager-set-mode || echo "${here}/comfy-manager-set-mode")"
    "${COMFYUI_PYTHON}" "${set_mode}" --user-directory "${user_dir}" "${manager_mode}" \
        || echo "start.sh: ComfyUI-Manager's network_mode could not be set to '${manager_mode}'" >&2
fi

if [[ "$(soft_flag NETWORK_VOLUME_DEBUG "${NETWORK_VOLUME_DEBUG:-}" false)" == true ]]; then
    "${COMFYUI_PYTHON}" "${here}/network_volume_report.py" "${COMFYUI_DIR}/extra_model_paths.yaml" \
        || echo "start.sh: the network volume report failed (NETWORK_VOLUME_DEBUG)" >&2
fi

# tcmalloc for ComfyUI alone (fewer stalls and less fragmentation with large tensors), unless LD_PRELOAD is set
comfy_preload="${LD_PRELOAD:-}"
if [[ -z "${comfy_preload}" && "$(soft_flag COMFY_TCMALLOC "${COMFY_TCMALLOC:-}" true)" == true ]]; then
    comfy_preload="$(ldconfig -p 2>/dev/null | grep -oE '=> /.*/libtcmalloc(_minimal)?\.so\.[0-9]+$' \
        | head -n 1 | cut -c 4- || true)"
fi

if [[ -n "${COMFYUI_CMD:-}" ]]; then
    read -r -a comfyui_cmd <<< "${COMFYUI_CMD}"
else
    read -r -a extra_args <<< "${COMFYUI_ARGS:-}"
    comfyui_cmd=("${COMFYUI_PYTHON}" "${COMFYUI_DIR}/main.py" --listen "${COMFY_LISTEN}" --port "${COMFY_PORT}"
                 --disable-auto-launch)
    # the worker deletes each job's files from ComfyUI's folders once delivered (CLEANUP_JOB_FILES): name them,
    # unless COMFYUI_ARGS moves them elsewhere (then set COMFY_INPUT_DIR, COMFY_OUTPUT_DIR, COMFY_TEMP_DIR)
    if [[ " ${COMFYUI_ARGS:-} " != *-directory* ]]; then
        export COMFY_INPUT_DIR="${COMFY_INPUT_DIR:-${COMFYUI_DIR}/input}"
        export COMFY_OUTPUT_DIR="${COMFY_OUTPUT_DIR:-${COMFYUI_DIR}/output}"
        export COMFY_TEMP_DIR="${COMFY_TEMP_DIR:-${COMFYUI_DIR}/temp}"
    fi
    [[ "${keep_metadata}" == true ]] || comfyui_cmd+=(--disable-metadata)
    [[ "${COMFY_GPU_FLAG}" != "--cpu" ]] || comfyui_cmd+=(--cpu)
    log_level="${COMFY_LOG_LEVEL:-}"
    case "${log_level^^}" in
        "") ;;
        DEBUG | INFO | WARNING | ERROR | CRITICAL) comfyui_cmd+=(--verbose "${log_level^^}") ;;
        WARN) comfyui_cmd+=(--verbose WARNING) ;;
        *) echo "start.sh: COMFY_LOG_LEVEL='${log_level}' is not DEBUG, INFO, WARNING, ERROR or CRITICAL:" \
               "ComfyUI logs at its default (INFO)" >&2 ;;
    esac
    # models on demand: jobs' model files go to the network volume when one is mounted (every worker of the
    # endpoint shares them), else into ComfyUI's own models folder; MODEL_DOWNLOAD_DIR=off turns downloads off
    if [[ -z "${MODEL_DOWNLOAD_DIR:-}" ]]; then
        if [[ -d /runpod-volume ]]; then
            export MODEL_DOWNLOAD_DIR=/runpod-volume/models
        else
            export MODEL_DOWNLOAD_DIR="${COMFYUI_DIR}/models"
        fi
    fi
    # any other folder is registered with ComfyUI: one extra_model_paths entry, every model folder under it
    if [[ "${MODEL_DOWNLOAD_DIR,,}" != off && "${MODEL_DOWNLOAD_DIR}" != /runpod-volume/models \
          && "${MODEL_DOWNLOAD_DIR}" != "${COMFYUI_DIR}/models" ]]; then
        paths_file=/tmp/worker_model_paths.yaml
        {
            echo "worker_downloads:"
            echo "  base_path: \"${MODEL_DOWNLOAD_DIR}\""
            for folder in audio_encoders checkpoints classifiers clip_vision configs controlnet diffusers \
                          diffusion_models embeddings gligen hypernetworks ipadapter latent_upscale_models loras \
                          model_patches photomaker style_models text_encoders upscale_models vae vae_approx; do
                echo "  ${folder}: ${folder}"
            done
        } > "${paths_file}"
        comfyui_cmd+=(--extra-model-paths-config "${paths_file}")
    fi
    comfyui_cmd+=("${extra_args[@]}")
fi

worker_cmd=("${WORKER_PYTHON}" -m entrypoints.runpod_handler)
if [[ "${serve_locally}" == true ]]; then
    worker_cmd+=(--rp_serve_api --rp_api_host "${RP_API_HOST:-0.0.0.0}" --rp_api_port "${RP_API_PORT:-8000}")
fi

comfy_pid="" worker_pid=""

running() {  # a child that has exited but is not reaped yet counts as gone
    [[ -n "$1" && -r "/proc/$1/stat" ]] && [[ "$(cut -d ')' -f 2 "/proc/$1/stat" 2>/dev/null)" != " Z"* ]]
}

stop_all() {  # $1: the exit status
    trap '' TERM INT
    local pid give_up=$((SECONDS + stop_grace_s))
    # each runs in a process group of its own: the signal reaches what it started too
    for pid in ${worker_pid} ${comfy_pid}; do kill -TERM -- "-${pid}" 2>/dev/null || true; done
    while { running "${worker_pid}" || running "${comfy_pid}"; } && ((SECONDS < give_up)); do sleep 0.2; done
    for pid in ${worker_pid} ${comfy_pid}; do
        if running "${pid}"; then
            echo "start.sh: PID ${pid} ignored SIGTERM for ${stop_grace_s} s: killing it"
        fi
        kill -KILL -- "-${pid}" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    exit "$1"
}
trap 'echo "start.sh: stop signal: stopping ComfyUI and the worker"; stop_all 143' TERM INT
set -m  # job control: ComfyUI and the worker each lead a process group

echo "start.sh: starting ComfyUI: ${comfyui_cmd[*]}"
[[ -z "${comfy_preload}" ]] || echo "start.sh: ComfyUI runs with LD_PRELOAD=${comfy_preload}"
(
    cd "${COMFYUI_DIR}" 2>/dev/null || true
    : > "${COMFY_LOG_FILE}" || true
    if [[ -n "${comfy_preload}" ]]; then export LD_PRELOAD="${comfy_preload}"; fi
    # tee shares ComfyUI's process group, so stopping the group stops both
    exec "${comfyui_cmd[@]}" > >(tee -a "${COMFY_LOG_FILE}") 2>&1
) &
comfy_pid=$!
echo "${comfy_pid}" > "${COMFY_PID_FILE}"
echo "start.sh: ComfyUI runs as PID ${comfy_pid} (${COMFY_PID_FILE}); the worker dials ${COMFY_HOST}"

echo "start.sh: starting the worker: ${worker_cmd[*]}"
(cd / && exec "${worker_cmd[@]}") &
worker_pid=$!

status=0
wait -n "${comfy_pid}" "${worker_pid}" || status=$?
if ! running "${worker_pid}"; then
    echo "start.sh: the worker exited (status ${status}): stopping ComfyUI"
    stop_all "$((status == 0 ? 1 : status))"
fi
echo "start.sh: ComfyUI exited (status ${status}); the worker answers jobs with the reason for ${COMFY_EXIT_GRACE_S} s, then the container stops to be replaced"
give_up=$((SECONDS + COMFY_EXIT_GRACE_S))
while running "${worker_pid}" && ((SECONDS < give_up)); do sleep 0.5; done
stop_all 1
