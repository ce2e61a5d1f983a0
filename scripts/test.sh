#!/usr/bin/env bash
# Runs the whole test suite against a real PostgreSQL that this script starts and stops.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
server_dir=$(mktemp -d /tmp/orchestrate-pg-XXXXXX)
trap 'bash scripts/test-server.sh stop "$server_dir"; rm -rf "$server_dir"' EXIT
eval "$(bash scripts/test-server.sh start "$server_dir")"
echo "test server: $ORCHESTRATE_TEST_DATABASE_URL" >&2
swift build --build-tests
swift test --skip-build "$@"
