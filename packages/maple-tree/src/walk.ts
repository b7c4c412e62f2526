/**
 * DOC: the read path of lib/maple_tree.c: `mtree_range_walk`/`mas_walk`,
 * stepping between slots and nodes (`mas_next_slot`, `mas_prev_slot`,
 * `mas_next_node`, `mas_prev_node`, `mas_ascend`) and the iterators built on
 * them (`mas_find*`, `mas_next*`, `mas_prev*`) with their setup functions. A
 * reader in RCU mode that finds its node dead rewalks from its last position.
 */
import type { MAPLE_NODE_STRIDE } from './node-store.js';
import {
  checkMas,
  checkStep,
  type MaState,
  ma_active,
  ma_error,
  ma_none,
  ma_overflow,
  ma_pause,
  ma_root,
  ma_start,
  ma_underflow,
  masSetRange,
  masStart,
} from './state.js';
import { MAPLE_MAX, treeHeight } from './tree.js';

// Module-local copies of the node-store strides and MAPLE_MAX (their types pin
// them to the exported values): an imported binding is a live cell the JIT
// reloads on every use; a local constant folds into the index arithmetic.
const S: typeof MAPLE_NODE_STRIDE = 16;

/**
 * Descend from the current node to the leaf slot holding `mas.index`.
 * @kernel mtree_range_walk (lib/maple_tree.c)
 */
function mtreeRangeWalk(mas: MaState): unknown {
  const st = mas.tree.store;
  const piv = st.pivots;
  const slots = st.slots;
  const leafDepth = treeHeight(mas.tree) - 1;
  const index = mas.index;
  let n = mas.node;
  if (st.dead[n] === 1) {
    mas.status = ma_start;
    mas.node = 0;
    return undefined;
  }
  let min = mas.min;
  let max = mas.max;
  let d = mas.depth;
  for (;;) {
    const b = n * S;
    const e = piv[n * S + 15]!;
    let o = 0;
    while (o < e && piv[b + o]! < index) o++;
    const smin = o > 0 ? piv[b + o - 1]! + 1 : min;
    const smax = o < e ? piv[b + o]! : max;
    if (d >= leafDepth) {
      mas.node = n;
      mas.min = min;
      mas.max = max;
      mas.offset = o;
      mas.end = e;
      mas.index = smin;
      mas.last = smax;
      mas.depth = d;
      return st.slots[b + o];
    }
    n = slots[b + o] as number;
    min = smin;
    max = smax;
    d++;
  }
}

/** Walk from the cursor's current state to `index` without restarting; the entry there, or undefined. @kernel mas_state_walk (lib/maple_tree.c) */
export function masStateWalk(mas: MaState): unknown {
  const entry = masStart(mas);
  if (mas.status === ma_none) return undefined;
  if (mas.status === ma_root) return entry;
  return mtreeRangeWalk(mas);
}

/** Look up `mas.index` from the root and set `index`/`last` to the range holding it; the entry, or undefined for an empty range. @kernel mas_walk (lib/maple_tree.c) */
export function masWalk(mas: MaState): unknown {
  checkMas('masWalk', mas);
  return masWalkInner(mas);
}

function masWalkInner(mas: MaState): unknown {
  mas.status = ma_start;
  let entry = masStateWalk(mas);
  while (mas.status === ma_start) entry = masStateWalk(mas);
  if (mas.status === ma_none) {
    mas.index = 0;
    mas.last = MAPLE_MAX;
  } else if (mas.status === ma_root) {
    if (mas.index === 0) {
      mas.last = 0;
      return entry;
    }
    mas.index = 1;
    mas.last = MAPLE_MAX;
    mas.status = ma_none;
    return undefined;
  }
  return entry;
}

function masRewalk(mas: MaState, index: number): void {
  do {
    masSetRange(mas, index, index);
    masStateWalk(mas);
  } while (mas.status === ma_start);
}

/**
 * Move up one level, computing the parent's bounds.
 * @kernel mas_ascend (lib/maple_tree.c)
 * @returns 1 when the node is dead (the caller rewalks).
 */
