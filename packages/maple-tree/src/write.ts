/**
 * DOC: the write side of the maple tree (lib/maple_tree.c, "mas_wr_*").
 *
 * A store walks down from the root (`mas_wr_walk`), noting the vacant height
 * (the deepest internal node with room for one more slot) and the sufficient
 * height (the deepest internal node that can lose a slot and stay above its
 * minimum occupancy), stops at the leaf or where the range spans more than one
 * child, and picks the store type as `mas_wr_store_type()` does. The
 * preallocation worst case (`mas_prealloc_calc()`) follows from the type and
 * those heights. Exact fits, appends and slot stores change the leaf in place;
 * node stores rewrite it (in place without RCU, into a new leaf with RCU);
 * splits, rebalances and spanning stores take Linux 7.2's `maple_copy` path:
 * level by level from the leaves up, the new data of a level (up to three
 * slots) is combined with what is left of the node(s) it replaces and written
 * to one, two or three new nodes, until a level converges.
 *
 * Context: all writers hold the tree lock. Module scratch state makes the write
 * path allocation-free; it is not re-entrant (allocator callbacks must not
 * write to a maple tree).
 */
import { MapleTreeError } from './errors.js';
import {
  GFP_NOWAIT,
  type maple_arange_64 as MAPLE_ARANGE_64,
  type MAPLE_GAP_STRIDE,
  type maple_leaf_64 as MAPLE_LEAF_64,
  type MAPLE_NODE_STRIDE,
  type maple_range_64 as MAPLE_RANGE_64,
  mtMinSlots,
  mtSlots,
} from './node-store.js';
import {
  type MAPLE_MAX as MAPLE_MAX_EXPORTED,
  type Mtree,
  mtSetHeight,
  treeHeight,
  treeInRcu,
  treeIsAlloc,
} from './tree.js';

// Module-local copies of the node-store strides (typed to the exported
// values): an imported binding is a live cell the JIT reloads on every use.
const S: typeof MAPLE_NODE_STRIDE = 16;
const GS: typeof MAPLE_GAP_STRIDE = 10;
const MAPLE_MAX: typeof MAPLE_MAX_EXPORTED = Number.MAX_SAFE_INTEGER;
const maple_leaf_64: typeof MAPLE_LEAF_64 = 1;
const maple_range_64: typeof MAPLE_RANGE_64 = 2;
const maple_arange_64: typeof MAPLE_ARANGE_64 = 3;

/** `enum store_type`: not determined. */
export const wr_invalid = 0;
/** Replace the whole tree by one entry (or nothing). */
export const wr_new_root = 1;
/** Store into an empty tree or one holding a direct root entry. */
export const wr_store_root = 2;
/** The range matches one slot exactly: overwrite the slot. */
export const wr_exact_fit = 3;
/** The range crosses node boundaries. */
export const wr_spanning_store = 4;
/** The leaf overflows and splits. */
export const wr_split_store = 5;
/** The leaf falls below its minimum and merges with a sibling. */
export const wr_rebalance = 6;
/** New slots at the end of the leaf, in place. */
export const wr_append = 7;
/** Rewrite the leaf. */
export const wr_node_store = 8;
/** Move one pivot and write one slot, in place. */
export const wr_slot_store = 9;

/** Names of the store types, indexed by the `wr_*` constants. */
export const STORE_TYPE_NAMES: readonly string[] = [
  'wr_invalid',
  'wr_new_root',
  'wr_store_root',
  'wr_exact_fit',
  'wr_spanning_store',
  'wr_split_store',
  'wr_rebalance',
  'wr_append',
  'wr_node_store',
  'wr_slot_store',
];

/**
 * How often node stores kept the leaf's largest gap without rescanning the
 * leaf (tests check that their properties reach that path).
 */
export const wrFastPathCounts = { nodeStoreGapKept: 0 };

/**
 * `mas_flags`: bulk insert mode (`mas_expected_entries`). Linux 7.2 has no
 * bulk mode any more: here it only marks the preallocation; the stores take
 * the normal write path.
 */
export const MA_STATE_BULK = 1;
/** `mas_flags`: the last leaf of a bulk insert may need rebalancing (never set: 7.2 rebalances as it stores). */
export const MA_STATE_REBALANCE = 2;
/** `mas_flags`: nodes were preallocated for the next store. */
export const MA_STATE_PREALLOC = 4;

/** The part of `struct ma_state` the write path reads and updates. */
export interface WriteState {
  tree: Mtree;
  index: number;
  last: number;
  masFlags: number;
  /** The sheaf of preallocated nodes, or null. */
  sheaf: import('./node-store.js').MapleNodeSheaf | null;
  /** Nodes this state's writes freed (no RCU): reused before the sheaf, freed by `destroy` (`mas_push_node`). */
  reuse: number[];
}

const LEVELS = 34;
/** Left path: node, offset, node min, node max per depth (root depth 0). */
const lNode = new Int32Array(LEVELS);
const lOff = new Int32Array(LEVELS);
const lMin = new Float64Array(LEVELS);
const lMax = new Float64Array(LEVELS);
/** Right path (differs from the left one below a spanning store's node). */
const rNode = new Int32Array(LEVELS);
const rOff = new Int32Array(LEVELS);
const rMin = new Float64Array(LEVELS);
const rMax = new Float64Array(LEVELS);

// Doubles handed between hot functions through a typed array: a double
// argument or return value of a call V8 does not inline is boxed (a heap
// allocation per call); a Float64Array slot is not.
const DB = new Float64Array(8);

/** Results of the last {@link masWrStoreType} walk. */
export const wr = {
  /** Depth of the leaf, or of the node where a spanning store was detected. */
  depth: 0,
  /** Depth of the leaves. */
  leafDepth: 0,
  /** Height (depth + 1) of the deepest internal node with a free slot; 0 = none. */
  vacantHeight: 0,
  /** Height of the deepest internal node that stays sufficient after losing a slot; 0 = none. */
  sufficientHeight: 0,
  /** Internal levels the write walk passed (their ends give the two heights, computed lazily). */
  top: 0,
  /** Leaf offset of `index`. */
  offset: 0,
  /** Leaf offset of `last`. */
  offsetEnd: 0,
  /** Range of the slot at `offset`. */
  rMin: 0,
  rMax: 0,
  /** Upper bound of the slot at `offsetEnd`. */
  endPiv: 0,
  /** Leaf data end and the end after the store. */
  end: 0,
  newEnd: 0,
  /** The entry at `index` before the store (`wr_mas->content`). */
  content: undefined as unknown,
};

// The last write walk's path stays valid while its tree's `gen` is unchanged
// (only in-place leaf writes happened since): a write inside the same leaf
// then skips the walk from the root (the churn of a VMA: erase, then store
// at the same address).
let pathTree: Mtree | null = null;
let pathGen = -1;

/** Forget the cached path (tests, and trees that are re-initialised). */
export function mtForgetPath(): void {
  pathTree = null;
}

/** Nodes handed to RCU at the end of the current write. */
let rcuPending: number[] = [];
/** The reuse list of the state whose write is running. */
let curReuse: number[] = [];

// The node arrays, bound at the start of every write and after each allocation
// (the store grows by replacing its arrays).
let P: Float64Array = new Float64Array(0);
let G: Float64Array = new Float64Array(0);
let GI: Int32Array = new Int32Array(0);
let SL: unknown[] = [];
let GO: Uint8Array = new Uint8Array(0);
let TY: Uint8Array = new Uint8Array(0);
let PA: Int32Array = new Int32Array(0);
let PS: Uint8Array = new Uint8Array(0);
let DE: Uint8Array = new Uint8Array(0);

function bind(mt: Mtree): void {
  const st = mt.store;
  P = st.pivots;
  G = st.gaps;
  GI = st.gapIdx;
  SL = st.slots;
  GO = st.gapOffset;
  TY = st.type;
  PA = st.parent;
  PS = st.parentSlot;
  DE = st.dead;
}

function internalType(mt: Mtree): number {
  return treeIsAlloc(mt) ? maple_arange_64 : maple_range_64;
}

/**
 * Walk down for a write of `entry` over [mas.index, mas.last] and return the
 * store type. Applies the NULL extension (a NULL store grows over the NULL
 * ranges it touches) to `mas.index` / `mas.last`.
 * @kernel mas_wr_store_type (lib/maple_tree.c)
 */
