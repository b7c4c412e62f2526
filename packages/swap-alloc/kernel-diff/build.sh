#!/usr/bin/env bash
# Build the kernel-side drivers. swapcount: the swap_map count functions: the
# kernel's own __swap_duplicate, __swap_entry_free_locked,
# swap_count_continued, add_swap_count_continuation and swp_swapcount are cut
# out of mm/swapfile.c into .build/extracted.c and compiled with shim.h.
# The digit arithmetic of continuation pages is the same in 6.12 and 6.18 (the
# 6.15+ versions take a cluster lock and an `nr`); 6.12 is the newest release
# with swap_map continuations that Debian ships as a source package.
#
# Needs gcc and apt-get (Debian). Source: `apt-get download
# linux-source-$MM_KERNEL_VERSION` (default 6.12), or MM_KERNEL_SRC=/path.
# alloc: Linux 7.2's cluster allocator (see the second half of this script).
# Not run by `npm test` or CI: the recorded answers are in
# test/kernel-diff/{swapcount,alloc}.txt. Record again with:
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
# (The last line that starts with the signature: a prototype may come first.)
extract() {
  local at
  at=$(awk -v pat="$1" 'index($0, pat) == 1 { n = NR } END { print n + 0 }' "$src")
  [ "$at" -gt 0 ] || return 0
  awk -v at="$at" 'NR >= at { print } NR >= at && /^}/ { exit }' "$src"
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

# The cluster allocator driver: Linux 7.2's allocation paths (the same
# cluster choice, scan and list moves as 6.18; only the table's contents
# differ, and the shim's table carries what the allocator reads).
ksrc72=${MM_KERNEL_SRC_ALLOC:-"$out/linux-source-7.2"}
if [ ! -f "$ksrc72/mm/swapfile.c" ]; then
  (cd "$out" && apt-get download linux-source-7.2 >&2)
  deb=$(ls "$out"/linux-source-7.2_*.deb | tail -1)
  tmp="$out/deb"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && ar x "$deb" && tar xf data.tar.*)
  tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.xz)
  name=$(basename "$tarball" .tar.xz)
  tar -C "$out" -xf "$tarball" "$name/mm/swapfile.c"
  rm -rf "$tmp" "$deb"
  ksrc72="$out/$name"
fi
src="$ksrc72/mm/swapfile.c"
{
  for f in \
    "static long swap_usage_in_pages(struct swap_info_struct *si)" \
    "static inline bool cluster_is_empty(struct swap_cluster_info *info)" \
    "static inline bool cluster_is_discard(struct swap_cluster_info *info)" \
    "static inline bool cluster_table_is_alloced(struct swap_cluster_info *ci)" \
    "static inline bool cluster_is_usable(struct swap_cluster_info *ci, int order)" \
    "static inline unsigned int cluster_index(struct swap_info_struct *si," \
    "static inline unsigned int cluster_offset(struct swap_info_struct *si," \
    "static void move_cluster(struct swap_info_struct *si," \
    "static void swap_cluster_schedule_discard(struct swap_info_struct *si," \
    "static void __free_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci)" \
    "static struct swap_cluster_info *isolate_lock_cluster(" \
    "static void free_cluster(struct swap_info_struct *si, struct swap_cluster_info *ci)" \
    "static void partial_free_cluster(struct swap_info_struct *si," \
    "static void relocate_cluster(struct swap_info_struct *si," \
    "static bool cluster_reclaim_range(struct swap_info_struct *si," \
    "static bool cluster_scan_range(struct swap_info_struct *si," \
    "static bool __swap_cluster_alloc_entries(struct swap_info_struct *si," \
    "static unsigned int alloc_swap_scan_cluster(struct swap_info_struct *si," \
    "static unsigned int alloc_swap_scan_list(struct swap_info_struct *si," \
    "static void swap_reclaim_full_clusters(struct swap_info_struct *si, bool force)" \
    "static unsigned long cluster_alloc_swap_entry(struct swap_info_struct *si," \
    "static void del_from_avail_list(struct swap_info_struct *si, bool swapoff)" \
    "static void add_to_avail_list(struct swap_info_struct *si, bool swapon)" \
    "static bool swap_usage_add(struct swap_info_struct *si, unsigned int nr_entries)" \
    "static void swap_usage_sub(struct swap_info_struct *si, unsigned int nr_entries)" \
    "static void swap_range_alloc(struct swap_info_struct *si," \
    "static bool get_swap_device_info(struct swap_info_struct *si)" \
    "static bool swap_alloc_fast(struct folio *folio)" \
    "static void swap_alloc_slow(struct folio *folio)"; do
    n=$(extract "$f" | wc -l)
    if [ "$n" -lt 3 ]; then echo "kernel-diff: '$f' not found in $src" >&2; exit 1; fi
    extract "$f"
  done
} >"$out/alloc-extracted.c"
gcc -O1 -g -Wall -Wno-unused-function -Wno-unused-variable -fsanitize=address,undefined -I"$out" -I"$here" -o "$out/alloc" "$here/alloc.c"
echo "kernel-diff: built $out/alloc from $src" >&2
