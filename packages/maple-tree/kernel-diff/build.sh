#!/usr/bin/env bash
# Build the kernel-side differential drivers (kdiff: operation scripts; vma-mix:
# the benchmark workload) against the kernel's own lib/maple_tree.c, using the
# userspace shims in the kernel's tools/testing/radix-tree.
#
# Needs: curl, xz, gcc, make and liburcu (Debian: apt-get install liburcu-dev).
# The kernel source comes from Debian's linux-source package (default 7.2, the
# version the recorded fixtures were made with). Reuse an unpacked tree with
# MM_KERNEL_SRC=/path/to/linux. Outputs kernel-diff/.build/{kdiff,vma-mix}.
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

ksrc=${MM_KERNEL_SRC:-"$out/linux-source-$kver"}
if [ ! -f "$ksrc/lib/maple_tree.c" ]; then
  deb="$out/linux-source-$kver.deb"
  if [ ! -f "$deb" ]; then
    # The pool path of the newest linux-source-$kver in Debian unstable.
    pool=$(curl -fsS --max-time 120 http://deb.debian.org/debian/dists/sid/main/binary-all/Packages.xz |
      xz -d | awk -v p="linux-source-$kver" '$1=="Package:"{n=$2} $1=="Filename:" && n==p {print $2}' | tail -1)
    if [ -z "$pool" ]; then
      echo "kernel-diff: Debian unstable has no linux-source-$kver; set MM_KERNEL_SRC or MM_KERNEL_VERSION" >&2
      exit 1
    fi
    echo "kernel-diff: downloading $pool" >&2
    curl -fsS --max-time 1800 -o "$deb.part" "http://deb.debian.org/debian/$pool"
    mv "$deb.part" "$deb"
  fi
  tmp="$out/deb"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && ar x "$deb" && tar xf data.tar.*)
  tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.xz)
  name=$(basename "$tarball" .tar.xz)
  echo "kernel-diff: unpacking the parts of $name the shims need" >&2
  tar -C "$out" -xf "$tarball" "$name/tools" "$name/include" "$name/lib" "$name/scripts" "$name/arch/x86"
  rm -rf "$tmp"
  ksrc="$out/$name"
fi

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