export function masAscend(mas: MaState): number {
  const st = mas.tree.store;
  const n = mas.node;
  const p = st.parent[n]!;
  if (p === 0) {
    mas.offset = 0;
    return 0;
  }
  if (st.dead[n] === 1) return 1;
  const off = st.parentSlot[n]!;
  mas.offset = off;
  mas.node = p;
  mas.depth--;
  const parent = st.parent;
  if (parent[p] === 0) {
    mas.min = 0;
    mas.max = MAPLE_MAX;
    return 0;
  }
  const piv = st.pivots;
  let min = 0;
  let max = MAPLE_MAX;
  let setMin = false;
  let setMax = false;
  if (off === 0) {
    min = mas.min;
    setMin = true;
  }
  if (mas.max === MAPLE_MAX) setMax = true;
  let a = p;
  while (!setMin || !setMax) {
    const ap = parent[a]!;
    if (ap === 0) break;
    const as = st.parentSlot[a]!;
    if (!setMin && as > 0) {
      min = piv[ap * S + as - 1]! + 1;
      setMin = true;
    }
    if (!setMax && as < piv[ap * S + 15]!) {
      max = piv[ap * S + as]!;
      setMax = true;
    }
    a = ap;
  }
  mas.min = min;
  mas.max = max;
  return 0;
}

/**
 * Move to the next node at the same level; `ma_overflow` past `max`.
 * @kernel mas_next_node (lib/maple_tree.c)
 * @returns 1 on a dead node.
 */
function masNextNode(mas: MaState, max: number): number {
  if (mas.max >= max) {
    mas.status = ma_overflow;
    return 0;
  }
  const st = mas.tree.store;
  const piv = st.pivots;
  const slots = st.slots;
  const min = mas.max + 1;
  let n = mas.node;
  // Fast path: the next node is a sibling that is not its parent's last
  // child, so its bounds come from the parent's pivots without ascending
  // further (the usual step of an iteration, ~7 of every 8 leaves).
  const p = st.parent[n]!;
  if (p !== 0 && st.dead[n] === 0 && st.dead[p] === 0) {
    const o = st.parentSlot[n]! + 1;
    if (o < piv[p * S + 15]!) {
      const c = slots[p * S + o] as number;
      mas.offset = o;
      mas.node = c;
      mas.min = min;
      mas.max = piv[p * S + o]!;
      mas.end = piv[c * S + 15]!;
      return 0;
    }
  }
  let level = 0;
  for (;;) {
    if (st.parent[n] === 0) {
      mas.status = ma_overflow;
      return 0;
    }
    if (masAscend(mas) !== 0) return 1;
    level++;
    n = mas.node;
    if (mas.offset < piv[n * S + 15]!) break;
  }
  const o = mas.offset + 1;
  let nmax = o < piv[n * S + 15]! ? piv[n * S + o]! : mas.max;
  let c = slots[n * S + o] as number;
  mas.depth++;
  while (--level > 0) {
    n = c;
    nmax = piv[n * S + 15]! > 0 ? piv[n * S]! : nmax;
    c = slots[n * S] as number;
    mas.depth++;
  }
  mas.node = c;
  mas.min = min;
  mas.max = nmax;
  mas.end = piv[c * S + 15]!;
  return 0;
}

/**
 * Move to the previous node at the same level; `ma_underflow` below `min`.
 * @kernel mas_prev_node (lib/maple_tree.c)
 * @returns 1 on a dead node.
 */
