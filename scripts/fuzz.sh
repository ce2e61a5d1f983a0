#!/usr/bin/env bash
# The long fuzz run: mutated projects through a release binary's heads, graph, plan, doctor and check, against a
# throwaway PostgreSQL this script starts and stops (traffic to 127.0.0.1 and Unix sockets only).
#   bash scripts/fuzz.sh [--projects N] [--seed N] [--workers N] [--timeout SECONDS] [--binary PATH] [--keep DIR]
#   bash scripts/fuzz.sh --quick        300 projects (CI)
# Prints the figures at the end; exits 1 on any crash, hang, printed password or unexpected output.
set -euo pipefail
cd "$(dirname "$0")/.."
projects=10000 seed=1 workers=2 timeout=10 binary="" keep=""
while [ $# -gt 0 ]; do
  case "$1" in
    --projects) projects=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --binary) binary=$2; shift 2 ;;
    --keep) keep=$2; shift 2 ;;
    --quick) projects=300; shift ;;
    *) echo "usage: $0 [--projects N] [--seed N] [--workers N] [--timeout S] [--binary PATH] [--keep DIR] [--quick]" >&2; exit 2 ;;
  esac
done
if [ -z "$binary" ]; then
  # The same build as scripts/demo.sh, so one serves both.
  swift build -c release --static-swift-stdlib >&2
  binary=.build/release/orchestrate
fi
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

server_dir=$(mktemp -d /tmp/orchestrate-fuzz-pg-XXXXXX)
trap 'bash scripts/test-server.sh stop "$server_dir"; rm -rf "$server_dir"' EXIT
eval "$(bash scripts/test-server.sh start "$server_dir")"
port=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' <<<"$ORCHESTRATE_TEST_DATABASE_URL")
# A role whose password is the one the generated URLs carry, so valid URLs reach the server over 127.0.0.1 and a
# printed password would be the real one. plan and doctor only read: one database serves every project.
psql -X -q -v ON_ERROR_STOP=1 "$ORCHESTRATE_TEST_DATABASE_URL" >/dev/null <<'SQL'
CREATE ROLE fuzzer LOGIN PASSWORD 'Fz9SecretPW';
CREATE DATABASE fuzz OWNER fuzzer;
SQL
python3 scripts/fuzz.py --projects "$projects" --seed "$seed" --workers "$workers" --timeout "$timeout" \
  --binary "$binary" --port "$port" --database fuzz --role fuzzer ${keep:+--artifacts "$keep"}
