#!/usr/bin/env bash
# Runs the whole test suite against a real PostgreSQL that this script starts and stops.
#   scripts/test.sh --fast   only the tests that need no database (parser, graph, planner, git, check rules): seconds
#   scripts/test.sh ARGS     passes ARGS to `swift test` (e.g. --filter CheckTests)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--fast" ]; then
  shift
  swift build --build-tests
  started=$(date +%s)
  swift test --skip-build --filter 'MigrationsTests|GitTests|OrchestrateCoreTests' --skip 'SchemaSnapshot' "$@"
  echo "fast tests: $(( $(date +%s) - started )) s" >&2
  exit 0
fi
bash scripts/install-deps.sh --test
server_dir=$(mktemp -d /tmp/orchestrate-pg-XXXXXX)
trap 'bash scripts/test-server.sh stop "$server_dir"; rm -rf "$server_dir"' EXIT
eval "$(bash scripts/test-server.sh start "$server_dir")"
echo "test server: $ORCHESTRATE_TEST_DATABASE_URL" >&2
swift build --build-tests
started=$(date +%s)
swift test --skip-build "$@"
echo "test suite: $(( $(date +%s) - started )) s (swift test, after the build)" >&2
