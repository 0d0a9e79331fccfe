#!/usr/bin/env bash
# CI-only setup, run by .ci/run before `make test`, on a machine that may have nothing installed:
#   - Debian packages: a container engine (podman with netavark, aardvark-dns and iptables), debootstrap, and
#     Prometheus' and Alertmanager's packages (promtool 2.42 and amtool 0.25: the compatibility floor);
#   - the Go-built tools (scripts/build-go-tools.sh: otelcol, Jaeger, promtool, amtool, Sloth, Cortex, promrule-check),
#     in the background while the rest installs;
#   - locally built images (scripts/build-images.sh): no container registry is reachable in CI.
# Idempotent, and cached under /var/cache/obsgen: a second run takes seconds. Any step that cannot work stops
# the run with one line saying why, before a `make test` that could not pass.
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
  if ! "$@"; then
    echo "ci-setup: FAILED: $name (after $(($(date +%s) - t0)) s)" >&2
    exit 1
  fi
  echo "ci-setup: <- $name: $(($(date +%s) - t0)) s"
}

fail() {
  echo "ci-setup: $*" >&2
  exit 1
}

preflight() {
  [ "$(id -u)" = 0 ] || fail "needs root (apt-get, podman as root)"
  command -v apt-get >/dev/null || fail "needs apt-get (a Debian machine)"
  command -v go >/dev/null || fail "needs Go on PATH (otelcol, Jaeger, promtool, amtool, Sloth, Cortex and promrule-check are built from the Go module proxy)"
  command -v npm >/dev/null || command -v node >/dev/null || echo "ci-setup: no Node.js yet; make test-deps installs Debian's"
}

# Everything the container path needs. podman only "Suggests" iptables, so --no-install-recommends leaves it
# out, and then every container with a network fails ("netavark: No such file or directory"). Without netavark
# and aardvark-dns podman falls back to CNI, where compose service names (alertmanager:9093) do not resolve.
PACKAGES=(podman runc netavark aardvark-dns iptables debootstrap prometheus prometheus-alertmanager)

install_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "ci-setup: apt-get install ${missing[*]}"
  apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || return 1
  for p in "${missing[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || fail "package $p did not install"; done
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
  command -v iptables >/dev/null || fail "iptables is missing: netavark cannot give containers a network"
}

GO_PID=
go_builds_start() {
  # CPU-bound, so it overlaps well with the network-bound apt and debootstrap steps.
  GO_LOG="$CACHE/go-builds.log"
  bash scripts/build-go-tools.sh >"$GO_LOG" 2>&1 &
  GO_PID=$!
}
# A failed step must not leave the background builds running.
trap '[ -n "$GO_PID" ] && kill "$GO_PID" 2>/dev/null; true' EXIT

go_builds_wait() {
  local rc=0
  wait "$GO_PID" || rc=$?
  GO_PID=
  sed 's/^/  /' "$GO_LOG"
  return "$rc"
}

step "preflight" preflight
# The Go builds read the pins (generator/obsgen/stack_images.py) and the collector's components with the venv.
step "python venv (requirements.lock)" make --no-print-directory venv
t_go=$(date +%s)
echo "ci-setup: -> Go builds (otelcol, jaeger, promtool, amtool, sloth, cortex, promrule-check), in the background; log: $CACHE/go-builds.log"
go_builds_start
step "apt packages (${PACKAGES[*]})" install_packages
step "podman configuration" configure_podman
step "base and Debian-package images" bash scripts/build-images.sh base
echo "ci-setup: -> waiting for the Go builds"
go_builds_wait || fail "Go builds failed (see above and $CACHE/bin/*.error)"
echo "ci-setup: <- Go builds: $(($(date +%s) - t_go)) s since start"
step "images of the Go-built tools" bash scripts/build-images.sh
echo "ci-setup: done in $(($(date +%s) - t_all)) s"