export function masWrStoreType(mas: WriteState, entry: unknown): number {
  const mt = mas.tree;
  wr.vacantHeight = 0;
  wr.sufficientHeight = 0;
  if (mt.root === 0) {
    wr.content = mas.index === 0 ? mt.rootEntry : undefined;
    return wr_store_root;
  }
  const st = mt.store;
  const piv = st.pivots;
  const slots = st.slots;
  const index = mas.index;
  const last = mas.last;
  const leafDepth = treeHeight(mt) - 1;
  wr.leafDepth = leafDepth;
  if (pathTree === mt && pathGen === mt.gen) {
    const lmax = lMax[leafDepth]!;
    if (index >= lMin[leafDepth]! && last <= lmax && !(last === lmax && entry === undefined && lmax !== MAPLE_MAX)) {
      // Inside the leaf of the last walk: no level above can see a span.
      const ln = lNode[leafDepth]!;
      const b = ln * S;
      let o = 0;
      while (o < 15 && piv[b + o]! < index) o++;
      lOff[leafDepth] = o;
      wr.top = leafDepth;
      return leafStoreType(mas, entry, leafDepth, ln);
    }
  }
  pathTree = null;
  const gaps = st.gaps;
  const gapIdx = st.gapIdx;
  const gapOff = st.gapOffset;
  let touch = 0;
  let n = mt.root;
  let min = 0;
  let max = MAPLE_MAX;
  let d = 0;
  for (;;) {
    const b = n * S;
    // pivot[end] is the node max, so the scan needs no data end; the ends the
    // preallocation heights need are read later, only for the store types
    // that use them (one cache line less per level).
    let o = 0;
    while (o < 15 && piv[b + o]! < index) o++;
    const sMax = o < 15 ? piv[b + o]! : max;
    lNode[d] = n;
    lOff[d] = o;
    lMin[d] = min;
    lMax[d] = max;
    if (d === leafDepth) {
      // mas_is_span_wr() at a leaf: only a NULL ending at the node's end spans.
      if (last === max && entry === undefined && max !== MAPLE_MAX) {
        wr.depth = d;
        wr.top = d;
        wr.content = slots[b + o];
        return wr_spanning_store;
      }
      break;
    }
    if (last > sMax || (last === sMax && entry === undefined && last !== MAPLE_MAX)) {
      wr.depth = d;
      wr.top = d;
      wr.content = undefined;
      return wr_spanning_store;
    }
    // Touch the gap and gap offset the leaf's gap update may write: their
    // loads overlap with the walk's own misses instead of following it.
    touch += gaps[gapIdx[n]! * GS + o]! + gapOff[n]!;
    min = o > 0 ? piv[b + o - 1]! + 1 : min;
    max = sMax;
    n = slots[b + o] as number;
    d++;
  }
  DB[7] = touch;
  wr.top = d;
  pathTree = mt;
  pathGen = mt.gen;
  return leafStoreType(mas, entry, d, n);
}

/** The leaf half of {@link masWrStoreType}: NULL extension, new end, store type. */
function leafStoreType(mas: WriteState, entry: unknown, d: number, n: number): number {
  const mt = mas.tree;
  const min = lMin[d]!;
  const max = lMax[d]!;
  const piv = mt.store.pivots;
  const slots = mt.store.slots;
  let index = mas.index;
  let last = mas.last;
  const b = n * S;
  const e = piv[n * S + 15]!;
  let o = lOff[d]!;
  let sMin = o > 0 ? piv[b + o - 1]! + 1 : min;
  let sMax = o < e ? piv[b + o]! : max;
  const content = slots[b + o];
  wr.depth = d;
  wr.content = content;
  wr.end = e;
  // mas_wr_end_piv()
  let oe = o;
  while (oe < e && last > piv[b + oe]!) oe++;
  let endPiv = oe < e ? piv[b + oe]! : max;
  if (entry === undefined) {
    // mas_wr_extend_null()
    if (slots[b + oe] === undefined) last = endPiv;
    else if (last === endPiv && e !== oe && slots[b + oe + 1] === undefined) {
      oe++;
      last = oe === e ? max : piv[b + oe]!;
      endPiv = last;
    }
    if (content === undefined) index = sMin;
    else if (index === sMin && o > 0 && slots[b + o - 1] === undefined) {
      o--;
      sMin = o > 0 ? piv[b + o - 1]! + 1 : min;
      index = sMin;
      sMax = piv[b + o]!;
    }
    mas.index = index;
    mas.last = last;
    lOff[d] = o;
  }
  wr.offset = o;
  wr.offsetEnd = oe;
  wr.rMin = sMin;
  wr.rMax = sMax;
  wr.endPiv = endPiv;
  if (sMin === index && sMax === last) return wr_exact_fit;
  if (index === 0 && last === MAPLE_MAX) return wr_new_root;
  // mas_wr_new_end()
  let newEnd = e + 2 - (oe - o);
  if (sMin === index) newEnd--;
  if (endPiv === last) newEnd--;
  wr.newEnd = newEnd;
  if (newEnd < mtMinSlots[maple_leaf_64]!) {
    if (d !== 0) return wr_rebalance;
    return wr_node_store;
  }
  if (newEnd >= mtSlots[maple_leaf_64]!) return wr_split_store;
  const rcu = treeInRcu(mt);
  if (!rcu && o === e) return wr_append;
  if (newEnd === e && (!rcu || oe - o === 1)) return wr_slot_store;
  return wr_node_store;
}

/**
 * The store-type walk of an erase: find the range holding `mas.index`, make it
 * the range to store NULL over, then decide the store type as
 * {@link masWrStoreType} would for that range, from the same single walk
 * (a NULL store ending at its leaf's end spans from the highest ancestor
 * whose child ends there). Returns -1 when `mas.index` is empty.
 * @kernel mas_erase (lib/maple_tree.c)
 */
export function masWrStoreTypeErase(mas: WriteState): number {
  const mt = mas.tree;
  wr.vacantHeight = 0;
  wr.sufficientHeight = 0;
  const st = mt.store;
  const piv = st.pivots;
  const slots = st.slots;
  const index = mas.index;
  const leafDepth = treeHeight(mt) - 1;
  wr.leafDepth = leafDepth;
  pathTree = null;
  const gaps = st.gaps;
  const gapIdx = st.gapIdx;
  const gapOff = st.gapOffset;
  let touch = 0;
  let n = mt.root;
  let min = 0;
  let max = MAPLE_MAX;
  let d = 0;
  for (;;) {
    const b = n * S;
    // As in masWrStoreType: pivot[end] is the node max, so the scan needs no
    // data end (the end's cache line is the costliest load of a cold walk).
    let o = 0;
    while (o < 15 && piv[b + o]! < index) o++;
    lNode[d] = n;
    lOff[d] = o;
    lMin[d] = min;
    lMax[d] = max;
    if (d === leafDepth) break;
    touch += gaps[gapIdx[n]! * GS + o]! + gapOff[n]!;
    min = o > 0 ? piv[b + o - 1]! + 1 : min;
    max = o < 15 ? piv[b + o]! : max;
    n = slots[b + o] as number;
    d++;
  }
  DB[7] = touch;
  const b = n * S;
  const e = piv[b + 15]!;
  const o = lOff[d]!;
  pathTree = mt;
  pathGen = mt.gen;
  const content = slots[b + o];
  if (content === undefined) return -1;
  const sMin = o > 0 ? piv[b + o - 1]! + 1 : min;
  const sMax = o < e ? piv[b + o]! : max;
  mas.index = sMin;
  mas.last = sMax;
  // Where would the top-down walk have seen the span? At the highest level
  // whose chosen child ends at sMax (a NULL store may not end a leaf).
  let span = leafDepth + 1;
  if (sMax === max && max !== MAPLE_MAX) {
    for (let k = 0; k < leafDepth; k++) {
      if (lMax[k + 1] === sMax) {
        span = k;
        break;
      }
    }
  }
  wr.top = Math.min(span, leafDepth);
  if (span <= leafDepth) {
    wr.depth = span;
    wr.content = content;
    return wr_spanning_store;
  }
  const type = leafStoreType(mas, undefined, d, n);
  wr.content = content;
  return type;
}

/**
 * The vacant and sufficient heights of the last write walk, from the data ends
 * of the internal nodes it passed.
 * @kernel mas_wr_walk (lib/maple_tree.c)
 */
