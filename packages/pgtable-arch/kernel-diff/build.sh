#!/usr/bin/env bash
# Build the kernel-diff driver (kdiff.c) against the page-table encoders of
# the kernel's own headers and record its answers as the fixtures that
# test/kernel-diff.test.ts replays through this package.
#
# Needs gcc and node. The kernel source is Debian's linux-source package
# (default 7.2, the version the recorded fixtures were made with), fetched with
# `apt-get download`; or reuse an unpacked tree with MM_KERNEL_SRC=/path/to/linux.
# Outputs .build/kdiff-* and test/kernel-diff/fixtures/*.txt.
# Not run by `npm test` or CI: the recorded answers are committed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/.build"
fixtures="$here/../test/kernel-diff/fixtures"
kver=${MM_KERNEL_VERSION:-7.2}
seed=${MM_KDIFF_SEED:-20250301}
mkdir -p "$out" "$fixtures"

ksrc=${MM_KERNEL_SRC:-"$out/linux-source-$kver"}
if [ ! -f "$ksrc/include/linux/swapops.h" ]; then
  if [ ! -f "$out/linux-source-$kver.deb" ]; then
    echo "kernel-diff: apt-get download linux-source-$kver" >&2
    (cd "$out" && apt-get download "linux-source-$kver" && mv linux-source-"$kver"_*.deb "linux-source-$kver.deb")
  fi
  tmp="$out/deb"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && ar x "$out/linux-source-$kver.deb" && tar xf data.tar.*)
  tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.xz)
  name=$(basename "$tarball" .tar.xz)
  echo "kernel-diff: unpacking the headers kdiff needs from $name" >&2
  tar -C "$out" -xf "$tarball" "$name/include" "$name/scripts/unifdef.c" "$name/arch/x86" "$name/arch/arm64"
  rm -rf "$tmp"
  ksrc="$out/$name"
fi

gcc -O2 -o "$out/unifdef" "$ksrc/scripts/unifdef.c"
cflags=(-O1 -Werror=implicit-function-declaration -Werror=int-conversion -Werror=incompatible-pointer-types -I"$here")

node "$here/extract.mjs" "$ksrc" "$here/swapops.spec" "$out/unifdef" >"$out/swapops-extracted.h"
node "$here/extract.mjs" "$ksrc" "$here/x86_64.spec" "$out/unifdef" >"$out/x86_64-extracted.h"
gcc "${cflags[@]}" -DKDIFF_X86_64 -o "$out/kdiff-x86_64" "$here/kdiff.c"
"$out/kdiff-x86_64" "$seed" "${MM_KDIFF_CASES_X86:-80}" >"$fixtures/x86_64.txt"

for g in 4k:12:4K:4 16k:14:16K:3 64k:16:64K:3; do
  IFS=: read -r tag shift conf levels <<<"$g"
  sed "s/@GRANULE@/-DCONFIG_ARM64_${conf}_PAGES=1 -DCONFIG_PGTABLE_LEVELS=${levels}/" "$here/arm64.spec" >"$out/arm64-$tag.spec"
  node "$here/extract.mjs" "$ksrc" "$out/arm64-$tag.spec" "$out/unifdef" >"$out/arm64-extracted.h"
  gcc "${cflags[@]}" -DKDIFF_ARM64 -DKDIFF_PAGE_SHIFT="$shift" -o "$out/kdiff-arm64-$tag" "$here/kdiff.c"
  "$out/kdiff-arm64-$tag" "$seed" "${MM_KDIFF_CASES_ARM64:-50}" >"$fixtures/arm64-$tag.txt"
done
wc -l "$fixtures"/*.txt >&2
echo "kernel-diff: recorded fixtures from $ksrc" >&2
