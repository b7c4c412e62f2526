/**
 * DOC: VMA merging, splitting, expanding and shrinking (mm/vma.c).
 *
 * The model of Linux 7.2's mm/vma.c, function by function: the merge state
 * `struct vma_merge_struct` threaded through `vma_merge_new_range()` (a new
 * range next to existing VMAs: mmap, brk, mremap's copy) and
 * `vma_merge_existing_range()` (part of a VMA changes attributes: mprotect,
 * madvise, mlock; through `vma_modify_*()`, which split instead when no
 * merge is possible), `vma_expand()`, `vma_shrink()`, `__split_vma()` /
 * `split_vma()` (the map-count limit), `commit_merge()` with the
 * `vma_prepare()` / `vma_complete()` bracket (file `i_mmap` and anon_vma
 * updates, the VMA a split inserts, the VMAs a merge removes), `copy_vma()`
 * for mremap, `vma_link()`, and the anon_vma compatibility rules
 * (`is_mergeable_anon_vma()`, `vma_is_fork_child()`,
 * `find_mergeable_anon_vma()`).
 *
 * Merge rules (7.2): flags must be equal except the sticky ones
 * (`VM_SOFTDIRTY`, `VM_MAYBE_GUARD`), which the merged VMA keeps; same file,
 * NUMA policy, userfaultfd context and anon name; pgoff linear; anon_vmas
 * equal, or one side unfaulted and the other not a fork child; special
 * VMAs never merge; a VMA with a `close` hook may grow but is never removed.
 *
 * Every store preallocates its maple nodes first (`vma_iter_prealloc()`),
 * so an allocation failure leaves every VMA and the tree as they were. The
 * answers of these functions are checked against the kernel's own mm/vma.c
 * (test/kernel-diff/).
 *
 * Context: mmap lock held for writing.
 */
import { ENOMEM, MmBugError } from '@mm/machine';
import { mtValidate } from '@mm/maple-tree';
import { type AnonVma, VMA_OP_MERGE_UNFAULTED, VMA_OP_REMAP, VMA_OP_SPLIT, vmaIsForkChild } from './anon-vma.js';
import {
  type AddressSpace,
  type File,
  fput,
  getFile,
  iMmapInsert,
  iMmapInsertAfter,
  iMmapRemove,
  mappingAllowWritable,
} from './file.js';
import {
  type AnonVmaName,
  type MemPolicy,
  type MmStruct,
  type UserfaultfdCtx,
  VMA_DUMMY_VM_OPS,
  type VmAreaStruct,
  vmaIsAnonymous,
  vmaIsSharedMaywrite,
  vmaMarkDetached,
  vmaPages,
  vmaPgoffOffset,
  vmaSetRange,
  vmaStartWrite,
} from './mm-types.js';
import { removeSharedVmStruct } from './unmap.js';
import {
  isDataMapping,
  isExecMapping,
  isStackMapping,
  VM_ACCESS_FLAGS,
  VM_EXEC,
  VM_IGNORE_MERGE,
  VM_LOCKED,
  VM_READ,
  VM_SHARED,
  VM_SOFTDIRTY,
  VM_SPECIAL,
  VM_STICKY,
  VM_UFFD_WP,
  VM_WRITE,
  vmFlagsAny,
  vmFlagsClear,
  vmFlagsMask,
  vmFlagsSet,
} from './vm-flags.js';
import { vmAreaDup, vmAreaFree } from './vma-init.js';
import {
  VmaIterator,
  vmaIterConfig,
  vmaIterFree,
  vmaIterLoad,
  vmaIterNextRange,
  vmaIterPrealloc,
  vmaIterPrevRange,
  vmaIterSet,
  vmaIterStoreNew,
  vmaIterStoreOverwrite,
  vmaNext,
  vmaPrev,
} from './vma-iter.js';

/** vma_merge_state value `VMA_MERGE_START`: no merge attempted yet. @kernel enum vma_merge_state (mm/vma.h) */
export const VMA_MERGE_START = 0;
/** vma_merge_state result `VMA_MERGE_ERROR_NOMEM` (mm/vma.h). */
export const VMA_MERGE_ERROR_NOMEM = 1;
/** vma_merge_state result `VMA_MERGE_NOMERGE` (mm/vma.h). */
export const VMA_MERGE_NOMERGE = 2;
/** vma_merge_state result `VMA_MERGE_SUCCESS` (mm/vma.h). */
export const VMA_MERGE_SUCCESS = 3;

/**
 * A merge operation, threaded through it (fields change as it goes).
 * @kernel struct vma_merge_struct (mm/vma.h)
 */
export class VmaMergeStruct {
  /** The address space being changed; mirrors `vma_merge_struct::mm`. */
  mm: MmStruct;
  /** Iterator positioned at the range (or at `prev` for a plain expand); mirrors `vma_merge_struct::vmi`. */
  vmi: VmaIterator;
  /** The VMA just below the range, or null; mirrors `vma_merge_struct::prev`. */
  prev: VmAreaStruct | null;
  /** The existing VMA being modified, or null when a new range is proposed; mirrors `vma_merge_struct::middle`. */
  middle: VmAreaStruct | null;
  /** The VMA just above the range, or null; mirrors `vma_merge_struct::next`. */
  next: VmAreaStruct | null;
  /** The VMA that survives as the merged result; mirrors `vma_merge_struct::target`. */
  target: VmAreaStruct | null;
  /** Start of the proposed range; widened to cover merged neighbours as the merge proceeds; mirrors `vma_merge_struct::start`. */
  start: number;
  /** End (exclusive) of the proposed range, widened likewise; mirrors `vma_merge_struct::end`. */
  end: number;
  /** File offset in pages at `start`; mirrors `vma_merge_struct::pgoff`. */
  pgoff: number;
  /** The flags the merged VMA must have; neighbours merge only when theirs match; mirrors `vma_merge_struct::vm_flags`. */
  vmFlags: number;
  /** The file the range maps, or null; must match a neighbour's to merge; mirrors `vma_merge_struct::file`. */
  file: File | null;
  /** The anon_vma of the range, or null; must be compatible with a neighbour's to merge; mirrors `vma_merge_struct::anon_vma`. */
  anonVma: AnonVma | null;
  /** The NUMA policy of the range; must equal a neighbour's to merge; mirrors `vma_merge_struct::policy`. */
  policy: MemPolicy | null;
  /** The userfaultfd context of the range; must equal a neighbour's to merge; mirrors `vma_merge_struct::uffd_ctx`. */
  uffdCtx: UserfaultfdCtx | null;
  /** The anonymous-range name; must equal a neighbour's by content to merge; mirrors `vma_merge_struct::anon_name`. */
  anonName: AnonVmaName | null;
  /** Progress and outcome: one of the VMA_MERGE_* constants above; mirrors `vma_merge_struct::state`. */
  state: number;
  /** The VMA mremap copies from. */
  copiedFrom: VmAreaStruct | null;
  /** Only expand `prev` (the iterator is at prev); no merge with next. */
  justExpand: boolean;
  /** On -ENOMEM, give up the merge without reporting it. */
  giveUpOnOom: boolean;
  /** Do not run uprobe registration on the merged VMA; mirrors `vma_merge_struct::skip_vma_uprobe`. */
  skipVmaUprobe: boolean;
  /** Set during the merge: `middle` shrinks from below (and `prev` grows); mirrors `vma_merge_struct::__adjust_middle_start`. */
  adjustMiddleStart: boolean;
  /** Set during the merge: `next` shrinks from below (and `middle` grows); mirrors `vma_merge_struct::__adjust_next_start`. */
  adjustNextStart: boolean;
  /** Set during the merge: `middle` is absorbed and freed; mirrors `vma_merge_struct::__remove_middle`. */
  removeMiddle: boolean;
  /** Set during the merge: `next` is absorbed and freed; mirrors `vma_merge_struct::__remove_next`. */
  removeNext: boolean;

