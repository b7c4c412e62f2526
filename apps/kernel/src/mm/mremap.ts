/**
 * DOC: the mremap system call (mm/mremap.c, Linux 7.2), with the state
 * objects of the v6.15 refactor ("mm/mremap: introduce and use
 * vma_remap_struct threaded state" and the commits around it).
 *
 * `struct vma_remap_struct` (VRM) threads the operation: the user's
 * arguments, the VMA, the size `delta`, the kind (`NO_RESIZE`, `SHRINK`,
 * `EXPAND`), whether the mmap lock is still held, the pages charged, and
 * whether the VMA iterator needs invalidating. `struct
 * pagetable_move_control` (PMC) threads the page-table move: old and new
 * VMA, the addresses (advanced as extents move; realigned down to a PMD
 * boundary when both are their VMA's start, mutually aligned and nothing is
 * mapped below), the end, the requested length and whether the rmap locks
 * are needed. `move_page_tables()` reports its progress with
 * `pmc_progress()`, never negative after a realignment.
 *
 * Flow: parameter checks; under the write lock, `MREMAP_FIXED` with equal
 * lengths moves every VMA of the range keeping the gaps (`remap_move()`),
 * otherwise one VMA: shrink in place (the tail is unmapped, the lock
 * dropped), expand in place when the range ends at the VMA's end and the
 * space after it is free (`vma_merge_extend()` may merge with the next VMA),
 * or move (`move_vma()`: `copy_vma()`, move the page tables, undo on a short
 * move, then unmap the source unless MREMAP_DONTUNMAP). An accounted move
 * (VM_ACCOUNT, not DONTUNMAP) clears VM_ACCOUNT on the source before
 * unmapping it and sets it again on the parts left before and after; seed
 * 000's fix tests `vm_start < addr` and `vm_end > addr + len` as booleans,
 * where the old code kept `account_start = vma->vm_start` and lost
 * VM_ACCOUNT on the left remnant of a VMA starting at address 0.
 */
import { EAGAIN, EFAULT, EINTR, EINVAL, ENOMEM, EPERM } from '@mm/machine';
import { mmPopulate } from './gup.js';
import { type MmStruct, type VmAreaStruct, vmaIsAnonymous, vmaStartWrite } from './mm-types.js';
import { MAP_FIXED, MAP_SHARED, MREMAP_DONTUNMAP, MREMAP_FIXED, MREMAP_MAYMOVE } from './mman.js';
import { mmapWriteLockKillable, mmapWriteUnlock } from './mmap-lock.js';
import { securityVmEnoughMemoryMm } from './overcommit.js';
import type { PagetableMoveControl } from './pgtable-ops.js';
import { getUnmappedArea } from './unmapped-area.js';
import {
  VM_ACCOUNT,
  VM_DONTEXPAND,
  VM_LOCKED,
  VM_LOCKED_MASK,
  VM_MAYSHARE,
  VM_PFNMAP,
  VM_SHARED,
  vmFlagsClear,
  vmFlagsSet,
} from './vm-flags.js';
import { mayExpandVm, mlockFutureOk, vmStatAccount } from './vm-stat.js';
import { copyVma, findVmaIntersection, splitVma, vmaLookup, vmaMergeExtend } from './vma.js';
import { VmaIterator, vmaFind, vmaIterInvalidate, vmaNext, vmaPrev } from './vma-iter.js';
import { doMunmap, doVmiMunmap, vmaIsSealed } from './vma-munmap.js';

/** mremap classification `MREMAP_INVALID`: not yet classified. @kernel enum mremap_type (mm/mremap.c) */
export const MREMAP_INVALID = 0;
/** mremap classification `MREMAP_NO_RESIZE` of `vma_remap_struct.remap_type` (mm/mremap.c). */
export const MREMAP_NO_RESIZE = 1;
/** mremap classification `MREMAP_SHRINK` of `vma_remap_struct.remap_type` (mm/mremap.c). */
export const MREMAP_SHRINK = 2;
/** mremap classification `MREMAP_EXPAND` of `vma_remap_struct.remap_type` (mm/mremap.c). */
export const MREMAP_EXPAND = 3;