function masPrevNode(mas: MaState, min: number): number {
  if (mas.min === 0 || mas.min - 1 < min) {
    mas.status = ma_underflow;
    return 0;
  }
  const st = mas.tree.store;
  const piv = st.pivots;
  const slots = st.slots;
  const max = mas.min - 1;
  let level = 0;
  let n = mas.node;
  for (;;) {
    if (st.parent[n] === 0) {
      mas.status = ma_underflow;
      return 0;
    }
    if (masAscend(mas) !== 0) return 1;
    level++;
    n = mas.node;
    if (mas.offset > 0) break;
  }
  const o = mas.offset - 1;
  let nmin = o > 0 ? piv[n * S + o - 1]! + 1 : mas.min;
  let c = slots[n * S + o] as number;
  mas.depth++;
  while (--level > 0) {
    n = c;
    const e = piv[n * S + 15]!;
    nmin = e > 0 ? piv[n * S + e - 1]! + 1 : nmin;
    c = slots[n * S + e] as number;
    mas.depth++;
  }
  mas.node = c;
  mas.min = nmin;
  mas.max = max;
  mas.offset = piv[c * S + 15]!;
  mas.end = piv[c * S + 15]!;
  return 0;
}

/**
 * The entry of the next slot, or of the next non-empty one unless `empty`.
 * @kernel mas_next_slot (lib/maple_tree.c)
 */
export function masNextSlot(mas: MaState, max: number, empty: boolean, save = mas.last): unknown {
  const st = mas.tree.store;
  for (;;) {
    // retry
    let n = mas.node;
    if (st.dead[n] === 1) {
      masRewalk(mas, save);
      continue;
    }
    let piv = st.pivots;
    if (mas.max >= max) {
      const pivot = mas.offset < mas.end ? piv[n * S + mas.offset]! : mas.max;
      if (pivot >= max) {
        mas.status = ma_overflow;
        return undefined;
      }
    }
    let dead = false;
    for (;;) {
      if (mas.offset < mas.end) {
        mas.index = piv[n * S + mas.offset]! + 1;
        mas.offset++;
        mas.last = mas.offset < mas.end ? piv[n * S + mas.offset]! : mas.max;
      } else {
        if (mas.last >= max) {
          mas.status = ma_overflow;
          return undefined;
        }
        if (masNextNode(mas, max) !== 0) {
          masRewalk(mas, save);
          dead = true;
          break;
        }
        if (mas.status === ma_overflow) return undefined;
        n = mas.node;
        piv = st.pivots;
        mas.offset = 0;
        mas.index = mas.min;
        mas.last = mas.end > 0 ? piv[n * S]! : mas.max;
      }
      const entry = st.slots[n * S + mas.offset];
      if (entry !== undefined) return entry;
      if (empty) return undefined;
      if (mas.last >= max) {
        mas.status = ma_overflow;
        return undefined;
      }
    }
    if (!dead) return undefined;
  }
}

/**
 * The entry of the previous slot, or of the previous non-empty one unless `empty`.
 * @kernel mas_prev_slot (lib/maple_tree.c)
 */
function masPrevSlot(mas: MaState, min: number, empty: boolean): unknown {
  const st = mas.tree.store;
  const save = mas.index;
  for (;;) {
    let n = mas.node;
    if (st.dead[n] === 1) {
      masRewalk(mas, save);
      continue;
    }
    let piv = st.pivots;
    if (mas.min <= min) {
      const pivot = mas.offset > 0 ? piv[n * S + mas.offset - 1]! + 1 : mas.min;
      if (pivot <= min) {
        mas.status = ma_underflow;
        return undefined;
      }
    }
    let dead = false;
    for (;;) {
      if (mas.offset > 0) {
        mas.offset--;
        mas.last = mas.index - 1;
        mas.index = mas.offset > 0 ? piv[n * S + mas.offset - 1]! + 1 : mas.min;
      } else {
        if (mas.index <= min) {
          mas.status = ma_underflow;
          return undefined;
        }
        if (masPrevNode(mas, min) !== 0) {
          masRewalk(mas, save);
          dead = true;
          break;
        }
        if (mas.status === ma_underflow) return undefined;
        n = mas.node;
        piv = st.pivots;
        mas.last = mas.max;
        mas.index = mas.offset > 0 ? piv[n * S + mas.offset - 1]! + 1 : mas.min;
      }
      const entry = st.slots[n * S + mas.offset];
      if (entry !== undefined) return entry;
      if (empty) return undefined;
      if (mas.index <= min) {
        mas.status = ma_underflow;
        return undefined;
      }
    }
    if (!dead) return undefined;
  }
}