  /** @kernel VMG_STATE (mm/vma.h) */
  constructor(mm: MmStruct, vmi: VmaIterator, start: number, end: number, vmFlags: number, pgoff: number) {
    this.mm = mm;
    this.vmi = vmi;
    this.prev = null;
    this.middle = null;
    this.next = null;
    this.target = null;
    this.start = start;
    this.end = end;
    this.pgoff = pgoff;
    this.vmFlags = vmFlags;
    this.file = null;
    this.anonVma = null;
    this.policy = null;
    this.uffdCtx = null;
    this.anonName = null;
    this.state = VMA_MERGE_START;
    this.copiedFrom = null;
    this.justExpand = false;
    this.giveUpOnOom = false;
    this.skipVmaUprobe = false;
    this.adjustMiddleStart = false;
    this.adjustNextStart = false;
    this.removeMiddle = false;
    this.removeNext = false;
  }
}

/**
 * A merge state describing a change to `[start, end)` of `vma`.
 * @kernel VMG_VMA_STATE (mm/vma.h)
 */
export function vmgVmaState(
  vmi: VmaIterator,
  prev: VmAreaStruct | null,
  vma: VmAreaStruct,
  start: number,
  end: number,
): VmaMergeStruct {
  const vmg = new VmaMergeStruct(vma.vmMm, vmi, start, end, vma.vmFlags, vmaPgoffOffset(vma, start));
  vmg.prev = prev;
  vmg.middle = vma;
  vmg.file = vma.vmFile;
  vmg.anonVma = vma.anonVma;
  vmg.policy = vma.vmPolicy;
  vmg.uffdCtx = vma.vmUserfaultfdCtx;
  vmg.anonName = vma.anonName;
  return vmg;
}

/** Whether the merge attempt failed for lack of memory. @kernel vmg_nomem (mm/vma.h) */
export function vmgNomem(vmg: VmaMergeStruct): boolean {
  return vmg.state === VMA_MERGE_ERROR_NOMEM;
}

/** Whether two NUMA memory policies are the same (both null counts as equal) @kernel mpol_equal (include/linux/mempolicy.h) */
export function mpolEqual(a: MemPolicy | null, b: MemPolicy | null): boolean {
  if (a === b) return true;
  if (a === null || b === null) return false;
  if (a.mode !== b.mode || a.flags !== b.flags || a.nodes.length !== b.nodes.length) return false;
  for (let i = 0; i < a.nodes.length; i++) if (a.nodes[i] !== b.nodes[i]) return false;
  return true;
}

/** Whether two anon VMA names are the same (both null counts as equal) @kernel anon_vma_name_eq (include/linux/mm_inline.h) */
export function anonVmaNameEq(a: AnonVmaName | null, b: AnonVmaName | null): boolean {
  if (a === b) return true;
  return a !== null && b !== null && a.name === b.name;
}

function isMergeableVma(vmg: VmaMergeStruct, mergeNext: boolean): boolean {
  const vma = (mergeNext ? vmg.next : vmg.prev) as VmAreaStruct;
  if (!mpolEqual(vmg.policy, vma.vmPolicy)) return false;
  if (vmFlagsClear(vma.vmFlags, VM_IGNORE_MERGE) !== vmFlagsClear(vmg.vmFlags, VM_IGNORE_MERGE)) return false;
  if (vma.vmFile !== vmg.file) return false;
  if (vma.vmUserfaultfdCtx !== vmg.uffdCtx) return false;
  if (!anonVmaNameEq(vma.anonName, vmg.anonName)) return false;
  return true;
}

/**
 * Whether the anon_vmas of the proposed range and the neighbour allow a merge.
 * @kernel is_mergeable_anon_vma (mm/vma.c)
 */
export function isMergeableAnonVma(vmg: VmaMergeStruct, mergeNext: boolean): boolean {
  const tgt = (mergeNext ? vmg.next : vmg.prev) as VmAreaStruct;
  const src = vmg.middle;
  const tgtAnon = tgt.anonVma;
  const srcAnon = vmg.anonVma;
  // Case 1: dup_anon_vma() from src into tgt.
  if (tgtAnon === null && srcAnon !== null) {
    if (vmaIsForkChild(src)) return false;
    if (vmaIsForkChild(vmg.copiedFrom)) return false;
    return true;
  }
  // Case 2: use tgt's anon_vma.
  if (tgtAnon !== null && srcAnon === null) return !vmaIsForkChild(tgt);
  // Case 3: already shared (or both unfaulted).
  return srcAnon === tgtAnon;
}

/**
 * Whether the proposed range can merge in front of `vmg.next`.
 * @kernel can_vma_merge_before (mm/vma.c)
 */
export function canVmaMergeBefore(vmg: VmaMergeStruct): boolean {
  const pglen = (vmg.end - vmg.start) / vmg.mm.ctx.pageSize;
  return (
    isMergeableVma(vmg, true) &&
    isMergeableAnonVma(vmg, true) &&
    (vmg.next as VmAreaStruct).vmPgoff === vmg.pgoff + pglen
  );
}

/**
 * Whether the proposed range can merge behind `vmg.prev`.
 * @kernel can_vma_merge_after (mm/vma.c)
 */
export function canVmaMergeAfter(vmg: VmaMergeStruct): boolean {
  const prev = vmg.prev as VmAreaStruct;
  return isMergeableVma(vmg, false) && isMergeableAnonVma(vmg, false) && prev.vmPgoff + vmaPages(prev) === vmg.pgoff;
}

function canVmaMergeLeft(vmg: VmaMergeStruct): boolean {
  return vmg.prev !== null && vmg.prev.vmEnd === vmg.start && canVmaMergeAfter(vmg);
}

function canVmaMergeRight(vmg: VmaMergeStruct, canMergeLeft: boolean): boolean {
  const next = vmg.next;
  if (next === null || vmg.end !== next.vmStart || !canVmaMergeBefore(vmg)) return false;
  if (!canMergeLeft) return true;
  // prev and next must be compatible with each other too
  const prev = vmg.prev as VmAreaStruct;
  return prev.anonVma === null || next.anonVma === null || prev.anonVma === next.anonVma;
}

