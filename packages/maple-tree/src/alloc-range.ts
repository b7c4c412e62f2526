/**
 * DOC: range allocation (lib/maple_tree.c): `mtree_alloc_range`,
 * `mtree_alloc_rrange`, `mas_alloc_cyclic` and `mtree_alloc_cyclic`: a gap
 * search followed by an insert, with the `mas_nomem` retry.
 */
import { checkCount, checkGfp, checkIndex, checkObject } from './check.js';
import { masEmptyArea, masEmptyAreaRev } from './empty-area.js';
import { EINVAL } from './errors.js';
import { GFP_KERNEL } from './node-store.js';
import { checkMas, checkTree, checkWriteLock, type MaState, ma_error } from './state.js';
import { checkRange, masDestroy, masInsert, masNomem, scratchState, takeLock } from './store.js';
import {
  checkTree as checkTreeArg,
  MAPLE_MAX,
  MT_FLAGS_ALLOC_WRAPPED,
  type Mtree,
  treeIsAlloc,
  XA_ZERO_ENTRY,
} from './tree.js';

function allocRange(
  mt: Mtree,
  startp: { start: number },
  entry: unknown,
  size: number,
  min: number,
  max: number,
  gfp: number,
  rev: boolean,
): number {
  const fn = rev ? 'mtreeAllocRrange' : 'mtreeAllocRange';
  checkTreeArg(fn, mt);
  checkObject(fn, 'startp', startp);
  checkCount(fn, 'size', size);
  checkRange(fn, min, max, 'min', 'max');
  checkGfp(fn, gfp);
  if (!treeIsAlloc(mt)) return -EINVAL;
  if (entry === XA_ZERO_ENTRY) return -EINVAL;
  const took = takeLock(mt);
  const mas = scratchState(mt, 0, 0);
  let ret: number;
  for (;;) {
    ret = rev ? masEmptyAreaRev(mas, min, max, size) : masEmptyArea(mas, min, max, size);
    if (ret !== 0) break;
    masInsert(mas, entry);
    if (masNomem(mas, gfp)) continue;
    if (mas.status === ma_error) ret = mas.error;
    else startp.start = mas.index;
    break;
  }
  if (took) mt.lockHeld = false;
  masDestroy(mas);
  return ret;
}

/**
 * Find the lowest free range of `size` in [min, max], store `entry` there and
 * report its start in `startp.start`.
 * @returns 0, -EBUSY (no room), -EINVAL (not an allocation tree, bad size) or -ENOMEM.
 * @kernel mtree_alloc_range (lib/maple_tree.c)
 */
export function mtreeAllocRange(
  mt: Mtree,
  startp: { start: number },
  entry: unknown,
  size: number,
  min: number,
  max: number,
  gfp = GFP_KERNEL,
): number {
  return allocRange(mt, startp, entry, size, min, max, gfp, false);
}

/**
 * Like {@link mtreeAllocRange} but the highest free range.
 * @kernel mtree_alloc_rrange (lib/maple_tree.c)
 */
export function mtreeAllocRrange(
  mt: Mtree,
  startp: { start: number },
  entry: unknown,
  size: number,
  min: number,
  max: number,
  gfp = GFP_KERNEL,
): number {
  return allocRange(mt, startp, entry, size, min, max, gfp, true);
}

function checkCyclicArgs(
  fn: string,
  startp: MtCyclicCell,
  rangeLo: number,
  rangeHi: number,
  next: MtCyclicCell,
  gfp: number,
): void {
  checkObject(fn, 'startp', startp);
  checkIndex(fn, 'rangeLo', rangeLo);
  checkIndex(fn, 'rangeHi', rangeHi);
  checkObject(fn, 'next', next);
  checkIndex(fn, 'next.value', next.value);
  checkGfp(fn, gfp);
}

/** In/out cell of {@link mtreeAllocCyclic} (the kernel's `unsigned long *`). */
export interface MtCyclicCell {
  /** The index read and written back (the `unsigned long` the kernel's pointer points at). */
  value: number;
}

