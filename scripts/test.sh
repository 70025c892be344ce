#!/usr/bin/env bash
# Runs every test file (unit, node, end-to-end) with node's test runner.
# Node 20's runner takes no globs, so the files are listed here. Two files at a time: most of
# a file's time is spent waiting on its processes (Node-RED, brokers, ffmpeg, Chromium) and
# loading TypeScript, so two fit on two cores; every test takes free ports and its own folders.
# A test that hangs fails after 5 minutes instead of holding the run (the longest takes ~45 s).
# TAP as before, and the failures repeated at the end (scripts/failed-tests-reporter.mjs): CI
# logs are read from their tail.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=2 --test-timeout=300000 \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=./scripts/failed-tests-reporter.mjs --test-reporter-destination=stdout \
  "${files[@]}"