/** We can only remove VMAs when merging if they have no close hook. @kernel can_merge_remove_vma (mm/vma.c) */
function canMergeRemoveVma(vma: VmAreaStruct): boolean {
  return vma.vmOps === null || vma.vmOps.close === undefined;
}

// ---------------------------------------------------------------------------
// vma_prepare / vma_complete

/** @kernel struct vma_prepare (mm/vma.h) */
interface VmaPrepare {
  vma: VmAreaStruct;
  adjNext: VmAreaStruct | null;
  file: File | null;
  mapping: AddressSpace | null;
  anonVma: AnonVma | null;
  insert: VmAreaStruct | null;
  remove: VmAreaStruct | null;
  remove2: VmAreaStruct | null;
  skipVmaUprobe: boolean;
}

/** @kernel init_multi_vma_prep (mm/vma.c) */
function initMultiVmaPrep(vma: VmAreaStruct, vmg: VmaMergeStruct | null): VmaPrepare {
  const vp: VmaPrepare = {
    vma,
    adjNext: null,
    file: null,
    mapping: null,
    anonVma: vma.anonVma,
    insert: null,
    remove: null,
    remove2: null,
    skipVmaUprobe: false,
  };
  if (vmg?.removeMiddle) vp.remove = vmg.middle;
  if (vmg?.removeNext) {
    if (vp.remove === null) vp.remove = vmg.next;
    else vp.remove2 = vmg.next;
  }
  let adjust: VmAreaStruct | null = null;
  if (vmg?.adjustMiddleStart) adjust = vmg.middle;
  else if (vmg?.adjustNextStart) adjust = vmg.next;
  vp.adjNext = adjust;
  if (vp.anonVma === null && adjust !== null) vp.anonVma = adjust.anonVma;
  vp.file = vma.vmFile;
  if (vp.file !== null) vp.mapping = vp.file.fMapping;
  if (vmg?.skipVmaUprobe) vp.skipVmaUprobe = true;
  return vp;
}

/**
 * Insert into the file's i_mmap interval tree at the VMA's page-offset range
 * (one more shared writable mapping if it is one).
 * @kernel __vma_link_file (mm/vma.c)
 */
function vmaLinkFileTo(vma: VmAreaStruct, mapping: AddressSpace): void {
  if (vmaIsSharedMaywrite(vma)) mappingAllowWritable(mapping);
  iMmapInsert(vma, mapping);
}

/** `__remove_shared_vm_struct()` of a VMA merged away, from its own file's i_mmap. */
function removeSharedFileVma(vma: VmAreaStruct): void {
  if (vma.vmFile !== null) removeSharedVmStruct(vma, vma.vmFile.fMapping);
}

/** @kernel vma_prepare (mm/vma.c) */
function vmaPrepare(vp: VmaPrepare): void {
  const anon = vp.vma.vmMm.ctx.anon;
  if (vp.file !== null && vp.insert !== null && vp.insert.vmFile !== null)
    vmaLinkFileTo(vp.insert, vp.insert.vmFile.fMapping);
  if (vp.anonVma !== null) {
    anon.preUpdateVma(vp.vma);
    if (vp.adjNext !== null) anon.preUpdateVma(vp.adjNext);
  }
  // out of the interval tree while vm_start, vm_end or vm_pgoff change (the tree's keys)
  if (vp.mapping !== null) {
    iMmapRemove(vp.vma, vp.mapping);
    if (vp.adjNext !== null) iMmapRemove(vp.adjNext, vp.mapping);
  }
}

/** @kernel vma_complete (mm/vma.c) */
function vmaComplete(vp: VmaPrepare, vmi: VmaIterator, mm: MmStruct): void {
  const anon = mm.ctx.anon;
  // back into the interval tree under the new keys
  if (vp.mapping !== null) {
    if (vp.adjNext !== null) iMmapInsert(vp.adjNext, vp.mapping);
    iMmapInsert(vp.vma, vp.mapping);
  }
  if (vp.remove !== null && vp.file !== null) {
    // merges only remove VMAs of vp.file; each leaves the tree it is in (its own file's,
    // which differs only when the differential harness expands over an unrelated VMA)
    removeSharedFileVma(vp.remove);
    if (vp.remove2 !== null) removeSharedFileVma(vp.remove2);
  } else if (vp.insert !== null) {
    // split_vma has split insert from vma: store it before dropping the locks
    vmaIterStoreNew(vmi, vp.insert);
    mm.mapCount++;
  }
  if (vp.anonVma !== null) {
    anon.postUpdateVma(vp.vma);
    if (vp.adjNext !== null) anon.postUpdateVma(vp.adjNext);
  }
  let remove = vp.remove;
  let remove2 = vp.remove2;
  while (remove !== null) {
    vmaMarkDetached(remove);
    if (vp.file !== null) fput(vp.file);
    if (remove.anonVma !== null) anon.unlinkAnonVmas(remove);
    mm.mapCount--;
    mm.ctx.machine.warnOn(remove2 === null && vp.vma.vmEnd < remove.vmEnd, 'mm: vma_complete: merged VMA ends first');
    vmAreaFree(remove);
    // mprotect's case 6: removing both middle and next
    remove = remove2;
    remove2 = null;
  }
}

/**
 * Close a VMA's hooks, drop its file and free it.
 * @kernel remove_vma (mm/vma.c)
 */
export function removeVma(vma: VmAreaStruct): void {
  vmaClose(vma);
  if (vma.vmFile !== null) fput(vma.vmFile);
  vmAreaFree(vma);
}

/** Call the VMA's `vm_ops->close`, if any, before it is freed. @kernel vma_close (mm/internal.h) */
export function vmaClose(vma: VmAreaStruct): void {
  if (vma.vmOps?.close !== undefined) {
    vma.vmOps.close(vma);
    // the mapping is inconsistent now: no further hooks
    vma.vmOps = VMA_DUMMY_VM_OPS;
  }
}

// ---------------------------------------------------------------------------
// Split

/**
 * Split `vma` at `addr`: a new VMA takes the part below (`newBelow`) or above
 * it. No map-count check. The iterator ends on the original VMA.
 * @returns 0, -ENOMEM, or the `may_split` hook's error.
 * @kernel __split_vma (mm/vma.c)
 */
