/**
 * DOC: the VMA iterator: a maple state over `mm->mm_mt`.
 *
 * The VMA code walks and writes the VMA tree through `struct vma_iterator`,
 * a thin wrapper of `struct ma_state` (include/linux/mm.h, mm/vma.h). Each
 * helper here is the kernel's inline of the same name on `@mm/maple-tree`'s
 * `MaState`; the ranges are byte addresses with exclusive ends, as the mm
 * code likes them, turned into the tree's inclusive `[index, last]`.
 *
 * Context: the caller holds the mmap lock (read for walks, write for stores).
 */
import { ENOMEM, GFP_KERNEL } from '@mm/machine';
import { MAPLE_MAX, MaState, type Mtree, ma_start } from '@mm/maple-tree';
import type { MmStruct, VmAreaStruct } from './mm-types.js';

/** A cursor over one mm's VMAs in address order, for walks and for stores into the VMA tree. @kernel struct vma_iterator (include/linux/mm_types.h) */
export class VmaIterator {
  /** The maple-tree cursor over the mm's VMA tree; mirrors `vma_iterator::mas`. */
  readonly mas: MaState;
  /** The address space being iterated. */
  mm: MmStruct;

  /** An iterator over `mm`'s VMAs starting at `addr`. @kernel VMA_ITERATOR / vma_iter_init (include/linux/mm_types.h) */
  constructor(mm: MmStruct, addr: number) {
    this.mas = new MaState(mm.mmMt, addr, addr);
    this.mm = mm;
  }
}

/** A maple state on `mt` at `addr` (`MA_STATE` for side trees). */
export function maState(mt: Mtree, addr: number): MaState {
  return new MaState(mt, addr, addr);
}

/** Point `vmi` at `addr` in `mm`'s VMA tree. @kernel vma_iter_init (include/linux/mm_types.h) */
export function vmaIterInit(vmi: VmaIterator, mm: MmStruct, addr: number): void {
  vmi.mas.tree = mm.mmMt;
  vmi.mm = mm;
  vmi.mas.setRange(addr, addr);
}

/** The first VMA at or after the iterator below `max` (exclusive). @kernel vma_find (include/linux/mm.h) */
export function vmaFind(vmi: VmaIterator, max: number): VmAreaStruct | null {
  return (vmi.mas.find(max - 1) as VmAreaStruct | undefined) ?? null;
}

/** The next VMA (the first one when the iterator starts). @kernel vma_next (include/linux/mm.h) */
export function vmaNext(vmi: VmaIterator): VmAreaStruct | null {
  return (vmi.mas.find(MAPLE_MAX) as VmAreaStruct | undefined) ?? null;
}

/** The previous VMA. @kernel vma_prev (include/linux/mm.h) */
export function vmaPrev(vmi: VmaIterator): VmAreaStruct | null {
  return (vmi.mas.prev(0) as VmAreaStruct | undefined) ?? null;
}

/** The next range, VMA or gap. @kernel vma_iter_next_range (include/linux/mm.h) */
export function vmaIterNextRange(vmi: VmaIterator): VmAreaStruct | null {
  return (vmi.mas.nextRange(MAPLE_MAX) as VmAreaStruct | undefined) ?? null;
}

/** The previous range, VMA or gap. @kernel vma_iter_prev_range (mm/vma.h) */
export function vmaIterPrevRange(vmi: VmaIterator): VmAreaStruct | null {
  return (vmi.mas.prevRange(0) as VmAreaStruct | undefined) ?? null;
}

/** The previous range, VMA or gap (null), not below `min`. @kernel vma_iter_prev_range_limit (mm/vma.h) */
export function vmaIterPrevRangeLimit(vmi: VmaIterator, min: number): VmAreaStruct | null {
  return (vmi.mas.prevRange(min) as VmAreaStruct | undefined) ?? null;
}

/** The next range, VMA or gap (null), not above `max`. @kernel vma_iter_next_range_limit (mm/vma.h) */
export function vmaIterNextRangeLimit(vmi: VmaIterator, max: number): VmAreaStruct | null {
  return (vmi.mas.nextRange(max) as VmAreaStruct | undefined) ?? null;
}

/** The VMA before the iterator, not below `min`. @kernel vma_prev_limit (mm/vma.h) */
export function vmaPrevLimit(vmi: VmaIterator, min: number): VmAreaStruct | null {
  return (vmi.mas.prev(min) as VmAreaStruct | undefined) ?? null;
}

/** The VMA (or gap: null) at the iterator's index. @kernel vma_iter_load (mm/vma.h) */
export function vmaIterLoad(vmi: VmaIterator): VmAreaStruct | null {
  return (vmi.mas.walk() as VmAreaStruct | undefined) ?? null;
}

/** Point at `addr` and restart. @kernel vma_iter_set (include/linux/mm.h) */
export function vmaIterSet(vmi: VmaIterator, addr: number): void {
  vmi.mas.set(addr);
}

