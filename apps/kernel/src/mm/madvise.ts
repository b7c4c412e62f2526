/**
 * DOC: the madvise system call (mm/madvise.c) as far as VMAs go.
 *
 * The flag advices (NORMAL / RANDOM / SEQUENTIAL, DONTFORK / DOFORK,
 * WIPEONFORK / KEEPONFORK, DONTDUMP / DODUMP, HUGEPAGE / NOHUGEPAGE,
 * MERGEABLE / UNMERGEABLE without KSM running) change the flags of each VMA
 * of the range through `madvise_update_vma()` (merge or split, -ENOMEM
 * reported as -EAGAIN). The page advices validate the VMA the kernel's way
 * and hand the range to the page-table seam: DONTNEED / DONTNEED_LOCKED
 * zap it (markers stay), FREE lazy-frees anonymous pages (these three
 * gather every VMA's work in one mmu_gather, flushed once at the end), COLD / PAGEOUT,
 * WILLNEED, POPULATE_READ / _WRITE fault in, GUARD_INSTALL (which first sets
 * the sticky `VM_MAYBE_GUARD` and prepares the anon_vma so fork copies the
 * page tables) installs guard markers, zapping and retrying up to three
 * times, GUARD_REMOVE clears them. A hole in the range is -ENOMEM at the
 * end while every VMA is still advised; any other error stops the walk.
 * Sealed anonymous VMAs the caller cannot write refuse discarding advices
 * with -EPERM.
 */
import { EACCES, EAGAIN, EBADF, EFAULT, EHWPOISON, EINTR, EINVAL, ENOMEM, EPERM, ERESTARTNOINTR } from '@mm/machine';
import {
  type AnonVmaName,
  type MmStruct,
  type VmAreaStruct,
  vmaIsAnonymous,
  vmaIsSharedMaywrite,
  vmaStartWrite,
} from './mm-types.js';
import {
  MADV_COLD,
  MADV_COLLAPSE,
  MADV_DODUMP,
  MADV_DOFORK,
  MADV_DONTDUMP,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_DONTNEED_LOCKED,
  MADV_FREE,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_HWPOISON,
  MADV_KEEPONFORK,
  MADV_MERGEABLE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_RANDOM,
  MADV_REMOVE,
  MADV_SEQUENTIAL,
  MADV_SOFT_OFFLINE,
  MADV_UNMERGEABLE,
  MADV_WILLNEED,
  MADV_WIPEONFORK,
} from './mman.js';
import { mmapReadLock, mmapReadUnlock, mmapWriteLockKillable, mmapWriteUnlock } from './mmap-lock.js';
import { type MmuGather, ZAP_FLAG_UNMAP } from './pgtable-ops.js';
import {
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_DROPPABLE,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_LOCKED,
  VM_MAYBE_GUARD,
  VM_MAYSHARE,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_RAND_READ,
  VM_SEQ_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WIPEONFORK,
  VM_WRITE,
  vmFlagsAny,
  vmFlagsClear,
  vmFlagsSet,
} from './vm-flags.js';
import { findVma, findVmaPrev, vmaModifyFlags, vmaModifyName } from './vma.js';
import { VmaIterator } from './vma-iter.js';
import { vmaIsSealed } from './vma-munmap.js';

/** Internal advice number of prctl(PR_SET_VMA_ANON_NAME). */
export const __MADV_SET_ANON_VMA_NAME = -1;
/** @kernel MAX_MADVISE_GUARD_RETRIES (mm/madvise.c) */
export const MAX_MADVISE_GUARD_RETRIES = 3;

/** @kernel enum madvise_lock_mode (mm/madvise.c) */
const MADVISE_NO_LOCK = 0;
const MADVISE_MMAP_READ_LOCK = 1;
const MADVISE_MMAP_WRITE_LOCK = 2;
/** One VMA under its per-VMA read lock; the model takes the mmap read lock (the kernel's fallback). */
const MADVISE_VMA_READ_LOCK = 3;