export function __splitVma(vmi: VmaIterator, vma: VmAreaStruct, addr: number, newBelow: boolean): number {
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  if (vma.vmStart >= addr || vma.vmEnd <= addr)
    throw new MmBugError(`mm: split of ${vma.vmStart}-${vma.vmEnd} at ${addr}`);
  if (vma.vmOps?.maySplit !== undefined) {
    const err = vma.vmOps.maySplit(vma, addr);
    if (err !== 0) return err;
  }
  const n = vmAreaDup(vma);
  if (n === null) return -ENOMEM;
  if (newBelow) n.vmEnd = addr;
  else {
    n.vmStart = addr;
    n.vmPgoff += (addr - vma.vmStart) / ctx.pageSize;
  }
  vmaIterConfig(vmi, n.vmStart, n.vmEnd);
  if (vmaIterPrealloc(vmi, n) !== 0) {
    vmAreaFree(n);
    return -ENOMEM;
  }
  // vma_dup_policy(): policies are shared immutable objects here
  if (ctx.anon.anonVmaClone(n, vma, VMA_OP_SPLIT) !== 0) {
    vmaIterFree(vmi);
    vmAreaFree(n);
    return -ENOMEM;
  }
  if (n.vmFile !== null) getFile(n.vmFile);
  if (n.vmOps?.open !== undefined) n.vmOps.open(n);
  vmaStartWrite(vma);
  vmaStartWrite(n);
  const vp = initMultiVmaPrep(vma, null);
  vp.insert = n;
  vmaPrepare(vp);
  // huge pages and shared page tables straddling the boundary
  ctx.pt.vmaAdjustTransHuge(vma, vma.vmStart, addr, null);
  if (newBelow) {
    vma.vmStart = addr;
    vma.vmPgoff += (addr - n.vmStart) / ctx.pageSize;
  } else {
    vma.vmEnd = addr;
  }
  vmaComplete(vp, vmi, mm);
  if (newBelow) vmaNext(vmi);
  else vmaPrev(vmi);
  return 0;
}

/**
 * Split with the `vm.max_map_count` check.
 * @returns 0 or a negative errno (-ENOMEM at the limit).
 * @kernel split_vma (mm/vma.c)
 */
export function splitVma(vmi: VmaIterator, vma: VmAreaStruct, addr: number, newBelow: boolean): number {
  if (vma.vmMm.mapCount >= vma.vmMm.ctx.sysctlMaxMapCount) return -ENOMEM;
  return __splitVma(vmi, vma, addr, newBelow);
}

/**
 * Give an unfaulted `dst` the anon_vma of `src` before a merge absorbs src.
 * @kernel dup_anon_vma (mm/vma.c)
 */
