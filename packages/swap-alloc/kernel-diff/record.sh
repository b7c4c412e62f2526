#!/usr/bin/env bash
# Record the kernel's answers for the seeds the test replays.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fix="$here/../test/kernel-diff/swapcount.txt"
mkdir -p "$(dirname "$fix")"
: >"$fix"
for seed in 1 2 3 4 5 6; do
  echo "# seed $seed" >>"$fix"
  "$here/.build/swapcount" "$seed" 150 >>"$fix"
done
echo "kernel-diff: $(grep -vc '^#' "$fix") answers in $fix" >&2

fix="$here/../test/kernel-diff/alloc.txt"
: >"$fix"
for seed in 1 2 3 4; do
  echo "# seed $seed" >>"$fix"
  "$here/.build/alloc" "$seed" 4000 >>"$fix"
done
echo "kernel-diff: $(grep -vc '^#' "$fix") allocator answers in $fix" >&2
