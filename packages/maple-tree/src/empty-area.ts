/**
 * DOC: the gap search of lib/maple_tree.c (`mas_empty_area`,
 * `mas_empty_area_rev`, `mas_sparse_area`): the lowest or highest empty range
 * of a size within a window, descending only into children whose recorded
 * largest gap (`maple_arange_64`) can hold it.
 */
import { checkCount, checkIndex } from './check.js';
import { EBUSY, EINVAL } from './errors.js';
import type { MAPLE_GAP_STRIDE, MAPLE_NODE_STRIDE } from './node-store.js';
import { checkMas, checkTree, type MaState, ma_active, ma_none, ma_start, masSetErr, masStart } from './state.js';
import {
  MAPLE_MAX,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_HEIGHT_MASK,
  MT_FLAGS_HEIGHT_OFFSET,
  type Mtree,
  mtHeight,
  mtIsAlloc,
} from './tree.js';

// Module-local copies of the node-store strides and MAPLE_MAX (their types pin
// them to the exported values): an imported binding is a live cell the JIT
// reloads on every use; a local constant folds into the index arithmetic.
const S: typeof MAPLE_NODE_STRIDE = 16;
const GS: typeof MAPLE_GAP_STRIDE = 10;
const MAX = Number.MAX_SAFE_INTEGER; // MAPLE_MAX

/** @kernel mas_sparse_area (lib/maple_tree.c) */
function masSparseArea(mas: MaState, min: number, max: number, size: number, fwd: boolean): number {
  if (mas.status !== ma_none && min === 0) {
    min++;
    if (min > max || max - min + 1 < size) return -EBUSY;
  }
  if (fwd) {
    mas.index = min;
    mas.last = min + size - 1;
  } else {
    mas.last = max;
    mas.index = max - size + 1;
  }
  return 0;
}

// Explicit descent stack of the gap searches (node, next offset, bounds).
const stNode = new Int32Array(34);
const stOff = new Int32Array(34);
const stMin = new Float64Array(34);
const stMax = new Float64Array(34);

/**
 * The gap search proper: a depth-first walk that enters a child only when its
 * recorded largest gap (`maple_arange_64`) can hold `size`, lowest slots first
 * (`rev` false) or highest first. Equivalent to the kernel's
 * `mas_awalk()`/`mas_rev_awalk()` with their ascend/skip/rewind steps, but
 * keeps the path on a stack instead of re-deriving bounds through parents.
 * Leaves `mas` on the leaf slot of the gap. Returns 0 or -EBUSY.
 */
function gapSearch(mas: MaState, min: number, max: number, size: number, rev: boolean): number {
  const mt = mas.tree;
  const st = mt.store;
  const piv = st.pivots;
  const slots = st.slots;
  const gaps = st.gaps;
  const gapIdx = st.gapIdx;
  const hasGaps = mtIsAlloc(mt);
  const leafDepth = mtHeight(mt) - 1;
  let d = 0;
  stNode[0] = mt.root;
  stOff[0] = rev ? piv[mt.root * S + 15]! : 0;
  stMin[0] = 0;
  stMax[0] = MAPLE_MAX;
  for (;;) {
    const n = stNode[d]!;
    const b = n * S;
    const e = piv[n * S + 15]!;
    const nmin = stMin[d]!;
    const nmax = stMax[d]!;
    let o = stOff[d]!;
    let next = -1;
    if (!rev) {
      let lo = o > 0 ? piv[b + o - 1]! + 1 : nmin;
      for (; o <= e; o++) {
        const hi = o < e ? piv[b + o]! : nmax;
        if (hi >= min) {
          if (lo > max) return -EBUSY;
          if (d === leafDepth) {
            if (slots[b + o] === undefined) {
              const s0 = Math.max(lo, min);
              const t0 = Math.min(hi, max);
              if (t0 - s0 + 1 >= size) {
                mas.index = s0;
                mas.last = s0 + size - 1;
                next = o;
                break;
              }
            }
          } else if (!hasGaps || gaps[gapIdx[n]! * GS + o]! >= size) {
            stOff[d] = o + 1;
            d++;
            stNode[d] = slots[b + o] as number;
            stOff[d] = 0;
            stMin[d] = lo;
            stMax[d] = hi;
            next = -2;
            break;
          }
        }
        lo = hi + 1;
      }
    } else {
      for (; o >= 0; o--) {
        const lo = o > 0 ? piv[b + o - 1]! + 1 : nmin;
        if (lo <= max) {
          const hi = o < e ? piv[b + o]! : nmax;
          if (hi < min) return -EBUSY;
          if (lo === 0 && max === MAPLE_MAX) {
            // The kernel's fit test `size <= mas->last - min + 1` wraps to 0
            // in unsigned long arithmetic here, so mas_rev_awalk never takes
            // a slot starting at 0 when the window ends at ULONG_MAX
            // (Linux 7.2 and earlier; found by the differential test).
          } else if (d === leafDepth) {
            if (slots[b + o] === undefined) {
              const s0 = Math.max(lo, min);
              const t0 = Math.min(hi, max);
              if (t0 - s0 + 1 >= size) {
                mas.last = t0;
                mas.index = t0 - size + 1;
                next = o;
                break;
              }
            }
          } else if (!hasGaps || gaps[gapIdx[n]! * GS + o]! >= size) {
            stOff[d] = o - 1;
            d++;
            const c = slots[b + o] as number;
            stNode[d] = c;
            stOff[d] = piv[c * S + 15]!;
            stMin[d] = lo;
            stMax[d] = hi;
            next = -2;
            break;
          }
        }
      }
    }
    if (next >= 0) {
      mas.node = n;
      mas.offset = next;
      mas.min = nmin;
      mas.max = nmax;
      mas.end = e;
      mas.depth = d;
      mas.status = ma_active;
      return 0;
    }
    if (next === -2) continue;
    if (d === 0) return -EBUSY;
    d--;
  }
}

