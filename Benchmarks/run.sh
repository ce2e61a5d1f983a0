#!/usr/bin/env bash
# The benchmark in one command (see Benchmarks/bench.py):
#   bash Benchmarks/run.sh            full run, side by side with psql, Alembic and Sqitch; writes Benchmarks/results.md
#   bash Benchmarks/run.sh --smoke    N = 50, one repetition, orchestrate only; exits non-zero on a wrong schema (CI)
#   bash Benchmarks/run.sh --fleet    the fleet scenario alone (issue 15); replaces its section of results.md
#   bash Benchmarks/run.sh --profile noop-1000   one scenario of ours under callgrind (see bench.py --help)
#   bash Benchmarks/run.sh --diff     only `diff` on a 1,000-table schema, first and cached run (its own section of results.md)
# Installs the Debian packages it needs where they are missing, Alembic and psycopg2 into Benchmarks/.venv (full run
# and --fleet, whose reference loops use psycopg2), builds the release binary, then runs the harness.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
peers=1
profile=0
venv=0
for argument in "$@"; do
  case "$argument" in
    --smoke|--diff) peers=0 ;;
    --fleet) peers=0; venv=1 ;;
    --profile|--profile=*) peers=0; profile=1 ;;
  esac
done
[ "$peers" = 0 ] || venv=1

packages=(postgresql time git)
[ "$peers" = 0 ] || packages+=(sqitch libdbd-pg-perl)
[ "$profile" = 0 ] || packages+=(valgrind)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "$venv" = 1 ] && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then missing+=(python3-venv); fi
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "$venv" = 1 ] && ! "$here/.venv/bin/python" -c 'import alembic, psycopg2' 2>/dev/null; then
  echo "creating $here/.venv (alembic, psycopg2-binary)" >&2
  rm -rf "$here/.venv"
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
fi

echo "building the release binary" >&2
(cd "$root" && swift build -c release --static-swift-stdlib >&2)
exec python3 "$here/bench.py" "$@"