/** The state of one mremap call: the old and new ranges, flags and what to undo. @kernel struct vma_remap_struct (mm/mremap.c) */
export class VmaRemapStruct {
  /** User-provided: the address remapped from. */
  addr: number;
  /** Length of the source range in bytes, page-aligned; mirrors `vma_remap_struct::old_len`. */
  oldLen: number;
  /** Requested length in bytes, page-aligned; mirrors `vma_remap_struct::new_len`. */
  newLen: number;
  /** The MREMAP_* flags passed by the caller; mirrors `vma_remap_struct::flags`. */
  readonly flags: number;
  /** Target address for MREMAP_FIXED / MREMAP_DONTUNMAP, else where the move landed; mirrors `vma_remap_struct::new_addr`. */
  newAddr: number;
  /** The VMA, determined in do_mremap(). */
  vma: VmAreaStruct | null;
  /** |old_len - new_len|. */
  delta: number;
  /** An mlock()ed VMA grew: populate the new part. */
  populateExpand: boolean;
  /** The kind of resize: one of the MREMAP_INVALID / _NO_RESIZE / _SHRINK / _EXPAND constants above; mirrors `vma_remap_struct::remap_type`. */
  remapType: number;
  /** Whether the mmap lock is still write-held (a shrink may drop it early); mirrors `vma_remap_struct::mmap_locked`. */
  mmapLocked: boolean;
  /** Pages charged if VM_ACCOUNT. */
  charged: number;
  /** Set when the VMA tree changed under a multi-VMA move, so its iterator must restart; mirrors `vma_remap_struct::vmi_needs_invalidate`. */
  vmiNeedsInvalidate: boolean;
  /** The address space being remapped (`current->mm` in the kernel). */
  readonly mm: MmStruct;

  constructor(mm: MmStruct, addr: number, oldLen: number, newLen: number, flags: number, newAddr: number) {
    this.mm = mm;
    this.addr = addr;
    this.oldLen = oldLen;
    this.newLen = newLen;
    this.flags = flags;
    this.newAddr = newAddr;
    this.vma = null;
    this.delta = 0;
    this.populateExpand = false;
    this.remapType = MREMAP_INVALID;
    this.mmapLocked = false;
    this.charged = 0;
    this.vmiNeedsInvalidate = false;
  }
}

function pageShift(mm: MmStruct, bytes: number): number {
  return Math.floor(bytes / mm.ctx.pageSize);
}

// ---------------------------------------------------------------------------
// Page-table moves

/** A page-table move control for moving `len` bytes from `oldAddr` in `old` to `newAddr` in `nw`. @kernel PAGETABLE_MOVE (mm/internal.h) */
export function pagetableMove(
  old: VmAreaStruct | null,
  nw: VmAreaStruct | null,
  oldAddr: number,
  newAddr: number,
  len: number,
  forStack = false,
): PagetableMoveControl {
  return { old, new: nw, oldAddr, oldEnd: oldAddr + len, newAddr, lenIn: len, needRmapLocks: false, forStack };
}

/** @kernel can_align_down (mm/mremap.c) */
function canAlignDown(pmc: PagetableMoveControl, vma: VmAreaStruct, addrToAlign: number, mask: number): boolean {
  const addrMasked = addrToAlign - (addrToAlign % mask);
  // an address not at its VMA's start cannot align down without destroying the mapping below
  if (!pmc.forStack && vma.vmStart !== addrToAlign) return false;
  if (pmc.forStack && addrMasked >= vma.vmStart) return true;
  // the realignment must not fall on an existing mapping
  return findVmaIntersection(vma.vmMm, addrMasked, vma.vmStart) === null;
}

/** @kernel can_realign_addr (mm/mremap.c) */
function canRealignAddr(pmc: PagetableMoveControl, size: number): boolean {
  const oldAlign = pmc.oldAddr % size;
  const newAlign = pmc.newAddr % size;
  const oldAlignNext = size - oldAlign;
  // only when the range reaches or crosses the next boundary
  if (pmc.lenIn < oldAlignNext) return false;
  if (oldAlign === 0) return false;
  if (oldAlign !== newAlign) return false;
  if (
    !canAlignDown(pmc, pmc.old as VmAreaStruct, pmc.oldAddr, size) ||
    !canAlignDown(pmc, pmc.new as VmAreaStruct, pmc.newAddr, size)
  )
    return false;
  return true;
}

/**
 * Move one page-table entry instead of many: align both addresses down to
 * a PMD boundary when that is safe (`old_end` unchanged).
 * @kernel try_realign_addr (mm/mremap.c)
 */
function tryRealignAddr(pmc: PagetableMoveControl, size: number): void {
  if (!canRealignAddr(pmc, size)) return;
  pmc.oldAddr -= pmc.oldAddr % size;
  pmc.newAddr -= pmc.newAddr % size;
}

