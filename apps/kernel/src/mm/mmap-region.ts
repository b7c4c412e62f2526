/**
 * DOC: mapping a region and growing the heap (mm/vma.c: `struct mmap_state`,
 * `__mmap_setup()`, `__mmap_new_vma()`, `__mmap_complete()`,
 * `__mmap_region()`, `mmap_region()`, `do_brk_flags()`,
 * `insert_vm_struct()`).
 *
 * `__mmap_region()` first gathers any VMAs the new range overlaps (MAP_FIXED)
 * without touching the tree, checks RLIMIT_AS and charges the commit for an
 * accountable mapping (less what the replaced VMAs had charged), then clears
 * the old PTEs while the old VMAs are still in the tree. It merges the range
 * into a neighbour if it can, else inserts a new VMA (file: `->mmap()`;
 * shared anonymous: a shmem file; private anonymous: no ops), completes the
 * unmapping of the old VMAs and accounts the new pages. A failure before
 * the old PTEs went re-attaches the old VMAs (nothing changed); after, it
 * leaves a hole where they were, as the kernel documents for MAP_FIXED.
 */
import { EACCES, ENOMEM, GFP_KERNEL, MmBugError } from '@mm/machine';
import type { MaState } from '@mm/maple-tree';
import { type File, fput, getFile, mappingMapWritable, mappingUnmapWritable, shmemZeroSetup } from './file.js';
import {
  type MmStruct,
  type VmAreaStruct,
  vmaIsAnonymous,
  vmaPages,
  vmaSetAnonymous,
  vmaSetRange,
  vmaStartWrite,
} from './mm-types.js';
import { securityVmEnoughMemoryMm } from './overcommit.js';
import { unmapRegion, unmapState } from './unmap.js';
import {
  isSharedMaywrite,
  VM_ACCOUNT,
  VM_DATA_DEFAULT_FLAGS,
  VM_DROPPABLE,
  VM_EXEC,
  VM_HUGETLB,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_NORESERVE,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_SPECIAL,
  VM_WRITE,
  vmFlagsAny,
  vmFlagsClear,
  vmFlagsSet,
} from './vm-flags.js';
import { mayExpandVm, vmStatAccount } from './vm-stat.js';
import {
  findVmaIntersection,
  VmaMergeStruct,
  vmaIterNextRewind,
  vmaLink,
  vmaLinkFile,
  vmaMergeNewRange,
  vmaSetPageProt,
  vmGetPageProt,
  vmgNomem,
} from './vma.js';
import { vmAreaAlloc, vmAreaFree } from './vma-init.js';
import {
  VmaIterator,
  vmaFind,
  vmaIterConfig,
  vmaIterFree,
  vmaIterNextRange,
  vmaIterPrealloc,
  vmaIterSet,
  vmaIterStoreGfp,
  vmaIterStoreNew,
} from './vma-iter.js';
import {
  newDetachState,
  VmaMunmapStruct,
  vmsAbortMunmapVmas,
  vmsCleanUpArea,
  vmsCompleteMunmapVmas,
  vmsGatherMunmapVmas,
} from './vma-munmap.js';

/** @kernel struct mmap_state (mm/vma.c) */
class MmapState {
  readonly mm: MmStruct;
  readonly vmi: VmaIterator;
  readonly addr: number;
  readonly end: number;
  readonly pgoff: number;
  readonly pglen: number;
  vmFlags: number;
  file: File | null;
  pageProt: number;
  charged: number;
  prev: VmAreaStruct | null;
  next: VmAreaStruct | null;
  vms: VmaMunmapStruct;
  readonly masDetach: MaState;

