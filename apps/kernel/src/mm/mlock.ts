/**
 * DOC: mlock, mlock2, munlock, mlockall, munlockall (mm/mlock.c).
 *
 * `mlock_fixup()` merges or splits the range through `vma_modify_flags()`,
 * counts `locked_vm`, and sets `VM_LOCKED` (with `VM_LOCKONFAULT` for
 * MLOCK_ONFAULT) while the page-table seam mlocks the folios already mapped
 * (`mlock_vma_pages_range()`, which briefly marks the VMA VM_IO so rmap
 * walkers do not count an mlock twice). Special, droppable and hugetlb VMAs
 * are skipped without error. `mlock()` checks RLIMIT_MEMLOCK (minus what the
 * range already has locked) unless CAP_IPC_LOCK, and then faults the range
 * in; a population failure becomes ENOMEM (-EFAULT) or EAGAIN (-ENOMEM).
 * `mlockall(MCL_FUTURE)` sets `VM_LOCKED` in `mm->def_flags`.
 */
import { EAGAIN, EFAULT, EINVAL, ENOMEM, EPERM } from '@mm/machine';
import { __mmPopulate, mmPopulate } from './gup.js';
import { type MmStruct, type VmAreaStruct, vmaStartWrite } from './mm-types.js';
import { MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT, MLOCK_ONFAULT } from './mman.js';
import { mmapWriteLockKillable, mmapWriteUnlock } from './mmap-lock.js';
import { vmaSupportsMlock } from './mmap-region.js';
import { VM_IO, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT, vmFlagsClear, vmFlagsSet } from './vm-flags.js';
import { canDoMlock } from './vm-stat.js';
import { vmaModifyFlags } from './vma.js';
import { VmaIterator, vmaFind, vmaIterEnd, vmaIterLoad, vmaNext, vmaPrev } from './vma-iter.js';

/**
 * Set the VMA's new flags and mlock (or munlock) the folios mapped in the range.
 * @kernel mlock_vma_pages_range (mm/mlock.c)
 */
function mlockVmaPagesRange(vma: VmAreaStruct, start: number, end: number, newFlagsIn: number): void {
  let newFlags = newFlagsIn;
  // VM_IO (a VM_SPECIAL flag never allowed on VM_LOCKED VMAs) tells a racing
  // mlock_vma_folio() not to count the folio: the walk here does
  if (newFlags & VM_LOCKED) newFlags = vmFlagsSet(newFlags, VM_IO);
  vmaStartWrite(vma);
  vma.vmFlags = newFlags;
  vma.vmMm.ctx.pt.mlockVmaPages(vma, start, end, newFlags);
  if (newFlags & VM_IO) {
    newFlags = vmFlagsClear(newFlags, VM_IO);
    vma.vmFlags = newFlags;
  }
}

/**
 * Lock or unlock `[start, end)` of `vma` with `newflags`; `pprev.prev` becomes
 * the VMA covering the range.
 * @returns 0 or a negative errno (split/merge failure).
 * @kernel mlock_fixup (mm/mlock.c)
 */
export function mlockFixup(
  vmi: VmaIterator,
  vmaIn: VmAreaStruct,
  pprev: { prev: VmAreaStruct | null },
  start: number,
  end: number,
  newflags: number,
): number {
  const oldFlags = vmaIn.vmFlags;
  const mm = vmaIn.vmMm;
  let vma = vmaIn;
  // secretmem is not modelled
  if (oldFlags === newflags || !vmaSupportsMlock(vma)) {
    // do not set VM_LOCKED or VM_LOCKONFAULT and do not count
    pprev.prev = vma;
    return 0;
  }
  const nf = { value: newflags };
  const r = vmaModifyFlags(vmi, pprev.prev, vma, start, end, nf);
  if (typeof r === 'number') {
    pprev.prev = vma;
    return r;
  }
  vma = r;
  const newFlags = nf.value;
  // keep track of the amount of locked VM
  let nrPages = (end - start) / mm.ctx.pageSize;
  if (!(newFlags & VM_LOCKED)) nrPages = -nrPages;
  else if (oldFlags & VM_LOCKED) nrPages = 0;
  mm.lockedVm += nrPages;
  if (newFlags & VM_LOCKED && oldFlags & VM_LOCKED) {
    // no work to do, and mlocking twice would be wrong
    vmaStartWrite(vma);
    vma.vmFlags = newFlags;
  } else {
    mlockVmaPagesRange(vma, start, end, newFlags);
  }
  pprev.prev = vma;
  return 0;
}

