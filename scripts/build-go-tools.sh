#!/usr/bin/env bash
# Build otelcol (OpenTelemetry Collector Builder), Loki and Jaeger from their Go modules at the
# versions the compose stack pins (generator/obsgen/stack_images.py), and cache the binaries by
# version outside the repo: $OBSGEN_BIN_CACHE/<tool>-<version> (default /var/cache/obsgen/bin).
#
# Usage: scripts/build-go-tools.sh [otelcol] [loki] [jaeger]   (default: all three)
# A tool that fails to build is recorded in <cache>/<tool>-<version>.error (with the log tail)
# and the others still build; the script exits 0 so CI can go on, and the tests report it.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${OBSGEN_BIN_CACHE:-/var/cache/obsgen/bin}
LOGS=$CACHE/logs
mkdir -p "$CACHE" "$LOGS"

if ! command -v go >/dev/null; then
  echo "build-go-tools: no Go toolchain; otelcol, loki and jaeger validators use containers or are reported missing" >&2
  exit 0
fi

PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
# Versions come from the single place that pins the images.
pin() { PYTHONPATH=$ROOT/generator "$PY" -c "from obsgen.stack_images import IMAGES; print(IMAGES['$1'].version)"; }

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
LDFLAGS="-s -w"

now() { date +%s; }

# run_build TOOL VERSION FUNCTION: skip when cached, time it, record failures.
run_build() {
  local tool=$1 version=$2 fn=$3 out="$CACHE/$1-$2" log="$LOGS/$1-$2.log" t0
  if [ -x "$out" ]; then
    echo "build-go-tools: $tool $version cached at $out"
    return 0
  fi
  t0=$(now)
  echo "build-go-tools: building $tool $version (log: $log)"
  if "$fn" "$version" "$out.tmp" >"$log" 2>&1; then
    mv -f "$out.tmp" "$out"
    rm -f "$CACHE/$tool-$version.error"
    echo "build-go-tools: $tool $version built in $(($(now) - t0)) s -> $out"
  else
    rm -f "$out.tmp"
    { echo "build of $tool $version failed after $(($(now) - t0)) s; last lines of $log:"; tail -n 25 "$log"; } >"$CACHE/$tool-$version.error"
    echo "build-go-tools: $tool $version FAILED ($(($(now) - t0)) s); see $CACHE/$tool-$version.error" >&2
  fi
}