// Setup helpers return `true` when `setupEntry` is the answer.
let setupEntry: unknown;

/** @kernel mas_next_setup (lib/maple_tree.c) */
/**
 * Departure: an overflow/underflow state with no live node (it never reached
 * one, or the tree lost its last node under it, e.g. `mas_erase` emptying it)
 * restarts from the root. The kernel turns such a state active and walks the
 * NULL or freed node (Linux 7.2: a NULL dereference or a use-after-free).
 */
function masRestartIfNodeless(mas: MaState): void {
  if ((mas.status === ma_underflow || mas.status === ma_overflow) && (mas.node === 0 || mas.tree.root === 0))
    mas.status = ma_start;
}

function masNextSetup(mas: MaState, max: number): boolean {
  masRestartIfNodeless(mas);
  const wasNone = mas.status === ma_none;
  setupEntry = undefined;
  if (mas.last >= max) {
    mas.status = ma_overflow;
    return true;
  }
  switch (mas.status) {
    case ma_active:
      return false;
    case ma_none:
    case ma_pause:
      mas.status = ma_start;
      masWalkInner(mas);
      break;
    case ma_start:
      masWalkInner(mas);
      break;
    case ma_overflow:
      mas.status = ma_active;
      break;
    case ma_underflow:
      mas.status = ma_active;
      setupEntry = masWalkInner(mas);
      if (setupEntry !== undefined) return true;
      break;
    case ma_root:
      break;
    case ma_error:
      return true;
  }
  if (mas.status === ma_active) return false;
  if (mas.status === ma_root) {
    setupEntry = undefined;
    if (wasNone && mas.index === 0) {
      mas.index = 0;
      mas.last = 0;
      return true;
    }
    mas.index = 1;
    mas.last = MAPLE_MAX;
    mas.status = ma_none;
    return true;
  }
  return mas.status === ma_none;
}

/** The next entry after the cursor's range, up to `max`; undefined when there is none. @kernel mas_next (lib/maple_tree.c) */
export function masNext(mas: MaState, max: number): unknown {
  checkStep('masNext', mas, 'max', max);
  if (masNextSetup(mas, max)) return setupEntry;
  return masNextSlot(mas, max, false);
}

/** The next range after the cursor's, empty or not, up to `max`; its entry or undefined. @kernel mas_next_range (lib/maple_tree.c) */
export function masNextRange(mas: MaState, max: number): unknown {
  checkStep('masNextRange', mas, 'max', max);
  if (masNextSetup(mas, max)) return setupEntry;
  return masNextSlot(mas, max, true);
}

/** @kernel mas_prev_setup (lib/maple_tree.c) */
function masPrevSetup(mas: MaState, min: number): boolean {
  masRestartIfNodeless(mas);
  setupEntry = undefined;
  if (mas.index <= min) {
    mas.status = ma_underflow;
    return true;
  }
  switch (mas.status) {
    case ma_active:
      return false;
    case ma_start:
      break;
    case ma_none:
    case ma_pause:
      mas.status = ma_start;
      break;
    case ma_underflow:
      mas.status = ma_active;
      break;
    case ma_overflow:
      mas.status = ma_active;
      setupEntry = masWalkInner(mas);
      if (setupEntry !== undefined) return true;
      break;
    case ma_root:
      break;
    case ma_error:
      return true;
  }
  if (mas.status === ma_start) masWalkInner(mas);
  if (mas.status === ma_root) {
    if (mas.index === 0) {
      mas.status = ma_none;
      return true;
    }
    mas.index = 0;
    mas.last = 0;
    setupEntry = mas.tree.rootEntry;
    return true;
  }
  if (mas.status === ma_none) {
    if (mas.index !== 0) {
      mas.index = 0;
      mas.last = 0;
      mas.status = ma_root;
      setupEntry = mas.tree.rootEntry;
      return true;
    }
    return true;
  }
  return false;
}

