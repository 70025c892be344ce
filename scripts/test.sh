#!/usr/bin/env bash
# Runs every test file (unit, node, end-to-end) with node's test runner.
# Node 20's runner takes no globs, so the files are listed here.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 "${files[@]}"
