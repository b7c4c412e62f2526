/**
 * DOC: munmap: gathering the VMAs of a range, clearing it, and completing
 * (mm/vma.c: `struct vma_munmap_struct`, `vms_gather_munmap_vmas()`,
 * `vms_complete_munmap_vmas()`, `do_vmi_align_munmap()`,
 * `do_vmi_munmap()`).
 *
 * Gathering splits the VMAs straddling the range's ends (refusing, with
 * -ENOMEM, a split at both ends of one VMA at `vm.max_map_count`),
 * write-locks each VMA and moves it into a side maple tree ("detached";
 * the main tree still holds it) while summing the pages that leave each
 * counter. Then the range is cleared from the main tree in one store (the
 * only point where the tree changes), and completion drops the counters,
 * downgrades the mmap lock for the munmap syscall, zaps the range and frees
 * the page tables between the neighbours (`free_pgtables()` with
 * `mm_wr_locked` false after the downgrade: the VMAs were isolated under
 * their write locks; the kernel commit "mm: conditionally write-lock VMA
 * in free_pgtables"), closes and frees the VMAs and returns their
 * commit charge. A failure before the clear re-attaches the gathered VMAs;
 * splits already made stay, as in the kernel. mmap (MAP_FIXED over existing
 * VMAs) uses the same gather and completes it only after the new VMA is in.
 */
import { __GFP_NOFAIL, EINVAL, ENOMEM, EPERM, GFP_KERNEL } from '@mm/machine';
import { __mtDestroy, MAPLE_MAX, MaState, MT_FLAGS_LOCK_MASK, mtreeInit } from '@mm/maple-tree';
import {
  type MmStruct,
  type VmAreaStruct,
  vmaMarkAttached,
  vmaMarkDetached,
  vmaPages,
  vmaStartWrite,
} from './mm-types.js';
import { mmapReadUnlock, mmapWriteDowngrade, mmapWriteLockKillable, mmapWriteUnlock } from './mmap-lock.js';
import { FIRST_USER_ADDRESS, USER_PGTABLES_CEILING, unmapRegion } from './unmap.js';
import {
  isDataMapping,
  isExecMapping,
  isStackMapping,
  VM_ACCOUNT,
  VM_LOCKED,
  VM_SEALED,
  vmFlagsAny,
} from './vm-flags.js';
import { __splitVma, removeVma, vmaClose } from './vma.js';
import { VmaIterator, vmaFind, vmaIterAddr, vmaIterClearGfp, vmaIterPrevRange, vmaNext, vmaPrev } from './vma-iter.js';

/** The state of one munmap: the range, the VMAs detached from the tree and the pages to account. @kernel struct vma_munmap_struct (mm/vma.h) */
export class VmaMunmapStruct {
  /** Iterator over the VMA tree, left at the range; mirrors `vma_munmap_struct::vmi`. */
  vmi: VmaIterator;
  /** The address space being unmapped from (the kernel reaches it through the VMA). */
  mm: MmStruct;
  /** The first VMA to munmap. */
  vma: VmAreaStruct | null;
  /** The VMA below the range, or null; mirrors `vma_munmap_struct::prev`. */
  prev: VmAreaStruct | null;
  /** The VMA above the range, or null; mirrors `vma_munmap_struct::next`. */
  next: VmAreaStruct | null;
  /** Page-aligned start of the range; mirrors `vma_munmap_struct::start`. */
  start: number;
  /** Page-aligned exclusive end of the range; mirrors `vma_munmap_struct::end`. */
  end: number;
  /** Page tables may be freed between these (the neighbours' edges). */
  unmapStart: number;
  /** Exclusive upper bound for freeing page tables; mirrors `vma_munmap_struct::unmap_end`. */
  unmapEnd: number;
  /** Number of VMAs detached and to be freed; mirrors `vma_munmap_struct::vma_count`. */
  vmaCount: number;
  /** Drop the mmap lock on completion (the munmap syscall). */
  unlock: boolean;
  /** PTEs still to clear. */
  clearPtes: boolean;
  /** Pages being unmapped, taken off `total_vm`; mirrors `vma_munmap_struct::nr_pages`. */
  nrPages: number;
  /** Pages of VM_LOCKED VMAs being unmapped; mirrors `vma_munmap_struct::locked_vm`. */
  lockedVm: number;
  /** Pages of VM_ACCOUNT VMAs, returned to the commit charge; mirrors `vma_munmap_struct::nr_accounted`. */
  nrAccounted: number;
  /** Pages taken off `exec_vm`; mirrors `vma_munmap_struct::exec_vm`. */
  execVm: number;
  /** Pages taken off `stack_vm`; mirrors `vma_munmap_struct::stack_vm`. */
  stackVm: number;
  /** Pages taken off `data_vm`; mirrors `vma_munmap_struct::data_vm`. */
  dataVm: number;

