#!/usr/bin/env bash
# Build the kernel-side driver for the swap_map count functions: the
# kernel's own __swap_duplicate, __swap_entry_free_locked,
# swap_count_continued, add_swap_count_continuation and swp_swapcount are cut
# out of mm/swapfile.c into .build/extracted.c and compiled with shim.h.
# The digit arithmetic of continuation pages is the same in 6.12 and 6.18 (the
# 6.15+ versions take a cluster lock and an `nr`); 6.12 is the newest release
# with swap_map continuations that Debian ships as a source package.
#
# Needs gcc and apt-get (Debian). Source: `apt-get download
# linux-source-$MM_KERNEL_VERSION` (default 6.12), or MM_KERNEL_SRC=/path.
# Not run by `npm test` or CI: the recorded answers are in
# test/kernel-diff/swapcount.txt. Record again with:
#   bash kernel-diff/build.sh && bash kernel-diff/record.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/.build"
kver=${MM_KERNEL_VERSION:-6.12}
mkdir -p "$out"
ksrc=${MM_KERNEL_SRC:-"$out/linux-source-$kver"}
if [ ! -f "$ksrc/mm/swapfile.c" ]; then
  (cd "$out" && apt-get download "linux-source-$kver" >&2)
  deb=$(ls "$out"/linux-source-"$kver"_*.deb | tail -1)
  tmp="$out/deb"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && ar x "$deb" && tar xf data.tar.*)
  tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.xz)
  name=$(basename "$tarball" .tar.xz)
  tar -C "$out" -xf "$tarball" "$name/mm/swapfile.c"
  rm -rf "$tmp" "$deb"
  ksrc="$out/$name"
fi
src="$ksrc/mm/swapfile.c"
# Each function from its definition line (with parameter names) to the first
# line that is a lone closing brace.
extract() {
  awk -v pat="$1" 'found == 0 && index($0, pat) == 1 { found = 1 } found == 1 { print } found == 1 && /^}/ { exit }' "$src"
}
{
  extract "static unsigned char __swap_entry_free_locked(struct swap_info_struct *si,"
  extract "int swp_swapcount(swp_entry_t entry)"
  extract "static int __swap_duplicate(swp_entry_t entry, unsigned char usage, int nr)"
  extract "int add_swap_count_continuation(swp_entry_t entry, gfp_t gfp_mask)"
  extract "static bool swap_count_continued(struct swap_info_struct *si,"
} >"$out/extracted.c"
for f in __swap_entry_free_locked swp_swapcount __swap_duplicate add_swap_count_continuation swap_count_continued; do
  grep -q "$f(" "$out/extracted.c" || { echo "kernel-diff: $f not found in $src" >&2; exit 1; }
done
gcc -O1 -g -Wall -Wno-unused-function -fsanitize=address,undefined -I"$out" -I"$here" -o "$out/swapcount" "$here/swapcount.c"
echo "kernel-diff: built $out/swapcount from $src" >&2
