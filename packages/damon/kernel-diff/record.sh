#!/usr/bin/env bash
# Record the kernel's answers the test replays (test/kernel-diff/<kind>.jsonl.gz),
# from the driver build.sh made.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fix="$here/../test/kernel-diff"
mkdir -p "$fix"
record() { # kind seed count
  "$here/.build/kdiff" "$1" "$2" "$3" | gzip -9n >"$fix/$1.jsonl.gz"
  echo "kernel-diff: $3 $1 cases in $fix/$1.jsonl.gz" >&2
}
record rand 1 300
record merge 2 600
record split 3 600
record setregions 4 800
record mvsum 5 500
record access 6 300
record attrs 7 500
record tune 8 400
record feed 9 1000
record esz 10 600
record adjust 11 500
record score 12 1000
record wmark 13 300
record filter 14 800
record apply 15 300
record minnr 16 400
