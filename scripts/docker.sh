#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io if it is missing,
# starts dockerd without a bridge or iptables (sandboxed containers never get a network), and waits.
# With --gvisor it also installs Debian's runsc and registers it with dockerd as the runtime `runsc`
# (ptrace platform: --platform=kvm hung here; no network), for RIALITY_SANDBOX_RUNTIME=runsc.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

gvisor() {
    if ! command -v runsc >/dev/null; then
        echo "docker: installing runsc (gVisor)" >&2
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null
    fi
    if docker info --format '{{json .Runtimes}}' | grep -q '"runsc"'; then return 0; fi
    echo "docker: registering runsc with dockerd" >&2
    as_root mkdir -p /etc/docker
    as_root python3 - "$(command -v runsc)" <<'PY'
import json, pathlib, sys
path = pathlib.Path("/etc/docker/daemon.json")
config = json.loads(path.read_text()) if path.exists() else {}
config.setdefault("runtimes", {})["runsc"] = {"path": sys.argv[1], "runtimeArgs": ["--platform=ptrace", "--network=none"]}
path.write_text(json.dumps(config, indent=2) + "\n")
PY
    as_root pkill -HUP -x dockerd  # dockerd reloads its runtimes without stopping any container
    for _ in $(seq 1 50); do
        if docker info --format '{{json .Runtimes}}' | grep -q '"runsc"'; then return 0; fi
        sleep 0.2
    done
    echo "docker: dockerd did not register runsc; see /var/log/riality-dockerd.log" >&2
    exit 1
}

if docker info >/dev/null 2>&1; then
    if [ "${1:-}" = "--gvisor" ]; then gvisor; fi
    exit 0
fi
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
    if docker info >/dev/null 2>&1; then
        if [ "${1:-}" = "--gvisor" ]; then gvisor; fi
        exit 0
    fi
    sleep 0.2
done
echo "docker: dockerd did not answer within 30 s; see /var/log/riality-dockerd.log" >&2
exit 1
