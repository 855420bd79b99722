#!/usr/bin/env bash
# The README's test command (`npm test`): type-check, then one mocha run over the unit tests
# (mocked engine, seconds), the engine tests (the real Pulumi engine, no hosts) and the lab
# tests (real hosts, minutes).
# Lab tests skip with a printed reason when this machine cannot run them.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
exec npx mocha --reporter tests/summary-reporter.js 'tests/unit/**/*.test.ts' 'tests/engine/**/*.test.ts' 'tests/lab/**/*.test.ts' "$@"
