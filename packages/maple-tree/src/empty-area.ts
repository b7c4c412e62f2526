/**
 * DOC: the gap search of lib/maple_tree.c (`mas_empty_area`,
 * `mas_empty_area_rev`, `mas_sparse_area`): the lowest or highest empty range
 * of a size within a window, descending only into children whose recorded
 * largest gap (`maple_arange_64`) can hold it.
 *
 * A search on a state at the start runs from the root with an explicit stack
 * (the same answers as the kernel's walk, checked by the differential test).
 * A search on an active state continues from where the state is, as the
 * kernel does: `mas_empty_area` steps two slots back (or to the next node,
 * `mas_skip_node`) and walks forward with `mas_awalk`/`mas_anode_descend`;
 * `mas_empty_area_rev` steps back (`mas_rewind_node`) and walks with
 * `mas_rev_awalk`. Those are ported line for line.
 */
import { checkCount, checkIndex, isIndex } from './check.js';
import { EBUSY, EINVAL } from './errors.js';
import { type MAPLE_GAP_STRIDE, type MAPLE_NODE_STRIDE, maple_arange_64, maple_leaf_64 } from './node-store.js';
import {
  checkMas,
  checkTree,
  type MaState,
  ma_active,
  ma_error,
  ma_none,
  ma_root,
  ma_start,
  masSetErr,
  masStart,
} from './state.js';
import {
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_HEIGHT_MASK,
  MT_FLAGS_HEIGHT_OFFSET,
  type Mtree,
  treeHeight,
  treeIsAlloc,
} from './tree.js';
import { masAscend } from './walk.js';

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
 * The lowest-first gap search from the root: a depth-first walk that enters
 * a child only when its recorded largest gap (`maple_arange_64`) can hold
 * `size`, equivalent to `mas_awalk()` from the start (checked by the
 * differential test), kept flat: the bounds of the current node live in locals and only a descent
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
            // ulongSpan: [0, ULONG_MAX] sizes 0 in the kernel's arithmetic.
            if (ulongSpan(t0, s0) >= size) {
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
      const gb = gapIdx[n]! * GS;
      for (; o <= e; o++) {
        const hi = o < e ? piv[b + o]! : nmax;
        if (hi >= min) {
          if (lo > max) return -EBUSY;
          if (!hasGaps || gaps[gb + o]! >= size) {
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
  return treeIsAlloc(mt) || treeHeight(mt) <= 1;
}

/**
 * Whether a search on `mas` continues from its position (the kernel's
 * behaviour for any state not at `ma_start`). A state that points at no live
 * node (paused, overflow/underflow, or a node that died in RCU mode) is
 * searched from the root instead: the kernel would walk a NULL or stale node.
 */
function masContinues(mas: MaState): boolean {
  const s = mas.status;
  if (s === ma_error) return true;
  if (s === ma_none || s === ma_root) return mas.offset >= 2;
  if (s !== ma_active) return false;
  const n = mas.node;
  return n !== 0 && mas.tree.root !== 0 && mas.tree.store.dead[n] === 0;
}

/** True when `n` is the root (its parent is the tree). @kernel mte_is_root (lib/maple_tree.c) */
function isRoot(mas: MaState): boolean {
  return mas.tree.store.parent[mas.node] === 0;
}

/** Data end of the state's node. @kernel mas_data_end (lib/maple_tree.c) */
function masDataEnd(mas: MaState): number {
  return mas.tree.store.pivots[mas.node * S + 15]!;
}

/**
 * `hi - lo + 1` as `unsigned long` arithmetic gives it: a negative difference
 * wraps to a huge number (here +Infinity) and [0, ULONG_MAX] wraps to 0. The
 * kernel's gap walks compute sizes this way, and a walk that continues from a
 * position outside the window depends on it.
 */
function ulongSpan(hi: number, lo: number): number {
  if (hi === MAX && lo === 0) return 0;
  const d = hi - lo + 1;
  return d < 0 ? Number.POSITIVE_INFINITY : d;
}

/** `a + b` in `unsigned long` arithmetic over [0, MAPLE_MAX] (wraps past the top). */
function ulongAdd(a: number, b: number): number {
  return b > MAX - a ? b - (MAX - a) - 1 : a + b;
}

/** `a - b` in `unsigned long` arithmetic over [0, MAPLE_MAX] (wraps below 0). */
function ulongSub(a: number, b: number): number {
  return b > a ? MAX - (b - a) + 1 : a - b;
}

/** Lowest index slot `offset` covers: one past the previous pivot, or the node minimum for slot 0. @kernel mas_safe_min (lib/maple_tree.c) */
function safeMin(piv: Float64Array, b: number, mas: MaState, offset: number): number {
  return offset > 0 ? piv[b + offset - 1]! + 1 : mas.min;
}

/** Highest index slot `offset` covers: its pivot, or the node maximum past the last pivot. @kernel mas_safe_pivot (lib/maple_tree.c) */
function safePivot(piv: Float64Array, b: number, mas: MaState, offset: number): number {
  return offset < 15 ? piv[b + offset]! : mas.max;
}

/**
 * Move to the next slot, ascending while the node is used up; false (and
 * -EBUSY in the state) past the end of the tree.
 * @kernel mas_skip_node (lib/maple_tree.c)
 */
function masSkipNode(mas: MaState): boolean {
  if (mas.status === ma_error) return false;
  do {
    if (isRoot(mas)) {
      if (mas.offset >= masDataEnd(mas)) {
        masSetErr(mas, -EBUSY);
        return false;
      }
    } else masAscend(mas);
  } while (mas.offset >= masDataEnd(mas));
  mas.offset++;
  return true;
}

/**
 * Move to the previous slot, ascending while at a node's first slot; false
 * at the start of the tree.
 * @kernel mas_rewind_node (lib/maple_tree.c)
 */
function masRewindNode(mas: MaState): boolean {
  let slot: number;
  do {
    if (isRoot(mas)) {
      slot = mas.offset;
      if (slot === 0) return false;
    } else {
      masAscend(mas);
      slot = mas.offset;
    }
  } while (slot === 0);
  mas.offset = slot - 1;
  return true;
}

/**
 * From the state's offset, descend into the first child whose gap fits, or
 * find the first fitting NULL slot of a leaf (true).
 * @kernel mas_anode_descend (lib/maple_tree.c)
 */
function masAnodeDescend(mas: MaState, size: number): boolean {
  const st = mas.tree.store;
  const piv = st.pivots;
  const n = mas.node;
  const b = n * S;
  const type = st.type[n]!;
  const leaf = type === maple_leaf_64;
  const gb = type === maple_arange_64 ? st.gapIdx[n]! * GS : -1;
  let offset = mas.offset;
  let min = safeMin(piv, b, mas, offset);
  const dataEnd = piv[b + 15]!;
  let found = false;
  for (; offset <= dataEnd; offset++) {
    const pivot = safePivot(piv, b, mas, offset);
    if (mas.index <= pivot) {
      let gap = -1;
      if (gb >= 0) gap = st.gaps[gb + offset]!;
      else if (st.slots[b + offset] === undefined) gap = ulongSpan(Math.min(pivot, mas.last), Math.max(mas.index, min));
      if (gap >= 0 && gap >= size) {
        if (leaf) {
          found = true;
          break;
        }
        mas.node = st.slots[b + offset] as number;
        mas.min = min;
        mas.max = pivot;
        mas.depth++;
        offset = 0;
        break;
      }
    }
    min = pivot + 1;
    if (mas.last <= pivot) {
      masSetErr(mas, -EBUSY);
      return true;
    }
  }
  mas.offset = offset;
  return found;
}

/** @kernel mas_awalk (lib/maple_tree.c) */
function masAwalk(mas: MaState, size: number): void {
  let last = -1;
  while (mas.status !== ma_error && !masAnodeDescend(mas, size)) {
    if (last === mas.node) masSkipNode(mas);
    else last = mas.node;
  }
}

/** The gap `mas_rev_awalk` found in a leaf: [REV_GAP[0], REV_GAP[1]]. */
const REV_GAP = new Float64Array(2);

/**
 * From the state's offset down to 0, descend into the last child whose gap
 * fits, or find the last fitting NULL slot of a leaf (true).
 * @kernel mas_rev_awalk (lib/maple_tree.c)
 */
function masRevAwalk(mas: MaState, size: number): boolean {
  if (mas.status === ma_error) return true;
  const st = mas.tree.store;
  const piv = st.pivots;
  const n = mas.node;
  const b = n * S;
  const type = st.type[n]!;
  const leaf = type === maple_leaf_64;
  const gb = type === maple_arange_64 ? st.gapIdx[n]! * GS : -1;
  let offset = mas.offset;
  let min = safeMin(piv, b, mas, offset);
  while (mas.last < min && offset > 0) min = safeMin(piv, b, mas, --offset);
  let max = safePivot(piv, b, mas, offset);
  let gap = 0;
  let ascend = false;
  for (;;) {
    if (!(mas.index <= max)) break;
    gap = 0;
    if (gb >= 0) gap = st.gaps[gb + offset]!;
    else if (st.slots[b + offset] === undefined) gap = ulongSpan(max, min);
    if (gap !== 0) {
      // `size <= mas->last - min + 1` wraps to 0 in unsigned long arithmetic
      // for the window [0, ULONG_MAX] and a slot starting at 0.
      if (size <= gap && size <= ulongSpan(mas.last, min)) break;
      if (gb < 0) {
        // Skip the next slot, it cannot be a gap.
        if (offset < 2) {
          ascend = true;
          break;
        }
        offset -= 2;
        max = piv[b + offset]!;
        min = safeMin(piv, b, mas, offset);
        continue;
      }
    }
    if (offset === 0) {
      ascend = true;
      break;
    }
    offset--;
    max = min - 1;
    min = safeMin(piv, b, mas, offset);
  }
  if (ascend) {
    if (!isRoot(mas)) return false;
  } else if (!(mas.index > max || size - 1 > max - mas.index)) {
    if (leaf) {
      mas.offset = offset;
      REV_GAP[0] = min;
      REV_GAP[1] = ulongAdd(min, gap - 1);
      return true;
    }
    const c = st.slots[b + offset] as number;
    mas.node = c;
    mas.min = min;
    mas.max = max;
    mas.depth++;
    mas.offset = piv[c * S + 15]!;
    return false;
  }
  masSetErr(mas, -EBUSY);
  return false;
}

/** `mas_empty_area()` on a state that is not at the start. */
function emptyAreaContinue(mas: MaState, min: number, max: number, size: number): number {
  if (mas.offset >= 2) mas.offset -= 2;
  else if (!masSkipNode(mas)) return -EBUSY;
  if (mas.status === ma_none || mas.status === ma_root) return masSparseArea(mas, min, max, size, true);
  mas.index = min;
  mas.last = max;
  masAwalk(mas, size);
  if (mas.status === ma_error) return mas.error;
  const st = mas.tree.store;
  const b = mas.node * S;
  const slotMin = safeMin(st.pivots, b, mas, mas.offset);
  if (mas.index < slotMin) mas.index = slotMin;
  mas.last = ulongAdd(mas.index, size - 1);
  mas.end = st.pivots[b + 15]!;
  return 0;
}

/**
 * `mas_empty_area_rev()` proper, from the start (`fromStart`: `mas_start()`
 * first) or continuing from the state's position.
 */
function emptyAreaRevWalk(mas: MaState, min: number, max: number, size: number, fromStart: boolean): number {
  let last = fromStart ? 0 : mas.node;
  if (fromStart) {
    mas.status = ma_start;
    masStart(mas);
  } else if (mas.offset < 2 && mas.status !== ma_error && !masRewindNode(mas)) return -EBUSY;
  if (mas.status === ma_none || mas.status === ma_root) return masSparseArea(mas, min, max, size, false);
  if (mas.offset >= 2) mas.offset -= 2;
  else mas.offset = masDataEnd(mas);
  mas.index = min;
  mas.last = max;
  while (!masRevAwalk(mas, size)) {
    if (last === mas.node) {
      if (!masRewindNode(mas)) return -EBUSY;
    } else last = mas.node;
  }
  if (mas.status === ma_error) return mas.error;
  const gapMax = REV_GAP[1]!;
  if (gapMax < mas.last) mas.last = gapMax;
  mas.index = ulongSub(mas.last, size - 1);
  mas.end = masDataEnd(mas);
  return 0;
}

/** The checks of the gap searches, naming the bad argument (the slow path). */
function checkAreaArgs(fn: string, mas: MaState, min: number, max: number, size: number): void {
  checkMas(fn, mas);
  checkTree(mas.tree, fn);
  checkIndex(fn, 'min', min);
  checkIndex(fn, 'max', max);
  checkCount(fn, 'size', size);
}

/** Find the lowest gap of at least `size` indices within [min, max]; on success `index` is where it starts. 0, -EBUSY when there is none, -EINVAL for a bad range. @kernel mas_empty_area (lib/maple_tree.c) */
export function masEmptyArea(mas: MaState, min: number, max: number, size: number): number {
  if (
    mas?.tree?.destroyed !== false ||
    !isIndex(min) ||
    !isIndex(max) ||
    !isIndex(size) ||
    !isIndex(mas.index) ||
    !isIndex(mas.last)
  )
    checkAreaArgs('masEmptyArea', mas, min, max, size);
  if (min > max) return -EINVAL;
  if (size === 0 || max - min < size - 1) return -EINVAL;
  if (mas.status !== ma_start && masContinues(mas)) return emptyAreaContinue(mas, min, max, size);
  if (mas.tree.root === 0) {
    mas.status = ma_start;
    masStart(mas);
    return masSparseArea(mas, min, max, size, true);
  }
  // gapSearchFwd() sets the whole position on success; on failure the state
  // is left as mas_start() put it, then marked with the error.
  const ret = gapsTracked(mas.tree) ? gapSearchFwd(mas, min, max, size) : -EBUSY;
  if (ret !== 0) {
    // As the kernel leaves it: the window in index/last, the error set.
    mas.status = ma_start;
    masStart(mas);
    mas.index = min;
    mas.last = max;
    masSetErr(mas, ret);
  }
  return ret;
}

/** Find the highest gap of at least `size` indices within [min, max]; on success `last` is where it ends. 0, -EBUSY when there is none, -EINVAL for a bad range. @kernel mas_empty_area_rev (lib/maple_tree.c) */
export function masEmptyAreaRev(mas: MaState, min: number, max: number, size: number): number {
  if (
    mas?.tree?.destroyed !== false ||
    !isIndex(min) ||
    !isIndex(max) ||
    !isIndex(size) ||
    !isIndex(mas.index) ||
    !isIndex(mas.last)
  )
    checkAreaArgs('masEmptyAreaRev', mas, min, max, size);
  if (min > max) return -EINVAL;
  if (size === 0 || max - min < size - 1) return -EINVAL;
  // A node that lies above the window: the kernel's mas_rev_awalk() steps
  // its offset below 0 there (an out-of-bounds read, Linux 7.2); search from
  // the root instead.
  const cont = mas.status !== ma_start && masContinues(mas) && !(mas.status === ma_active && mas.min > max);
  return emptyAreaRevWalk(mas, min, max, size, !cont);
}
