#!/usr/bin/env bash
# CI-only setup, run by .ci/run before `make test`: a container engine (podman, Docker API on a
# socket the tests start), locally built images (no registry in CI), and the Go-built otelcol,
# Loki and Jaeger. Idempotent and cached under /var/cache/obsgen: a second run takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${OBSGEN_CACHE:-/var/cache/obsgen}
mkdir -p "$CACHE"

t_all=$(date +%s)
step() {
  # step NAME CMD...: run and print how long it took, so slow steps are visible in the CI log.
  local name=$1 t0
  shift
  t0=$(date +%s)
  echo "ci-setup: -> $name"
  "$@"
  echo "ci-setup: <- $name: $(($(date +%s) - t0)) s"
}

install_packages() {
  # netavark + aardvark-dns: without them podman falls back to CNI, where compose service names
  # (alertmanager:9093) do not resolve.
  local pkgs=(podman runc netavark aardvark-dns debootstrap prometheus prometheus-alertmanager) missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_podman() {
  # crun fails on this kernel's hybrid cgroups; podman's default ulimits exceed the sandbox's;
  # netavark (not CNI) so that aardvark-dns resolves compose service names.
  local conf=/etc/containers/containers.conf want
  want='[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"'
  mkdir -p /etc/containers
  if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
    printf '%s\n' "$want" >"$conf"
  fi
}

step "apt packages (podman, runc, debootstrap, prometheus, alertmanager)" install_packages
step "podman configuration" configure_podman
step "python venv" make --no-print-directory venv
step "Go builds (otelcol, loki, jaeger)" bash scripts/build-go-tools.sh
step "container images" bash scripts/build-images.sh
echo "ci-setup: done in $(($(date +%s) - t_all)) s"