/**
 * The lowest-first gap search (see {@link gapSearch}), kept separate and
 * flat: the bounds of the current node live in locals and only a descent
 * pushes a frame, so the common search (straight down the left edge, then a
 * few leaf slots) touches the stack once per level.
 */
function gapSearchFwd(mas: MaState, min: number, max: number, size: number): number {
  const mt = mas.tree;
  const st = mt.store;
  const piv = st.pivots;
  const slots = st.slots;
  const gaps = st.gaps;
  const gapIdx = st.gapIdx;
  const flags = mt.flags;
  const hasGaps = (flags & MT_FLAGS_ALLOC_RANGE) !== 0;
  const leafDepth = ((flags & MT_FLAGS_HEIGHT_MASK) >>> MT_FLAGS_HEIGHT_OFFSET) - 1;
  const sn = stNode;
  const so = stOff;
  const smin = stMin;
  const smax = stMax;
  let d = 0;
  let n = mt.root;
  let o = 0;
  let nmin = 0;
  let nmax = MAX;
  for (;;) {
    const b = n * S;
    const e = piv[b + 15]!;
    let lo = o > 0 ? piv[b + o - 1]! + 1 : nmin;
    if (d === leafDepth) {
      for (; o <= e; o++) {
        const hi = o < e ? piv[b + o]! : nmax;
        if (hi >= min) {
          if (lo > max) return -EBUSY;
          if (slots[b + o] === undefined) {
            const s0 = Math.max(lo, min);
            const t0 = Math.min(hi, max);
            if (t0 - s0 + 1 >= size) {
              mas.index = s0;
              mas.last = s0 + size - 1;
              mas.node = n;
              mas.offset = o;
              mas.min = nmin;
              mas.max = nmax;
              mas.end = e;
              mas.depth = d;
              mas.status = ma_active;
              return 0;
            }
          }
        }
        lo = hi + 1;
      }
    } else {
      let down = false;
      for (; o <= e; o++) {
        const hi = o < e ? piv[b + o]! : nmax;
        if (hi >= min) {
          if (lo > max) return -EBUSY;
          if (!hasGaps || gaps[gapIdx[n]! * GS + o]! >= size) {
            sn[d] = n;
            so[d] = o + 1;
            smin[d] = nmin;
            smax[d] = nmax;
            d++;
            n = slots[b + o] as number;
            o = 0;
            nmin = lo;
            nmax = hi;
            down = true;
            break;
          }
        }
        lo = hi + 1;
      }
      if (down) continue;
    }
    if (d === 0) return -EBUSY;
    d--;
    n = sn[d]!;
    o = so[d]!;
    nmin = smin[d]!;
    nmax = smax[d]!;
  }
}

/**
 * Whether a gap search can see gaps below the root. Without
 * MT_FLAGS_ALLOC_RANGE internal nodes keep no gaps and the kernel's search
 * only counts NULL slots as gaps; an internal node never has one, so a tree
 * taller than one leaf answers -EBUSY (checked against lib/maple_tree.c 7.2).
 */
function gapsTracked(mt: Mtree): boolean {
  return mtIsAlloc(mt) || mtHeight(mt) <= 1;
}

/** @kernel mas_empty_area (lib/maple_tree.c) */
export function masEmptyArea(mas: MaState, min: number, max: number, size: number): number {
  checkMas('masEmptyArea', mas);
  checkTree(mas.tree, 'masEmptyArea');
  checkIndex('masEmptyArea', 'min', min);
  checkIndex('masEmptyArea', 'max', max);
  checkCount('masEmptyArea', 'size', size);
  if (min > max) return -EINVAL;
  if (size === 0 || max - min < size - 1) return -EINVAL;
  // Departure: a search always starts from the root (callers reset between searches).
  if (mas.tree.root === 0) {
    mas.status = ma_start;
    masStart(mas);
    return masSparseArea(mas, min, max, size, true);
  }
  // gapSearchFwd() sets the whole position on success; on failure the state
  // is left as mas_start() put it, then marked with the error.
  const ret = gapsTracked(mas.tree) ? gapSearchFwd(mas, min, max, size) : -EBUSY;
  if (ret !== 0) {
    mas.status = ma_start;
    masStart(mas);
    masSetErr(mas, ret);
  }
  return ret;
}

/** @kernel mas_empty_area_rev (lib/maple_tree.c) */
export function masEmptyAreaRev(mas: MaState, min: number, max: number, size: number): number {
  checkMas('masEmptyAreaRev', mas);
  checkTree(mas.tree, 'masEmptyAreaRev');
  checkIndex('masEmptyAreaRev', 'min', min);
  checkIndex('masEmptyAreaRev', 'max', max);
  checkCount('masEmptyAreaRev', 'size', size);
  if (min > max) return -EINVAL;
  if (size === 0 || max - min < size - 1) return -EINVAL;
  if (mas.tree.root === 0) {
    mas.status = ma_start;
    masStart(mas);
    return masSparseArea(mas, min, max, size, false);
  }
  // As in masEmptyArea(): the search sets the whole position on success.
  const ret = gapsTracked(mas.tree) ? gapSearch(mas, min, max, size, true) : -EBUSY;
  if (ret !== 0) {
    mas.status = ma_start;
    masStart(mas);
    masSetErr(mas, ret);
  }
  return ret;
}