/**
 * Apply VM_LOCKED/VM_LOCKONFAULT (`flags`, or 0 to unlock) to `[start, start + len)`.
 * @returns 0, -ENOMEM for unmapped parts (after the VMAs before them changed), or a split error.
 * @kernel apply_vma_lock_flags (mm/mlock.c)
 */
function applyVmaLockFlags(mm: MmStruct, start: number, len: number, flags: number): number {
  const end = start + len;
  if (end === start) return 0;
  const vmi = new VmaIterator(mm, start);
  let vma = vmaIterLoad(vmi);
  if (vma === null) return -ENOMEM;
  const pprev: { prev: VmAreaStruct | null } = { prev: vmaPrev(vmi) };
  if (start > vma.vmStart) pprev.prev = vma;
  let nstart = start;
  let tmp = vma.vmStart;
  for (vma = vmaFind(vmi, end); vma !== null; vma = vmaFind(vmi, end)) {
    if (vma.vmStart !== tmp) return -ENOMEM;
    const newflags = vmFlagsSet(vmFlagsClear(vma.vmFlags, VM_LOCKED_MASK), flags);
    tmp = Math.min(vma.vmEnd, end);
    const error = mlockFixup(vmi, vma, pprev, nstart, tmp, newflags);
    if (error !== 0) return error;
    tmp = vmaIterEnd(vmi);
    nstart = tmp;
  }
  if (tmp < end) return -ENOMEM;
  return 0;
}

/**
 * Pages of `[start, start + len)` already in locked VMAs.
 * @kernel count_mm_mlocked_page_nr (mm/mlock.c)
 */
function countMmMlockedPageNr(mm: MmStruct, start: number, len: number): number {
  const end = start + len;
  let count = 0;
  const vmi = new VmaIterator(mm, start);
  for (let vma = vmaFind(vmi, end); vma !== null; vma = vmaFind(vmi, end)) {
    if (vma.vmFlags & VM_LOCKED) {
      if (start > vma.vmStart) count -= start - vma.vmStart;
      if (end < vma.vmEnd) {
        count += end - vma.vmStart;
        break;
      }
      count += vma.vmEnd - vma.vmStart;
    }
  }
  return count / mm.ctx.pageSize;
}

/** @kernel __mlock_posix_error_return (mm/mlock.c) */
function mlockPosixErrorReturn(retval: number): number {
  if (retval === -EFAULT) return -ENOMEM;
  if (retval === -ENOMEM) return -EAGAIN;
  return retval;
}

/** @kernel do_mlock (mm/mlock.c) */
function doMlock(mm: MmStruct, startIn: number, lenIn: number, flags: number): number {
  const page = mm.ctx.pageSize;
  if (!canDoMlock(mm)) return -EPERM;
  const len = Math.ceil((lenIn + (startIn % page)) / page) * page;
  const start = startIn - (startIn % page);
  const lockLimit = mm.rlim.memlock.cur === Infinity ? Infinity : Math.floor(mm.rlim.memlock.cur / page);
  let locked = len / page;
  const err = mmapWriteLockKillable(mm);
  if (err !== 0) return err;
  locked += mm.lockedVm;
  if (locked > lockLimit && !mm.capIpcLock) {
    // part of the range may already be locked and counted in locked_vm
    locked -= countMmMlockedPageNr(mm, start, len);
  }
  let error = -ENOMEM;
  if (locked <= lockLimit || mm.capIpcLock) error = applyVmaLockFlags(mm, start, len, flags);
  mmapWriteUnlock(mm);
  if (error !== 0) return error;
  error = __mmPopulate(mm, start, len, false);
  if (error !== 0) return mlockPosixErrorReturn(error);
  return 0;
}

/**
 * The mlock system call.
 * @returns 0, or -EPERM (no RLIMIT_MEMLOCK), -ENOMEM (limit, unmapped parts), -EAGAIN.
 * @kernel sys_mlock (mm/mlock.c)
 */