  /** The state of unmapping [start, end) of `mm`, starting from `vma`. @kernel init_vma_munmap (mm/vma.c) */
  constructor(vmi: VmaIterator, mm: MmStruct, vma: VmAreaStruct | null, start: number, end: number, unlock: boolean) {
    this.vmi = vmi;
    this.mm = mm;
    this.vma = vma;
    this.prev = null;
    this.next = null;
    this.start = vma !== null ? start : 0;
    this.end = vma !== null ? end : 0;
    this.unlock = unlock;
    this.vmaCount = 0;
    this.nrPages = 0;
    this.lockedVm = 0;
    this.nrAccounted = 0;
    this.execVm = 0;
    this.stackVm = 0;
    this.dataVm = 0;
    this.unmapStart = FIRST_USER_ADDRESS;
    this.unmapEnd = USER_PGTABLES_CEILING;
    this.clearPtes = false;
  }
}

/** A side tree for detached VMAs, keyed 0, 1, 2... @kernel mt_init_flags(&mt_detach, ...) (mm/vma.c) */
export function newDetachState(mm: MmStruct): MaState {
  const mt = mtreeInit(mm.mmMt.flags & MT_FLAGS_LOCK_MASK, { allocator: mm.ctx.nodes });
  return new MaState(mt, 0, 0);
}

/** Whether the VMA is sealed (mseal): unmap, mprotect and mremap must fail with EPERM. @kernel vma_is_sealed (mm/vma.h) */
export function vmaIsSealed(vma: VmAreaStruct): boolean {
  return vmFlagsAny(vma.vmFlags, VM_SEALED);
}

/**
 * Zap the gathered range and free its page tables (once).
 * @kernel vms_clear_ptes (mm/vma.c)
 */
function vmsClearPtes(vms: VmaMunmapStruct, masDetach: MaState, mmWrLocked: boolean): void {
  if (!vms.clearPtes) return;
  masDetach.set(1);
  unmapRegion({
    mas: masDetach,
    first: vms.vma as VmAreaStruct,
    pgStart: vms.unmapStart,
    pgEnd: vms.unmapEnd,
    vmaStart: vms.start,
    vmaEnd: vms.end,
    treeReset: 1,
    treeEnd: vms.vmaCount,
    mmWrLocked,
  });
  vms.clearPtes = false;
}

/**
 * Clear the PTEs of VMAs about to be replaced while they are still in the
 * tree, and call their close hooks (mmap over existing mappings).
 * @kernel vms_clean_up_area (mm/vma.c)
 */
export function vmsCleanUpArea(vms: VmaMunmapStruct, masDetach: MaState): void {
  if (vms.nrPages === 0) return;
  vmsClearPtes(vms, masDetach, true);
  masDetach.set(0);
  for (
    let v = masDetach.find(MAPLE_MAX) as VmAreaStruct | undefined;
    v !== undefined;
    v = masDetach.find(MAPLE_MAX) as VmAreaStruct | undefined
  )
    vmaClose(v);
}

/**
 * Finish a munmap once the tree no longer holds the range.
 * @kernel vms_complete_munmap_vmas (mm/vma.c)
 */
