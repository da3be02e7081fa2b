#!/usr/bin/env bash
# Installs a fieldsync build tree into a temporary prefix, then builds and runs the consumer
# project against that prefix alone. Called by ctest (tests/install/CMakeLists.txt):
#
#   run_consumer.sh <build dir> <consumer source dir> <generator> <c++ compiler> <build type> \
#                   [extra compile+link flags]
#
# Exits non-zero if any step fails, or if CMake found fieldsync anywhere but the temporary prefix.
set -euo pipefail

# ctest may drop an empty last argument, so the flags are optional.
if [[ $# -lt 5 || $# -gt 6 ]]; then
  echo "usage: run_consumer.sh BUILD_DIR CONSUMER_DIR GENERATOR CXX BUILD_TYPE EXTRA_FLAGS" >&2
  exit 2
fi
build_dir=$1
consumer_dir=$2
generator=$3
cxx=$4
build_type=$5
extra_flags=${6:-}

work=$(mktemp -d "${TMPDIR:-/tmp}/fieldsync-install-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"

echo "== cmake --install $build_dir --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" || {
  cat "$work/install.log"
  exit 1
}

echo "== configure consumer"
cmake -S "$consumer_dir" -B "$work/build" -G "$generator" \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE="$build_type" \
  -DCMAKE_CXX_FLAGS="$extra_flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$extra_flags" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF

# The package must come from the prefix just installed, not from a stray copy on the system.
found_dir=$(sed -n 's/^fieldsync_DIR:PATH=//p' "$work/build/CMakeCache.txt")
case "$found_dir" in
  "$prefix"/*) echo "== fieldsync found in $found_dir" ;;
  *)
    echo "error: consumer found fieldsync in '$found_dir', not under $prefix" >&2
    exit 1
    ;;
esac

echo "== build consumer"
cmake --build "$work/build" -j 1

echo "== run consumer"
"$work/build/fieldsync-consumer"
