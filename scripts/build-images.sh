#!/usr/bin/env bash
# Build local stand-ins for the stack's images with podman, for CI where no registry is reachable:
#   localhost/debian:bookworm          debootstrap minbase rootfs (tarball cached)
#   localhost/obsgen/blackbox-exporter Debian's prometheus-blackbox-exporter, official image layout
#   localhost/obsgen/prometheus        Debian's prometheus server, with the Go-built promtool at the pinned
#                                      version copied over Debian's (tag debian-bookworm-promtool-<version>)
#   localhost/obsgen/alertmanager      Debian's prometheus-alertmanager, with the Go-built amtool at the pinned
#                                      version copied over Debian's (tag debian-bookworm-amtool-<version>)
#   localhost/obsgen/{otel-collector,jaeger,cortex}   the Go-built binaries (scripts/build-go-tools.sh)
# and write $OBSGEN_CACHE/images.env: OBSGEN_IMAGE_<SERVICE>=... (container runner) and the compose
# variables (PROMETHEUS_IMAGE=...) so tests use these images instead of pretending to be the pins.
# No Loki image: Loki's Go module is AGPL and may not be built here; users' compose runs grafana/loki.
#
# Usage: scripts/build-images.sh [base]   (base: only the images that need no Go-built binary)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${OBSGEN_CACHE:-/var/cache/obsgen}
BIN_CACHE=${OBSGEN_BIN_CACHE:-$CACHE/bin}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
BASE=localhost/debian:bookworm
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
mkdir -p "$CACHE"

base_image() {
  podman image exists "$BASE" && return 0
  local tarball="$CACHE/debian-bookworm-minbase.tar" rootfs="$CACHE/rootfs.tmp"
  if [ ! -s "$tarball" ]; then
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || { tail -n 20 "$CACHE/debootstrap.log" >&2; return 1; }
    # Same apt settings as the host (e.g. a snapshot mirror whose Release files are past Valid-Until).
    cp /etc/apt/apt.conf.d/99artifact-registry "$rootfs/etc/apt/apt.conf.d/" 2>/dev/null || true
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  podman import "$tarball" "$BASE" >/dev/null 2>&1
}

# pin SERVICE FIELD: a field of the pinned image in generator/obsgen/stack_images.py.
pin() { PYTHONPATH=$ROOT/generator "$PY" -c "from obsgen.stack_images import IMAGES; print(IMAGES['$1'].$2)"; }

ENV_LINES=()
# build SERVICE TAG [BINARY NAME]: podman build images/SERVICE; a binary is copied into the context.
build() {
  local service=$1 tag=$2 binary=${3:-} name=${4:-} ctx t0 var input
  t0=$(date +%s)
  var=OBSGEN_IMAGE_$(echo "$service" | tr 'a-z-' 'A-Z_')
  # Skip the build when the image was built from the same Containerfile, binary and base image.
  input=$( { cat "images/$service/Containerfile"; [ -n "$binary" ] && cat "$binary"; podman image inspect --format '{{.Id}}' "$BASE"; } | sha256sum | cut -c1-16)
  if [ "$(podman image inspect --format '{{ index .Labels "obsgen.input" }}' "$tag" 2>/dev/null)" = "$input" ]; then
    ENV_LINES+=("$var=$tag" "$(pin "$service" env)=$tag")
    echo "build-images: $tag up to date"
    return 0
  fi
  ctx=$(mktemp -d)
  cp "images/$service/Containerfile" "$ctx/"
  [ -n "$binary" ] && cp "$binary" "$ctx/$name"
  if podman build -q --label "obsgen.input=$input" -t "$tag" -f "$ctx/Containerfile" "$ctx" >"$CACHE/build-$service.log" 2>&1; then
    ENV_LINES+=("$var=$tag" "$(pin "$service" env)=$tag")
    echo "build-images: $tag ($(($(date +%s) - t0)) s)"
  else
    echo "build-images: $tag FAILED:" >&2
    tail -n 20 "$CACHE/build-$service.log" >&2
    rm -rf "$ctx"
    return 1
  fi
  rm -rf "$ctx"
}

network_check() {
  # A container with a network is what compose and the validators need; fail here with the reason, not later.
  local out
  if ! out=$(podman run --rm "$BASE" true 2>&1); then
    echo "build-images: podman cannot run a container with a network: $(echo "$out" | tail -n 1)" >&2
    echo "build-images: (is iptables installed? are netavark and aardvark-dns? see scripts/ci-setup.sh)" >&2
    return 1
  fi
}

t0=$(date +%s)
base_image
network_check
echo "build-images: $BASE ready ($(($(date +%s) - t0)) s)"

build blackbox-exporter localhost/obsgen/blackbox-exporter:debian-bookworm

write_env() {
  printf '%s\n' "${ENV_LINES[@]}" | sort >"$CACHE/images.env.tmp" && mv "$CACHE/images.env.tmp" "$CACHE/images.env"
  echo "build-images: wrote $CACHE/images.env"
}
if [ "${1:-}" = base ]; then
  write_env
  exit 0
fi

# Go-built tools (scripts/build-go-tools.sh): a missing binary stops the run, since the tests need its image.
need_binary() {
  [ -x "$1" ] && return 0
  echo "build-images: $1 is missing; run scripts/build-go-tools.sh (its errors are in $BIN_CACHE/*.error)" >&2
  exit 1
}
# promtool and amtool at the pinned versions, over Debian's: the container path validates at the stack's versions.
v=$(pin prometheus version)
need_binary "$BIN_CACHE/promtool-$v"
build prometheus "localhost/obsgen/prometheus:debian-bookworm-promtool-$v" "$BIN_CACHE/promtool-$v" promtool
v=$(pin alertmanager version)
need_binary "$BIN_CACHE/amtool-$v"
build alertmanager "localhost/obsgen/alertmanager:debian-bookworm-amtool-$v" "$BIN_CACHE/amtool-$v" amtool
v=$(pin jaeger version)
need_binary "$BIN_CACHE/jaeger-$v"
build jaeger "localhost/obsgen/jaeger:$v" "$BIN_CACHE/jaeger-$v" jaeger
v=$(pin otel-collector version)
key=$(PYTHONPATH=$ROOT/generator "$PY" -m obsgen.check.otelcol_components --config compose/otel-collector/config.yaml --key)
need_binary "$BIN_CACHE/otelcol-$v-$key"
build otel-collector "localhost/obsgen/otel-collector:$v-$key" "$BIN_CACHE/otelcol-$v-$key" otelcol
v=$(pin cortex version)
need_binary "$BIN_CACHE/cortex-$v"
build cortex "localhost/obsgen/cortex:$v" "$BIN_CACHE/cortex-$v" cortex

# Drop dangling layers left by rebuilds so a long-lived CI machine does not fill up.
podman image prune -f >/dev/null 2>&1 || true
write_env
