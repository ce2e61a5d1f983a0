#!/usr/bin/env bash
# Installs the system packages orchestrate builds and runs with (Debian/Ubuntu), only where something is missing.
#   --test   also what only the tests use: PgBouncer (a real transaction-mode pooler for the pooler-detection tests)
set -euo pipefail
packages=(libpq-dev libgit2-dev pkg-config postgresql git)
if [ "${1:-}" = "--test" ]; then packages+=(pgbouncer); fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