/** The previous entry before the cursor's range, down to `min`; undefined when there is none. @kernel mas_prev (lib/maple_tree.c) */
export function masPrev(mas: MaState, min: number): unknown {
  checkStep('masPrev', mas, 'min', min);
  if (masPrevSetup(mas, min)) return setupEntry;
  return masPrevSlot(mas, min, false);
}

/** The previous range before the cursor's, empty or not, down to `min`; its entry or undefined. @kernel mas_prev_range (lib/maple_tree.c) */
export function masPrevRange(mas: MaState, min: number): unknown {
  checkStep('masPrevRange', mas, 'min', min);
  if (masPrevSetup(mas, min)) return setupEntry;
  return masPrevSlot(mas, min, true);
}

/** @kernel mas_find_setup (lib/maple_tree.c) */
function masFindSetup(mas: MaState, max: number): boolean {
  masRestartIfNodeless(mas);
  setupEntry = undefined;
  switch (mas.status) {
    case ma_active:
      return mas.last >= max;
    case ma_start:
      break;
    case ma_pause:
      if (mas.last >= max) return true;
      mas.last++;
      mas.index = mas.last;
      mas.status = ma_start;
      break;
    case ma_none:
      if (mas.last >= max) return true;
      mas.index = mas.last;
      mas.status = ma_start;
      break;
    case ma_underflow:
      if (mas.index >= max) {
        mas.status = ma_overflow;
        return true;
      }
      mas.status = ma_active;
      setupEntry = masWalkInner(mas);
      if (setupEntry !== undefined) return true;
      break;
    case ma_overflow:
      if (mas.last >= max) return true;
      mas.status = ma_active;
      setupEntry = masWalkInner(mas);
      if (setupEntry !== undefined) return true;
      break;
    case ma_root:
      break;
    case ma_error:
      return true;
  }
  if (mas.status === ma_start) {
    if (mas.index > max) return true;
    setupEntry = masWalkInner(mas);
    if (setupEntry !== undefined) return true;
  }
  if (mas.status === ma_root) {
    mas.status = ma_none;
    mas.index = 1;
    mas.last = MAPLE_MAX;
    setupEntry = undefined;
    return true;
  }
  if (mas.status === ma_none) return true;
  return mas.index === max;
}

/** Returned by {@link masFindStep} when the general path must take over. */
const MAS_FIND_SLOW: object = Object.freeze({});

/**
 * The common step of mas_for_each(): the next entry of this leaf, or of the
 * following leaves while each is a sibling under the same parent (not its
 * last child) and ends below `max`, so no overflow and no ascent can happen.
 * Leaves the state exactly where mas_next_slot() would; returns
 * {@link MAS_FIND_SLOW} (state consistent, nothing skipped) for every other
 * case: dead nodes, ascending, reaching `max`.
 */
function masFindStep(mas: MaState, max: number): unknown {
  const st = mas.tree.store;
  const piv = st.pivots;
  const slots = st.slots;
  const dead = st.dead;
  let n = mas.node;
  let nmax = mas.max;
  if (dead[n] !== 0 || nmax >= max) return MAS_FIND_SLOW;
  let b = n * S;
  let e = mas.end;
  let o = mas.offset;
  for (;;) {
    while (o < e) {
      const index = piv[b + o]! + 1;
      o++;
      const entry = slots[b + o];
      if (entry !== undefined) {
        mas.index = index;
        mas.last = o < e ? piv[b + o]! : nmax;
        mas.offset = o;
        return entry;
      }
    }
    const p = st.parent[n]!;
    const ps = st.parentSlot[n]! + 1;
    const c = p === 0 ? 0 : (slots[p * S + ps] as number);
    if (p === 0 || dead[p] !== 0 || ps >= piv[p * S + 15]! || dead[c] !== 0) {
      mas.index = e > 0 ? piv[b + e - 1]! + 1 : mas.min;
      mas.last = nmax;
      mas.offset = e;
      return MAS_FIND_SLOW;
    }
    const min = nmax + 1;
    n = c;
    nmax = piv[p * S + ps]!;
    b = n * S;
    e = piv[b + 15]!;
    mas.node = n;
    mas.min = min;
    mas.max = nmax;
    mas.end = e;
    mas.offset = 0;
    mas.index = min;
    mas.last = e > 0 ? piv[b]! : nmax;
    const entry = slots[b];
    if (entry !== undefined) return entry;
    if (nmax >= max) return MAS_FIND_SLOW;
    o = 0;
  }
}

