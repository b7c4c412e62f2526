#!/usr/bin/env bash
# Build the kernel-side differential drivers (kdiff: operation scripts; vma-mix:
# the benchmark workload) against the kernel's own lib/maple_tree.c, using the
# userspace shims in the kernel's tools/testing/radix-tree.
#
# Needs: apt-get (Debian), xz, gcc, make and liburcu (Debian: apt-get install
# liburcu-dev). The kernel source comes from Debian's linux-source package
# (default 7.2, the version the recorded fixtures were made with), fetched with
# `apt-get download`; or reuse an unpacked tree with MM_KERNEL_SRC=/path/to/linux
# (read only: the parts the shims need are copied into kernel-diff/.build).
# Outputs kernel-diff/.build/{kdiff,vma-mix}.
# Not run by `npm test` or CI: the recorded answers are in test/kernel-diff/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/.build"
kver=${MM_KERNEL_VERSION:-7.2}
mkdir -p "$out"

if ! echo "#include <urcu.h>" | cc -E -x c - >/dev/null 2>&1; then
  echo "kernel-diff: liburcu headers missing (Debian: apt-get install liburcu-dev)" >&2
  exit 1
fi

# The parts of the kernel tree the userspace shims (tools/testing/radix-tree) use.
parts="tools/include tools/lib tools/arch/x86 tools/scripts tools/testing/radix-tree tools/testing/shared include lib arch/x86 scripts"
work="$out/linux-source-$kver"
if [ -n "${MM_KERNEL_SRC:-}" ]; then
  if [ ! -f "$MM_KERNEL_SRC/lib/maple_tree.c" ]; then
    echo "kernel-diff: MM_KERNEL_SRC=$MM_KERNEL_SRC has no lib/maple_tree.c" >&2
    exit 1
  fi
  # Never build inside the caller's tree: copy what the shims need.
  if [ ! -f "$work/.copied-from" ] || [ "$(cat "$work/.copied-from")" != "$MM_KERNEL_SRC" ]; then
    rm -rf "$work" && mkdir -p "$work"
    echo "kernel-diff: copying the parts of $MM_KERNEL_SRC the shims need" >&2
    # shellcheck disable=SC2086
    tar -C "$MM_KERNEL_SRC" -cf - $parts | tar -C "$work" -xf -
    echo "$MM_KERNEL_SRC" >"$work/.copied-from"
  fi
elif [ ! -f "$work/lib/maple_tree.c" ]; then
  deb=$(ls "$out"/linux-source-"$kver"_*.deb 2>/dev/null | tail -1 || true)
  if [ -z "$deb" ]; then
    echo "kernel-diff: apt-get download linux-source-$kver" >&2
    if ! (cd "$out" && apt-get download "linux-source-$kver" >&2); then
      cat >&2 <<MSG
kernel-diff: apt could not download linux-source-$kver. Either
  - add a Debian suite that has it to apt's sources (unstable/sid, or a
    backports suite), run 'apt-get update', and run this script again; or
  - unpack a Linux $kver tree yourself and run with MM_KERNEL_SRC=/path/to/it; or
  - pick another version with MM_KERNEL_VERSION (the recorded fixtures are 7.2's).
MSG
      exit 1
    fi
    deb=$(ls "$out"/linux-source-"$kver"_*.deb | tail -1)
  fi
  tmp="$out/deb"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && ar x "$deb" && tar xf data.tar.*)
  tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.xz)
  name=$(basename "$tarball" .tar.xz)
  echo "kernel-diff: unpacking the parts of $name the shims need" >&2
  rm -rf "$work" && mkdir -p "$work"
  # shellcheck disable=SC2086
  tar -C "$work" --strip-components=1 -xf "$tarball" $(for p in $parts; do echo "$name/$p"; done)
  rm -rf "$tmp"
fi
ksrc="$work"

rt="$ksrc/tools/testing/radix-tree"
cp "$here/kdiff.c" "$here/common.h" "$rt/"
printf 'kdiff: $(SHARED_OFILES) kdiff.o\nkdiff.o: kdiff.c common.h ../shared/maple-shim.c ../../../lib/maple_tree.c\n' >"$rt/kdiff.mk"
make -s -C "$rt" -f Makefile -f kdiff.mk -j"$(nproc)" generated/map-shift.h generated/bit-length.h kdiff >&2
cp "$rt/kdiff" "$out/kdiff"

# The benchmark driver: the same sources without sanitizers, at -O2, in a copy.
bt="$ksrc/tools/testing/radix-tree-O2"
rm -rf "$bt" && cp -r "$rt" "$bt"
(cd "$bt" && rm -f ./*.o kdiff)
cp "$here/vma-mix.c" "$here/common.h" "$bt/"
printf 'vma-mix: $(SHARED_OFILES) vma-mix.o\n' >"$bt/vma-mix.mk"
make -s -C "$bt" -f Makefile -f vma-mix.mk -j"$(nproc)" \
  CFLAGS="-I../shared -I. -I../../include -I../../arch/x86/include -I../../../lib -O2 -D_LGPL_SOURCE" \
  LDFLAGS="" vma-mix >&2
cp "$bt/vma-mix" "$out/vma-mix"
echo "kernel-diff: built $out/kdiff and $out/vma-mix from $ksrc" >&2