export function sysMlock(mm: MmStruct, start: number, len: number): number {
  return doMlock(mm, start, len, VM_LOCKED);
}

/**
 * mlock2: MLOCK_ONFAULT locks pages as they fault in.
 * @kernel sys_mlock2 (mm/mlock.c)
 */
export function sysMlock2(mm: MmStruct, start: number, len: number, flags: number): number {
  if (flags & ~MLOCK_ONFAULT) return -EINVAL;
  return doMlock(mm, start, len, flags & MLOCK_ONFAULT ? VM_LOCKED | VM_LOCKONFAULT : VM_LOCKED);
}

/**
 * The munlock system call.
 * @returns 0 or -ENOMEM (unmapped parts).
 * @kernel sys_munlock (mm/mlock.c)
 */
export function sysMunlock(mm: MmStruct, startIn: number, lenIn: number): number {
  const page = mm.ctx.pageSize;
  const len = Math.ceil((lenIn + (startIn % page)) / page) * page;
  const start = startIn - (startIn % page);
  const err = mmapWriteLockKillable(mm);
  if (err !== 0) return err;
  const ret = applyVmaLockFlags(mm, start, len, 0);
  mmapWriteUnlock(mm);
  return ret;
}

/** @kernel apply_mlockall_flags (mm/mlock.c) */
function applyMlockallFlags(mm: MmStruct, flags: number): number {
  let toAdd = 0;
  mm.defFlags = vmFlagsClear(mm.defFlags, VM_LOCKED_MASK);
  if (flags & MCL_FUTURE) {
    mm.defFlags = vmFlagsSet(mm.defFlags, VM_LOCKED);
    if (flags & MCL_ONFAULT) mm.defFlags = vmFlagsSet(mm.defFlags, VM_LOCKONFAULT);
    if (!(flags & MCL_CURRENT)) return 0;
  }
  if (flags & MCL_CURRENT) {
    toAdd |= VM_LOCKED;
    if (flags & MCL_ONFAULT) toAdd |= VM_LOCKONFAULT;
  }
  const vmi = new VmaIterator(mm, 0);
  const pprev: { prev: VmAreaStruct | null } = { prev: null };
  for (let vma = vmaNext(vmi); vma !== null; vma = vmaNext(vmi)) {
    const newflags = vmFlagsSet(vmFlagsClear(vma.vmFlags, VM_LOCKED_MASK), toAdd);
    // errors are ignored, but prev needs fixing up
    if (mlockFixup(vmi, vma, pprev, vma.vmStart, vma.vmEnd, newflags) !== 0) pprev.prev = vma;
  }
  return 0;
}

/**
 * The mlockall system call.
 * @returns 0, or -EINVAL (flags), -EPERM (no RLIMIT_MEMLOCK), -ENOMEM (MCL_CURRENT over the limit).
 * @kernel sys_mlockall (mm/mlock.c)
 */
export function sysMlockall(mm: MmStruct, flags: number): number {
  if (flags === 0 || flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) || flags === MCL_ONFAULT) return -EINVAL;
  if (!canDoMlock(mm)) return -EPERM;
  const page = mm.ctx.pageSize;
  const lockLimit = mm.rlim.memlock.cur === Infinity ? Infinity : Math.floor(mm.rlim.memlock.cur / page);
  const err = mmapWriteLockKillable(mm);
  if (err !== 0) return err;
  let ret = -ENOMEM;
  if (!(flags & MCL_CURRENT) || mm.totalVm <= lockLimit || mm.capIpcLock) ret = applyMlockallFlags(mm, flags);
  mmapWriteUnlock(mm);
  if (ret === 0 && flags & MCL_CURRENT) mmPopulate(mm, 0, mm.taskSize);
  return ret;
}

/**
 * The munlockall system call.
 * @kernel sys_munlockall (mm/mlock.c)
 */
export function sysMunlockall(mm: MmStruct): number {
  const err = mmapWriteLockKillable(mm);
  if (err !== 0) return err;
  const ret = applyMlockallFlags(mm, 0);
  mmapWriteUnlock(mm);
  return ret;
}