/** Bytes of the requested range moved so far, never negative. @kernel pmc_progress (mm/mremap.c) */
function pmcProgress(pmc: PagetableMoveControl): number {
  const origOldAddr = pmc.oldEnd - pmc.lenIn;
  return pmc.oldAddr < origOldAddr ? 0 : pmc.oldAddr - origOldAddr;
}

/**
 * Move the page tables of `[pmc.oldAddr, pmc.oldEnd)` to `pmc.newAddr`.
 * @returns the bytes moved (less than `lenIn` when a table could not be allocated).
 * @kernel move_page_tables (mm/mremap.c)
 */
export function movePageTables(pmc: PagetableMoveControl): number {
  if (pmc.lenIn === 0) return 0;
  const mm = (pmc.old as VmAreaStruct).vmMm;
  // realign to a PMD boundary if the copy reaches one
  tryRealignAddr(pmc, mm.ctx.pmdSize);
  mm.ctx.pt.movePageTables(pmc);
  return pmcProgress(pmc);
}

// ---------------------------------------------------------------------------
// VRM helpers

/** @kernel vrm_set_delta (mm/mremap.c) */
function vrmSetDelta(vrm: VmaRemapStruct): void {
  vrm.delta = Math.abs(vrm.oldLen - vrm.newLen);
}

/** @kernel vrm_remap_type (mm/mremap.c) */
function vrmRemapType(vrm: VmaRemapStruct): number {
  if (vrm.delta === 0) return MREMAP_NO_RESIZE;
  if (vrm.oldLen > vrm.newLen) return MREMAP_SHRINK;
  return MREMAP_EXPAND;
}

/** @kernel vrm_overlaps (mm/mremap.c) */
function vrmOverlaps(vrm: VmaRemapStruct): boolean {
  const endOld = vrm.addr + vrm.oldLen;
  const endNew = vrm.newAddr + vrm.newLen;
  return endOld > vrm.newAddr && endNew > vrm.addr;
}

/** @kernel vrm_implies_new_addr (mm/mremap.c) */
function vrmImpliesNewAddr(vrm: VmaRemapStruct): boolean {
  return (vrm.flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) !== 0;
}

/**
 * Find the target: MAP_FIXED for MREMAP_FIXED, a hint for DONTUNMAP, anywhere otherwise.
 * @returns 0 (new_addr set) or a negative errno.
 * @kernel vrm_set_new_addr (mm/mremap.c)
 */
function vrmSetNewAddr(vrm: VmaRemapStruct): number {
  const vma = vrm.vma as VmAreaStruct;
  const mm = vrm.mm;
  let mapFlags = 0;
  const internalPgoff = pageShift(mm, vrm.addr - vma.vmStart);
  const pgoff = vma.vmPgoff + internalPgoff;
  const newAddr = vrmImpliesNewAddr(vrm) ? vrm.newAddr : 0;
  if (vrm.flags & MREMAP_FIXED) mapFlags |= MAP_FIXED;
  if (vma.vmFlags & VM_MAYSHARE) mapFlags |= MAP_SHARED;
  const res = getUnmappedArea(mm, vma.vmFile, newAddr, vrm.newLen, pgoff, mapFlags);
  if (res < 0) return res;
  vrm.newAddr = res;
  return 0;
}

/**
 * Charge the commit of an accounted VMA: the new length for DONTUNMAP, the delta otherwise.
 * @kernel vrm_calc_charge (mm/mremap.c)
 */
function vrmCalcCharge(vrm: VmaRemapStruct): boolean {
  const vma = vrm.vma as VmAreaStruct;
  if (!(vma.vmFlags & VM_ACCOUNT)) return true;
  const charged = vrm.flags & MREMAP_DONTUNMAP ? pageShift(vrm.mm, vrm.newLen) : pageShift(vrm.mm, vrm.delta);
  if (securityVmEnoughMemoryMm(vrm.mm, charged) !== 0) return false;
  vrm.charged = charged;
  return true;
}

/** @kernel vrm_uncharge (mm/mremap.c) */
function vrmUncharge(vrm: VmaRemapStruct): void {
  if (!((vrm.vma as VmAreaStruct).vmFlags & VM_ACCOUNT)) return;
  vrm.mm.ctx.vmUnacctMemory(vrm.charged);
  vrm.charged = 0;
}

/** @kernel vrm_stat_account (mm/mremap.c) */
function vrmStatAccount(vrm: VmaRemapStruct, bytes: number): void {
  const pages = pageShift(vrm.mm, bytes);
  const vma = vrm.vma as VmAreaStruct;
  vmStatAccount(vrm.mm, vma.vmFlags, pages);
  if (vma.vmFlags & VM_LOCKED) vrm.mm.lockedVm += pages;
}

