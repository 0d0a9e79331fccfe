#!/usr/bin/env bash
# `make test`: the whole suite, in three parts, exit 1 if any part fails.
#
# 1. The `timing` tests (compressed-time alerting through a real Prometheus and through Cortex: every `for:` and
#    window divided by 60, 1 s scrapes) start first, on 2 workers, at normal CPU priority. They mostly wait.
# 2. Beside them, everything not marked `timing` or `alone`, on TEST_WORKERS workers under `nice -n 10`: that part
#    keeps both cores busy, and the lower priority lets the timing tests' processes have the CPU the moment they ask
#    for it, so their seconds stay seconds. Its output is shown as it runs; the timing part's once both are done.
# 3. Then the `alone` tests: they count every container on the engine, so nothing else may run beside them.
#
# Extra arguments go to every pytest run (`scripts/run-tests.sh -x`); PYTEST_ADDOPTS works as usual.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${VENV:-.venv}/bin/python
WORKERS=${TEST_WORKERS:-4}

timing_log=$(mktemp "${TMPDIR:-/tmp}/obsgen-timing-tests.XXXXXX")
timing_pid=

kill_tree() {
  # TERM a process and everything under it (the pytest workers and the Prometheus, Alertmanager, demo and Cortex
  # processes the tests started), children first: a background job here ignores SIGINT, so Ctrl-C never reaches it.
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill -TERM "$1" 2>/dev/null
}

cleanup() {
  if [ -n "$timing_pid" ]; then
    kill_tree "$timing_pid"
    wait "$timing_pid" 2>/dev/null
  fi
  rm -f "$timing_log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# No cache provider here: two pytest runs at once would write the same .pytest_cache.
"$PY" -m pytest -q -p no:cacheprovider -m timing -n 2 --dist loadfile "$@" >"$timing_log" 2>&1 &
timing_pid=$!

echo "make test: the timing tests run in the background (their report follows the rest)"
nice -n 10 "$PY" -m pytest -q -n "$WORKERS" --dist loadgroup -m 'not timing and not alone' "$@"
rest=$?

wait "$timing_pid"
timing=$?
timing_pid=
echo "make test: the timing tests (compressed-time alerting through Prometheus and Cortex), run beside the rest:"
cat "$timing_log"

"$PY" -m pytest -q -m alone "$@"
alone=$?

if [ "$rest" -ne 0 ] || [ "$timing" -ne 0 ] || [ "$alone" -ne 0 ]; then
  echo "make test: FAILED (exit codes: the rest $rest, timing $timing, alone $alone)" >&2
  exit 1
fi
