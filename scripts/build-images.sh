#!/usr/bin/env bash
# Build local stand-ins for the stack's images with podman, for CI where no registry is reachable:
#   localhost/debian:bookworm          debootstrap minbase rootfs (tarball cached)
#   localhost/obsgen/prometheus        Debian's prometheus (+promtool), official image layout
#   localhost/obsgen/alertmanager      Debian's prometheus-alertmanager (+amtool), official layout
#   localhost/obsgen/{otel-collector,loki,jaeger}   the Go-built binaries (scripts/build-go-tools.sh)
# and write $OBSGEN_CACHE/images.env: OBSGEN_IMAGE_<SERVICE>=... (container runner) and the compose
# variables (PROMETHEUS_IMAGE=...) so tests use these images instead of pretending to be the pins.
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

t0=$(date +%s)
base_image
echo "build-images: $BASE ready ($(($(date +%s) - t0)) s)"

build prometheus localhost/obsgen/prometheus:debian-bookworm
build alertmanager localhost/obsgen/alertmanager:debian-bookworm

# Go-built tools: only those scripts/build-go-tools.sh managed to build (failures are in *.error).
v=$(pin loki version)
if [ -x "$BIN_CACHE/loki-$v" ]; then build loki "localhost/obsgen/loki:$v" "$BIN_CACHE/loki-$v" loki; else echo "build-images: no loki-$v binary; skipped" >&2; fi
v=$(pin jaeger version)
if [ -x "$BIN_CACHE/jaeger-$v" ]; then build jaeger "localhost/obsgen/jaeger:$v" "$BIN_CACHE/jaeger-$v" jaeger; else echo "build-images: no jaeger-$v binary; skipped" >&2; fi
v=$(pin otel-collector version)
key=$(PYTHONPATH=$ROOT/generator "$PY" -m obsgen.otelcol_components --config compose/otel-collector/config.yaml --key 2>/dev/null || true)
if [ -n "$key" ] && [ -x "$BIN_CACHE/otelcol-$v-$key" ]; then
  build otel-collector "localhost/obsgen/otel-collector:$v-$key" "$BIN_CACHE/otelcol-$v-$key" otelcol
else
  echo "build-images: no otelcol-$v-$key binary; skipped" >&2
fi

# Drop dangling layers left by rebuilds so a long-lived CI machine does not fill up.
podman image prune -f >/dev/null 2>&1 || true
printf '%s\n' "${ENV_LINES[@]}" | sort >"$CACHE/images.env.tmp" && mv "$CACHE/images.env.tmp" "$CACHE/images.env"
echo "build-images: wrote $CACHE/images.env"
