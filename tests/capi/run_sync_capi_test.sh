#!/usr/bin/env bash
# Starts a real fieldsync-server on 127.0.0.1 (a free port) with tenant minghui, reps zhang and
# li in team east1 and one customer shared with east1, then runs the C replicator test against
# it. Called by ctest (tests/capi/CMakeLists.txt):
#
#   run_sync_capi_test.sh <fieldsync-server> <sync_capi_test>
set -euo pipefail
if [[ $# -ne 2 ]]; then
  echo "usage: run_sync_capi_test.sh SERVER_BINARY TEST_BINARY" >&2
  exit 2
fi
server=$1
test_binary=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/fieldsync-sync-capi.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

db="sqlite:$work/server.db"
password="correct horse 电池 staple"
shared="cust-capi-0001"
"$server" admin --db "$db" create-tenant minghui 明辉科技 >/dev/null
"$server" admin --db "$db" add-team minghui east1 华东一组 >/dev/null
for user in zhang li; do
  FIELDSYNC_PASSWORD="$password" "$server" admin --db "$db" add-user minghui "$user" rep \
    --team east1 >/dev/null
done
"$server" admin --db "$db" share-customer minghui "$shared" east1 >/dev/null

"$server" serve --db "$db" --listen 127.0.0.1:0 >"$work/server.out" 2>"$work/server.err" &
server_pid=$!
port=""
for _ in $(seq 1 500); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
  [[ -n "$port" ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "fieldsync-server exited:" >&2
    cat "$work/server.err" >&2
    exit 1
  fi
  sleep 0.02
done
if [[ -z "$port" ]]; then
  echo "fieldsync-server printed no port" >&2
  exit 1
fi
mkdir "$work/tablets"
"$test_binary" "http://127.0.0.1:$port" "$password" "$work/tablets" "$shared"
