#!/usr/bin/env bash
# Sets up a fresh machine and runs every check: install, servers, typecheck, lint, build, tests.
# Ends with one line "N passed, N failed, N skipped" summed over all packages.
set -uo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
fail() { echo "$1"; echo "0 passed, 1 failed"; exit 1; }

step "install dependencies"
npm ci --no-audit --no-fund || fail "npm ci failed"

if [ -f scripts/install-services.sh ]; then
  step "install database servers"
  bash scripts/install-services.sh || fail "installing database servers failed"
fi

step "typecheck and build"
npx turbo run typecheck build --output-logs=errors-only || fail "typecheck or build failed"

step "lint and format"
npx biome check . || fail "biome check failed"

step "tests"
export POLYSTORE_REQUIRE_ALL_BACKENDS="${POLYSTORE_REQUIRE_ALL_BACKENDS:-1}"
mkdir -p .polystore
rm -f .polystore/test-results.json
npx vitest run --reporter=default --reporter=json --outputFile.json=.polystore/test-results.json
status=$?
node scripts/summarize-tests.mjs .polystore/test-results.json
summary=$?
[ "$status" -eq 0 ] && [ "$summary" -eq 0 ]
