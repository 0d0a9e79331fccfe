#!/usr/bin/env bash
# `make up`'s first step: create compose/.env from .env.example with a random Grafana admin password, once.
# An existing .env is never touched. The file is git-ignored (compose/.gitignore) and readable by its owner only.
set -euo pipefail
dir="${1:-compose}"
env_file="$dir/.env"
if [ -e "$env_file" ]; then
  exit 0
fi
if ! grep -q '^GRAFANA_ADMIN_PASSWORD=$' "$dir/.env.example"; then
  echo "stack-env: $dir/.env.example has no empty GRAFANA_ADMIN_PASSWORD= line; run \`make generate\`" >&2
  exit 1
fi
password="$(LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)"
if [ "${#password}" -ne 32 ]; then
  echo "stack-env: could not read 32 random characters from /dev/urandom" >&2
  exit 1
fi
umask 077
tmp="$(mktemp "$dir/.env.XXXXXX")"
sed "s/^GRAFANA_ADMIN_PASSWORD=\$/GRAFANA_ADMIN_PASSWORD=$password/" "$dir/.env.example" >"$tmp"
mv "$tmp" "$env_file"
echo "stack-env: created $env_file with a random GRAFANA_ADMIN_PASSWORD (log in to Grafana as admin with it; the file is git-ignored)"