function computeHeights(mt: Mtree): void {
  const piv = mt.store.pivots;
  const alloc = treeIsAlloc(mt);
  const iSlots = alloc ? 10 : 16;
  const iMin = alloc ? 4 : 6;
  let vh = 0;
  let sh = 0;
  const top = wr.top;
  for (let k = 0; k < top; k++) {
    const e = piv[lNode[k]! * S + 15]!;
    if (e < iSlots - 1) vh = k + 1;
    if (k === 0) {
      if (e > 2) sh = 1;
    } else if (e > iMin + 1) sh = k + 1;
  }
  wr.vacantHeight = vh;
  wr.sufficientHeight = sh;
}

/**
 * The number of nodes a store of the given type may need in the worst case.
 * With vacant height: splits only propagate up to the deepest vacant node.
 * Rebalancing and spanning stores may cascade through nodes that are just
 * sufficient, so when the sufficient node is higher than the vacant one they
 * count from the sufficient height instead.
 * @kernel mas_prealloc_calc (lib/maple_tree.c)
 */
export function masPreallocCalc(mt: Mtree, storeType: number, index: number, last: number): number {
  const height = treeHeight(mt);
  if (storeType === wr_spanning_store || storeType === wr_split_store || storeType === wr_rebalance) computeHeights(mt);
  const vh = wr.vacantHeight;
  const sh = wr.sufficientHeight;
  const delta = height - vh;
  const full = mt.fullHeightPrealloc;
  switch (storeType) {
    case wr_new_root:
      return 1;
    case wr_store_root:
      return last !== 0 || index !== 0 ? 1 : 0;
    case wr_spanning_store:
      if (full) return height * 3 + 1;
      return (sh < vh ? height - sh : delta) * 3 + 1;
    case wr_split_store:
      if (full) return height * 2 + 1;
      return delta * 2 + 1;
    case wr_rebalance:
      if (full) return height * 2 - 1;
      return (sh < vh ? height - sh : delta) * 2 + 1;
    case wr_node_store:
      return treeInRcu(mt) ? 1 : 0;
    default:
      return 0;
  }
}

/** Take a node for the current store (from the sheaf, else one allocation). */
function popNode(mt: Mtree, mas: WriteState, type: number): number {
  const a = mt.allocator;
  let n = 0;
  if (mas.reuse.length > 0) {
    n = mas.reuse.pop()!;
    mt.stats.reused++;
    const st = mt.store;
    st.init(n, type);
    // init() may grow the gap table.
    if (st.gaps !== G) bind(mt);
    return n;
  }
  if (mas.sheaf !== null) n = a.allocFromSheaf(mas.sheaf);
  if (n === 0) {
    n = a.alloc(GFP_NOWAIT);
    if (n === 0) throw new MapleTreeError('ENOMEM', 'maple_tree: out of preallocated nodes during a store');
    mt.stats.extra++;
    mt.stats.allocated++;
  }
  mt.stats.used++;
  const st = mt.store;
  if (n >= st.capacity) st.ensure(n);
  st.init(n, type);
  // ensure() and init() (the gap table) may replace arrays.
  if (st.pivots !== P || st.gaps !== G || st.slots !== SL) bind(mt);
  return n;
}

/** Free a node removed from the tree: now, or after a grace period in RCU mode. */
function nodeFree(mt: Mtree, n: number): void {
  if (treeInRcu(mt)) {
    DE[n] = 1;
    rcuPending.push(n);
  } else curReuse.push(n);
}

/** Free a whole subtree whose root is at `depth`. */
function destroySubtree(mt: Mtree, n: number, depth: number, leafDepth: number): void {
  if (depth < leafDepth) {
    const b = n * S;
    const e = P[n * S + 15]!;
    for (let i = 0; i <= e; i++) destroySubtree(mt, SL[b + i] as number, depth + 1, leafDepth);
  }
  nodeFree(mt, n);
}

/** Hand the nodes freed by this write to RCU. */
function flushRcu(mt: Mtree): void {
  if (rcuPending.length === 0) return;
  const list = rcuPending;
  rcuPending = [];
  const a = mt.allocator;
  mt.stats.rcuDeferred += list.length;
  if (a.freeRcu !== undefined) a.freeRcu(list, mt.rcu);
  else
    mt.rcu.callRcu(() => {
      for (const n of list) a.free(n);
    });
}

/** Largest gap of an arange node; updates its meta gap offset. */
function internalMaxGap(n: number): number {
  const piv = P;
  const gp = G;
  const gix = GI;
  const gof = GO;
  const e = piv[n * S + 15]!;
  let g = -1;
  let off = 0;
  for (let i = 0; i <= e; i++) {
    const v = gp[gix[n]! * GS + i]!;
    if (v > g) {
      g = v;
      off = i;
    }
  }
  gof[n] = off;
  return g;
}

/**
 * Set the parent's gap for node `n` to `gap` and go on upwards while the
 * largest gap of a node changes.
 * @kernel mas_parent_gap (lib/maple_tree.c)
 */
function gapUpdateUp(mt: Mtree, n: number): void {
  if (!treeIsAlloc(mt)) return;
  let gap = DB[0]!;
  for (;;) {
    const p = PA[n]!;
    if (p === 0) return;
    const slot = PS[n]!;
    const pb = GI[p]! * GS;
    const old = G[pb + slot]!;
    if (old === gap) return;
    G[pb + slot] = gap;
    // The parent's largest gap: unchanged unless this slot held it or beats it.
    const off = GO[p]!;
    const max = G[pb + off]!;
    if (slot === off) {
      if (gap < old) gap = internalMaxGap(p);
    } else if (gap > max) GO[p] = slot;
    else return;
    n = p;
  }
}

/**
 * {@link gapUpdateUp} for the node at depth `d` of the current write path: the
 * parents and offsets come from the walk (lNode/lOff), not from the parent
 * arrays, which a cold write would otherwise load level by level.
 */
function gapUpdatePath(d: number): void {
  const gp = G;
  const gix = GI;
  const gof = GO;
  let gap = DB[0]!;
  for (let k = d - 1; k >= 0; k--) {
    const p = lNode[k]!;
    const slot = lOff[k]!;
    const pb = gix[p]! * GS;
    const old = gp[pb + slot]!;
    if (old === gap) return;
    gp[pb + slot] = gap;
    const off = gof[p]!;
    if (slot === off) {
      if (gap < old) gap = internalMaxGap(p);
    } else if (gap > gp[pb + off]!) gof[p] = slot;
    else return;
  }
}

/** Update the gaps above leaf `n` at depth `d` of the current path. @kernel mas_update_gap (lib/maple_tree.c) */
function leafGapUpdate(mt: Mtree, n: number, d: number): void {
  const piv = P;
  const sl = SL;
  if (d === 0 || !treeIsAlloc(mt)) return;
  const b = n * S;
  const e = piv[b + 15]!;
  const max = lMax[d]!;
  let g = 0;
  let lo = lMin[d]!;
  for (let i = 0; i <= e; i++) {
    const hi = i < e ? piv[b + i]! : max;
    if (sl[b + i] === undefined) {
      const sz = hi - lo + 1;
      if (sz > g) g = sz;
    }
    lo = hi + 1;
  }
  DB[0] = g;
  gapUpdatePath(d);
}

/** The right path equals the left one down to `depth` (a store within one subtree). */
function rightPathFromLeft(depth: number): void {
  for (let i = 0; i <= depth; i++) {
    rNode[i] = lNode[i]!;
    rOff[i] = lOff[i]!;
    rMin[i] = lMin[i]!;
    rMax[i] = lMax[i]!;
  }
}

/** Fill the right path below `depth` for key `key` (or the rightmost path when key > node max). */
function walkRight(depth: number, leafDepth: number, key: number, beyond: boolean): void {
  pathTree = null;
  let n = rNode[depth]!;
  let min = rMin[depth]!;
  let max = rMax[depth]!;
  for (let d = depth; ; d++) {
    const b = n * S;
    const e = P[n * S + 15]!;
    let o: number;
    if (beyond) o = e;
    else {
      o = 0;
      while (o < e && P[b + o]! < key) o++;
    }
    rNode[d] = n;
    rOff[d] = o;
    rMin[d] = min;
    rMax[d] = max;
    if (d === leafDepth) return;
    const nmin = o > 0 ? P[b + o - 1]! + 1 : min;
    const nmax = o < e ? P[b + o]! : max;
    n = SL[b + o] as number;
    min = nmin;
    max = nmax;
  }
}

