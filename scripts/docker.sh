#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io if it is missing,
# starts dockerd without a bridge or iptables (sandboxed containers never get a network), and waits.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null; then
    echo "docker: installing docker.io" >&2
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if ! pgrep -x dockerd >/dev/null; then
    echo "docker: starting dockerd" >&2
    as_root sh -c 'nohup dockerd --iptables=false --bridge=none >/var/log/riality-dockerd.log 2>&1 &'
fi
for _ in $(seq 1 150); do
    if docker info >/dev/null 2>&1; then exit 0; fi
    sleep 0.2
done
echo "docker: dockerd did not answer within 30 s; see /var/log/riality-dockerd.log" >&2
exit 1