/** @kernel struct madvise_behavior (mm/madvise.c) */
interface MadviseBehavior {
  mm: MmStruct;
  behavior: number;
  lockMode: number;
  anonName: AnonVmaName | null;
  start: number;
  end: number;
  prev: VmAreaStruct | null;
  vma: VmAreaStruct;
  /** One mmu_gather for the whole range (DONTNEED, DONTNEED_LOCKED, FREE). */
  tlb: MmuGather | null;
}

/** @kernel madvise_batch_tlb_flush (mm/madvise.c) */
function madviseBatchTlbFlush(behavior: number): boolean {
  return behavior === MADV_DONTNEED || behavior === MADV_DONTNEED_LOCKED || behavior === MADV_FREE;
}

/** @kernel madvise_behavior_valid (mm/madvise.c) */
function madviseBehaviorValid(b: number): boolean {
  switch (b) {
    case MADV_DOFORK:
    case MADV_DONTFORK:
    case MADV_NORMAL:
    case MADV_SEQUENTIAL:
    case MADV_RANDOM:
    case MADV_REMOVE:
    case MADV_WILLNEED:
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
    case MADV_FREE:
    case MADV_COLD:
    case MADV_PAGEOUT:
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE:
    case MADV_MERGEABLE:
    case MADV_UNMERGEABLE:
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_COLLAPSE:
    case MADV_DONTDUMP:
    case MADV_DODUMP:
    case MADV_WIPEONFORK:
    case MADV_KEEPONFORK:
    case MADV_GUARD_INSTALL:
    case MADV_GUARD_REMOVE:
    case MADV_SOFT_OFFLINE:
    case MADV_HWPOISON:
      return true;
    default:
      return false;
  }
}

/**
 * Whether madvise(`behavior`) takes the mmap lock for writing (else for
 * reading, or not at all for the memory-failure advices).
 * @kernel madvise_need_mmap_write (mm/madvise.c)
 */
export function madviseNeedsMmapWrite(behavior: number): boolean {
  return getLockMode(behavior) === MADVISE_MMAP_WRITE_LOCK;
}

/** @kernel get_lock_mode (mm/madvise.c) */
function getLockMode(b: number): number {
  switch (b) {
    case MADV_HWPOISON:
    case MADV_SOFT_OFFLINE:
      return MADVISE_NO_LOCK;
    case MADV_REMOVE:
    case MADV_WILLNEED:
    case MADV_COLD:
    case MADV_PAGEOUT:
    case MADV_POPULATE_READ:
    case MADV_POPULATE_WRITE:
    case MADV_COLLAPSE:
      return MADVISE_MMAP_READ_LOCK;
    case MADV_GUARD_INSTALL:
    case MADV_GUARD_REMOVE:
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
    case MADV_FREE:
      return MADVISE_VMA_READ_LOCK;
    default:
      return MADVISE_MMAP_WRITE_LOCK;
  }
}

/** Does the advice discard data? @kernel is_discard (mm/madvise.c) */
function isDiscard(b: number): boolean {
  return (
    b === MADV_FREE ||
    b === MADV_DONTNEED ||
    b === MADV_DONTNEED_LOCKED ||
    b === MADV_REMOVE ||
    b === MADV_DONTFORK ||
    b === MADV_WIPEONFORK ||
    b === MADV_GUARD_INSTALL
  );
}

/** A sealed VMA refuses discarding data it is read-only anonymous memory. @kernel can_madvise_modify (mm/madvise.c) */
function canMadviseModify(mb: MadviseBehavior): boolean {
  const vma = mb.vma;
  if (!vmaIsSealed(vma)) return true;
  if (!isDiscard(mb.behavior)) return true;
  if (!vmaIsAnonymous(vma)) return true;
  return (vma.vmFlags & VM_WRITE) !== 0;
}

/**
 * Set `newFlags` (or the anon name) on the range of `mb.vma`, merging or splitting.
 * @kernel madvise_update_vma (mm/madvise.c)
 */
