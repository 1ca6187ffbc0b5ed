#!/usr/bin/env bash
# start_sshd.sh PORT < KEY: sshd for debugging a worker (start.sh runs it when PUBLIC_KEY is set). The key read on
# stdin is the only way in: no passwords. Host keys are made here, per container (the image carries none, so
# containers of one image never share them). sshd runs in the background; its failure is this script's.
set -euo pipefail

port="${1:-22}"
if [[ ! "${port}" =~ ^[0-9]{1,5}$ ]] || ((10#${port} < 1 || 10#${port} > 65535)); then
    echo "start_sshd.sh: SSH_PORT='${port}' is not a port (1-65535)" >&2
    exit 2
fi
key="$(cat)"
if [[ ! "${key}" =~ ^(ssh-|ecdsa-|sk-) ]]; then
    echo "start_sshd.sh: PUBLIC_KEY does not look like an OpenSSH public key (ssh-ed25519 AAAA..., ssh-rsa ...)" >&2
    exit 2
fi
sshd_path="$(command -v sshd || echo /usr/sbin/sshd)"  # sshd re-executes itself: it must get an absolute path
[[ -x "${sshd_path}" ]] || { echo "start_sshd.sh: no sshd in this image (openssh-server)" >&2; exit 2; }

umask 077
mkdir -p "${HOME}/.ssh"
printf '%s\n' "${key}" > "${HOME}/.ssh/authorized_keys"
ssh-keygen -A >/dev/null
[[ -d /run/sshd ]] || install -d -m 0755 /run/sshd  # its privilege separation folder
"${sshd_path}" -p "${port}" -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
    -o PermitRootLogin=prohibit-password -o AuthorizedKeysFile=.ssh/authorized_keys
echo "start_sshd.sh: sshd listens on port ${port} (a ${key%% *} key)"
