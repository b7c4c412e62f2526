#!/usr/bin/env bash
# Build vdiff, the driver that runs VMA operation scripts through the kernel's
# own mm/vma.c, on the kernel's userspace harness (tools/testing/vma).
#
# Needs: apt-get (Debian or Ubuntu) or an unpacked kernel tree, gcc, make and
# liburcu (Debian: apt-get install liburcu-dev). The kernel source is Debian's
# linux-source package (default 7.2, the version the recorded fixtures were
# made with), fetched with `apt-get download`; or reuse an unpacked tree with
# MM_KERNEL_SRC=/path/to/linux. The source tree is only read: the harness is
# copied (the rest linked) into kernel-diff/.build/linux. Output:
# kernel-diff/.build/vdiff. Not run by `npm test` or CI: the recorded answers
# are in test/kernel-diff/vma-fixtures/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/.build"
kver=${MM_KERNEL_VERSION:-7.2}
mkdir -p "$out"

if ! echo "#include <urcu.h>" | cc -E -x c - >/dev/null 2>&1; then
  echo "vdiff: liburcu headers missing (Debian: apt-get install liburcu-dev)" >&2
  exit 1
fi

ksrc=${MM_KERNEL_SRC:-"$out/linux-source-$kver"}
if [ ! -f "$ksrc/mm/vma.c" ]; then
  if [ ! -d "$out/deb" ]; then
    mkdir -p "$out/deb"
    (cd "$out/deb" && apt-get download "linux-source-$kver") || {
      echo "vdiff: 'apt-get download linux-source-$kver' failed; set MM_KERNEL_SRC or MM_KERNEL_VERSION" >&2
      exit 1
    }
  fi
  deb=$(ls "$out"/deb/linux-source-"$kver"_*.deb | tail -1)
  tmp="$out/deb/x"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && ar x "$deb" && tar xf data.tar.*)
  tarball=$(ls "$tmp"/usr/src/linux-source-*.tar.xz)
  name=$(basename "$tarball" .tar.xz)
  echo "vdiff: unpacking the parts of $name the harness needs" >&2
  tar -C "$out" -xf "$tarball" "$name/tools" "$name/include" "$name/lib" "$name/scripts" "$name/arch/x86" "$name/mm"
  rm -rf "$tmp"
  mv "$out/$name" "$ksrc"
fi

# A tree of links to the source, with the two harness directories copied so
# the build writes only here.
tree="$out/linux"
rm -rf "$tree"
mkdir -p "$tree/tools/testing" "$tree/arch"
for d in include lib mm scripts; do ln -s "$ksrc/$d" "$tree/$d"; done
ln -s "$ksrc/arch/x86" "$tree/arch/x86"
for d in "$ksrc"/tools/*; do
  [ "$(basename "$d")" = testing ] || ln -s "$d" "$tree/tools/$(basename "$d")"
done
cp -r "$ksrc/tools/testing/vma" "$ksrc/tools/testing/shared" "$tree/tools/testing/"
chmod -R u+w "$tree/tools/testing"

vt="$tree/tools/testing/vma"
cp "$here/vdiff.c" "$vt/"
# As on x86-64: CONFIG_MEM_SOFT_DIRTY (VM_SOFTDIRTY is a sticky merge flag) and
# data mappings without VM_EXEC (VM_DATA_FLAGS_TSK_EXEC without READ_IMPLIES_EXEC).
printf 'vdiff: $(SHARED_OFILES) vdiff.o shared.o maple-shim.o\n\t$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)\nvdiff.o: vdiff.c shared.h ../../../mm/vma.c ../../../mm/vma.h\n' >"$vt/vdiff.mk"
make -s -C "$vt" -f Makefile -f vdiff.mk -j"$(nproc)" EXTRA_CFLAGS="-DCONFIG_MEM_SOFT_DIRTY=1 -DVMA_DATA_DEFAULT_FLAGS=VMA_DATA_FLAGS_NON_EXEC" vdiff >&2
cp "$vt/vdiff" "$out/vdiff"
echo "vdiff: built $out/vdiff from $ksrc" >&2