function madviseUpdateVma(newFlags: number, mb: MadviseBehavior): number {
  let vma = mb.vma;
  const setName = mb.behavior === __MADV_SET_ANON_VMA_NAME;
  const vmi = new VmaIterator(mb.mm, mb.start);
  if (vma.vmFlags === newFlags && (!setName || anonNameEq(vma.anonName, mb.anonName))) return 0;
  let flags = newFlags;
  let r: VmAreaStruct | number;
  if (setName) r = vmaModifyName(vmi, mb.prev, vma, mb.start, mb.end, mb.anonName);
  else {
    const nf = { value: newFlags };
    r = vmaModifyFlags(vmi, mb.prev, vma, mb.start, mb.end, nf);
    flags = nf.value;
  }
  if (typeof r === 'number') return r;
  vma = r;
  mb.vma = vma;
  vmaStartWrite(vma);
  vma.vmFlags = flags;
  if (setName) vma.anonName = mb.anonName;
  return 0;
}

function anonNameEq(a: AnonVmaName | null, b: AnonVmaName | null): boolean {
  return a === b || (a !== null && b !== null && a.name === b.name);
}

/** @kernel madvise_dontneed_free_valid_vma (mm/madvise.c) */
function madviseDontneedFreeValidVma(mb: MadviseBehavior): boolean {
  // hugetlb VMAs are not modelled
  let forbidden = VM_PFNMAP;
  if (mb.behavior !== MADV_DONTNEED_LOCKED) forbidden |= VM_LOCKED;
  return !(mb.vma.vmFlags & forbidden);
}

/** @kernel madvise_dontneed_free (mm/madvise.c) */
function madviseDontneedFree(mb: MadviseBehavior): number {
  if (!madviseDontneedFreeValidVma(mb)) return -EINVAL;
  if (mb.start === mb.end) return 0;
  const pt = mb.mm.ctx.pt;
  const tlb = mb.tlb as MmuGather;
  if (mb.behavior === MADV_DONTNEED || mb.behavior === MADV_DONTNEED_LOCKED) {
    // madvise_dontneed_single_vma(): zap_vma_range_batched() into the range's gather, markers stay
    pt.zapVmaRange(tlb, mb.vma, mb.start, mb.end, 0);
    return 0;
  }
  // madvise_free_single_vma(): MADV_FREE works on anonymous VMAs only
  if (!vmaIsAnonymous(mb.vma)) return -EINVAL;
  pt.updateHiwaterRss(mb.mm);
  pt.madviseFree(tlb, mb.vma, mb.start, mb.end);
  return 0;
}

/** Guards are not for special, hugetlb or (unless allowed) locked VMAs. @kernel is_valid_guard_vma (mm/madvise.c) */
function isValidGuardVma(vma: VmAreaStruct, allowLocked: boolean): boolean {
  let disallowed = VM_SPECIAL + VM_HUGETLB;
  if (!allowLocked) disallowed += VM_LOCKED;
  return !vmFlagsAny(vma.vmFlags, disallowed);
}

/** @kernel madvise_guard_install (mm/madvise.c) */
function madviseGuardInstall(mb: MadviseBehavior): number {
  const vma = mb.vma;
  const ctx = mb.mm.ctx;
  if (!isValidGuardVma(vma, false)) return -EINVAL;
  // set under the read lock: readers that care take a write lock
  vma.vmFlags = vmFlagsSet(vma.vmFlags, VM_MAYBE_GUARD);
  // an anonymous VMA establishing page tables needs an anon_vma (fork copies them then)
  if (vmaIsAnonymous(vma) && vma.anonVma === null) {
    const err = ctx.anon.anonVmaPrepare(vma);
    if (err !== 0) return err;
  }
  for (let i = 0; i < MAX_MADVISE_GUARD_RETRIES; i++) {
    const err = ctx.pt.guardInstall(vma, mb.start, mb.end);
    if (err < 0) return err;
    if (err === 0) return 0;
    // populated entries: zap them (guard markers stay) and try again
    const tlb = ctx.pt.tlbGatherMmu(mb.mm);
    ctx.pt.zapVmaRange(tlb, vma, mb.start, mb.end, 0);
    ctx.pt.tlbFinishMmu(tlb);
  }
  // restart_syscall(): return to user space and retry, relieving contention
  return -ERESTARTNOINTR;
}