export function vmsCompleteMunmapVmas(vms: VmaMunmapStruct, masDetach: MaState): void {
  const mm = vms.mm;
  mm.mapCount -= vms.vmaCount;
  mm.lockedVm -= vms.lockedVm;
  if (vms.unlock) mmapWriteDowngrade(mm);
  if (vms.nrPages === 0) return;
  vmsClearPtes(vms, masDetach, !vms.unlock);
  // update_hiwater_vm(): the high watermark before total_vm drops
  if (mm.hiwaterVm < mm.totalVm) mm.hiwaterVm = mm.totalVm;
  mm.totalVm -= vms.nrPages;
  const machine = mm.ctx.machine;
  machine.warnOn(vms.execVm > mm.execVm, 'mm: munmap: exec_vm underflow');
  machine.warnOn(vms.stackVm > mm.stackVm, 'mm: munmap: stack_vm underflow');
  machine.warnOn(vms.dataVm > mm.dataVm, 'mm: munmap: data_vm underflow');
  mm.execVm -= vms.execVm;
  mm.stackVm -= vms.stackVm;
  mm.dataVm -= vms.dataVm;
  masDetach.set(0);
  for (
    let v = masDetach.find(MAPLE_MAX) as VmAreaStruct | undefined;
    v !== undefined;
    v = masDetach.find(MAPLE_MAX) as VmAreaStruct | undefined
  )
    removeVma(v);
  mm.ctx.vmUnacctMemory(vms.nrAccounted);
  if (vms.unlock) mmapReadUnlock(mm);
  __mtDestroy(masDetach.tree);
}

/**
 * Undo the gather: re-attach the VMAs and free the side tree.
 * @kernel reattach_vmas (mm/vma.c)
 */
export function reattachVmas(masDetach: MaState): void {
  masDetach.set(0);
  for (
    let v = masDetach.find(MAPLE_MAX) as VmAreaStruct | undefined;
    v !== undefined;
    v = masDetach.find(MAPLE_MAX) as VmAreaStruct | undefined
  )
    vmaMarkAttached(v);
  __mtDestroy(masDetach.tree);
}

/**
 * Split the VMAs at the range's ends and detach every VMA of the range into
 * the side tree, summing what leaves each counter.
 * @returns 0, -ENOMEM (allocation, or a split at both ends at the map-count limit) or -EPERM (sealed).
 * @kernel vms_gather_munmap_vmas (mm/vma.c)
 */
export function vmsGatherMunmapVmas(vms: VmaMunmapStruct, masDetach: MaState): number {
  const vmi = vms.vmi;
  const first = vms.vma as VmAreaStruct;
  let error: number;
  if (vms.start > first.vmStart) {
    // map_count may go just above its limit temporarily, not after the munmap
    if (vms.end < first.vmEnd && first.vmMm.mapCount >= first.vmMm.ctx.sysctlMaxMapCount) return -ENOMEM;
    if (vmaIsSealed(first)) return -EPERM;
    error = __splitVma(vmi, first, vms.start, true);
    if (error !== 0) return error;
  }
  vms.prev = vmaPrev(vmi);
  if (vms.prev !== null) vms.unmapStart = vms.prev.vmEnd;

  for (let next = vmaFind(vmi, vms.end); next !== null; next = vmaFind(vmi, vms.end)) {
    if (vmaIsSealed(next)) {
      reattachVmas(masDetach);
      return -EPERM;
    }
    if (next.vmEnd > vms.end) {
      error = __splitVma(vmi, next, vms.end, false);
      if (error !== 0) {
        reattachVmas(masDetach);
        return error;
      }
    }
    vmaStartWrite(next);
    masDetach.set(vms.vmaCount++);
    if (masDetach.storeGfp(next, GFP_KERNEL) !== 0) {
      reattachVmas(masDetach);
      return -ENOMEM;
    }
    vmaMarkDetached(next);
    const nrpages = vmaPages(next);
    vms.nrPages += nrpages;
    if (next.vmFlags & VM_LOCKED) vms.lockedVm += nrpages;
    if (next.vmFlags & VM_ACCOUNT) vms.nrAccounted += nrpages;
    if (isExecMapping(next.vmFlags)) vms.execVm += nrpages;
    else if (isStackMapping(next.vmFlags)) vms.stackVm += nrpages;
    else if (isDataMapping(next.vmFlags)) vms.dataVm += nrpages;
  }
  vms.next = vmaNext(vmi);
  if (vms.next !== null) vms.unmapEnd = vms.next.vmStart;
  while (vmaIterAddr(vmi) > vms.start) vmaIterPrevRange(vmi);
  vms.clearPtes = true;
  return 0;
}