/** The first entry at or after `index` on the first call, the next one on later calls, up to `max`; undefined when done. @kernel mas_find (lib/maple_tree.c) */
export function masFind(mas: MaState, max: number): unknown {
  checkStep('masFind', mas, 'max', max);
  if (mas.status === ma_active && mas.last < max) {
    const save = mas.last;
    const entry = masFindStep(mas, max);
    if (entry !== MAS_FIND_SLOW) return entry;
    // Go on from where the step stopped, rewalking from the original range
    // end if a node turns out dead (mas_next_slot()'s save point).
    const next = masNextSlot(mas, max, false, save);
    mas.status = ma_active;
    return next;
  }
  if (masFindSetup(mas, max)) return setupEntry;
  const entry = masNextSlot(mas, max, false);
  mas.status = ma_active;
  return entry;
}

/** As {@link masFind}, but stopping at empty ranges too. @kernel mas_find_range (lib/maple_tree.c) */
export function masFindRange(mas: MaState, max: number): unknown {
  checkStep('masFindRange', mas, 'max', max);
  if (masFindSetup(mas, max)) return setupEntry;
  return masNextSlot(mas, max, true);
}

/** @kernel mas_find_rev_setup (lib/maple_tree.c) */
function masFindRevSetup(mas: MaState, min: number): boolean {
  masRestartIfNodeless(mas);
  setupEntry = undefined;
  switch (mas.status) {
    case ma_active:
      return mas.index < min;
    case ma_start:
      break;
    case ma_pause:
      if (mas.index <= min) {
        mas.status = ma_underflow;
        return true;
      }
      mas.index--;
      mas.last = mas.index;
      mas.status = ma_start;
      break;
    case ma_none:
      if (mas.index <= min) {
        mas.status = ma_none;
        return true;
      }
      mas.last = mas.index;
      mas.status = ma_start;
      break;
    case ma_overflow:
      if (mas.index <= min) {
        mas.status = ma_underflow;
        return true;
      }
      mas.status = ma_active;
      break;
    case ma_underflow:
      if (mas.index <= min) return true;
      mas.status = ma_active;
      break;
    case ma_root:
      break;
    case ma_error:
      return true;
  }
  if (mas.status === ma_start) {
    if (mas.index < min) return true;
    setupEntry = masWalkInner(mas);
    if (setupEntry !== undefined) return true;
  }
  if (mas.status === ma_root) {
    mas.status = ma_none;
    return true;
  }
  if (mas.status === ma_none) {
    mas.last = 0;
    mas.index = 0;
    mas.status = ma_root;
    setupEntry = mas.tree.rootEntry;
    return true;
  }
  return mas.index < min;
}

/** The first entry at or below `index` on the first call, the previous one on later calls, down to `min`; undefined when done. @kernel mas_find_rev (lib/maple_tree.c) */
export function masFindRev(mas: MaState, min: number): unknown {
  checkStep('masFindRev', mas, 'min', min);
  if (masFindRevSetup(mas, min)) return setupEntry;
  return masPrevSlot(mas, min, false);
}

/** As {@link masFindRev}, but stopping at empty ranges too. @kernel mas_find_range_rev (lib/maple_tree.c) */
export function masFindRangeRev(mas: MaState, min: number): unknown {
  checkStep('masFindRangeRev', mas, 'min', min);
  if (masFindRevSetup(mas, min)) return setupEntry;
  return masPrevSlot(mas, min, true);
}
