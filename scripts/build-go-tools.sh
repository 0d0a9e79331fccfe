#!/usr/bin/env bash
# Build the Go-only tools from their Go modules and cache the binaries by version outside the repo:
# $OBSGEN_BIN_CACHE/<tool>-<version> (default /var/cache/obsgen/bin). A cached version is never rebuilt.
#   otelcol   OpenTelemetry Collector Builder, exactly the components compose/otel-collector/config.yaml uses,
#             at the version the compose stack pins (generator/obsgen/stack_images.py)
#   jaeger    Jaeger v2 at the pinned version
#   promtool  Prometheus' promtool at the pinned Prometheus version (the Debian one, 2.42, is the floor)
#   amtool    Alertmanager's amtool at the pinned Alertmanager version (Debian's is 0.25)
#   sloth     Sloth, the SLO generator obsgen is compared with (bench/vs_sloth.py and the equivalence tests)
# Never Loki, Grafana, Tempo or Mimir: their Go modules are AGPL and may not be used on these machines.
#
# Usage: scripts/build-go-tools.sh [TOOL...]   (default: all)
# A tool that fails to build is recorded in <cache>/<tool>-<version>.error (with the log tail) and the others
# still build; the script then exits 1 naming the failures, so CI stops before tests that cannot pass.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=${OBSGEN_BIN_CACHE:-/var/cache/obsgen/bin}
LOGS=$CACHE/logs
mkdir -p "$CACHE" "$LOGS"

if ! command -v go >/dev/null; then
  echo "build-go-tools: no Go toolchain (go is not on PATH); the Go-built validators are reported missing" >&2
  exit 1
fi

PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=python3
# Versions come from the single place that pins the images.
pin() { PYTHONPATH=$ROOT/generator "$PY" -c "from obsgen.stack_images import IMAGES; print(IMAGES['$1'].version)"; }

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
LDFLAGS="-s -w"

now() { date +%s; }
FAILED=()

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
    FAILED+=("$tool")
    { echo "build of $tool $version failed after $(($(now) - t0)) s; last lines of $log:"; tail -n 25 "$log"; } >"$CACHE/$tool-$version.error"
    echo "build-go-tools: $tool $version FAILED ($(($(now) - t0)) s); see $CACHE/$tool-$version.error" >&2
  fi
}

# module_src MODULE@VERSION DEST: a writable copy of the downloaded module. Jaeger and Prometheus have
# replace directives, so `go install m@v` refuses; we build inside the module instead.
module_src() {
  local dir
  dir=$(go mod download -json "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') || return 1
  rm -rf "$2" && mkdir -p "$(dirname "$2")" && cp -r "$dir" "$2" && chmod -R u+w "$2"
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
  PYTHONPATH=$ROOT/generator "$PY" -m obsgen.check.otelcol_components --config "$ROOT/compose/otel-collector/config.yaml" \
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
  PYTHONPATH=$ROOT/generator "$PY" -m obsgen.check.otelcol_components --config "$ROOT/compose/otel-collector/config.yaml" --key
}

build_promtool() {
  # Prometheus 3.X.Y is tagged v0.3XX.Y in its Go module (3.5.0 == v0.305.0).
  local v=$1 out=$2 major minor patch src
  IFS=. read -r major minor patch <<<"$v"
  src="$CACHE/src/prometheus-$v"
  module_src "github.com/prometheus/prometheus@v0.$((major * 100 + minor)).$patch" "$src" || return 1
  (cd "$src" && go build -trimpath -ldflags "$LDFLAGS -X github.com/prometheus/common/version.Version=$v" -o "$out" ./cmd/promtool) || return 1
  rm -rf "$src"
}

build_amtool() {
  local v=$1 out=$2 gobin
  gobin=$(mktemp -d)
  GOBIN=$gobin go install -trimpath -ldflags "$LDFLAGS -X github.com/prometheus/common/version.Version=$v" \
    "github.com/prometheus/alertmanager/cmd/amtool@v$v" || { rm -rf "$gobin"; return 1; }
  mv "$gobin/amtool" "$out" && rm -rf "$gobin"
}

build_sloth() {
  local v=$1 out=$2 gobin
  gobin=$(mktemp -d)
  GOBIN=$gobin go install -trimpath -ldflags "$LDFLAGS" "github.com/slok/sloth/cmd/sloth@v$v" || { rm -rf "$gobin"; return 1; }
  mv "$gobin/sloth" "$out" && rm -rf "$gobin"
}

# Pins of the tools that are not images of the stack.
SLOTH_VERSION=0.16.0

ALL_TOOLS=(otelcol jaeger promtool amtool sloth)
tools=("$@")
[ ${#tools[@]} -eq 0 ] && tools=("${ALL_TOOLS[@]}")
for t in "${tools[@]}"; do
  case $t in
    jaeger) run_build jaeger "$(pin jaeger)" build_jaeger ;;
    promtool) run_build promtool "$(pin prometheus)" build_promtool ;;
    amtool) run_build amtool "$(pin alertmanager)" build_amtool ;;
    sloth)
      run_build sloth "$SLOTH_VERSION" build_sloth
      # The equivalence tests read Sloth's examples from its module; a cached binary does not bring them back.
      go mod download "github.com/slok/sloth@v$SLOTH_VERSION" || FAILED+=(sloth-module)
      ;;
    otelcol)
      if [ ! -f compose/otel-collector/config.yaml ]; then
        echo "build-go-tools: compose/otel-collector/config.yaml missing; run 'make generate' first" >&2
        FAILED+=(otelcol)
        continue
      fi
      v=$(pin otel-collector)
      key=$(otelcol_key) || { echo "build-go-tools: cannot read the collector config" >&2; FAILED+=(otelcol); continue; }
      run_build otelcol "$v-$key" build_otelcol_keyed
      ;;
    *) echo "build-go-tools: unknown tool $t (choose from ${ALL_TOOLS[*]})" >&2; exit 2 ;;
  esac
done
if [ ${#FAILED[@]} -gt 0 ]; then
  echo "build-go-tools: FAILED: ${FAILED[*]} (see $CACHE/*.error)" >&2
  exit 1
fi