# module_src MODULE@VERSION DEST: a writable copy of the downloaded module. Loki and Jaeger have
# replace directives, so `go install m@v` refuses; we build inside the module instead.
module_src() {
  local dir
  dir=$(go mod download -json "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') || return 1
  rm -rf "$2" && mkdir -p "$(dirname "$2")" && cp -r "$dir" "$2" && chmod -R u+w "$2"
}

# fill_local_replaces DIR: module zips omit nested modules, so a `replace X => ./sub` points at a
# missing directory (Loki: ./pkg/push). Fill it with X at the version go.mod requires.
fill_local_replaces() {
  local dir=$1 line path sub version moddir
  while read -r line; do
    [ -z "$line" ] && continue
    path=${line%% *} sub=${line##* }
    [ -d "$dir/$sub" ] && continue
    version=$(cd "$dir" && go mod edit -json | "$PY" -c "import json,sys; print(next(r['Version'] for r in json.load(sys.stdin)['Require'] if r['Path']=='$path'))") || return 1
    echo "fill_local_replaces: $sub is not in the module zip; using $path@$version"
    moddir=$(go mod download -json "$path@$version" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') || return 1
    mkdir -p "$dir/$sub" && cp -r "$moddir"/. "$dir/$sub" && chmod -R u+w "$dir/$sub"
  done < <(cd "$dir" && go mod edit -json | "$PY" -c "
import json, sys
for r in json.load(sys.stdin).get('Replace') or []:
    if r['New']['Path'].startswith('./'):
        print(r['Old']['Path'], r['New']['Path'])")
}

build_loki() {
  local v=$1 out=$2 src="$CACHE/src/loki-$1"
  module_src "github.com/grafana/loki/v3@v$v" "$src" || return 1
  fill_local_replaces "$src" || return 1
  (cd "$src" && go build -trimpath -ldflags "$LDFLAGS -X github.com/grafana/loki/v3/pkg/util/build.Version=$v" -o "$out" ./cmd/loki) || return 1
  # lokitool (same module, same version) lints the ruler's LogQL rule files: `loki -verify-config`
  # checks the configuration only and never reads the rules.
  (cd "$src" && go build -trimpath -ldflags "$LDFLAGS" -o "$CACHE/lokitool-$v.tmp" ./cmd/lokitool) || return 1
  mv -f "$CACHE/lokitool-$v.tmp" "$CACHE/lokitool-$v"
  rm -rf "$src"
}

build_jaeger() {
  # Jaeger v2.N is tagged v1.(62+N) in its Go module (v2.0.0 == v1.62.0).
  local v=$1 out=$2 minor src
  minor=$(echo "$v" | cut -d. -f2)
  src="$CACHE/src/jaeger-$v"
  module_src "github.com/jaegertracing/jaeger@v1.$((62 + minor)).0" "$src" || return 1
  (cd "$src" && go build -trimpath -ldflags "$LDFLAGS -X github.com/jaegertracing/jaeger/internal/version.latestVersion=v$v" -o "$out" ./cmd/jaeger) || return 1
  rm -rf "$src"
}

build_otelcol() {
  # The contrib distribution 0.X.Y ships components v0.X.0; the builder's core matches.
  local v=$1 out=$2 base work manifest
  base=$(echo "$v" | cut -d. -f1-2).0
  work="$CACHE/src/otelcol-$v"
  rm -rf "$work" && mkdir -p "$work"
  # The checksum database is not reachable for every module from these machines (404 for the builder
  # itself), and the builder generates a fresh go.mod with no go.sum to check against: skip the sumdb
  # here only. Loki and Jaeger keep it, and are checked against their own go.sum.
  local GOSUMDB=off
  export GOSUMDB
  GOBIN="$work/bin" go install "go.opentelemetry.io/collector/cmd/builder@v$base" || return 1
  manifest="$work/builder.yaml"
  PYTHONPATH=$ROOT/generator "$PY" -m obsgen.otelcol_components --config "$ROOT/compose/otel-collector/config.yaml" \
    --version "$base" --output-path "$work/dist" >"$manifest" || return 1
  cat "$manifest"
  "$work/bin/builder" --config="$manifest" || return 1
  cp "$work/dist/otelcol-obsgen" "$out"
  cp "$manifest" "$CACHE/otelcol-$v.builder.yaml"
  rm -rf "$work"
}

build_otelcol_keyed() { build_otelcol "${1%-*}" "$2"; }

otelcol_key() {
  # The binary depends on the component set too: key it by version plus a hash of the components.
  PYTHONPATH=$ROOT/generator "$PY" -m obsgen.otelcol_components --config "$ROOT/compose/otel-collector/config.yaml" --key
}

tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=(otelcol loki jaeger)
for t in "${tools[@]}"; do
  case $t in
    loki)
      v=$(pin loki)
      # A loki binary cached without its lokitool (older cache layout) is rebuilt once.
      [ -x "$CACHE/loki-$v" ] && [ ! -x "$CACHE/lokitool-$v" ] && rm -f "$CACHE/loki-$v"
      run_build loki "$v" build_loki
      ;;
    jaeger) run_build jaeger "$(pin jaeger)" build_jaeger ;;
    otelcol)
      if [ ! -f compose/otel-collector/config.yaml ]; then
        echo "build-go-tools: compose/otel-collector/config.yaml missing; run 'make generate' first" >&2
        continue
      fi
      v=$(pin otel-collector)
      key=$(otelcol_key) || { echo "build-go-tools: cannot read the collector config" >&2; continue; }
      run_build otelcol "$v-$key" build_otelcol_keyed
      ;;
    *) echo "build-go-tools: unknown tool $t" >&2; exit 2 ;;
  esac
done