  /** @kernel MMAP_STATE (mm/vma.c) */
  constructor(
    mm: MmStruct,
    vmi: VmaIterator,
    addr: number,
    len: number,
    pgoff: number,
    vmFlags: number,
    file: File | null,
  ) {
    this.mm = mm;
    this.vmi = vmi;
    this.addr = addr;
    this.end = addr + len;
    this.pgoff = pgoff;
    this.pglen = len / mm.ctx.pageSize;
    this.vmFlags = vmFlags;
    this.file = file;
    this.pageProt = vmGetPageProt(vmFlags);
    this.charged = 0;
    this.prev = null;
    this.next = null;
    this.vms = new VmaMunmapStruct(vmi, mm, null, 0, 0, false);
    this.masDetach = newDetachState(mm);
  }
}

/**
 * Private writable mappings charge the commit (not hugetlb, not NORESERVE).
 * @kernel accountable_mapping (mm/vma.c)
 */
function accountableMapping(map: MmapState): boolean {
  if (vmFlagsAny(map.vmFlags, VM_HUGETLB)) return false;
  return (map.vmFlags & VM_WRITE) !== 0 && !vmFlagsAny(map.vmFlags, VM_NORESERVE | VM_SHARED);
}

/** @kernel __mmap_setup (mm/vma.c) */
function __mmapSetup(map: MmapState): number {
  const vmi = map.vmi;
  const first = vmaFind(vmi, map.end);
  const vms = new VmaMunmapStruct(vmi, map.mm, first, map.addr, map.end, false);
  map.vms = vms;
  if (first !== null) {
    const error = vmsGatherMunmapVmas(vms, map.masDetach);
    if (error !== 0) {
      vms.nrPages = 0; // the VMAs are already re-attached
      return error;
    }
    map.next = vms.next;
    map.prev = vms.prev;
  } else {
    const pp: { prev: VmAreaStruct | null } = { prev: null };
    map.next = vmaIterNextRewind(vmi, pp);
    map.prev = pp.prev;
  }
  if (!mayExpandVm(map.mm, map.vmFlags, map.pglen - vms.nrPages)) return -ENOMEM;
  if (accountableMapping(map)) {
    map.charged = map.pglen - vms.nrAccounted;
    if (map.charged !== 0) {
      const error = securityVmEnoughMemoryMm(map.mm, map.charged);
      if (error !== 0) return error;
    }
    vms.nrAccounted = 0;
    map.vmFlags = vmFlagsSet(map.vmFlags, VM_ACCOUNT);
  }
  // clear the old PTEs while the VMAs are in the tree; call their close hooks
  vmsCleanUpArea(vms, map.masDetach);
  return 0;
}

/** @kernel __mmap_new_file_vma (mm/vma.c) */
function __mmapNewFileVma(map: MmapState, vma: VmAreaStruct): number {
  const file = map.file as File;
  vma.vmFile = getFile(file);
  const mmapHook = file.fOp.mmap;
  if (mmapHook === null) return 0;
  const error = mmapHook(file, vma);
  if (error !== 0) {
    const unmap = unmapState(map.vmi.mas, vma, vma.vmStart, vma.vmEnd, map.prev, map.next);
    fput(file);
    vma.vmFile = null;
    vmaIterSet(map.vmi, vma.vmEnd);
    // undo any partial mapping done by a driver
    unmapRegion(unmap);
    return error;
  }
  if (vma.vmStart !== map.addr) throw new MmBugError('mm: a ->mmap() hook moved the VMA');
  map.file = vma.vmFile;
  map.vmFlags = vma.vmFlags;
  return 0;
}

/** @kernel __mmap_new_vma (mm/vma.c) */
function __mmapNewVma(map: MmapState): VmAreaStruct | number {
  const vmi = map.vmi;
  const vma = vmAreaAlloc(map.mm);
  if (vma === null) return -ENOMEM;
  vmaIterConfig(vmi, map.addr, map.end);
  vmaSetRange(vma, map.addr, map.end, map.pgoff);
  vma.vmFlags = map.vmFlags;
  vma.vmPageProt = map.pageProt;
  if (vmaIterPrealloc(vmi, vma) !== 0) {
    vmAreaFree(vma);
    return -ENOMEM;
  }
  let error = 0;
  if (map.file !== null) error = __mmapNewFileVma(map, vma);
  else if (vma.vmFlags & VM_SHARED) shmemZeroSetup(vma, map.end - map.addr);
  else vmaSetAnonymous(vma);
  if (error !== 0) {
    vmaIterFree(vmi);
    vmAreaFree(vma);
    return error;
  }
  vmaStartWrite(vma);
  vmaIterStoreNew(vmi, vma);
  map.mm.mapCount++;
  vmaLinkFile(vma);
  return vma;
}

