#!/usr/bin/env bash
# Builds fieldsync and runs every test through ctest. Exits non-zero if anything fails.
#
#   ./scripts/test.sh                              # debug preset
#   FIELDSYNC_PRESET=asan-ubsan ./scripts/test.sh  # same suite under ASan + UBSan
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

preset="${FIELDSYNC_PRESET:-debug}"
case "$preset" in
  release | debug | asan-ubsan) ;;
  *)
    echo "error: test.sh: unknown FIELDSYNC_PRESET '$preset' (release, debug, asan-ubsan)" >&2
    exit 2
    ;;
esac

./scripts/install-deps.sh
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset"
ctest --preset "$preset"