/** Fill the left path below `depth` for key `key`. */
function walkLeft(depth: number, leafDepth: number, key: number): void {
  pathTree = null;
  let n = lNode[depth]!;
  let min = lMin[depth]!;
  let max = lMax[depth]!;
  for (let d = depth; ; d++) {
    const b = n * S;
    const e = P[n * S + 15]!;
    let o = 0;
    while (o < e && P[b + o]! < key) o++;
    lNode[d] = n;
    lOff[d] = o;
    lMin[d] = min;
    lMax[d] = max;
    if (d === leafDepth) return;
    const nmin = o > 0 ? P[b + o - 1]! + 1 : min;
    const nmax = o < e ? P[b + o]! : max;
    n = SL[b + o] as number;
    min = nmin;
    max = nmax;
  }
}

/**
 * Replace the whole tree by `entry` over [0, MAPLE_MAX] (or empty it).
 * @kernel mas_new_root (lib/maple_tree.c)
 */
function masNewRoot(mt: Mtree, mas: WriteState, entry: unknown): void {
  const oldRoot = mt.root;
  const oldHeight = treeHeight(mt);
  if (entry === undefined) {
    mt.root = 0;
    mt.rootEntry = undefined;
    mtSetHeight(mt, 0);
  } else {
    const n = popNode(mt, mas, maple_leaf_64);
    SL[n * S] = entry;
    P[n * S] = MAPLE_MAX;
    P[n * S + 15] = 0;
    mt.root = n;
    mt.rootEntry = undefined;
    mtSetHeight(mt, 1);
  }
  if (oldRoot !== 0) destroySubtree(mt, oldRoot, 0, oldHeight - 1);
  flushRcu(mt);
}

/**
 * Store into a tree that is empty or holds a direct root entry.
 * @kernel mas_store_root (lib/maple_tree.c)
 */
function masStoreRoot(mt: Mtree, mas: WriteState, entry: unknown): void {
  const index = mas.index;
  const last = mas.last;
  if (entry === undefined) {
    if (index === 0) mt.rootEntry = undefined;
    return;
  }
  if (index === 0 && last === 0) {
    mt.rootEntry = entry;
    return;
  }
  // mas_root_expand()
  const contents = mt.rootEntry;
  const n = popNode(mt, mas, maple_leaf_64);
  const b = n * S;
  let slot = 0;
  if (index !== 0) {
    if (contents !== undefined) {
      SL[b] = contents;
      P[b] = 0;
      slot = 1;
      if (index > 1) {
        SL[b + 1] = undefined;
        P[b + 1] = index - 1;
        slot = 2;
      }
    } else {
      SL[b] = undefined;
      P[b] = index - 1;
      slot = 1;
    }
  }
  SL[b + slot] = entry;
  if (last !== MAPLE_MAX) {
    P[b + slot] = last;
    slot++;
    SL[b + slot] = undefined;
  }
  P[b + slot] = MAPLE_MAX;
  P[n * S + 15] = slot;
  mt.root = n;
  mt.rootEntry = undefined;
  mtSetHeight(mt, 1);
}

/**
 * Carry out a store whose type {@link masWrStoreType} just determined (the
 * scratch walk state must be current).
 * @kernel mas_wr_store_entry (lib/maple_tree.c)
 */
export function masWrStore(mas: WriteState, entry: unknown, storeType: number): void {
  const mt = mas.tree;
  bind(mt);
  curReuse = mas.reuse;
  mt.stats.storeTypes[storeType]!++;
  if (
    !(
      storeType === wr_exact_fit ||
      storeType === wr_append ||
      storeType === wr_slot_store ||
      (storeType === wr_node_store && !treeInRcu(mt))
    )
  )
    mt.gen++;
  switch (storeType) {
    case wr_store_root:
      masStoreRoot(mt, mas, entry);
      return;
    case wr_new_root:
      masNewRoot(mt, mas, entry);
      return;
    case wr_exact_fit: {
      const d = wr.depth;
      const n = lNode[d]!;
      const idx = n * S + wr.offset;
      const old = SL[idx];
      SL[idx] = entry;
      if ((old === undefined) !== (entry === undefined)) leafGapUpdate(mt, n, d);
      return;
    }
    case wr_append:
      wrAppend(mt, mas, entry);
      return;
    case wr_slot_store:
      wrSlotStore(mt, mas, entry);
      return;
    case wr_spanning_store:
      cpWrSpanningStore(mt, mas, entry);
      return;
    case wr_node_store:
      if (!treeInRcu(mt)) wrNodeStoreInPlace(mt, mas, entry);
      else wrNodeStoreRcu(mt, mas, entry);
      return;
    case wr_split_store:
      cpWrLeaf(mt, mas, entry, false);
      return;
    case wr_rebalance:
      cpWrLeaf(mt, mas, entry, true);
      return;
    default:
      throw new MapleTreeError('EUCLEAN', `maple_tree: store type ${storeType} has no write path`);
  }
}

/**
 * Node store without RCU: shift the tail of the leaf and write the (up to
 * three) new ranges in place, touching only the slots that move.
 * @kernel mas_wr_node_store (lib/maple_tree.c)
 */
function wrNodeStoreInPlace(mt: Mtree, mas: WriteState, entry: unknown): void {
  const piv = P;
  const sl = SL;
  const gp = G;
  const gix = GI;
  const d = wr.depth;
  const n = lNode[d]!;
  const b = n * S;
  const e = wr.end;
  const o = wr.offset;
  const oe = wr.offsetEnd;
  const index = mas.index;
  const last = mas.last;
  const max = lMax[d]!;
  const cOe = sl[b + oe];
  const head = wr.rMin < index ? o + 1 : o;
  const remainder = wr.endPiv > last;
  // The leaf's largest gap is the parent's gap for it: when no empty range
  // the store replaces (slots o..oe) is that large, the largest gap outside
  // them survives and only a new empty range can beat it (no rescan).
  const track = d > 0 && treeIsAlloc(mt);
  let oldGap = 0;
  let window = -1;
  if (track) {
    oldGap = gp[gix[lNode[d - 1]!]! * GS + lOff[d - 1]!]!;
    let lo = wr.rMin;
    for (let i = o; i <= oe; i++) {
      const hi = i < e ? piv[b + i]! : max;
      if (sl[b + i] === undefined && hi - lo + 1 > window) window = hi - lo + 1;
      lo = hi + 1;
    }
  }
  const tailDst = head + (remainder ? 2 : 1);
  const shift = tailDst - (oe + 1);
  const newEnd = e + shift;
  if (shift > 0) {
    for (let i = e; i > oe; i--) {
      sl[b + i + shift] = sl[b + i];
      if (i + shift < 15) piv[b + i + shift] = i < 15 ? piv[b + i]! : max;
    }
  } else if (shift < 0) {
    for (let i = oe + 1; i <= e; i++) {
      sl[b + i + shift] = sl[b + i];
      if (i + shift < 15) piv[b + i + shift] = i < 15 ? piv[b + i]! : max;
    }
    for (let i = newEnd + 1; i <= e; i++) sl[b + i] = undefined;
  }
  if (head > o) piv[b + o] = index - 1;
  sl[b + head] = entry;
  if (head < 15) piv[b + head] = last;
  if (remainder) {
    sl[b + head + 1] = cOe;
    if (head + 1 < 15) piv[b + head + 1] = wr.endPiv;
  }
  piv[b + 15] = newEnd;
  if (!track) return;
  if (window >= oldGap) {
    if (entry === undefined) {
      // A NULL store covers the whole window (and the NULLs next to it, the
      // NULL extension): the new empty range is at least the old largest gap
      // and everything outside it was no larger, so it is the leaf's gap.
      wrFastPathCounts.nodeStoreGapKept++;
      const g = last - index + 1;
      if (g !== oldGap) {
        DB[0] = g;
        gapUpdatePath(d);
      }
      return;
    }
    leafGapUpdate(mt, n, d);
    return;
  }
  // An empty head or remainder piece is part of an empty range of the window,
  // so smaller than the old gap: only a new empty range can beat it.
  wrFastPathCounts.nodeStoreGapKept++;
  const g = entry === undefined && last - index + 1 > oldGap ? last - index + 1 : oldGap;
  if (g !== oldGap) {
    DB[0] = g;
    gapUpdatePath(d);
  }
}

/**
 * Node store in RCU mode: copy the leaf into a new node around the new range
 * (the head of the slot `index` falls in, the new range, the rest of the slot
 * `last` falls in), put it in the old leaf's place and hand the old leaf to
 * RCU. Readers see the old leaf or the new one, never a mix.
 * @kernel mas_wr_node_store (lib/maple_tree.c)
 */