/** Restart at the root. @kernel vma_iter_reset (mm/vma.h) */
export function vmaIterReset(vmi: VmaIterator): void {
  vmi.mas.reset();
}

/** Pause: the next step rewalks from the range's end. @kernel vma_iter_invalidate (include/linux/mm.h) */
export function vmaIterInvalidate(vmi: VmaIterator): void {
  vmi.mas.pause();
}

/** Set the range `[index, last)` without restarting (`__mas_set_range`). @kernel vma_iter_config (mm/vma.h) */
export function vmaIterConfig(vmi: VmaIterator, index: number, last: number): void {
  vmi.mas.index = index;
  vmi.mas.last = last - 1;
}

/** Start of the iterator's range. @kernel vma_iter_addr (mm/vma.h) */
export function vmaIterAddr(vmi: VmaIterator): number {
  return vmi.mas.index;
}

/** Exclusive end of the iterator's range. @kernel vma_iter_end (mm/vma.h) */
export function vmaIterEnd(vmi: VmaIterator): number {
  return vmi.mas.last + 1;
}

/**
 * Preallocate the nodes for storing `vma` (or NULL) over the configured range.
 * @returns 0 or -ENOMEM.
 * @kernel vma_iter_prealloc (mm/vma.h)
 */
export function vmaIterPrealloc(vmi: VmaIterator, vma: VmAreaStruct | null): number {
  // tools/testing/vma's fail_prealloc: make every preallocation fail
  if (vmi.mm.ctx.failPrealloc) return -ENOMEM;
  return vmi.mas.preallocate(vma ?? undefined, GFP_KERNEL);
}

/** Free unused preallocated nodes. @kernel vma_iter_free (include/linux/mm.h) */
export function vmaIterFree(vmi: VmaIterator): void {
  vmi.mas.destroy();
}

/** Store NULL over the configured range with the preallocated nodes. @kernel vma_iter_clear (mm/vma.h) */
export function vmaIterClear(vmi: VmaIterator): void {
  vmi.mas.storePrealloc(undefined);
}

/**
 * Store NULL over `[start, end)`, allocating.
 * @returns 0 or -ENOMEM.
 * @kernel vma_iter_clear_gfp (include/linux/mm.h)
 */
export function vmaIterClearGfp(vmi: VmaIterator, start: number, end: number, gfp: number): number {
  vmi.mas.index = start;
  vmi.mas.last = end - 1;
  return vmi.mas.storeGfp(undefined, gfp) === 0 ? 0 : -ENOMEM;
}

/**
 * Store an attached VMA over its range with the preallocated nodes.
 * @kernel vma_iter_store_overwrite (mm/vma.h)
 */
export function vmaIterStoreOverwrite(vmi: VmaIterator, vma: VmAreaStruct): void {
  const mas = vmi.mas;
  if (mas.status !== ma_start && (mas.index > vma.vmStart || mas.last < vma.vmStart)) vmaIterInvalidate(vmi);
  mas.index = vma.vmStart;
  mas.last = vma.vmEnd - 1;
  mas.storePrealloc(vma);
}

/** Attach and store a new VMA with the preallocated nodes. @kernel vma_iter_store_new (mm/vma.h) */
export function vmaIterStoreNew(vmi: VmaIterator, vma: VmAreaStruct): void {
  vma.vmRefcnt = 1; // vma_mark_attached()
  vmaIterStoreOverwrite(vmi, vma);
}

/**
 * Store a new VMA, allocating; attach it on success.
 * @returns 0 or -ENOMEM.
 * @kernel vma_iter_store_gfp (mm/vma.h)
 */
export function vmaIterStoreGfp(vmi: VmaIterator, vma: VmAreaStruct, gfp: number): number {
  const mas = vmi.mas;
  if (mas.status !== ma_start && (mas.index > vma.vmStart || mas.last < vma.vmStart)) vmaIterInvalidate(vmi);
  mas.index = vma.vmStart;
  mas.last = vma.vmEnd - 1;
  if (mas.storeGfp(vma, gfp) !== 0) return -ENOMEM;
  vma.vmRefcnt = 1;
  return 0;
}

/** Lowest gap of `size` in `[min, max)`: 0 or -EBUSY. @kernel vma_iter_area_lowest (mm/vma.h) */
export function vmaIterAreaLowest(vmi: VmaIterator, min: number, max: number, size: number): number {
  return vmi.mas.emptyArea(min, max - 1, size);
}

/** Highest gap of `size` in `[min, max)`: 0 or -EBUSY. @kernel vma_iter_area_highest (mm/vma.h) */
export function vmaIterAreaHighest(vmi: VmaIterator, min: number, max: number, size: number): number {
  return vmi.mas.emptyAreaRev(min, max - 1, size);
}