/** @kernel __check_map_count_against_split (mm/mremap.c) */
function __checkMapCountAgainstSplit(mm: MmStruct, preSplit: boolean, beforeUnmaps: boolean): boolean {
  let mapCount = mm.mapCount;
  // a shrink or a MREMAP_FIXED unmap may split one VMA into two, twice
  if (beforeUnmaps) mapCount += 2;
  // copying the VMA and unmapping the source: two more in the worst case
  mapCount += 2;
  if (preSplit) mapCount++;
  return mapCount <= mm.ctx.sysctlMaxMapCount;
}

/** An mlock()ed VMA moved with DONTUNMAP is split first, to account locked pages. @kernel needs_pre_split (mm/mremap.c) */
function needsPreSplit(vrm: VmaRemapStruct): boolean {
  return (vrm.flags & MREMAP_DONTUNMAP) !== 0 && ((vrm.vma as VmAreaStruct).vmFlags & VM_LOCKED) !== 0;
}

/** @kernel check_map_count_against_split (mm/mremap.c) */
function checkMapCountAgainstSplit(vrm: VmaRemapStruct): boolean {
  return __checkMapCountAgainstSplit(vrm.mm, needsPreSplit(vrm), false);
}

/** @kernel check_map_count_against_split_early (mm/mremap.c) */
function checkMapCountAgainstSplitEarly(vrm: VmaRemapStruct): boolean {
  return __checkMapCountAgainstSplit(vrm.mm, (vrm.flags & MREMAP_DONTUNMAP) !== 0, true);
}

/** @kernel prep_move_vma (mm/mremap.c) */
function prepMoveVma(vrm: VmaRemapStruct): number {
  const vma = vrm.vma as VmAreaStruct;
  const oldAddr = vrm.addr;
  const oldLen = vrm.oldLen;
  const splitBefore = vma.vmStart !== oldAddr;
  const splitAfter = vma.vmEnd !== oldAddr + oldLen;
  // avoid failure later on
  if (!checkMapCountAgainstSplit(vrm)) return -ENOMEM;
  if (vma.vmOps?.maySplit !== undefined) {
    let err = 0;
    if (splitBefore) err = vma.vmOps.maySplit(vma, oldAddr);
    if (err === 0 && splitAfter) err = vma.vmOps.maySplit(vma, oldAddr + oldLen);
    if (err !== 0) return err;
  }
  // ksm_madvise(MADV_UNMERGEABLE) with dummy flags: no KSM pages exist to break
  // account mlock()ed pages correctly for DONTUNMAP: split ahead of time
  if (needsPreSplit(vrm)) {
    const vmi = new VmaIterator(vrm.mm, oldAddr);
    let err = 0;
    if (splitBefore) err = splitVma(vmi, vma, oldAddr, true);
    if (err === 0 && splitAfter) err = splitVma(vmi, vma, oldAddr + oldLen, false);
    vrm.vmiNeedsInvalidate = true;
    return err;
  }
  return 0;
}

/**
 * Unmap the source of a move without un-accounting pages the move already
 * settled: clear VM_ACCOUNT on the source, unmap, set it again on what
 * remains before and after (the boolean tests of the kernel commit "mm/mremap: correctly
 * handle partial mremap() of VMA starting at 0").
 * @kernel unmap_source_vma (mm/mremap.c)
 */
function unmapSourceVma(vrm: VmaRemapStruct): void {
  const mm = vrm.mm;
  const addr = vrm.addr;
  const len = vrm.oldLen;
  const vma = vrm.vma as VmAreaStruct;
  const vmi = new VmaIterator(mm, addr);
  // DONTUNMAP here means the move failed and the new VMA is unmapped instead, accounted
  const accountableMove = (vma.vmFlags & VM_ACCOUNT) !== 0 && !(vrm.flags & MREMAP_DONTUNMAP);
  let vmStart = 0;
  let vmEnd = 0;
  if (accountableMove) {
    vmaStartWrite(vma); // vm_flags_clear()
    vma.vmFlags = vmFlagsClear(vma.vmFlags, VM_ACCOUNT);
    // we are about to split the VMA: remember its range
    vmStart = vma.vmStart;
    vmEnd = vma.vmEnd;
  }
  const err = doVmiMunmap(vmi, mm, addr, len, false);
  vrm.vma = null; // invalidated
  vrm.vmiNeedsInvalidate = true;
  if (err !== 0) {
    // OOM: unable to split the VMA, just get the accounts right
    mm.ctx.vmAcctMemory(pageShift(mm, len));
    return;
  }
  //     addr  end               addr  end
  //      |     |                 |     |
  //  |-------------|    ->   |---|     |---|
  //  |             |         | A |     | B |
  //  |-------------|         |---|     |---|
  // do_vmi_munmap() left the iterator at addr: vma_prev() is A, vma_next() B.
  if (accountableMove) {
    const end = addr + len;
    if (vmStart < addr) {
      const prev = vmaPrev(vmi) as VmAreaStruct;
      vmaStartWrite(prev);
      prev.vmFlags = vmFlagsSet(prev.vmFlags, VM_ACCOUNT);
    }
    if (vmEnd > end) {
      const next = vmaNext(vmi) as VmAreaStruct;
      vmaStartWrite(next);
      next.vmFlags = vmFlagsSet(next.vmFlags, VM_ACCOUNT);
    }
  }
}

