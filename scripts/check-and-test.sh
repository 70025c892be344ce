#!/usr/bin/env bash
# `npm test`: the build, the type check, the lint and every test file. The system packages the
# tests drive (scripts/install-test-deps.sh: apt, mostly download and unpack time) install while
# the build and the checks use the CPU, and the type check and the lint run side by side (each is
# one process): on a two-core CI machine that is about a minute of the 15 the whole run may take.
set -euo pipefail
cd "$(dirname "$0")/.."
deps_log=$(mktemp)
bash scripts/install-test-deps.sh >"$deps_log" 2>&1 &
deps=$!
npm run --silent build
npm run --silent typecheck &
typecheck=$!
npm run --silent lint &
lint=$!
failed=0
wait "$typecheck" || failed=1
wait "$lint" || failed=1
deps_ok=1
wait "$deps" || deps_ok=0
cat "$deps_log"
rm -f "$deps_log"
if [ "$deps_ok" = 0 ]; then echo "scripts/install-test-deps.sh failed" >&2; exit 1; fi
if [ "$failed" = 1 ]; then echo "the type check or the lint failed (above)" >&2; exit 1; fi
exec bash scripts/test.sh
