#!/usr/bin/env bash
# Times `orchestrate check --base main` (release build) on the repository Benchmarks/make-check-repo.py builds:
# 5,000 revisions, 20,000 commits, a pull request adding one revision. Prints the median of RUNS runs (default 11).
#
#   Benchmarks/check-benchmark.sh [REPO_DIR] [extra make-check-repo.py options, e.g. --diverge]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=${1:-/tmp/orchestrate-check-bench}
shift || true
runs=${RUNS:-11}
if [ ! -d "$repo/.git" ]; then python3 Benchmarks/make-check-repo.py "$repo" "$@"; fi
swift build -c release >/dev/null
bin=$PWD/.build/release/orchestrate
cd "$repo"
"$bin" check --base main >/dev/null || true   # warms the page cache; a --diverge repository exits 1
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$bin" check --base main >/dev/null || true
    end=$(date +%s%N)
    echo $(((end - start) / 1000))
done | sort -n | awk '{ t[NR] = $1 } END {
    printf "orchestrate check --base main: median %.1f ms (min %.1f, max %.1f) over %d runs\n", t[int((NR + 1) / 2)] / 1000, t[1] / 1000, t[NR] / 1000, NR }'