/** Result of {@link copyVmaAndData}. */
interface CopyResult {
  readonly err: number;
  readonly newVma: VmAreaStruct | null;
}

/**
 * Copy the VMA to `new_addr` and move its page tables; on a short move or a
 * failing `mremap` hook, move them back and make the new VMA the one to unmap.
 * @kernel copy_vma_and_data (mm/mremap.c)
 */
function copyVmaAndData(vrm: VmaRemapStruct): CopyResult {
  const src = vrm.vma as VmAreaStruct;
  const internalOffset = vrm.addr - src.vmStart;
  const newPgoff = src.vmPgoff + pageShift(vrm.mm, internalOffset);
  const pmc = pagetableMove(null, null, vrm.addr, vrm.newAddr, vrm.oldLen);
  const cp = copyVma(src, vrm.newAddr, vrm.newLen, newPgoff, (vrm.flags & MREMAP_DONTUNMAP) !== 0);
  if (cp.newVma === null) {
    vrmUncharge(vrm);
    return { err: -ENOMEM, newVma: null };
  }
  const vma = cp.vma;
  // by merging, we may have invalidated any iterator in use
  if (vma !== vrm.vma) vrm.vmiNeedsInvalidate = true;
  vrm.vma = vma;
  pmc.old = vma;
  pmc.new = cp.newVma;
  pmc.needRmapLocks = cp.needRmapLocks;
  const movedLen = movePageTables(pmc);
  let err = 0;
  if (movedLen < vrm.oldLen) err = -ENOMEM;
  else if (vma.vmOps?.mremap !== undefined) err = vma.vmOps.mremap(cp.newVma);
  if (err !== 0) {
    // move the entries back (the tables are still there) and unmap the new area instead
    const revert = pagetableMove(cp.newVma, vma, vrm.newAddr, vrm.addr, movedLen);
    revert.needRmapLocks = true;
    movePageTables(revert);
    vrm.vma = cp.newVma;
    vrm.oldLen = vrm.newLen;
    vrm.addr = vrm.newAddr;
  }
  return { err, newVma: cp.newVma };
}

/**
 * After a DONTUNMAP move: the old VMA is no longer mlock()ed, and if it was
 * moved whole its anon_vmas go and an anonymous one gets the unfaulted pgoff.
 * @kernel dontunmap_complete (mm/mremap.c)
 */
function dontunmapComplete(vrm: VmaRemapStruct): void {
  const start = vrm.addr;
  const end = vrm.addr + vrm.oldLen;
  const vma = vrm.vma as VmAreaStruct;
  vmaStartWrite(vma);
  vma.vmFlags = vmFlagsClear(vma.vmFlags, VM_LOCKED_MASK);
  if (start === vma.vmStart && end === vma.vmEnd) {
    vrm.mm.ctx.anon.unlinkAnonVmas(vma);
    // an unfaulted anonymous VMA has pgoff vm_start >> PAGE_SHIFT
    if (vmaIsAnonymous(vma) && vma.vmFile === null) vma.vmPgoff = pageShift(vrm.mm, vma.vmStart);
  }
}