/** @kernel madvise_guard_remove (mm/madvise.c) */
function madviseGuardRemove(mb: MadviseBehavior): number {
  if (!isValidGuardVma(mb.vma, true)) return -EINVAL;
  return mb.mm.ctx.pt.guardRemove(mb.vma, mb.start, mb.end);
}

/** Whether KSM may merge the VMA's pages. @kernel ksm_compatible (mm/ksm.c) */
function ksmCompatible(flags: number): boolean {
  if (flags & (VM_SHARED | VM_MAYSHARE)) return false;
  if (vmFlagsAny(flags, VM_HUGETLB + VM_DROPPABLE + VM_SPECIAL)) return false;
  return true;
}

/** @kernel can_madv_lru_vma (mm/madvise.c) */
function canMadvLruVma(vma: VmAreaStruct): boolean {
  return !vmFlagsAny(vma.vmFlags, VM_LOCKED + VM_PFNMAP + VM_HUGETLB);
}

/** @kernel madvise_remove (mm/madvise.c) */
function madviseRemove(mb: MadviseBehavior): number {
  const vma = mb.vma;
  if (vma.vmFlags & VM_LOCKED) return -EINVAL;
  if (vma.vmFile === null) return -EINVAL;
  if (!vmaIsSharedMaywrite(vma)) return -EACCES;
  const ctx = mb.mm.ctx;
  if (ctx.punchHole !== null) {
    // vfs_fallocate(PUNCH_HOLE | KEEP_SIZE) over the file range the VMA maps there
    const offset = mb.start - vma.vmStart + vma.vmPgoff * ctx.pageSize;
    return ctx.punchHole(vma.vmFile, offset, mb.end - mb.start);
  }
  // the VMA layer alone has no page cache: the PTEs go
  const pt = ctx.pt;
  const tlb = pt.tlbGatherMmu(mb.mm);
  pt.zapVmaRange(tlb, vma, mb.start, mb.end, ZAP_FLAG_UNMAP);
  pt.tlbFinishMmu(tlb);
  return 0;
}

/**
 * Apply the advice to `[mb.start, mb.end)` of `mb.vma`.
 * @kernel madvise_vma_behavior (mm/madvise.c)
 */