function wrNodeStoreRcu(mt: Mtree, mas: WriteState, entry: unknown): void {
  const d = wr.depth;
  const old = lNode[d]!;
  const e = wr.end;
  const index = mas.index;
  const last = mas.last;
  const max = lMax[d]!;
  let o = wr.offset;
  let oe = wr.offsetEnd;
  let newEnd = e + 1 - oe + o;
  if (last === wr.endPiv) {
    oe++;
    newEnd--;
  }
  const n = popNode(mt, mas, maple_leaf_64);
  const piv = P;
  const sl = SL;
  const b = old * S;
  const nb = n * S;
  for (let i = 0; i < o; i++) {
    piv[nb + i] = piv[b + i]!;
    sl[nb + i] = sl[b + i];
  }
  if (wr.rMin < index) {
    sl[nb + o] = wr.content;
    piv[nb + o] = index - 1;
    o++;
    newEnd++;
  }
  if (o < 15) piv[nb + o] = last;
  sl[nb + o] = entry;
  if (oe <= e) {
    const dst = nb + o + 1;
    const copy = e - oe + 1;
    for (let i = 0; i < copy; i++) sl[dst + i] = sl[b + oe + i];
    for (let i = 0; i < copy - 1; i++) piv[dst + i] = piv[b + oe + i]!;
    if (newEnd < 15) piv[nb + newEnd] = max;
  }
  piv[nb + 15] = newEnd;
  // mas_replace_node(): the new leaf takes the old one's place.
  if (d === 0) {
    PA[n] = 0;
    PS[n] = 0;
    mt.root = n;
  } else {
    const p = lNode[d - 1]!;
    const slot = lOff[d - 1]!;
    PA[n] = p;
    PS[n] = slot;
    sl[p * S + slot] = n;
  }
  lNode[d] = n;
  nodeFree(mt, old);
  leafGapUpdate(mt, n, d);
  flushRcu(mt);
}

/** @kernel mas_wr_append (lib/maple_tree.c) */
function wrAppend(mt: Mtree, mas: WriteState, entry: unknown): void {
  const piv = P;
  const sl = SL;
  const d = wr.depth;
  const n = lNode[d]!;
  const b = n * S;
  const end = wr.end;
  const newEnd = wr.newEnd;
  const content = wr.content;
  const index = mas.index;
  const last = mas.last;
  if (newEnd === end + 1) {
    if (last === wr.rMax) {
      sl[b + newEnd] = entry;
      piv[b + end] = index - 1;
    } else {
      sl[b + newEnd] = content;
      piv[b + end] = last;
      sl[b + end] = entry;
    }
  } else {
    sl[b + newEnd] = content;
    piv[b + end + 1] = last;
    sl[b + end + 1] = entry;
    piv[b + end] = index - 1;
  }
  if (newEnd < 15) piv[b + newEnd] = lMax[d]!;
  piv[n * S + 15] = newEnd;
  if (content === undefined || entry === undefined) leafGapUpdate(mt, n, d);
}

/** @kernel mas_wr_slot_store (lib/maple_tree.c) */
function wrSlotStore(mt: Mtree, mas: WriteState, entry: unknown): void {
  const piv = P;
  const sl = SL;
  const d = wr.depth;
  const n = lNode[d]!;
  const b = n * S;
  const o = wr.offset;
  let gap = sl[b + o] === undefined || sl[b + o + 1] === undefined;
  if (wr.offsetEnd - o === 1) {
    if (mas.index === wr.rMin) {
      sl[b + o] = entry;
      piv[b + o] = mas.last;
    } else {
      sl[b + o + 1] = entry;
      piv[b + o] = mas.index - 1;
    }
  } else {
    if (sl[b + o + 2] === undefined) gap = true;
    sl[b + o + 1] = entry;
    piv[b + o] = mas.index - 1;
    piv[b + o + 1] = mas.last;
  }
  if (entry === undefined || gap) leafGapUpdate(mt, n, d);
}

// ------------------------------------------------------------ maple_copy
//
// Splits, rebalances and spanning stores as Linux 7.2 does them (the
// `struct maple_copy` write path): at each level the new data (up to three
// slots, `cp`) is combined with what is left of the node(s) it replaces and,
// when needed, a sibling, then written to one, two or three new nodes, which
// become the new data of the level above, until a level converges (one new
// node, no sibling: it replaces the old node in its parent) or a new root is
// made. The split points, the sibling chosen and so the node layout are the
// kernel's (checked node for node by the differential test).

/** The position part of a `struct ma_state` at one level. */
class MaLevel {
  node = 0;
  offset = 0;
  min = 0;
  max = 0;
  end = 0;
  depth = 0;
}

/** The part of a `struct ma_wr_state` the copy path reads. */
class WrLevel {
  rMin = 0;
  rMax = 0;
  offsetEnd = 0;
  endPiv = 0;
  content: unknown = undefined;
}

function copyLoc(src: MaLevel, dst: MaLevel): void {
  dst.node = src.node;
  dst.offset = src.offset;
  dst.min = src.min;
  dst.max = src.max;
  dst.end = src.end;
  dst.depth = src.depth;
}

const mL = new MaLevel();
const mR = new MaLevel();
const par = new MaLevel();
const sib = new MaLevel();
const tL = new MaLevel();
const tR = new MaLevel();
const wL = new WrLevel();
const wR = new WrLevel();

/** The simulated node `cp`: up to three slots of new data. */
const cpSlot: unknown[] = [undefined, undefined, undefined];
const cpPiv = new Float64Array(3);
const cpGap = new Float64Array(3);
let cpMin = 0;
let cpMax = 0;
let cpEnd = 0;
let cpData = 0;
let cpSplit = 0;
let cpDCount = 0;
let cpSCount = 0;
let cpHeight = 0;
/** Sources of the level being written; node -1 is `cp` itself. */
const srcNode = new Int32Array(4);
const srcStart = new Int32Array(4);
const srcEnd = new Int32Array(4);
const srcMax = new Float64Array(4);
/** Destinations: new nodes and their max. */
const dstNode = new Int32Array(3);
const dstMax = new Float64Array(3);

/**
 * `mt_pivots[type]` as this store keeps pivots: `pivot[end]` holds the node
 * max whenever `end < 15`, for every node type (the kernel leaves it implied
 * past `mt_pivots`: 9 in a `maple_arange_64`), so 15 for all types.
 */
const PIVOTS_KEPT = 15;

/** `mas_safe_pivot()`: the pivot of `offset`, or the node max past the pivots. */
function safePivot(m: MaLevel, offset: number): number {
  return offset < PIVOTS_KEPT ? P[m.node * S + offset]! : m.max;
}

/** Lowest index slot `offset` covers: one past the previous pivot, or the node minimum for slot 0; mirrors `mas_safe_min()`. */
function safeMin(m: MaLevel, offset: number): number {
  return offset > 0 ? P[m.node * S + offset - 1]! + 1 : m.min;
}

/** Step the level down into the child at the current slot. @kernel mas_descend (lib/maple_tree.c) */
function levelDescend(m: MaLevel): void {
  const b = m.node * S;
  if (m.offset > 0) m.min = P[b + m.offset - 1]! + 1;
  m.max = safePivot(m, m.offset);
  m.node = SL[b + m.offset] as number;
  m.depth++;
}

/** Step the level up to the parent node. @kernel mas_ascend (lib/maple_tree.c) */
function levelAscend(m: MaLevel): void {
  const n = m.node;
  const dd = m.depth;
  if (dd > 0 && lNode[dd] === n) {
    // A node on this write's walk path: its parent, offset and bounds are
    // the path's (no loads from the parent arrays up the tree).
    m.node = lNode[dd - 1]!;
    m.offset = lOff[dd - 1]!;
    m.min = lMin[dd - 1]!;
    m.max = lMax[dd - 1]!;
    m.depth = dd - 1;
    return;
  }
  const p = PA[n]!;
  if (p === 0) {
    m.offset = 0;
    return;
  }
  const off = PS[n]!;
  m.offset = off;
  m.node = p;
  m.depth--;
  if (PA[p] === 0) {
    m.min = 0;
    m.max = MAPLE_MAX;
    return;
  }
  let min = 0;
  let max = MAPLE_MAX;
  let setMin = false;
  let setMax = false;
  if (off === 0) {
    min = m.min;
    setMin = true;
  }
  if (m.max === MAPLE_MAX) setMax = true;
  let c = p;
  while (!setMin || !setMax) {
    const a = PA[c]!;
    const aSlot = PS[c]!;
    if (!setMin && aSlot > 0) {
      setMin = true;
      min = P[a * S + aSlot - 1]! + 1;
    }
    if (!setMax && aSlot < PIVOTS_KEPT) {
      setMax = true;
      max = P[a * S + aSlot]!;
    }
    if (PA[a] === 0) break;
    c = a;
  }
  m.min = min;
  m.max = max;
}

