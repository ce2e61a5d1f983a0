#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the tests, listening only on a Unix socket.
#   scripts/test-server.sh start DIR   prints `export` lines for ORCHESTRATE_TEST_DATABASE_URL (Unix socket, trust)
#                                      and ORCHESTRATE_TEST_TCP_URL (127.0.0.1, password auth required)
#   scripts/test-server.sh stop DIR
# As root, the server runs as the `postgres` user (PostgreSQL refuses to run as root).
set -euo pipefail
action=$1
dir=$2
bindir=${ORCHESTRATE_PG_BINDIR:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$bindir/pg_ctl" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 3; }
as_server() {
  if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}
port=${ORCHESTRATE_TEST_PORT:-$((20000 + RANDOM % 20000))}
case "$action" in
  start)
    mkdir -p "$dir"
    chmod 755 "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      as_server "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 3; }
    fi
    as_server "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -k $dir -p $port -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
      start >/dev/null || { cat "$dir/server.log" >&2; exit 3; }
    echo "export ORCHESTRATE_TEST_DATABASE_URL='host=$dir port=$port user=postgres dbname=postgres'"
    echo "export ORCHESTRATE_TEST_TCP_URL='host=127.0.0.1 port=$port dbname=postgres'"
    ;;
  stop)
    [ -f "$dir/data/postmaster.pid" ] && as_server "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    ;;
  *) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