/** @kernel move_vma (mm/mremap.c) */
function moveVma(vrm: VmaRemapStruct): number {
  const isDontunmap = (vrm.flags & MREMAP_DONTUNMAP) !== 0;
  const mm = vrm.mm;
  let err = prepMoveVma(vrm);
  if (err !== 0) return err;
  if (!vrmCalcCharge(vrm)) return -ENOMEM;
  // no racing faults
  vmaStartWrite(vrm.vma as VmAreaStruct);
  const cp = copyVmaAndData(vrm);
  err = cp.err;
  if (err !== 0 && cp.newVma === null) return err;
  // total_vm goes up for a moment; keep the high watermark as it was
  const hiwaterVm = mm.hiwaterVm;
  if (isDontunmap && err === 0) dontunmapComplete(vrm);
  vrmStatAccount(vrm, vrm.newLen);
  if (!isDontunmap || err !== 0) unmapSourceVma(vrm);
  mm.hiwaterVm = hiwaterVm;
  return err !== 0 ? err : vrm.newAddr;
}

/**
 * Unmap the shrunken tail; with `dropLock` the mmap lock goes too.
 * @kernel shrink_vma (mm/mremap.c)
 */
function shrinkVma(vrm: VmaRemapStruct, dropLock: boolean): number {
  const mm = vrm.mm;
  const unmapStart = vrm.addr + vrm.newLen;
  const vmi = new VmaIterator(mm, unmapStart);
  const res = doVmiMunmap(vmi, mm, unmapStart, vrm.delta, dropLock);
  vrm.vma = null;
  if (res !== 0) return res;
  if (dropLock) {
    vrm.mmapLocked = false;
  } else {
    vrm.vma = vmaLookup(mm, vrm.addr);
    if (vrm.vma === null) return -EFAULT;
  }
  return 0;
}

/**
 * Move to a given or found address (MREMAP_FIXED or DONTUNMAP).
 * @kernel mremap_to (mm/mremap.c)
 */
function mremapTo(vrm: VmaRemapStruct): number {
  const mm = vrm.mm;
  if (vrm.flags & MREMAP_FIXED) {
    // unmap the destination first (do_munmap checks sealing)
    const err = doMunmap(mm, vrm.newAddr, vrm.newLen);
    vrm.vma = null;
    vrm.vmiNeedsInvalidate = true;
    if (err !== 0) return err;
    // remapping part of a VMA elsewhere in the same VMA may have invalidated it
    vrm.vma = vmaLookup(mm, vrm.addr);
    if (vrm.vma === null) return -EFAULT;
  }
  if (vrm.remapType === MREMAP_SHRINK) {
    const err = shrinkVma(vrm, false);
    if (err !== 0) return err;
    vrm.oldLen = vrm.newLen;
  }
  // DONTUNMAP grows the address space by old_len
  if (vrm.flags & MREMAP_DONTUNMAP) {
    if (!mayExpandVm(mm, (vrm.vma as VmAreaStruct).vmFlags, pageShift(mm, vrm.oldLen))) return -ENOMEM;
  }
  const err = vrmSetNewAddr(vrm);
  if (err !== 0) return err;
  return moveVma(vrm);
}

/** @kernel vma_expandable (mm/mremap.c) */
function vmaExpandable(vma: VmAreaStruct, delta: number): boolean {
  const end = vma.vmEnd + delta;
  if (findVmaIntersection(vma.vmMm, vma.vmEnd, end) !== null) return false;
  if (getUnmappedArea(vma.vmMm, null, vma.vmStart, end - vma.vmStart, 0, MAP_FIXED) < 0) return false;
  return true;
}

/** @kernel vrm_can_expand_in_place (mm/mremap.c) */
function vrmCanExpandInPlace(vrm: VmaRemapStruct): boolean {
  const vma = vrm.vma as VmAreaStruct;
  // only a range reaching the VMA's end grows in place
  if (vma.vmEnd - vrm.addr !== vrm.oldLen) return false;
  return vmaExpandable(vma, vrm.delta);
}

/** @kernel expand_vma_in_place (mm/mremap.c) */
function expandVmaInPlace(vrm: VmaRemapStruct): number {
  const vma = vrm.vma as VmAreaStruct;
  const vmi = new VmaIterator(vrm.mm, vma.vmEnd);
  if (!vrmCalcCharge(vrm)) return -ENOMEM;
  // expand, possibly merging with the next VMA
  const merged = vmaMergeExtend(vmi, vma, vrm.delta);
  if (merged === null) {
    vrmUncharge(vrm);
    return -ENOMEM;
  }
  vrm.vma = merged;
  vrmStatAccount(vrm, vrm.delta);
  return 0;
}