function dupAnonVma(dst: VmAreaStruct, src: VmAreaStruct, out: { dup: VmAreaStruct | null }): number {
  if (src.anonVma !== null && dst.anonVma === null) {
    dst.anonVma = src.anonVma;
    const ret = dst.vmMm.ctx.anon.anonVmaClone(dst, src, VMA_OP_MERGE_UNFAULTED);
    if (ret !== 0) return ret;
    out.dup = dst;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Merge

function vmgAdjustSetRange(vmg: VmaMergeStruct): void {
  const page = vmg.mm.ctx.pageSize;
  let adjust: VmAreaStruct;
  let pgoff: number;
  if (vmg.adjustMiddleStart) {
    adjust = vmg.middle as VmAreaStruct;
    pgoff = adjust.vmPgoff + (vmg.end - adjust.vmStart) / page;
  } else if (vmg.adjustNextStart) {
    adjust = vmg.next as VmAreaStruct;
    pgoff = adjust.vmPgoff - (adjust.vmStart - vmg.end) / page;
  } else {
    return;
  }
  vmaSetRange(adjust, vmg.end, adjust.vmEnd, pgoff);
}

/**
 * Perform the merge: preallocate, then change the VMAs and the tree.
 * @returns 0 or -ENOMEM (nothing changed).
 * @kernel commit_merge (mm/vma.c)
 */
function commitMerge(vmg: VmaMergeStruct): number {
  let vma: VmAreaStruct;
  if (vmg.adjustNextStart) {
    // we manipulate middle and adjust next, which is the target
    vma = vmg.middle as VmAreaStruct;
    vmaIterConfig(vmg.vmi, vmg.end, (vmg.next as VmAreaStruct).vmEnd);
  } else {
    vma = vmg.target as VmAreaStruct;
    vmaIterConfig(vmg.vmi, vmg.start, vmg.end);
  }
  const vp = initMultiVmaPrep(vma, vmg);
  if (vmaIterPrealloc(vmg.vmi, vma) !== 0) return -ENOMEM;
  vmaPrepare(vp);
  vmg.mm.ctx.pt.vmaAdjustTransHuge(vma, vmg.start, vmg.end, vmg.adjustMiddleStart ? vmg.middle : null);
  vmaSetRange(vma, vmg.start, vmg.end, vmg.pgoff);
  vmgAdjustSetRange(vmg);
  vmaIterStoreOverwrite(vmg.vmi, vmg.target as VmAreaStruct);
  vmaComplete(vp, vmg.vmi, vma.vmMm);
  return 0;
}

/**
 * Merge the changed part `[vmg.start, vmg.end)` of `vmg.middle` into a
 * neighbour with identical attributes, shrinking or removing middle.
 * @returns the merged VMA, or null (`vmg.state` says NOMERGE or ERROR_NOMEM).
 * @kernel vma_merge_existing_range (mm/vma.c)
 */
export function vmaMergeExistingRange(vmg: VmaMergeStruct): VmAreaStruct | null {
  let stickyFlags = vmFlagsMask(vmg.vmFlags, VM_STICKY);
  const middle = vmg.middle as VmAreaStruct;
  const prev = vmg.prev;
  const start = vmg.start;
  const end = vmg.end;
  const leftSide = start === middle.vmStart;
  const rightSide = end === middle.vmEnd;
  const page = vmg.mm.ctx.pageSize;
  let next: VmAreaStruct | null;
  const anonDup: { dup: VmAreaStruct | null } = { dup: null };
  let err = 0;

  vmg.state = VMA_MERGE_NOMERGE;
  if (vmFlagsAny(vmg.vmFlags, VM_SPECIAL) || (!leftSide && !rightSide)) return null;

  const mergeLeft = leftSide ? canVmaMergeLeft(vmg) : false;
  let mergeRight: boolean;
  if (rightSide) {
    next = vmaIterNextRange(vmg.vmi);
    vmg.next = next;
    vmaIterPrevRange(vmg.vmi);
    mergeRight = canVmaMergeRight(vmg, mergeLeft);
  } else {
    mergeRight = false;
    next = null;
  }

  if (mergeLeft) vmaPrev(vmg.vmi);
  else if (!mergeRight) return null;

  let mergeBoth = mergeLeft && mergeRight;
  vmg.removeMiddle = leftSide && rightSide;
  if (vmg.removeMiddle && !canMergeRemoveVma(middle)) return null;
  vmg.removeNext = mergeBoth;
  if (vmg.removeNext && !canMergeRemoveVma(next as VmAreaStruct)) {
    vmg.removeNext = false;
    mergeRight = false;
    mergeBoth = false;
  }

  vmaStartWrite(middle);
  if (mergeRight) {
    const n = next as VmAreaStruct;
    vmaStartWrite(n);
    vmg.target = n;
    stickyFlags = vmFlagsSet(stickyFlags, vmFlagsMask(n.vmFlags, VM_STICKY));
  }
  if (mergeLeft) {
    const p = prev as VmAreaStruct;
    vmaStartWrite(p);
    vmg.target = p;
    stickyFlags = vmFlagsSet(stickyFlags, vmFlagsMask(p.vmFlags, VM_STICKY));
  }

  if (mergeBoth) {
    //  |<-------------------->|
    //  |-------********-------|
    //    prev   middle   next
    //   extend  delete  delete
    const p = prev as VmAreaStruct;
    const n = next as VmAreaStruct;
    vmg.start = p.vmStart;
    vmg.end = n.vmEnd;
    vmg.pgoff = p.vmPgoff;
    err = dupAnonVma(p, n.anonVma !== null ? n : middle, anonDup);
  } else if (mergeLeft) {
    //  |<------------>|      OR
    //  |<----------------->|
    //  |-------*************
    //    prev     middle
    //   extend shrink/delete
    const p = prev as VmAreaStruct;
    vmg.start = p.vmStart;
    vmg.pgoff = p.vmPgoff;
    if (!vmg.removeMiddle) vmg.adjustMiddleStart = true;
    err = dupAnonVma(p, middle, anonDup);
  } else {
    //      |<------------->| OR
    //  |<----------------->|
    //  *************-------|
    //     middle     next
    //  shrink/delete extend
    const n = next as VmAreaStruct;
    const pglen = (vmg.end - vmg.start) / page;
    if (vmg.removeMiddle) {
      vmg.end = n.vmEnd;
      vmg.pgoff = n.vmPgoff - pglen;
    } else {
      vmg.adjustNextStart = true;
      vmg.start = middle.vmStart;
      vmg.end = start;
      vmg.pgoff = middle.vmPgoff;
    }
    err = dupAnonVma(n, middle, anonDup);
  }

  if (err === 0 && commitMerge(vmg) === 0) {
    const target = vmg.target as VmAreaStruct;
    target.vmFlags = vmFlagsSet(target.vmFlags, stickyFlags);
    vmg.state = VMA_MERGE_SUCCESS;
    return target;
  }
  // abort
  vmaIterSet(vmg.vmi, start);
  vmaIterLoad(vmg.vmi);
  if (anonDup.dup !== null) vmg.mm.ctx.anon.unlinkAnonVmas(anonDup.dup);
  if (!vmg.giveUpOnOom) vmg.state = VMA_MERGE_ERROR_NOMEM;
  return null;
}

/**
 * Merge a new range `[vmg.start, vmg.end)` into the VMA before and/or after
 * it (`vmg.prev`, `vmg.next`), expanding one and removing the other.
 * @returns the expanded VMA, or null (`vmg.state` says NOMERGE or ERROR_NOMEM).
 * @kernel vma_merge_new_range (mm/vma.c)
 */
export function vmaMergeNewRange(vmg: VmaMergeStruct): VmAreaStruct | null {
  const prev = vmg.prev;
  const next = vmg.next;
  const end = vmg.end;
  vmg.state = VMA_MERGE_NOMERGE;
  if (vmFlagsAny(vmg.vmFlags, VM_SPECIAL) || (prev === null && next === null)) return null;
  const canMergeLeft = canVmaMergeLeft(vmg);
  const canMergeRight = !vmg.justExpand && canVmaMergeRight(vmg, canMergeLeft);
  if (canMergeRight) {
    const n = next as VmAreaStruct;
    vmg.end = n.vmEnd;
    vmg.target = n;
  }
  if (canMergeLeft) {
    const p = prev as VmAreaStruct;
    vmg.start = p.vmStart;
    vmg.target = p;
    vmg.pgoff = p.vmPgoff;
    // cannot remove next: reduce to merging prev and the new range
    if (canMergeRight && !canMergeRemoveVma(next as VmAreaStruct)) vmg.end = end;
    if (!vmg.justExpand) vmaPrev(vmg.vmi);
  }
  if (vmg.target !== null && vmaExpand(vmg) === 0) {
    vmg.state = VMA_MERGE_SUCCESS;
    return vmg.target;
  }
  return null;
}

/**
 * The merge of the range mremap copies `vmg.middle` to.
 * @kernel vma_merge_copied_range (mm/vma.c)
 */
function vmaMergeCopiedRange(vmg: VmaMergeStruct): VmAreaStruct | null {
  vmg.copiedFrom = vmg.middle;
  vmg.middle = null;
  return vmaMergeNewRange(vmg);
}

/**
 * Expand `vmg.target` to `[vmg.start, vmg.end)`, absorbing `vmg.next` when
 * the new end is next's end.
 * @returns 0 or -ENOMEM (nothing changed).
 * @kernel vma_expand (mm/vma.c)
 */
export function vmaExpand(vmg: VmaMergeStruct): number {
  const anonDup: { dup: VmAreaStruct | null } = { dup: null };
  const target = vmg.target as VmAreaStruct;
  const next = vmg.next;
  let removeNext = false;
  let stickyFlags = vmFlagsMask(vmg.vmFlags, VM_STICKY);
  vmaStartWrite(target);
  const targetSticky = vmFlagsMask(target.vmFlags, VM_STICKY);
  if (next !== null && target !== next && vmg.end === next.vmEnd) removeNext = true;
  if (next !== null && !removeNext && next !== target && vmg.end > next.vmStart)
    throw new MmBugError('mm: vma_expand would overwrite part of next');
  if (target.vmStart < vmg.start || target.vmEnd > vmg.end) throw new MmBugError('mm: vma_expand only expands');
  stickyFlags = vmFlagsSet(stickyFlags, targetSticky);
  let ret = 0;
  if (removeNext) ret = dupAnonVma(target, next as VmAreaStruct, anonDup);
  if (ret === 0 && vmg.copiedFrom !== null) ret = dupAnonVma(target, vmg.copiedFrom, anonDup);
  if (ret !== 0) return ret;
  if (removeNext) {
    const n = next as VmAreaStruct;
    vmaStartWrite(n);
    vmg.removeNext = true;
    stickyFlags = vmFlagsSet(stickyFlags, vmFlagsMask(n.vmFlags, VM_STICKY));
  }
  if (commitMerge(vmg) !== 0) {
    if (anonDup.dup !== null) vmg.mm.ctx.anon.unlinkAnonVmas(anonDup.dup);
    if (!vmg.giveUpOnOom) vmg.state = VMA_MERGE_ERROR_NOMEM;
    return -ENOMEM;
  }
  target.vmFlags = vmFlagsSet(target.vmFlags, stickyFlags);
  return 0;
}

/**
 * Shrink `vma` to `[start, end)` (one end stays).
 * @returns 0 or -ENOMEM (nothing changed).
 * @kernel vma_shrink (mm/vma.c)
 */
export function vmaShrink(vmi: VmaIterator, vma: VmAreaStruct, start: number, end: number, pgoff: number): number {
  if (vma.vmStart !== start && vma.vmEnd !== end) throw new MmBugError('mm: vma_shrink keeps one end');
  if (vma.vmStart < start) vmaIterConfig(vmi, vma.vmStart, start);
  else vmaIterConfig(vmi, end, vma.vmEnd);
  if (vmaIterPrealloc(vmi, null) !== 0) return -ENOMEM;
  vmaStartWrite(vma);
  const vp = initMultiVmaPrep(vma, null);
  vmaPrepare(vp);
  vma.vmMm.ctx.pt.vmaAdjustTransHuge(vma, start, end, null);
  vmi.mas.storePrealloc(undefined); // vma_iter_clear()
  vmaSetRange(vma, start, end, pgoff);
  vmaComplete(vp, vmi, vma.vmMm);
  return 0;
}

// ---------------------------------------------------------------------------
// vma_modify

/**
 * Prepare `[vmg.start, vmg.end)` of `vmg.middle` for an attribute change:
 * merge it into a neighbour, or split it out.
 * @returns the VMA covering exactly the range, or a negative errno.
 * @kernel vma_modify (mm/vma.c)
 */
function vmaModify(vmg: VmaMergeStruct): VmAreaStruct | number {
  const vma = vmg.middle as VmAreaStruct;
  const start = vmg.start;
  const end = vmg.end;
  const merged = vmaMergeExistingRange(vmg);
  if (merged !== null) return merged;
  if (vmgNomem(vmg)) return -ENOMEM;
  if (vma.vmStart < start) {
    const err = splitVma(vmg.vmi, vma, start, true);
    if (err !== 0) return err;
  }
  if (vma.vmEnd > end) {
    const err = splitVma(vmg.vmi, vma, end, false);
    if (err !== 0) return err;
  }
  return vma;
}

/**
 * Split or merge so that `[start, end)` of `vma` is one VMA, ready to take
 * flags `flags.value` (the caller sets them). On a merge, `flags.value`
 * gains the sticky flags the merged VMA kept.
 * @returns that VMA, or a negative errno.
 * @kernel vma_modify_flags (mm/vma.c)
 */
export function vmaModifyFlags(
  vmi: VmaIterator,
  prev: VmAreaStruct | null,
  vma: VmAreaStruct,
  start: number,
  end: number,
  flags: { value: number },
): VmAreaStruct | number {
  const vmg = vmgVmaState(vmi, prev, vma, start, end);
  vmg.vmFlags = flags.value;
  const ret = vmaModify(vmg);
  if (typeof ret === 'number') return ret;
  if (vmg.state === VMA_MERGE_SUCCESS) flags.value = ret.vmFlags;
  return ret;
}

/**
 * The same for a new anonymous name.
 * @kernel vma_modify_name (mm/vma.c)
 */
export function vmaModifyName(
  vmi: VmaIterator,
  prev: VmAreaStruct | null,
  vma: VmAreaStruct,
  start: number,
  end: number,
  newName: AnonVmaName | null,
): VmAreaStruct | number {
  const vmg = vmgVmaState(vmi, prev, vma, start, end);
  vmg.anonName = newName;
  return vmaModify(vmg);
}

/**
 * The same for a new NUMA policy.
 * @kernel vma_modify_policy (mm/vma.c)
 */
export function vmaModifyPolicy(
  vmi: VmaIterator,
  prev: VmAreaStruct | null,
  vma: VmAreaStruct,
  start: number,
  end: number,
  newPol: MemPolicy | null,
): VmAreaStruct | number {
  const vmg = vmgVmaState(vmi, prev, vma, start, end);
  vmg.policy = newPol;
  return vmaModify(vmg);
}

/**
 * The same for new flags and userfaultfd context.
 * @kernel vma_modify_flags_uffd (mm/vma.c)
 */
export function vmaModifyFlagsUffd(
  vmi: VmaIterator,
  prev: VmAreaStruct | null,
  vma: VmAreaStruct,
  start: number,
  end: number,
  vmFlags: number,
  newCtx: UserfaultfdCtx | null,
  giveUpOnOom: boolean,
): VmAreaStruct | number {
  const vmg = vmgVmaState(vmi, prev, vma, start, end);
  vmg.vmFlags = vmFlags;
  vmg.uffdCtx = newCtx;
  if (giveUpOnOom) vmg.giveUpOnOom = true;
  return vmaModify(vmg);
}

/**
 * Grow `vma` by `delta` bytes at its end, merging with the next VMA if it
 * becomes adjacent and compatible (mremap in place).
 * @returns the expanded VMA or null.
 * @kernel vma_merge_extend (mm/vma.c)
 */
export function vmaMergeExtend(vmi: VmaIterator, vma: VmAreaStruct, delta: number): VmAreaStruct | null {
  const vmg = vmgVmaState(vmi, vma, vma, vma.vmEnd, vma.vmEnd + delta);
  vmg.next = vmaIterNextRewind(vmi, null);
  vmg.middle = null; // the VMA only populates the fields
  return vmaMergeNewRange(vmg);
}

/**
 * The next VMA, with the iterator rewound to the end of the previous one
 * (or 0), so a gap-positioned store follows.
 * @kernel vma_iter_next_rewind (mm/vma.h)
 */
export function vmaIterNextRewind(vmi: VmaIterator, pprev: { prev: VmAreaStruct | null } | null): VmAreaStruct | null {
  const next = vmaNext(vmi);
  const prev = vmaPrev(vmi);
  if (prev !== null) vmaIterNextRange(vmi);
  if (pprev !== null) pprev.prev = prev;
  return next;
}

// ---------------------------------------------------------------------------
// Linking

/**
 * Insert a file VMA into its file's i_mmap.
 * @kernel vma_link_file (mm/vma.c)
 */
export function vmaLinkFile(vma: VmAreaStruct): void {
  if (vma.vmFile !== null) vmaLinkFileTo(vma, vma.vmFile.fMapping);
}

/**
 * Insert a child's file VMA into the file's i_mmap right after the
 * parent's VMA it was copied from (one more shared writable mapping if it
 * is one).
 * @kernel dup_mmap (mm/mmap.c): vma_interval_tree_insert_after
 */
export function vmaLinkFileAfter(vma: VmAreaStruct, parent: VmAreaStruct): void {
  const file = vma.vmFile;
  if (file === null) return;
  if (vmaIsSharedMaywrite(vma)) mappingAllowWritable(file.fMapping);
  iMmapInsertAfter(vma, parent, file.fMapping);
}

/**
 * Insert a detached VMA into `mm`'s tree and (unless `linkFile` is false, as
 * for fork, which links it after the parent's) its file's i_mmap.
 * @returns 0 or -ENOMEM.
 * @kernel vma_link (mm/vma.c)
 */
export function vmaLink(mm: MmStruct, vma: VmAreaStruct, linkFile = true): number {
  const vmi = new VmaIterator(mm, 0);
  vmaIterConfig(vmi, vma.vmStart, vma.vmEnd);
  if (vmaIterPrealloc(vmi, vma) !== 0) return -ENOMEM;
  vmaStartWrite(vma);
  vmaIterStoreNew(vmi, vma);
  if (linkFile) vmaLinkFile(vma);
  mm.mapCount++;
  return 0;
}

/** Result of {@link copyVma}. */
export interface CopyVmaResult {
  /** The VMA at the new address, or null on failure (-ENOMEM). */
  readonly newVma: VmAreaStruct | null;
  /** The source VMA (a different object if the source was merged into the new one). */
  readonly vma: VmAreaStruct;
  /** Whether moving the page tables must take the rmap locks, because an rmap walk could visit the new VMA before the old one; mirrors `copy_vma()`'s `need_rmap_locks` result. */
  readonly needRmapLocks: boolean;
}

/**
 * Copy `vma` to `[addr, addr + len)` with file offset `pgoff` before its page
 * tables move (mremap): merge with a neighbour there, or a new VMA.
 * @kernel copy_vma (mm/vma.c)
 */
export function copyVma(
  vmaIn: VmAreaStruct,
  addr: number,
  len: number,
  pgoffIn: number,
  keepSource: boolean,
): CopyVmaResult {
  let vma = vmaIn;
  const vmaStart = vma.vmStart;
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  let pgoff = pgoffIn;
  let faultedInAnonVma = true;
  const vmi = new VmaIterator(mm, addr);
  const vmg = vmgVmaState(vmi, null, vma, addr, addr + len);
  // an unfaulted anonymous VMA takes the pgoff of its new place, to merge there
  if (vmaIsAnonymous(vma) && vma.anonVma === null) {
    pgoff = addr / ctx.pageSize;
    faultedInAnonVma = false;
  }
  if (vma.vmFile !== null) vmg.skipVmaUprobe = true;
  const pp: { prev: VmAreaStruct | null } = { prev: null };
  let newVma = findVmaPrev(mm, addr, pp);
  vmg.prev = pp.prev;
  if (newVma !== null && newVma.vmStart < addr + len) return { newVma: null, vma, needRmapLocks: false };
  vmg.pgoff = pgoff;
  vmg.next = vmaIterNextRewind(vmi, null);
  // MREMAP_DONTUNMAP keeps the source: no self-merge
  if (!faultedInAnonVma && keepSource) {
    if (vmg.prev === vma) vmg.prev = null;
    if (vmg.next === vma) vmg.next = null;
    faultedInAnonVma = true;
  }
  newVma = vmaMergeCopiedRange(vmg);
  if (newVma !== null) {
    // the source may have been merged into the new VMA
    if (vmaStart >= newVma.vmStart && vmaStart < newVma.vmEnd) {
      if (faultedInAnonVma) throw new MmBugError('mm: copy_vma merged a faulted source into its copy');
      vma = newVma;
    }
    return { newVma, vma, needRmapLocks: newVma.vmPgoff <= vma.vmPgoff };
  }
  const n = vmAreaDup(vma);
  if (n === null) return { newVma: null, vma, needRmapLocks: false };
  vmaSetRange(n, addr, addr + len, pgoff);
  if (ctx.anon.anonVmaClone(n, vma, VMA_OP_REMAP) !== 0) {
    vmAreaFree(n);
    return { newVma: null, vma, needRmapLocks: false };
  }
  if (n.vmFile !== null) getFile(n.vmFile);
  if (n.vmOps?.open !== undefined) n.vmOps.open(n);
  if (vmaLink(mm, n) !== 0) {
    vmaClose(n);
    if (n.vmFile !== null) fput(n.vmFile);
    ctx.anon.unlinkAnonVmas(n);
    vmAreaFree(n);
    return { newVma: null, vma, needRmapLocks: false };
  }
  return { newVma: n, vma, needRmapLocks: false };
}

// ---------------------------------------------------------------------------
// anon_vma reuse

function anonVmaCompatible(a: VmAreaStruct, b: VmAreaStruct): boolean {
  const diff = vmFlagsClear(vmFlagsClear(a.vmFlags, VM_ACCESS_FLAGS), VM_IGNORE_MERGE);
  const diffB = vmFlagsClear(vmFlagsClear(b.vmFlags, VM_ACCESS_FLAGS), VM_IGNORE_MERGE);
  return (
    a.vmEnd === b.vmStart &&
    mpolEqual(a.vmPolicy, b.vmPolicy) &&
    a.vmFile === b.vmFile &&
    diff === diffB &&
    b.vmPgoff === a.vmPgoff + (b.vmStart - a.vmStart) / a.vmMm.ctx.pageSize
  );
}

function reusableAnonVma(old: VmAreaStruct, a: VmAreaStruct, b: VmAreaStruct): AnonVma | null {
  if (anonVmaCompatible(a, b)) {
    const av = old.anonVma;
    if (av !== null && old.anonVmaChain.length === 1) return av;
  }
  return null;
}

/**
 * A neighbour's anon_vma that `vma` can share (adjacent, compatible, not
 * from a fork), so that later mprotects can merge them again.
 * @kernel find_mergeable_anon_vma (mm/vma.c)
 */
export function findMergeableAnonVma(vma: VmAreaStruct): AnonVma | null {
  const vmi = new VmaIterator(vma.vmMm, vma.vmEnd);
  let anonVma: AnonVma | null = null;
  const next = vmaIterLoad(vmi);
  if (next !== null) {
    anonVma = reusableAnonVma(next, vma, next);
    if (anonVma !== null) return anonVma;
  }
  let prev = vmaPrev(vmi);
  if (prev !== vma) throw new MmBugError('mm: find_mergeable_anon_vma: VMA not in its tree');
  prev = vmaPrev(vmi);
  if (prev !== null) anonVma = reusableAnonVma(prev, prev, vma);
  return anonVma;
}

// ---------------------------------------------------------------------------
// Lookups (mm/mmap.c)

/**
 * The first VMA intersecting `[start, end)`.
 * @kernel find_vma_intersection (mm/mmap.c)
 */
export function findVmaIntersection(mm: MmStruct, start: number, end: number): VmAreaStruct | null {
  const vmi = new VmaIterator(mm, start);
  return (vmi.mas.find(end - 1) as VmAreaStruct | undefined) ?? null;
}

/**
 * The VMA containing `addr`, or the next one above it.
 * @kernel find_vma (mm/mmap.c)
 */
export function findVma(mm: MmStruct, addr: number): VmAreaStruct | null {
  const vmi = new VmaIterator(mm, addr);
  return vmaNext(vmi);
}

/**
 * {@link findVma}, also returning the VMA before `addr`.
 * @kernel find_vma_prev (mm/mmap.c)
 */
export function findVmaPrev(mm: MmStruct, addr: number, pprev: { prev: VmAreaStruct | null }): VmAreaStruct | null {
  const vmi = new VmaIterator(mm, addr);
  let vma = vmaIterLoad(vmi);
  pprev.prev = vmaPrev(vmi);
  if (vma === null) vma = vmaNext(vmi);
  return vma;
}

/**
 * The VMA containing `addr`, or null.
 * @kernel vma_lookup (include/linux/mm.h)
 */
export function vmaLookup(mm: MmStruct, addr: number): VmAreaStruct | null {
  const vmi = new VmaIterator(mm, addr);
  return vmaIterLoad(vmi);
}

/** The VMAs of `mm` in address order. */
export function vmaList(mm: MmStruct): VmAreaStruct[] {
  const out: VmAreaStruct[] = [];
  const vmi = new VmaIterator(mm, 0);
  for (let v = vmaNext(vmi); v !== null; v = vmaNext(vmi)) out.push(v);
  return out;
}

// ---------------------------------------------------------------------------
// Page protection and write notification

/**
 * The protection_map[] index of `flags` (R, W, X, SHARED); the architecture
 * turns it into PTE bits.
 * @kernel vm_get_page_prot (mm/mmap.c)
 */
export function vmGetPageProt(flags: number): number {
  return flags & (VM_READ | VM_WRITE | VM_EXEC | VM_SHARED);
}

/** Whether soft-dirty tracking is on for the VMA, so writes to clean entries must fault. @kernel vma_soft_dirty_enabled (include/linux/mm.h) */
export function vmaSoftDirtyEnabled(vma: VmAreaStruct): boolean {
  if (!vma.vmMm.ctx.softDirty) return false;
  return !(vma.vmFlags & VM_SOFTDIRTY);
}

/**
 * Whether a shared writable mapping must fault on first write (to notify the
 * file system, track soft-dirty or uffd-wp, or count dirty pages).
 * @kernel vma_wants_writenotify (mm/vma.c)
 */
export function vmaWantsWritenotify(vma: VmAreaStruct): boolean {
  if ((vma.vmFlags & (VM_WRITE | VM_SHARED)) !== (VM_WRITE | VM_SHARED)) return false;
  if (vma.vmOps?.pageMkwrite !== undefined) return true;
  if (vmaSoftDirtyEnabled(vma)) return true;
  if (vma.vmFlags & VM_UFFD_WP) return true;
  // vma_fs_can_writeback(): the model's files are tmpfs-like, without writeback
  return false;
}

/**
 * Set `vm_page_prot` from the flags, read-only for shared mappings that want
 * write notification.
 * @kernel vma_set_page_prot (mm/mmap.c)
 */
export function vmaSetPageProt(vma: VmAreaStruct): void {
  let flags = vma.vmFlags;
  if (vmaWantsWritenotify(vma)) flags &= ~VM_SHARED;
  vma.vmPageProt = vmGetPageProt(flags);
}

/**
 * Private writable mappings, and shared ones wanting write notification,
 * need PTEs made writable one by one.
 * @kernel vma_wants_manual_pte_write_upgrade (mm/vma.h)
 */
export function vmaWantsManualPteWriteUpgrade(vma: VmAreaStruct): boolean {
  if (vma.vmFlags & VM_SHARED) return vmaWantsWritenotify(vma);
  return (vma.vmFlags & VM_WRITE) !== 0;
}

// ---------------------------------------------------------------------------
// Validation

/**
 * Check the VMA tree of `mm`: the maple tree itself, every VMA's range in
 * the tree equal to its `[vm_start, vm_end)`, page aligned, attached, of
 * this mm, no overlaps, `map_count` equal to the VMAs found, VM counters
 * equal to the sums over the VMAs, file VMAs in their file's `i_mmap`,
 * anon_vma chains consistent with `anon_vma`.
 * @throws MmBugError naming the first broken invariant.
 * @kernel validate_mm (mm/vma.c)
 */
export function validateMm(mm: MmStruct, opts: { accounting?: boolean } = {}): void {
  mtValidate(mm.mmMt);
  const ctx = mm.ctx;
  const page = ctx.pageSize;
  const vmi = new VmaIterator(mm, 0);
  let count = 0;
  let lastEnd = 0;
  let total = 0;
  let locked = 0;
  let data = 0;
  let exec = 0;
  let stack = 0;
  const bug = (v: VmAreaStruct, msg: string) => {
    throw new MmBugError(`mm: validate_mm: pid ${mm.pid}: VMA ${hex(v.vmStart)}-${hex(v.vmEnd)}: ${msg}`);
  };
  for (let v = vmaNext(vmi); v !== null; v = vmaNext(vmi)) {
    if (v.vmStart !== vmi.mas.index || v.vmEnd !== vmi.mas.last + 1)
      bug(v, `tree range ${hex(vmi.mas.index)}-${hex(vmi.mas.last + 1)}`);
    if (v.vmStart >= v.vmEnd || v.vmStart % page !== 0 || v.vmEnd % page !== 0) bug(v, 'bad range');
    if (v.vmStart < lastEnd) bug(v, 'overlaps the previous VMA');
    if (v.vmMm !== mm) bug(v, 'belongs to another mm');
    if (v.vmRefcnt !== 1) bug(v, `refcnt ${v.vmRefcnt} (not attached)`);
    if (v.vmEnd > mm.taskSize) bug(v, 'above TASK_SIZE');
    if (v.vmFile !== null) validateIMmapNode(v, bug);
    else if (v.sharedRb > 0) bug(v, 'anonymous VMA linked into an i_mmap tree');
    if ((v.anonVma === null) !== (v.anonVmaChain.length === 0)) bug(v, 'anon_vma and chain disagree');
    if (v.anonVma !== null && !v.anonVmaChain.some((c) => c.anonVma === v.anonVma)) bug(v, 'chain lacks anon_vma');
    if (v.obj === 0) bug(v, 'freed');
    lastEnd = v.vmEnd;
    const pages = (v.vmEnd - v.vmStart) / page;
    total += pages;
    if (v.vmFlags & VM_LOCKED) locked += pages;
    if (isExecMapping(v.vmFlags)) exec += pages;
    else if (isStackMapping(v.vmFlags)) stack += pages;
    else if (isDataMapping(v.vmFlags)) data += pages;
    if (++count > mm.mapCount + 10) break;
  }
  if (count !== mm.mapCount)
    throw new MmBugError(`mm: validate_mm: pid ${mm.pid}: map_count ${mm.mapCount}, ${count} VMAs`);
  if (opts.accounting === false) return;
  const check = (name: string, have: number, want: number) => {
    if (have !== want) throw new MmBugError(`mm: validate_mm: pid ${mm.pid}: ${name} ${have}, the VMAs span ${want}`);
  };
  check('total_vm', mm.totalVm, total);
  check('locked_vm', mm.lockedVm, locked);
  check('exec_vm', mm.execVm, exec);
  check('stack_vm', mm.stackVm, stack);
  check('data_vm', mm.dataVm, data);
}

/**
 * A file VMA's node in its file's i_mmap interval tree: linked, owned by the
 * VMA, keyed by [vm_pgoff, vm_pgoff + pages - 1], and reachable from the
 * tree's root.
 */
function validateIMmapNode(v: VmAreaStruct, bug: (v: VmAreaStruct, msg: string) => never): void {
  const mapping = (v.vmFile as File).fMapping;
  const t = mapping.rm.vmaTree;
  const h = v.sharedRb;
  if (h <= 0) bug(v, 'not in its file i_mmap');
  if (t.owner[h] !== (v as unknown)) bug(v, `i_mmap node ${h} belongs to another VMA`);
  const first = v.vmPgoff;
  const last = v.vmPgoff + (v.vmEnd - v.vmStart) / v.vmMm.ctx.pageSize - 1;
  if (t.start[h] !== first || t.last[h] !== last)
    bug(v, `i_mmap key [${t.start[h]}, ${t.last[h]}], pgoff range [${first}, ${last}]`);
  let x = h;
  for (let i = 0; i < 200 && t.parent[x] !== 0; i++) x = t.parent[x] as number;
  if (x !== mapping.iMmap.node) bug(v, "i_mmap node not in its file's tree");
}

function hex(v: number): string {
  return v.toString(16);
}