/** @kernel wr_mas_setup (lib/maple_tree.c) */
function wrSetup(w: WrLevel, m: MaLevel): void {
  w.rMin = safeMin(m, m.offset);
  w.rMax = safePivot(m, m.offset);
}

/** @kernel wr_mas_ascend (lib/maple_tree.c) */
function wrAscend(w: WrLevel, m: MaLevel): void {
  levelAscend(m);
  wrSetup(w, m);
  m.end = P[m.node * S + 15]!;
  w.endPiv = w.rMax;
  w.offsetEnd = m.offset;
}

/** The largest NULL range of leaf `n` covering [min, max]. @kernel ma_leaf_max_gap (lib/maple_tree.c) */
function leafMaxGap(n: number, min: number, max: number): number {
  const b = n * S;
  const e = P[b + 15]!;
  let g = 0;
  let lo = min;
  for (let i = 0; i <= e; i++) {
    const hi = i < e ? P[b + i]! : max;
    if (SL[b + i] === undefined) {
      const sz = hi - lo + 1;
      if (sz > g) g = sz;
    }
    lo = hi + 1;
  }
  return g;
}

/** @kernel cp_leaf_init (lib/maple_tree.c) */
function cpLeafInit(index: number, last: number, entry: unknown, l: WrLevel, r: WrLevel, rm: MaLevel): void {
  let end = 0;
  cpHeight = 1;
  if (l.rMin < index) {
    cpSlot[0] = l.content;
    cpPiv[0] = index - 1;
    end = 1;
  }
  cpSlot[end] = entry;
  cpPiv[end] = last;
  if (r.endPiv > last) {
    end++;
    cpSlot[end] = SL[rm.node * S + r.offsetEnd];
    cpPiv[end] = r.endPiv;
  }
  cpMin = l.rMin;
  cpMax = cpPiv[end]!;
  cpEnd = end;
}

/** @kernel cp_data_calc (lib/maple_tree.c) */
function cpDataCalc(lm: MaLevel, rm: MaLevel, r: WrLevel): void {
  cpData = lm.offset + cpEnd + 1 + (rm.end - r.offsetEnd);
}

/** Whether the data fits a node and `s` with one slot spare. @kernel data_fits (lib/maple_tree.c) */
function dataFits(s: MaLevel, type: number): boolean {
  const space = 2 * mtSlots[type]!;
  const newData = s.end + 1 + cpData;
  return newData < space;
}

/** Try the left, then the right sibling for a split to push into. @kernel push_data_sib (lib/maple_tree.c) */
function pushDataSib(m: MaLevel, type: number): void {
  if (m.depth === 0) {
    sib.end = 0;
    return;
  }
  copyLoc(par, sib);
  if (sib.offset > 0) {
    sib.offset--;
    levelDescend(sib);
    sib.end = P[sib.node * S + 15]!;
    if (dataFits(sib, type)) return;
    copyLoc(par, sib);
  }
  if (sib.offset >= sib.end) {
    sib.end = 0;
    return;
  }
  sib.offset++;
  levelDescend(sib);
  sib.end = P[sib.node * S + 15]!;
  if (dataFits(sib, type)) return;
  sib.end = 0;
}

/** The right sibling, else the left one. @kernel rebalance_sib (lib/maple_tree.c) */
function rebalanceSib(): void {
  copyLoc(par, sib);
  if (sib.offset < sib.end) sib.offset++;
  else sib.offset--;
  levelDescend(sib);
  sib.end = P[sib.node * S + 15]!;
}

/** The nearest node of the same level to the right, else to the left. @kernel spanning_sib (lib/maple_tree.c) */
function spanningSib(): void {
  copyLoc(mL, tL);
  copyLoc(mR, tR);
  let depth = 0;
  do {
    levelAscend(tR);
    levelAscend(tL);
    depth++;
    if (tR.offset < P[tR.node * S + 15]!) {
      tR.offset++;
      levelDescend(tR);
      tR.offset = 0;
      while (--depth > 0) levelDescend(tR);
      tR.end = P[tR.node * S + 15]!;
      copyLoc(tR, sib);
      return;
    }
    if (tL.offset > 0) {
      tL.offset--;
      do {
        levelDescend(tL);
        tL.offset = P[tL.node * S + 15]!;
      } while (--depth > 0);
      tL.end = tL.offset;
      copyLoc(tL, sib);
      return;
    }
  } while (tR.depth !== 0);
  sib.end = 0;
}

function appendSrc(node: number, start: number, end: number, max: number): void {
  const c = cpSCount++;
  srcNode[c] = node;
  srcStart[c] = start;
  srcEnd[c] = end;
  srcMax[c] = max;
}

/** @kernel multi_src_setup (lib/maple_tree.c) */
function multiSrcSetup(lm: MaLevel, rm: MaLevel, r: WrLevel): void {
  cpSCount = 0;
  if (sib.end !== 0 && sib.max < lm.min) appendSrc(sib.node, 0, sib.end, sib.max);
  if (lm.offset > 0) appendSrc(lm.node, 0, lm.offset - 1, cpMin - 1);
  appendSrc(-1, 0, cpEnd, cpMax);
  if (rm.end !== r.offsetEnd) appendSrc(rm.node, r.offsetEnd + 1, rm.end, rm.max);
  if (sib.end !== 0 && sib.min > rm.max) appendSrc(sib.node, 0, sib.end, sib.max);
}

function srcSlot(s: number, off: number): unknown {
  const n = srcNode[s]!;
  return n < 0 ? cpSlot[off] : SL[n * S + off];
}

/** Choose one, two or three destinations and the split. @kernel dst_setup (lib/maple_tree.c) */
function dstSetup(mt: Mtree, mas: WriteState, type: number): void {
  const slots = mtSlots[type]!;
  if (cpData <= slots) {
    cpSplit = cpData - 1;
    cpDCount = 1;
  } else {
    cpSplit = ((cpData - 1) / 2) | 0;
    cpDCount = 2;
    if (cpData >= slots * 2) {
      let three = true;
      if (cpData === slots * 2) {
        if (type !== maple_leaf_64) three = false;
        else {
          // A leaf may not end on NULL: move the split where it does not.
          let off = cpSplit;
          let s = 0;
          for (; s < cpSCount; s++) {
            let sOff = srcEnd[s]! - srcStart[s]!;
            if (sOff >= off) break;
            sOff++;
            off -= sOff;
          }
          off += srcStart[s]!;
          if (srcSlot(s, off) !== undefined) three = false;
          else {
            cpSplit++;
            if (cpSplit < slots) three = false;
            else {
              cpSplit -= 2;
              if (cpData - 2 - cpSplit < slots) three = false;
            }
          }
        }
      }
      if (three) {
        cpSplit = ((cpData + 2) / 3) | 0;
        cpDCount = 3;
      }
    }
  }
  for (let i = 0; i < cpDCount; i++) dstNode[i] = popNode(mt, mas, type);
}

/** Copy `size` slots of source `src` from `start` into `dst` at `dStart`; returns the last pivot. @kernel node_copy (lib/maple_tree.c) */
function nodeCopy(
  src: number,
  start: number,
  size: number,
  sMax: number,
  dst: number,
  dStart: number,
  dType: number,
): number {
  const piv = P;
  const sl = SL;
  const db = dst * S + dStart;
  const last = size - 1;
  let dMax: number;
  if (src < 0) {
    for (let i = 0; i < size; i++) sl[db + i] = cpSlot[start + i];
    for (let i = 0; i < last; i++) piv[db + i] = cpPiv[start + i]!;
    dMax = cpPiv[start + last]!;
    if (dType !== maple_leaf_64) {
      const pa = PA;
      const ps = PS;
      for (let i = 0; i < size; i++) {
        const c = cpSlot[start + i] as number;
        pa[c] = dst;
        ps[c] = dStart + i;
      }
      if (dType === maple_arange_64) {
        const g = G;
        const gb = GI[dst]! * GS + dStart;
        for (let i = 0; i < size; i++) g[gb + i] = cpGap[start + i]!;
      }
    }
  } else {
    const sb = src * S + start;
    for (let i = 0; i < size; i++) sl[db + i] = sl[sb + i];
    for (let i = 0; i < last; i++) piv[db + i] = piv[sb + i]!;
    dMax = start + last < 15 ? piv[sb + last]! : sMax;
    if (dType !== maple_leaf_64) {
      const pa = PA;
      const ps = PS;
      for (let i = 0; i < size; i++) {
        const c = sl[sb + i] as number;
        pa[c] = dst;
        ps[c] = dStart + i;
      }
      if (dType === maple_arange_64) {
        const g = G;
        const gb = GI[dst]! * GS + dStart;
        const sg = GI[src]! * GS + start;
        for (let i = 0; i < size; i++) g[gb + i] = g[sg + i]!;
      }
    }
  }
  // pivot[end] holds the node max whenever end < 15 (see PIVOTS_KEPT).
  if (dStart + size <= 15) piv[db + last] = dMax;
  return dMax;
}