function madviseVmaBehavior(mb: MadviseBehavior): number {
  const behavior = mb.behavior;
  const vma = mb.vma;
  let newFlags = vma.vmFlags;
  const pt = mb.mm.ctx.pt;
  if (!canMadviseModify(mb)) return -EPERM;
  switch (behavior) {
    case MADV_REMOVE:
      return madviseRemove(mb);
    case MADV_WILLNEED:
      return pt.madviseWillneed(vma, mb.start, mb.end);
    case MADV_COLD:
    case MADV_PAGEOUT:
      if (!canMadvLruVma(vma)) return -EINVAL;
      return pt.madviseColdOrPageout(vma, mb.start, mb.end, behavior === MADV_PAGEOUT);
    case MADV_FREE:
    case MADV_DONTNEED:
    case MADV_DONTNEED_LOCKED:
      return madviseDontneedFree(mb);
    case MADV_COLLAPSE:
      // khugepaged's synchronous collapse comes with THP
      return -EINVAL;
    case MADV_GUARD_INSTALL:
      return madviseGuardInstall(mb);
    case MADV_GUARD_REMOVE:
      return madviseGuardRemove(mb);
    // the behaviours below update VMAs through madvise_update_vma()
    case MADV_NORMAL:
      newFlags = vmFlagsClear(newFlags, VM_RAND_READ | VM_SEQ_READ);
      break;
    case MADV_SEQUENTIAL:
      newFlags = vmFlagsSet(vmFlagsClear(newFlags, VM_RAND_READ), VM_SEQ_READ);
      break;
    case MADV_RANDOM:
      newFlags = vmFlagsSet(vmFlagsClear(newFlags, VM_SEQ_READ), VM_RAND_READ);
      break;
    case MADV_DONTFORK:
      newFlags = vmFlagsSet(newFlags, VM_DONTCOPY);
      break;
    case MADV_DOFORK:
      if (vmFlagsAny(newFlags, VM_SPECIAL)) return -EINVAL;
      newFlags = vmFlagsClear(newFlags, VM_DONTCOPY);
      break;
    case MADV_WIPEONFORK:
      // anonymous memory only
      if (vma.vmFile !== null || newFlags & VM_SHARED) return -EINVAL;
      newFlags = vmFlagsSet(newFlags, VM_WIPEONFORK);
      break;
    case MADV_KEEPONFORK:
      if (vmFlagsAny(newFlags, VM_DROPPABLE)) return -EINVAL;
      newFlags = vmFlagsClear(newFlags, VM_WIPEONFORK);
      break;
    case MADV_DONTDUMP:
      newFlags = vmFlagsSet(newFlags, VM_DONTDUMP);
      break;
    case MADV_DODUMP:
      if (vmFlagsAny(newFlags, VM_SPECIAL) || vmFlagsAny(newFlags, VM_DROPPABLE)) return -EINVAL;
      newFlags = vmFlagsClear(newFlags, VM_DONTDUMP);
      break;
    case MADV_MERGEABLE:
      // ksm_madvise(): only KSM-compatible VMAs are marked (ksmd's merging is not modelled)
      if (!(newFlags & VM_MERGEABLE) && ksmCompatible(newFlags)) newFlags = vmFlagsSet(newFlags, VM_MERGEABLE);
      break;
    case MADV_UNMERGEABLE:
      // nothing was ever merged: break_ksm() has no page to unshare
      newFlags = vmFlagsClear(newFlags, VM_MERGEABLE);
      break;
    case MADV_HUGEPAGE:
      // hugepage_madvise()
      newFlags = vmFlagsSet(vmFlagsClear(newFlags, VM_NOHUGEPAGE), VM_HUGEPAGE);
      break;
    case MADV_NOHUGEPAGE:
      newFlags = vmFlagsSet(vmFlagsClear(newFlags, VM_HUGEPAGE), VM_NOHUGEPAGE);
      break;
    case __MADV_SET_ANON_VMA_NAME:
      // only anonymous mappings (and anonymous shmem) can be named
      if (vma.vmFile !== null && !(vma.vmFile.path === '/dev/zero (deleted)')) return -EBADF;
      break;
  }
  const error = madviseUpdateVma(newFlags, mb);
  // madvise() reports EAGAIN when kernel resources such as slab are temporarily unavailable
  return error === -ENOMEM ? -EAGAIN : error;
}

/**
 * Walk the VMAs of `[start, end)`: a hole makes the result -ENOMEM but the
 * walk goes on; any other error stops it.
 * @kernel madvise_walk_vmas (mm/madvise.c)
 */
function madviseWalkVmas(mb: MadviseBehavior): number {
  const mm = mb.mm;
  const lastEnd = mb.end;
  let unmappedError = 0;
  const pp: { prev: VmAreaStruct | null } = { prev: null };
  let vma = findVmaPrev(mm, mb.start, pp);
  let prev = pp.prev;
  if (vma !== null && mb.start > vma.vmStart) prev = vma;
  for (;;) {
    if (vma === null) return -ENOMEM;
    if (mb.start < vma.vmStart) {
      // a gap in the range: report it at the end, carry on
      unmappedError = -ENOMEM;
      mb.start = vma.vmStart;
      if (mb.start >= lastEnd) break;
    }
    mb.end = Math.min(vma.vmEnd, lastEnd);
    mb.prev = prev;
    mb.vma = vma;
    const error = madviseVmaBehavior(mb);
    if (error !== 0) return error;
    vma = mb.vma;
    prev = vma;
    if (mb.end < vma.vmEnd) mb.end = vma.vmEnd;
    if (mb.end >= lastEnd) break;
    vma = findVma(mm, vma.vmEnd);
    mb.start = mb.end;
  }
  return unmappedError;
}

