#!/usr/bin/env bash
# Builds fieldsync (release preset) and runs the field-day demo: a fieldsync server started inside
# the demo on 127.0.0.1 (SQLite store in a temporary directory, no external service), three
# encrypted tablets working offline, then syncing; the demo checks the result and exits non-zero
# if any expectation fails. Safe to run again; rebuilds only what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/install-deps.sh
cmake --preset release >/dev/null
# Only what the demo needs: a fresh machine need not build the tests and benchmarks first.
cmake --build --preset release --target fieldsync-demo
./build/release/demo/fieldsync-demo "$@"