/** Clear past the data, set the end and the largest-gap offset. @kernel node_finalise (lib/maple_tree.c) */
function nodeFinalise(n: number, type: number, count: number): void {
  const b = n * S;
  for (let i = count; i < S; i++) SL[b + i] = undefined;
  P[b + 15] = count - 1;
  if (type === maple_arange_64) {
    let g = -1;
    let off = 0;
    for (let i = 0; i < count; i++) {
      const v = G[GI[n]! * GS + i]!;
      if (v > g) {
        g = v;
        off = i;
      }
    }
    GO[n] = off;
  }
}

/** Distribute the sources over the destinations. @kernel cp_data_write (lib/maple_tree.c) */
function cpDataWrite(type: number): void {
  let dataOffset = 0;
  let s = 0;
  let d = 0;
  let sOffset = srcStart[0]!;
  let srcEndV = srcEnd[0]!;
  let split = cpSplit;
  let sMax = srcMax[0]!;
  do {
    let dstOffset = 0;
    let dMax = 0;
    const dst = dstNode[d]!;
    let dstSize = split + 1;
    while (dstSize > 0) {
      const size = Math.min(srcEndV - sOffset + 1, dstSize);
      dMax = nodeCopy(srcNode[s]!, sOffset, size, sMax, dst, dstOffset, type);
      dstOffset += size;
      sOffset += size;
      if (sOffset > srcEndV) {
        s++;
        if (s >= cpSCount) {
          dstMax[d] = dMax;
          nodeFinalise(dst, type, dstOffset);
          return;
        }
        sOffset = srcStart[s]!;
        srcEndV = srcEnd[s]!;
        sMax = srcMax[s]!;
      }
      dstSize -= size;
      dataOffset += size;
    }
    split = cpSplit;
    dstMax[d] = dMax;
    // A node other than the last of the tree may not end on NULL: give the
    // NULL to the next node.
    if (dMax !== MAPLE_MAX && SL[dst * S + dstOffset - 1] === undefined) {
      if (sOffset === srcStart[s]!) {
        s--;
        srcEndV = srcEnd[s]!;
        sMax = srcMax[s]!;
        sOffset = srcEndV;
      } else sOffset--;
      split++;
      dataOffset--;
      dstOffset--;
      dstMax[d] = P[dst * S + dstOffset - 1]!;
    }
    nodeFinalise(dst, type, dstOffset);
    d++;
    if (d === cpDCount - 1) split = cpData - dataOffset;
    if (d >= cpDCount) return;
  } while (dataOffset <= cpData);
}

/** The new nodes become the data of the level above. @kernel cp_dst_to_slots (lib/maple_tree.c) */
function cpDstToSlots(mt: Mtree, min: number, max: number): void {
  const alloc = treeIsAlloc(mt);
  let slotMin = min;
  for (let d = 0; d < cpDCount; d++) {
    const n = dstNode[d]!;
    const slotMax = dstMax[d]!;
    cpSlot[d] = n;
    cpPiv[d] = slotMax;
    if (alloc) {
      if (TY[n] === maple_leaf_64) cpGap[d] = leafMaxGap(n, slotMin, slotMax);
      else cpGap[d] = G[GI[n]! * GS + GO[n]!]!;
    }
    slotMin = slotMax + 1;
  }
  cpEnd = cpDCount - 1;
  cpMin = min;
  cpMax = max;
}

/** The node (or new root) that replaces the old subtree, set by the ascend steps. */
let cpNewRoot = false;

/** @kernel cp_is_new_root (lib/maple_tree.c) */
function cpIsNewRoot(mt: Mtree, mas: WriteState): boolean {
  if (cpMin !== 0 || cpMax !== MAPLE_MAX) return false;
  if (cpDCount !== 1) {
    const type = internalType(mt);
    const count = cpDCount;
    cpData = count;
    cpSCount = 0;
    dstSetup(mt, mas, type);
    appendSrc(-1, 0, cpEnd, cpMax);
    nodeCopy(-1, 0, count, cpMax, dstNode[0]!, 0, type);
    nodeFinalise(dstNode[0]!, type, count);
    cpSlot[0] = dstNode[0]!;
    cpHeight++;
  }
  cpNewRoot = true;
  return true;
}

/**
 * After writing a level of a split or rebalance: the new nodes become the
 * data of the parent level, unless they make a new root or converged.
 * A split always replaces the node at the parent's offset; a rebalance
 * without a sibling leaves the parent's end offset as it was (the kernel's
 * `rebalance_ascend` does not set it then).
 * @kernel split_ascend rebalance_ascend (lib/maple_tree.c)
 */
function leafAscend(mt: Mtree, mas: WriteState, rebalance: boolean): boolean {
  let min = mL.min;
  let max = mL.max;
  if (!rebalance) wL.offsetEnd = par.offset;
  if (sib.end !== 0) {
    if (sib.max < mL.min) {
      min = sib.min;
      wL.offsetEnd = par.offset;
      par.offset--;
    } else {
      max = sib.max;
      wL.offsetEnd = par.offset + 1;
    }
  }
  cpDstToSlots(mt, min, max);
  if (cpIsNewRoot(mt, mas)) return false;
  if (cpDCount === 1 && sib.end === 0) return false;
  cpHeight++;
  copyLoc(par, mL);
  wrSetup(wL, mL);
  return true;
}

/** @kernel spanning_ascend (lib/maple_tree.c) */
function spanningAscend(mt: Mtree, mas: WriteState): boolean {
  if (sib.end !== 0) {
    if (sib.max < mL.min) copyLoc(sib, mL);
    else copyLoc(sib, mR);
  }
  cpDstToSlots(mt, mL.min, mR.max);
  if (cpIsNewRoot(mt, mas)) return false;
  if (cpDCount === 1 && mL.node === mR.node) return false;
  cpHeight++;
  wrAscend(wL, mL);
  wrAscend(wR, mR);
  return true;
}

/** Free the old nodes no new node adopted, from `n` (at `depth`) down. */
function freeUnadopted(mt: Mtree, n: number, depth: number, leafDepth: number): void {
  if (depth < leafDepth) {
    const b = n * S;
    const e = P[b + 15]!;
    for (let i = 0; i <= e; i++) {
      const c = SL[b + i] as number;
      if (PA[c] === n) freeUnadopted(mt, c, depth + 1, leafDepth);
    }
  }
  nodeFree(mt, n);
}

/**
 * Put the new subtree in place of the old node `old` (at depth `oldDepth`) and
 * free what it replaced. @kernel mas_wmb_replace (lib/maple_tree.c)
 */
function cpReplace(mt: Mtree, old: number, oldDepth: number): void {
  const oldLeafDepth = treeHeight(mt) - 1;
  const n = cpSlot[0] as number;
  if (cpNewRoot) {
    PA[n] = 0;
    PS[n] = 0;
    const oldRoot = mt.root;
    mt.root = n;
    mtSetHeight(mt, cpHeight);
    freeUnadopted(mt, oldRoot, 0, oldLeafDepth);
  } else {
    const p = PA[old]!;
    const slot = PS[old]!;
    PA[n] = p;
    PS[n] = slot;
    SL[p * S + slot] = n;
    freeUnadopted(mt, old, oldDepth, oldLeafDepth);
    if (treeIsAlloc(mt)) {
      DB[0] = cpGap[0]!;
      gapUpdateUp(mt, n);
    }
  }
  flushRcu(mt);
}