/** Grow in place if possible, else move (MREMAP_MAYMOVE) or fail with -ENOMEM. @kernel expand_vma (mm/mremap.c) */
function expandVma(vrm: VmaRemapStruct): number {
  if (vrmCanExpandInPlace(vrm)) {
    const err = expandVmaInPlace(vrm);
    if (err !== 0) return err;
    return vrm.addr;
  }
  if (!(vrm.flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const err = vrmSetNewAddr(vrm);
  if (err !== 0) return err;
  return moveVma(vrm);
}

/** @kernel mremap_at (mm/mremap.c) */
function mremapAt(vrm: VmaRemapStruct): number {
  switch (vrm.remapType) {
    case MREMAP_NO_RESIZE:
      return vrm.addr;
    case MREMAP_SHRINK: {
      // always in place: unmap the tail, dropping the lock
      const res = shrinkVma(vrm, true);
      if (res !== 0) return res;
      return vrm.addr;
    }
    case MREMAP_EXPAND:
      return expandVma(vrm);
  }
  return -EINVAL;
}

/** @kernel vrm_will_map_new (mm/mremap.c) */
function vrmWillMapNew(vrm: VmaRemapStruct): boolean {
  return vrm.remapType === MREMAP_EXPAND || vrmImpliesNewAddr(vrm);
}

/** @kernel vrm_move_only (mm/mremap.c) */
function vrmMoveOnly(vrm: VmaRemapStruct): boolean {
  return (vrm.flags & MREMAP_FIXED) !== 0 && vrm.oldLen === vrm.newLen;
}

/** Several VMAs may move together unless uffd-armed or with their own placement (tmpfs is fine). @kernel vma_multi_allowed (mm/mremap.c) */
function vmaMultiAllowed(vma: VmAreaStruct): boolean {
  if (vma.vmUserfaultfdCtx !== null) return false;
  return true;
}

/** @kernel check_prep_vma (mm/mremap.c) */
function checkPrepVma(vrm: VmaRemapStruct): number {
  const vma = vrm.vma;
  const mm = vrm.mm;
  const addr = vrm.addr;
  if (vma === null) return -EFAULT;
  if (vmaIsSealed(vma)) return -EPERM;
  vrmSetDelta(vrm);
  vrm.remapType = vrmRemapType(vrm);
  // for convenience, new_addr even when the VMA does not move
  if (!vrmImpliesNewAddr(vrm)) vrm.newAddr = addr;
  if (!vrmWillMapNew(vrm)) return 0;
  let oldLen = vrm.oldLen;
  const newLen = vrm.newLen;
  // old_len 0 "duplicates" a mapping: meaningless for private ones
  if (oldLen === 0 && !(vma.vmFlags & (VM_SHARED | VM_MAYSHARE))) return -EINVAL;
  if (vrm.flags & MREMAP_DONTUNMAP && vma.vmFlags & (VM_DONTEXPAND | VM_PFNMAP)) return -EINVAL;
  // a shrink may cross VMA boundaries for the part it unmaps
  if (vrm.remapType === MREMAP_SHRINK) oldLen = newLen;
  // no remapping across the end of the VMA
  if (oldLen > vma.vmEnd - addr) return -EFAULT;
  if (newLen === oldLen) return 0;
  // expanding an mlock()ed VMA: populate
  if (vma.vmFlags & VM_LOCKED) vrm.populateExpand = true;
  // careful about a growing mapping
  const pgoff = pageShift(mm, addr - vma.vmStart) + vma.vmPgoff;
  if (pgoff + pageShift(mm, newLen) > 2 ** 64 - 1) return -EINVAL;
  if (vma.vmFlags & (VM_DONTEXPAND | VM_PFNMAP)) return -EFAULT;
  if (!mlockFutureOk(mm, (vma.vmFlags & VM_LOCKED) !== 0, vrm.delta)) return -EAGAIN;
  if (!mayExpandVm(mm, vma.vmFlags, pageShift(mm, vrm.delta))) return -ENOMEM;
  return 0;
}

/** @kernel check_mremap_params (mm/mremap.c) */
function checkMremapParams(vrm: VmaRemapStruct): number {
  const mm = vrm.mm;
  const page = mm.ctx.pageSize;
  const flags = vrm.flags;
  if (flags & ~(MREMAP_FIXED | MREMAP_MAYMOVE | MREMAP_DONTUNMAP)) return -EINVAL;
  if (vrm.addr % page !== 0) return -EINVAL;
  // old_len 0 is allowed (DOS-emu's "duplicate shm area"); new_len 0 is not
  if (vrm.newLen === 0) return -EINVAL;
  if (vrm.newLen > mm.taskSize) return -EINVAL;
  if (!vrmImpliesNewAddr(vrm)) return 0;
  if (vrm.newAddr > mm.taskSize - vrm.newLen) return -EINVAL;
  if (vrm.newAddr % page !== 0) return -EINVAL;
  // a fixed address implies a move
  if (!(flags & MREMAP_MAYMOVE)) return -EINVAL;
  // DONTUNMAP does not resize
  if (flags & MREMAP_DONTUNMAP && vrm.oldLen !== vrm.newLen) return -EINVAL;
  if (vrmOverlaps(vrm)) return -EINVAL;
  return 0;
}

/**
 * Move every VMA of `[addr, addr + old_len)` to `new_addr`, keeping the gaps.
 * @kernel remap_move (mm/mremap.c)
 */
function remapMove(vrm: VmaRemapStruct): number {
  const start = vrm.addr;
  const end = vrm.addr + vrm.oldLen;
  const newAddr = vrm.newAddr;
  let targetAddr = newAddr;
  let res = -EFAULT;
  let lastEnd = 0;
  let seenVma = false;
  const vmi = new VmaIterator(vrm.mm, start);
  for (let vma = vmaFind(vmi, end); vma !== null; vma = vmaFind(vmi, end)) {
    const addr = Math.max(vma.vmStart, start);
    const len = Math.min(end, vma.vmEnd) - addr;
    // no gap at the start of the range
    if (!seenVma && start < vma.vmStart) return -EFAULT;
    //           X        Y                       X        Y
    //         <--->     <->                    <--->     <->
    // |-------|   |-----| |-----|      |-------|   |-----| |-----|
    // |   A   |   |  B  | |  C  | ---> |   A'  |   |  B' | |  C' |
    // |-------|   |-----| |-----|      |-------|   |-----| |-----|
    //                               new_addr
    const offset = seenVma ? vma.vmStart - lastEnd : 0;
    lastEnd = vma.vmEnd;
    vrm.vma = vma;
    vrm.addr = addr;
    vrm.newAddr = targetAddr + offset;
    vrm.oldLen = len;
    vrm.newLen = len;
    const multiAllowed = vmaMultiAllowed(vma);
    if (!multiAllowed) {
      if (seenVma) return -EFAULT;
      if (vma.vmEnd < end) return -EFAULT;
    }
    let resVma = checkPrepVma(vrm);
    if (resVma === 0) resVma = mremapTo(vrm);
    if (resVma < 0) return resVma;
    if (!seenVma) res = resVma;
    if (vrm.vmiNeedsInvalidate) {
      vmaIterInvalidate(vmi);
      vrm.vmiNeedsInvalidate = false;
    }
    seenVma = true;
    targetAddr = resVma + vrm.newLen;
  }
  return res;
}

/** @kernel do_mremap (mm/mremap.c) */
function doMremap(vrm: VmaRemapStruct): number {
  const mm = vrm.mm;
  const page = mm.ctx.pageSize;
  vrm.oldLen = Math.ceil(vrm.oldLen / page) * page;
  vrm.newLen = Math.ceil(vrm.newLen / page) * page;
  let res = checkMremapParams(vrm);
  if (res !== 0) return res;
  if (mmapWriteLockKillable(mm) !== 0) return -EINTR;
  vrm.mmapLocked = true;
  if (!checkMapCountAgainstSplitEarly(vrm)) {
    mmapWriteUnlock(mm);
    return -ENOMEM;
  }
  if (vrmMoveOnly(vrm)) {
    res = remapMove(vrm);
  } else {
    vrm.vma = vmaLookup(mm, vrm.addr);
    res = checkPrepVma(vrm);
    if (res === 0) res = vrmImpliesNewAddr(vrm) ? mremapTo(vrm) : mremapAt(vrm);
  }
  const failed = res < 0;
  if (vrm.mmapLocked) mmapWriteUnlock(mm);
  // an mlock()ed VMA grew: populate the new part
  if (!failed && vrm.populateExpand) mmPopulate(mm, vrm.newAddr + vrm.oldLen, vrm.delta);
  return res;
}

/**
 * The mremap system call.
 * @returns the new address, or a negative errno: -EINVAL (arguments), -EFAULT
 * (no VMA, crossing its end), -ENOMEM (cannot grow in place without
 * MREMAP_MAYMOVE, limits, commit, map count), -EAGAIN (mlock limit), -EPERM
 * (sealed).
 * @kernel sys_mremap (mm/mremap.c)
 */
export function sysMremap(
  mm: MmStruct,
  addr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr = 0,
): number {
  return doMremap(new VmaRemapStruct(mm, addr, oldLen, newLen, flags, newAddr));
}
