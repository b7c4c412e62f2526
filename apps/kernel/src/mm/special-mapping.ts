/**
 * DOC: special mappings: the vDSO and its data pages (mm/mmap.c
 * `_install_special_mapping()`, arch/x86/entry/vdso/vma.c `map_vdso()`,
 * lib/vdso/datastore.c).
 *
 * A special mapping is a VMA the kernel installs with `VM_DONTEXPAND`
 * (special: never merged, never grown by mremap), a `close` hook (so never
 * removed by a merge), a `may_split` hook that refuses splits, and a name
 * for /proc/PID/maps. Its pages come from the kernel (the fault path);
 * here they are the VMA only.
 */
import { EINVAL } from '@mm/machine';
import type { MmStruct, VmAreaStruct, VmOperationsStruct } from './mm-types.js';
import { vmaSetRange } from './mm-types.js';
import { insertVmStruct } from './mmap-region.js';
import { getUnmappedArea } from './unmapped-area.js';
import {
  VM_DONTDUMP,
  VM_DONTEXPAND,
  VM_EXEC,
  VM_IO,
  VM_LOCKED_MASK,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_MIXEDMAP,
  VM_PFNMAP,
  VM_READ,
  VM_SOFTDIRTY,
  vmFlagsClear,
  vmFlagsSet,
} from './vm-flags.js';
import { vmStatAccount } from './vm-stat.js';
import { vmGetPageProt } from './vma.js';
import { vmAreaAlloc, vmAreaFree } from './vma-init.js';
import { doMunmap } from './vma-munmap.js';

/** A kernel-provided mapping (vdso, vvar): its name and optional hooks. @kernel struct vm_special_mapping (include/linux/mm_types.h) */
export interface VmSpecialMapping {
  /** The name /proc/pid/maps shows for the mapping ("[vdso]", "[vvar]"); mirrors `vm_special_mapping::name`. */
  readonly name: string;
}

function specialMappingOps(sm: VmSpecialMapping): VmOperationsStruct {
  return {
    name: () => sm.name,
    close: () => {},
    // the kernel expects the number of pages of a special mapping not to change
    maySplit: () => -EINVAL,
    mremap: () => 0,
  };
}

/**
 * Insert the special mapping `sm` over `[addr, addr + len)`.
 * @returns the VMA or a negative errno.
 * @kernel _install_special_mapping (mm/mmap.c)
 */
export function installSpecialMapping(
  mm: MmStruct,
  addr: number,
  len: number,
  vmFlags: number,
  sm: VmSpecialMapping,
): VmAreaStruct | number {
  const vma = vmAreaAlloc(mm);
  if (vma === null) return -12;
  vmaSetRange(vma, addr, addr + len, 0);
  let flags = vmFlagsSet(vmFlagsSet(vmFlags, mm.defFlags), VM_DONTEXPAND);
  if (mm.ctx.softDirty) flags = vmFlagsSet(flags, VM_SOFTDIRTY);
  vma.vmFlags = vmFlagsClear(flags, VM_LOCKED_MASK);
  vma.vmPageProt = vmGetPageProt(vma.vmFlags);
  vma.vmOps = specialMappingOps(sm);
  vma.vmPrivateData = sm;
  const ret = insertVmStruct(mm, vma);
  if (ret !== 0) {
    vmAreaFree(vma);
    return ret;
  }
  vmStatAccount(mm, vma.vmFlags, len / mm.ctx.pageSize);
  return vma;
}

/** The `[vvar]` mapping: vdso data pages. @kernel vdso_vvar_mapping (lib/vdso/datastore.c) */
export const VDSO_VVAR_MAPPING: VmSpecialMapping = Object.freeze({ name: '[vvar]' });
/** The `[vvar_vclock]` mapping: clock pages the vdso reads. @kernel vvar_vclock_mapping (arch/x86/entry/vdso/vma.c) */
export const VVAR_VCLOCK_MAPPING: VmSpecialMapping = Object.freeze({ name: '[vvar_vclock]' });
/** The `[vdso]` mapping: the vdso code. @kernel vdso_mapping (arch/x86/entry/vdso/vma.c) */
export const VDSO_MAPPING: VmSpecialMapping = Object.freeze({ name: '[vdso]' });

/** Data pages: time, time namespace, getrandom, and (x86) the arch page. @kernel VDSO_NR_PAGES (include/vdso/datapage.h) */
function vdsoNrPages(mm: MmStruct): number {
  return mm.ctx.arch === 'x86_64' ? 4 : 3;
}
/** pvclock and hvclock pages (x86). @kernel VDSO_NR_VCLOCK_PAGES (arch/x86/include/asm/vdso/vsyscall.h) */
const VDSO_NR_VCLOCK_PAGES = 2;
/** The vDSO text of a Linux 7.2 build, pages. */
const VDSO_TEXT_PAGES = 2;

/**
 * Map the vDSO: its data pages (`[vvar]`, and on x86 `[vvar_vclock]`) then
 * its text (`[vdso]`), in one free range found top-down.
 * @returns the address of the vDSO text, or a negative errno (nothing left mapped).
 * @kernel map_vdso (arch/x86/entry/vdso/vma.c)
 */
export function mapVdso(mm: MmStruct): number {
  const page = mm.ctx.pageSize;
  const x86 = mm.ctx.arch === 'x86_64';
  const dataPages = vdsoNrPages(mm) + (x86 ? VDSO_NR_VCLOCK_PAGES : 0);
  const size = VDSO_TEXT_PAGES * page;
  const addr = getUnmappedArea(mm, null, 0, size + dataPages * page, 0, 0);
  if (addr < 0) return addr;
  const textStart = addr + dataPages * page;
  // MAYWRITE lets gdb CoW the text to set breakpoints
  let vma = installSpecialMapping(
    mm,
    textStart,
    size,
    VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC,
    VDSO_MAPPING,
  );
  if (typeof vma === 'number') return vma;
  vma = installSpecialMapping(
    mm,
    addr,
    vdsoNrPages(mm) * page,
    VM_READ + VM_MAYREAD + VM_IO + VM_DONTDUMP + VM_MIXEDMAP,
    VDSO_VVAR_MAPPING,
  );
  if (typeof vma === 'number') {
    doMunmap(mm, textStart, size);
    return vma;
  }
  if (x86) {
    vma = installSpecialMapping(
      mm,
      addr + vdsoNrPages(mm) * page,
      VDSO_NR_VCLOCK_PAGES * page,
      VM_READ + VM_MAYREAD + VM_IO + VM_DONTDUMP + VM_PFNMAP,
      VVAR_VCLOCK_MAPPING,
    );
    if (typeof vma === 'number') {
      doMunmap(mm, textStart, size);
      doMunmap(mm, addr, vdsoNrPages(mm) * page);
      return vma;
    }
  }
  return textStart;
}