/** Whether mlock can apply (not special, not droppable, not hugetlb). @kernel vma_supports_mlock (mm/internal.h) */
export function vmaSupportsMlock(vma: VmAreaStruct): boolean {
  if (vmFlagsAny(vma.vmFlags, VM_SPECIAL)) return false;
  if (vmFlagsAny(vma.vmFlags, VM_DROPPABLE)) return false;
  if (vmFlagsAny(vma.vmFlags, VM_HUGETLB)) return false;
  return true;
}

/** @kernel __mmap_complete (mm/vma.c) */
function __mmapComplete(map: MmapState, vma: VmAreaStruct): void {
  const mm = map.mm;
  vmsCompleteMunmapVmas(map.vms, map.masDetach);
  vmStatAccount(mm, vma.vmFlags, map.pglen);
  if (vma.vmFlags & VM_LOCKED) {
    if (!vmaSupportsMlock(vma)) vma.vmFlags = vmFlagsClear(vma.vmFlags, VM_LOCKED_MASK);
    else mm.lockedVm += map.pglen;
  }
  // a new (or expanded) VMA is soft-dirty: a tracker must see a new area
  if (mm.ctx.softDirty) vma.vmFlags = vmFlagsSet(vma.vmFlags, VM_SOFTDIRTY);
  vmaSetPageProt(vma);
}

/** @kernel __mmap_region (mm/vma.c) */
function __mmapRegion(
  mm: MmStruct,
  file: File | null,
  addr: number,
  len: number,
  vmFlags: number,
  pgoff: number,
): number {
  const vmi = new VmaIterator(mm, addr);
  const map = new MmapState(mm, vmi, addr, len, pgoff, vmFlags, file);
  let error = __mmapSetup(map);
  if (error !== 0) {
    vmsAbortMunmapVmas(map.vms, map.masDetach);
    return error;
  }
  let vma: VmAreaStruct | null = null;
  if (map.prev !== null || map.next !== null) {
    // VMG_MMAP_STATE
    const vmg = new VmaMergeStruct(mm, vmi, map.addr, map.end, map.vmFlags, map.pgoff);
    vmg.file = map.file;
    vmg.prev = map.prev;
    vmg.next = map.next;
    vma = vmaMergeNewRange(vmg);
  }
  if (vma === null) {
    const r = __mmapNewVma(map);
    if (typeof r === 'number') {
      error = r;
      if (map.charged !== 0) mm.ctx.vmUnacctMemory(map.charged);
      vmsAbortMunmapVmas(map.vms, map.masDetach);
      return error;
    }
    vma = r;
  }
  __mmapComplete(map, vma);
  return addr;
}

/**
 * Map `[addr, addr + len)` (aligned, checked) with `vmFlags`.
 * @returns `addr`, or a negative errno (-EACCES under MDWE for W+X, -EPERM for a sealed memfd, -ENOMEM).
 * @remarks Context: mmap lock held for writing.
 * @kernel mmap_region (mm/vma.c)
 */
export function mmapRegion(
  mm: MmStruct,
  file: File | null,
  addr: number,
  len: number,
  vmFlags: number,
  pgoff: number,
): number {
  // map_deny_write_exec(new, new): no new writable-and-executable mapping under MDWE
  if (mm.hasMdwe && vmFlags & VM_EXEC && vmFlags & VM_WRITE) return -EACCES;
  let writableFileMapping = false;
  if (file !== null && isSharedMaywrite(vmFlags)) {
    const error = mappingMapWritable(file.fMapping);
    if (error !== 0) return error;
    writableFileMapping = true;
  }
  const ret = __mmapRegion(mm, file, addr, len, vmFlags, pgoff);
  if (writableFileMapping) mappingUnmapWritable(file!.fMapping);
  return ret;
}

