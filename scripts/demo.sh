#!/usr/bin/env bash
# Builds fieldsync (release preset) and runs the field-day demo: an encrypted customer database
# written, reopened and inspected. Safe to run again; rebuilds only what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/install-deps.sh
cmake --preset release >/dev/null
# Only what the demo needs: a fresh machine need not build the tests and benchmarks first.
cmake --build --preset release --target fieldsync-demo
./build/release/demo/fieldsync-demo
