#!/usr/bin/env bash
# Installs, from Debian 12's own archive, every package fieldsync builds and tests with.
#
# Idempotent: when everything is already installed it does nothing (no apt-get update, no
# network). Otherwise it refreshes the package lists once and installs only what is missing.
# Runs as root, or through sudo when not root. See docs/dependencies.md for what each is for.
set -euo pipefail

packages=(
  cmake
  ninja-build
  g++
  pkg-config
  libsqlite3-dev
  sqlite3
  libssl-dev
  libcurl4-openssl-dev
  nlohmann-json3-dev
  doctest-dev
  libcpp-httplib-dev
  libsqlcipher-dev
  libicu-dev
  libphonenumber-dev
  zlib1g-dev
  clang-format
)

missing=()
for pkg in "${packages[@]}"; do
  # "install ok installed" is the only state in which the package's files are all present.
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "error: install-deps: not root and sudo is not available; install: ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