/**
 * Without RCU, the level where the copy converges (one node of data, no
 * sibling, at an internal level) is rewritten in place rather than copied to
 * a new node: no reader can see the intermediate state, and the node layout
 * is the same as the kernel's (which allocates a replacement there; its
 * preallocation count still includes it). The children it replaced are freed.
 */
function cpConvergeInPlace(mt: Mtree, m: MaLevel, w: WrLevel): void {
  const x = m.node;
  const b = x * S;
  const e = P[b + 15]!;
  const o = m.offset;
  const oe = w.offsetEnd;
  const add = cpEnd + 1;
  const shift = add - (oe - o + 1);
  const count = e + 1 + shift;
  const arange = TY[x] === maple_arange_64;
  const gb = GI[x]! * GS;
  // The children being replaced, freed once the node no longer points to them.
  let nOld = 0;
  for (let k = o; k <= oe; k++) oldKids[nOld++] = SL[b + k] as number;
  if (shift > 0) {
    for (let i = e; i > oe; i--) moveSlot(b, gb, i, i + shift, m.max, arange);
  } else if (shift < 0) {
    for (let i = oe + 1; i <= e; i++) moveSlot(b, gb, i, i + shift, m.max, arange);
    for (let i = count; i <= e; i++) SL[b + i] = undefined;
  }
  for (let k = 0; k < add; k++) {
    const c = cpSlot[k] as number;
    const at = o + k;
    SL[b + at] = c;
    if (at < 15) P[b + at] = cpPiv[k]!;
    PA[c] = x;
    PS[c] = at;
    if (arange) G[gb + at] = cpGap[k]!;
  }
  P[b + 15] = count - 1;
  const depth = m.depth;
  const leafDepth = treeHeight(mt) - 1;
  for (let k = 0; k < nOld; k++) freeUnadopted(mt, oldKids[k]!, depth + 1, leafDepth);
  if (arange) {
    DB[0] = internalMaxGap(x);
    if (depth > 0 && lNode[depth] === x) gapUpdatePath(depth);
    else gapUpdateUp(mt, x);
  }
}

const oldKids = new Int32Array(16);

function moveSlot(b: number, gb: number, from: number, to: number, nmax: number, arange: boolean): void {
  const c = SL[b + from] as number;
  SL[b + to] = c;
  if (to < 15) P[b + to] = from < 15 ? P[b + from]! : nmax;
  // The child stays under x: only its slot changes.
  PS[c] = to;
  if (arange) G[gb + to] = G[gb + from]!;
}

/** Whether level `m` (type `type`) converges and can be rewritten in place. */
function cpCanConvergeInPlace(mt: Mtree, type: number): boolean {
  if (type === maple_leaf_64 || cpData > mtSlots[type]! || sib.end !== 0 || treeInRcu(mt)) return false;
  // A non-root node spanning everything becomes the new root (the tree shrinks).
  return !(mL.min === 0 && mL.max === MAPLE_MAX && mL.depth !== 0);
}

/**
 * A split (the leaf overflows) or a rebalance (the leaf falls below its
 * minimum), written level by level from the leaf up. A split pushes data into
 * a sibling with room (left first); a rebalance takes the right sibling, else
 * the left one, while the data would be insufficient.
 * @kernel mas_wr_split mas_wr_rebalance split_data rebalance_data (lib/maple_tree.c)
 */
function cpWrLeaf(mt: Mtree, mas: WriteState, entry: unknown, rebalance: boolean): void {
  leafLevel(wr.depth);
  copyLoc(mL, par);
  cpNewRoot = false;
  cpLeafInit(mas.index, mas.last, entry, wL, wL, mL);
  let type: number = maple_leaf_64;
  for (;;) {
    if (par.depth !== 0) {
      levelAscend(par);
      par.end = P[par.node * S + 15]!;
    }
    cpDataCalc(mL, mL, wL);
    sib.end = 0;
    if (cpData > mtSlots[type]!) {
      pushDataSib(mL, type);
      if (sib.end !== 0) cpData += sib.end + 1;
    } else if (rebalance && cpData <= mtMinSlots[type]! && (mL.min !== 0 || mL.max !== MAPLE_MAX)) {
      rebalanceSib();
      cpData += sib.end + 1;
    }
    if (cpCanConvergeInPlace(mt, type)) {
      cpConvergeInPlace(mt, mL, wL);
      return;
    }
    multiSrcSetup(mL, mL, wL);
    dstSetup(mt, mas, type);
    cpDataWrite(type);
    if (!leafAscend(mt, mas, rebalance)) break;
    type = internalType(mt);
  }
  cpReplace(mt, cpNewRoot ? mt.root : mL.node, mL.depth);
}

/** The leaf level of the last write walk as the copy path's left state. */
function leafLevel(d: number): void {
  mL.node = lNode[d]!;
  mL.offset = wr.offset;
  mL.min = lMin[d]!;
  mL.max = lMax[d]!;
  mL.end = wr.end;
  mL.depth = d;
  wL.rMin = wr.rMin;
  wL.rMax = wr.rMax;
  wL.offsetEnd = wr.offsetEnd;
  wL.endPiv = wr.endPiv;
  wL.content = wr.content;
}

/** One side of a spanning store: the leaf reached by the walk for `key`. */
function spanLeaf(
  m: MaLevel,
  w: WrLevel,
  nodes: Int32Array,
  offs: Int32Array,
  mins: Float64Array,
  maxs: Float64Array,
  d: number,
): void {
  m.node = nodes[d]!;
  m.offset = offs[d]!;
  m.min = mins[d]!;
  m.max = maxs[d]!;
  m.end = P[m.node * S + 15]!;
  m.depth = d;
  wrSetup(w, m);
  w.offsetEnd = m.offset;
  w.content = SL[m.node * S + m.offset];
  w.endPiv = w.rMax;
}

/** @kernel mas_wr_spanning_store (lib/maple_tree.c) */
function cpWrSpanningStore(mt: Mtree, mas: WriteState, entry: unknown): void {
  if (mas.index === 0 && mas.last === MAPLE_MAX) {
    masNewRoot(mt, mas, entry);
    return;
  }
  const top = wr.depth;
  const leafDepth = treeHeight(mt) - 1;
  rightPathFromLeft(top);
  const last = mas.last;
  walkRight(top, leafDepth, last === MAPLE_MAX ? last : last + 1, false);
  walkLeft(top, leafDepth, mas.index);
  spanLeaf(mR, wR, rNode, rOff, rMin, rMax, leafDepth);
  spanLeaf(mL, wL, lNode, lOff, lMin, lMax, leafDepth);
  if (entry === undefined) {
    // mas_extend_spanning_null()
    let index = mas.index;
    let rLast = last;
    const lSlot = mL.offset;
    const lb = mL.node * S;
    if (wL.content === undefined) index = wL.rMin;
    if (index === wL.rMin && lSlot > 0 && SL[lb + lSlot - 1] === undefined) {
      index = lSlot > 1 ? P[lb + lSlot - 2]! + 1 : mL.min;
      mL.offset = lSlot - 1;
      wL.rMin = index;
    }
    if (wR.content === undefined) {
      if (rLast < wR.rMax) rLast = wR.rMax;
      mR.offset++;
    } else if (rLast === wR.rMax && rLast < mR.max && SL[mR.node * S + mR.offset + 1] === undefined) {
      rLast = safePivot(mR, mR.offset + 1);
      mR.offset++;
      wR.rMax = rLast;
    }
    mas.index = index;
    mas.last = rLast;
    if (index === 0 && rLast === MAPLE_MAX) {
      masNewRoot(mt, mas, undefined);
      return;
    }
  }
  cpNewRoot = false;
  cpLeafInit(mas.index, mas.last, entry, wL, wR, mR);
  let type: number = maple_leaf_64;
  for (;;) {
    // spanning_data()
    cpDataCalc(mL, mR, wR);
    if ((mL.min !== 0 || mR.max !== MAPLE_MAX) && cpData <= mtMinSlots[type]!) {
      spanningSib();
      cpData += sib.end + 1;
    } else sib.end = 0;
    if (mL.node === mR.node && cpCanConvergeInPlace(mt, type)) {
      cpConvergeInPlace(mt, mL, wR);
      return;
    }
    multiSrcSetup(mL, mR, wR);
    dstSetup(mt, mas, type);
    cpDataWrite(type);
    if (!spanningAscend(mt, mas)) break;
    type = internalType(mt);
  }
  cpReplace(mt, cpNewRoot ? mt.root : mL.node, mL.depth);
}