/**
 * The madvise system call.
 * @returns 0, or -EINVAL (advice, alignment, invalid for the VMA), -ENOMEM
 * (unmapped parts, after advising the mapped ones), -EAGAIN (allocation),
 * -EPERM (sealed), -EACCES / -EBADF (REMOVE, naming), -ERESTARTNOINTR (guard
 * installation raced three times).
 * @kernel do_madvise (mm/madvise.c)
 */
export function sysMadvise(mm: MmStruct, start: number, lenIn: number, behavior: number): number {
  if (!madviseBehaviorValid(behavior)) return -EINVAL;
  return madviseCommon(mm, start, lenIn, behavior, null);
}

/**
 * Name an anonymous range (prctl PR_SET_VMA, PR_SET_VMA_ANON_NAME); null clears the name.
 * @returns 0 or a negative errno as madvise.
 * @kernel madvise_set_anon_name (mm/madvise.c)
 */
export function madviseSetAnonName(mm: MmStruct, start: number, len: number, name: string | null): number {
  return madviseCommon(mm, start, len, __MADV_SET_ANON_VMA_NAME, name === null ? null : { name });
}

function madviseCommon(
  mm: MmStruct,
  start: number,
  lenIn: number,
  behavior: number,
  anonName: AnonVmaName | null,
): number {
  const page = mm.ctx.pageSize;
  // check_input_range()
  if (start % page !== 0) return -EINVAL;
  const len = Math.ceil(lenIn / page) * page;
  if (lenIn !== 0 && len === 0) return -EINVAL;
  if (start + len > 2 ** 64) return -EINVAL;
  if (lenIn === 0) return 0;
  if (behavior === MADV_HWPOISON || behavior === MADV_SOFT_OFFLINE) {
    // memory-failure injection needs CAP_SYS_ADMIN and comes with hwpoison
    return mm.capSysAdmin ? -EINVAL : -EPERM;
  }
  const lockMode = getLockMode(behavior);
  if (lockMode === MADVISE_MMAP_WRITE_LOCK) {
    const err = mmapWriteLockKillable(mm);
    if (err !== 0) return err;
  } else {
    // a VMA read lock covers one VMA; the walk takes the mmap read lock, as the fallback does
    mmapReadLock(mm);
  }
  const mb: MadviseBehavior = {
    mm,
    behavior,
    lockMode,
    anonName,
    start,
    end: start + len,
    prev: null,
    vma: null as unknown as VmAreaStruct,
    tlb: null,
  };
  // madvise_init_tlb(): one gather across every VMA of the range
  if (madviseBatchTlbFlush(behavior)) mb.tlb = mm.ctx.pt.tlbGatherMmu(mm);
  let error: number;
  if (behavior === MADV_POPULATE_READ || behavior === MADV_POPULATE_WRITE) error = madvisePopulate(mb);
  else error = madviseWalkVmas(mb);
  // madvise_finish_tlb()
  if (mb.tlb !== null) mm.ctx.pt.tlbFinishMmu(mb.tlb);
  if (lockMode === MADVISE_MMAP_WRITE_LOCK) mmapWriteUnlock(mm);
  else mmapReadUnlock(mm);
  return error;
}

/** @kernel madvise_populate (mm/madvise.c) */
function madvisePopulate(mb: MadviseBehavior): number {
  const write = mb.behavior === MADV_POPULATE_WRITE;
  let start = mb.start;
  const end = mb.end;
  const page = mb.mm.ctx.pageSize;
  while (start < end) {
    const pages = mb.mm.ctx.pt.faultinPageRange(mb.mm, start, end, write);
    if (pages < 0) {
      // EINTR, EINVAL (incompatible mapping), EHWPOISON, EFAULT (SIGBUS/SIGSEGV) pass; the rest is ENOMEM
      if (pages === -EINTR || pages === -EINVAL || pages === -EHWPOISON || pages === -EFAULT) return pages;
      return -ENOMEM;
    }
    start += pages * page;
  }
  return 0;
}
