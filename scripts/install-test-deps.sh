#!/usr/bin/env bash
# Install everything the test suite needs. Idempotent; safe to run on every `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}

apt_install() {
  # Debian packages, where root and apt are available (CI and these dev machines).
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install-test-deps: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "install-test-deps: cannot install ${missing[*]} (need root and apt); tests needing them will fail in CI" >&2
  fi
}

# promtool and amtool (Prometheus 2.42, Alertmanager 0.25 in bookworm).
apt_install prometheus prometheus-alertmanager

# Python test dependencies.
"$VENV/bin/pip" install --quiet -e '.[test]'