/**
 * Extend the brk VMA `brkvma` (the iterator is on it) to `[addr, addr + len)`,
 * or map a new anonymous VMA there.
 * @returns 0 or -ENOMEM (limits, map count, commit, allocation).
 * @kernel do_brk_flags (mm/vma.c)
 */
export function doBrkFlags(
  mm: MmStruct,
  vmi: VmaIterator,
  brkvma: VmAreaStruct | null,
  addr: number,
  len: number,
  flagsIn: number,
): number {
  const ctx = mm.ctx;
  const pages = len / ctx.pageSize;
  const flags = vmFlagsSet(vmFlagsSet(flagsIn, VM_DATA_DEFAULT_FLAGS | VM_ACCOUNT), mm.defFlags);
  if (!mayExpandVm(mm, flags, pages)) return -ENOMEM;
  if (mm.mapCount > ctx.sysctlMaxMapCount) return -ENOMEM;
  if (securityVmEnoughMemoryMm(mm, pages) !== 0) return -ENOMEM;
  let vma = brkvma;
  let merged = false;
  if (vma !== null && vma.vmEnd === addr) {
    const vmg = new VmaMergeStruct(mm, vmi, addr, addr + len, flags, addr / ctx.pageSize);
    vmg.prev = vma;
    vmg.justExpand = true; // vmi is positioned at prev
    if (vmaMergeNewRange(vmg) !== null) merged = true;
    else if (vmgNomem(vmg)) {
      ctx.vmUnacctMemory(pages);
      return -ENOMEM;
    }
  }
  if (!merged) {
    if (vma !== null) vmaIterNextRange(vmi);
    vma = vmAreaAlloc(mm);
    if (vma === null) {
      ctx.vmUnacctMemory(pages);
      return -ENOMEM;
    }
    vmaSetAnonymous(vma);
    vmaSetRange(vma, addr, addr + len, addr / ctx.pageSize);
    vma.vmFlags = flags;
    vma.vmPageProt = vmGetPageProt(flags);
    vmaStartWrite(vma);
    if (vmaIterStoreGfp(vmi, vma, GFP_KERNEL) !== 0) {
      vmAreaFree(vma);
      ctx.vmUnacctMemory(pages);
      return -ENOMEM;
    }
    mm.mapCount++;
  }
  const v = vma as VmAreaStruct;
  mm.totalVm += pages;
  mm.dataVm += pages;
  if (flags & VM_LOCKED) mm.lockedVm += pages;
  if (ctx.softDirty) v.vmFlags = vmFlagsSet(v.vmFlags, VM_SOFTDIRTY);
  return 0;
}

/**
 * Insert a VMA built by the caller (special mappings, the initial stack),
 * charging the commit if it is accounted.
 * @returns 0 or -ENOMEM (overlap, commit, allocation).
 * @kernel insert_vm_struct (mm/vma.c)
 */
export function insertVmStruct(mm: MmStruct, vma: VmAreaStruct): number {
  const charged = vmaPages(vma);
  if (findVmaIntersection(mm, vma.vmStart, vma.vmEnd) !== null) return -ENOMEM;
  if (vma.vmFlags & VM_ACCOUNT && securityVmEnoughMemoryMm(mm, charged) !== 0) return -ENOMEM;
  // the pgoff an anonymous VMA would get from mmap, so merges and /proc agree
  if (vmaIsAnonymous(vma)) {
    if (vma.anonVma !== null) throw new MmBugError('mm: insert_vm_struct of a faulted anonymous VMA');
    vma.vmPgoff = vma.vmStart / mm.ctx.pageSize;
  }
  if (vmaLink(mm, vma) !== 0) {
    if (vma.vmFlags & VM_ACCOUNT) mm.ctx.vmUnacctMemory(charged);
    return -ENOMEM;
  }
  return 0;
}