/**
 * Undo as much of an aborted mmap-over-existing as possible: re-attach if
 * the PTEs are still there, else leave a hole where the old VMAs were (the
 * MAP_FIXED failure the kernel documents) and complete their unmapping.
 * @kernel vms_abort_munmap_vmas (mm/vma.c)
 */
export function vmsAbortMunmapVmas(vms: VmaMunmapStruct, masDetach: MaState): void {
  const mas = vms.vmi.mas;
  if (vms.nrPages === 0) return;
  if (vms.clearPtes) {
    reattachVmas(masDetach);
    return;
  }
  mas.setRange(vms.start, vms.end - 1);
  mas.storeGfp(undefined, GFP_KERNEL | __GFP_NOFAIL);
  vmsCompleteMunmapVmas(vms, masDetach);
}

/**
 * munmap the page-aligned `[start, end)` starting with `vma`.
 * @returns 0 (the lock dropped if `unlock`), or a negative errno (lock still held).
 * @kernel do_vmi_align_munmap (mm/vma.c)
 */
export function doVmiAlignMunmap(
  vmi: VmaIterator,
  vma: VmAreaStruct,
  mm: MmStruct,
  start: number,
  end: number,
  unlock: boolean,
): number {
  const masDetach = newDetachState(mm);
  const vms = new VmaMunmapStruct(vmi, mm, vma, start, end, unlock);
  let error = vmsGatherMunmapVmas(vms, masDetach);
  if (error !== 0) return error;
  error = vmaIterClearGfp(vmi, start, end, GFP_KERNEL);
  if (error !== 0) {
    reattachVmas(masDetach);
    return error;
  }
  // point of no return
  vmsCompleteMunmapVmas(vms, masDetach);
  return 0;
}

/**
 * munmap `[start, start + len)`.
 * @returns 0, or -EINVAL (unaligned, past TASK_SIZE, empty) and the errors of {@link doVmiAlignMunmap}.
 * @kernel do_vmi_munmap (mm/vma.c)
 */
export function doVmiMunmap(vmi: VmaIterator, mm: MmStruct, start: number, len: number, unlock: boolean): number {
  const ctx = mm.ctx;
  const taskSize = mm.taskSize;
  if (start % ctx.pageSize !== 0 || start > taskSize || len > taskSize - start) return -EINVAL;
  const end = start + Math.ceil(len / ctx.pageSize) * ctx.pageSize;
  if (end === start) return -EINVAL;
  const vma = vmaFind(vmi, end);
  if (vma === null) {
    if (unlock) mmapWriteUnlock(mm);
    return 0;
  }
  return doVmiAlignMunmap(vmi, vma, mm, start, end, unlock);
}

/**
 * munmap without dropping the lock (mremap, brk).
 * @kernel do_munmap (mm/mmap.c)
 */
export function doMunmap(mm: MmStruct, start: number, len: number): number {
  return doVmiMunmap(new VmaIterator(mm, start), mm, start, len, false);
}

/**
 * The munmap system call: the range is unmapped with the lock downgraded.
 * @returns 0 or a negative errno; nothing changes on -EINVAL; on -ENOMEM or
 * -EPERM the VMAs may be split at the range's ends but nothing is unmapped.
 * @kernel __vm_munmap (mm/vma.c)
 */
export function vmMunmap(mm: MmStruct, start: number, len: number): number {
  const vmi = new VmaIterator(mm, start);
  const err = mmapWriteLockKillable(mm);
  if (err !== 0) return err;
  const ret = doVmiMunmap(vmi, mm, start, len, true);
  if (ret !== 0) mmapWriteUnlock(mm);
  return ret;
}
