#!/usr/bin/env bash
# `npm run demo` / `npm start`: installs dependencies only when the lockfile changed since the
# last install and builds the packages (demo only), then runs the example compute API *in
# place of* this shell, so a signal sent to npm or to this script reaches the server itself
# (no npm → sh → npm → sh → node chain that leaves an orphan holding the port).
#
#   scripts/demo.sh [--no-install]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "${1:-}" != "--no-install" ]; then
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "demo: installing dependencies (package-lock.json changed since the last install)"
    npm ci --no-audit --no-fund
  fi
  # The packages' built output, so that a plain `npx tsx file.ts` importing @polystore/* works
  # after this command (the demo itself runs from source). turbo replays its cache when no
  # source changed: about a second.
  if ! npx turbo run build --filter='./packages/*' --output-logs=errors-only; then
    echo "demo: the build failed (above); the demo runs from source, but scripts that import @polystore/* need \`npm run build\`" >&2
  fi
fi
# A relative store path (the default ./.data/polystore.db) is relative to where the user typed.
export INIT_CWD="${INIT_CWD:-$PWD}"
cd examples/compute-api
exec node --conditions=source --import tsx src/main.ts
