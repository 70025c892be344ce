#!/usr/bin/env bash
# Runs every test file (unit, node, end-to-end) with node's test runner.
# Node 20's runner takes no globs, so the files are listed here. Four files at a time on two
# cores: most of a file's time is spent waiting on its processes (Node-RED, brokers, ffmpeg,
# Chromium) or on timers; every test takes free ports and its own folders, and waits for
# conditions with bounds, never for a speed. (Two at a time the run grew past 13 minutes; three
# at a time, with the roles, admin and editor browser tests, past 13 again.)
# A test that hangs fails after 5 minutes instead of holding the run (the longest takes ~45 s).
# TAP as before, and the failures repeated at the end (scripts/failed-tests-reporter.mjs): CI
# logs are read from their tail.
set -euo pipefail
cd "$(dirname "$0")/.."
# The end-to-end and browser files first: they take longest, and started last they would leave
# slots idle at the end while one finished them.
# The RabbitMQ files join them: each starts Erlang nodes (12 s a node) and runs 20-50 s.
slow='test/e2e/|test/dashboard/|rabbitmq|amqp-ingest|haproxy'
mapfile -t files < <(find test -name '*.test.ts' | grep -E "$slow" | sort; find test -name '*.test.ts' | grep -vE "$slow" | sort)
exec node --import tsx --test --test-concurrency=4 --test-timeout=300000 \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=./scripts/failed-tests-reporter.mjs --test-reporter-destination=stdout \
  "${files[@]}"