/**
 * Find the lowest free index in [max(rangeLo, next.value), rangeHi], or,
 * when there is none, in [rangeLo, rangeHi] (the search wraps); insert
 * `entry` there, report the index in `startp.value` and move `next.value`
 * just past it. `next.value` wraps to 0 after MAPLE_MAX, which sets
 * `MT_FLAGS_ALLOC_WRAPPED` on the tree; the next successful call clears the
 * flag and reports the wrap. The state is left on the new entry.
 * @returns 0, 1 when the search wrapped (or the flag was set), -EBUSY when
 *   the range is full, -EINVAL for an empty range, -ENOMEM.
 * @remarks Context: the caller holds the tree's lock.
 * @kernel mas_alloc_cyclic (lib/maple_tree.c)
 */
export function masAllocCyclic(
  mas: MaState,
  startp: MtCyclicCell,
  entry: unknown,
  rangeLo: number,
  rangeHi: number,
  next: MtCyclicCell,
  gfp = GFP_KERNEL,
): number {
  checkMas('masAllocCyclic', mas);
  const mt = mas.tree;
  checkTree(mt, 'masAllocCyclic');
  checkCyclicArgs('masAllocCyclic', startp, rangeLo, rangeHi, next, gfp);
  checkWriteLock(mt);
  const min = rangeLo;
  let ret: number;
  for (;;) {
    const lo = Math.max(min, next.value);
    ret = masEmptyArea(mas, lo, rangeHi, 1);
    if (ret < 0 && lo > min) {
      mas.reset();
      ret = masEmptyArea(mas, min, rangeHi, 1);
      if (ret === 0) ret = 1;
    }
    if (ret < 0) {
      masDestroy(mas);
      return ret;
    }
    masInsert(mas, entry);
    if (!masNomem(mas, gfp)) break;
  }
  if (mas.status === ma_error) {
    ret = mas.error;
    masDestroy(mas);
    return ret;
  }
  if ((mt.flags & MT_FLAGS_ALLOC_WRAPPED) !== 0 && ret === 0) {
    mt.flags &= ~MT_FLAGS_ALLOC_WRAPPED;
    ret = 1;
  }
  startp.value = mas.index;
  // `*next = *startp + 1` in unsigned long arithmetic: MAPLE_MAX + 1 is 0.
  next.value = mas.index === MAPLE_MAX ? 0 : mas.index + 1;
  if (next.value === 0) mt.flags |= MT_FLAGS_ALLOC_WRAPPED;
  masDestroy(mas);
  return ret;
}

/**
 * Allocate an index cyclically: the lowest free index at or after
 * `next.value` within [rangeLo, rangeHi], wrapping around to `rangeLo`; store
 * `entry` there, report it in `startp.value` and advance `next.value`
 * (see {@link masAllocCyclic}). The tree must track gaps.
 * @returns 0, 1 when the allocation wrapped, -EBUSY (range full), -EINVAL (not
 *   an allocation tree, the zero entry, or rangeLo > rangeHi) or -ENOMEM.
 * @remarks Context: takes the tree lock itself.
 * @kernel mtree_alloc_cyclic (lib/maple_tree.c)
 */
export function mtreeAllocCyclic(
  mt: Mtree,
  startp: MtCyclicCell,
  entry: unknown,
  rangeLo: number,
  rangeHi: number,
  next: MtCyclicCell,
  gfp = GFP_KERNEL,
): number {
  checkTreeArg('mtreeAllocCyclic', mt);
  checkCyclicArgs('mtreeAllocCyclic', startp, rangeLo, rangeHi, next, gfp);
  if (!treeIsAlloc(mt)) return -EINVAL;
  if (entry === XA_ZERO_ENTRY) return -EINVAL;
  const took = takeLock(mt);
  const mas = scratchState(mt, 0, 0);
  const ret = masAllocCyclic(mas, startp, entry, rangeLo, rangeHi, next, gfp);
  if (took) mt.lockHeld = false;
  return ret;
}
