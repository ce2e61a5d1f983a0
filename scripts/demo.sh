#!/usr/bin/env bash
# From a fresh Debian machine: install what is missing, build, and run the main job on the sandbox database:
# upgrade dev, promote staging, status.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# A static Swift runtime starts about 7 ms faster (no dynamic loading of Foundation).
swift build -c release --static-swift-stdlib
bin=.build/release/orchestrate
$bin upgrade dev
$bin promote staging
$bin status
