/**
 * DOC: the write entry points of the advanced API (lib/maple_tree.c):
 * `mas_store`, `mas_store_gfp`, `mas_store_prealloc`, `mas_preallocate`, the
 * `mas_nomem` retry protocol, `mas_destroy`, `mas_expected_entries`,
 * `mas_erase` and `mas_insert`, over the write path of write.ts; and the
 * helpers the normal API shares (its reusable state, lock taking).
 */
import { checkCount, checkGfp, checkIndex } from './check.js';
import { EEXIST, EINVAL, ENOMEM } from './errors.js';
import { GFP_KERNEL, GFP_NOWAIT } from './node-store.js';
import {
  checkMas,
  checkTree,
  checkWriteLock,
  MaState,
  ma_active,
  ma_error,
  ma_none,
  ma_root,
  ma_start,
  masSetErr,
  masStart,
} from './state.js';
import { MAPLE_MAX, type Mtree, treeInRcu, treeIsAlloc } from './tree.js';
import { masStateWalk } from './walk.js';
import {
  MA_STATE_BULK,
  MA_STATE_PREALLOC,
  MA_STATE_REBALANCE,
  masPreallocCalc,
  masWrStore,
  masWrStoreType,
  masWrStoreTypeErase,
  wr,
  wr_append,
  wr_exact_fit,
  wr_new_root,
  wr_node_store,
  wr_slot_store,
  wr_spanning_store,
  wr_store_root,
} from './write.js';

/** Ask the allocator for `count` nodes into the state's sheaf. */
function masNodeCount(mas: MaState, count: number, gfp: number): void {
  const mt = mas.tree;
  const have = mas.sheaf === null ? 0 : mas.sheaf.size;
  if (have >= count) return;
  if (mas.sheaf !== null) {
    mt.stats.returned += mas.sheaf.size;
    mt.allocator.returnSheaf(mas.sheaf);
    mas.sheaf = null;
  }
  mt.stats.requested += count;
  mt.stats.bulkRequests++;
  const sheaf = mt.allocator.prefillSheaf(count, gfp);
  if (sheaf === null) {
    mt.stats.failedRequests++;
    mas.nodeRequest = count;
    masSetErr(mas, -ENOMEM);
    return;
  }
  mt.stats.allocated += sheaf.size;
  mas.sheaf = sheaf;
}

/** Walk, pick the store type and preallocate its worst case (GFP_NOWAIT). @kernel mas_wr_preallocate */
function masWrPreallocate(mas: MaState, entry: unknown, gfp: number): number {
  mas.status = ma_start;
  const type = masWrStoreType(mas, entry);
  mas.storeType = type;
  const request = masPreallocCalc(mas.tree, type, mas.index, mas.last);
  mas.nodeRequest = request;
  if (request > 0) masNodeCount(mas, request, gfp);
  return type;
}

/** What `mas_start()` reports for the tree's root: a node, a direct entry, or nothing. */
function rootStatus(mt: Mtree): number {
  if (mt.root !== 0) return ma_active;
  return mt.rootEntry !== undefined ? ma_root : ma_none;
}

/**
 * The status a store by `mas_store*()` starts from: `mas_wr_prealloc_setup()`
 * resets every state except an active one, one at the start and one at
 * `ma_root`, which keeps its status; `mas_start()` then looks at the root.
 */
function storeStatus(mas: MaState): number {
  return mas.status === ma_root ? ma_root : rootStatus(mas.tree);
}

/**
 * Leave the state where the kernel's store leaves it: active on the range just
 * written; after a store into an empty or direct-entry root, as
 * `mas_store_root()` does (a NULL store keeps `mas_start()`'s status, a direct
 * entry at 0 restarts); after a NULL `mas_new_root()`, restarted.
 * `pre` is {@link rootStatus} before the write.
 */
function masPositionAfterWrite(mas: MaState, entry: unknown, pre: number): void {
  const type = mas.storeType;
  if (type === wr_store_root) {
    if (entry === undefined) {
      mas.status = pre;
      return;
    }
    if (mas.index === 0 && mas.last === 0) {
      mas.status = ma_start;
      return;
    }
    // mas_root_expand(): active on the new leaf at the entry's slot, the
    // range as stored, and `end` left as it was (the kernel does not set it).
    const index = mas.index;
    mas.node = mas.tree.root;
    mas.min = 0;
    mas.max = MAPLE_MAX;
    mas.depth = 0;
    mas.offset = index === 0 ? 0 : pre === ma_root && index > 1 ? 2 : 1;
    mas.status = ma_active;
    return;
  } else if (
    entry === undefined &&
    (type === wr_new_root || (type === wr_spanning_store && mas.index === 0 && mas.last === MAPLE_MAX))
  ) {
    // mas_new_root(NULL), also where a spanning NULL store grew to cover everything.
    mas.status = ma_start;
    return;
  }
  mas.status = ma_start;
  masStateWalk(mas);
}

/** Store `entry` over [index, last], allocating nodes as needed; returns the first entry overwritten. @kernel mas_store (lib/maple_tree.c) */
export function masStore(mas: MaState, entry: unknown): unknown {
  checkMas('masStore', mas);
  const mt = mas.tree;
  checkTree(mt, 'masStore');
  checkWriteLock(mt);
  if (mas.index > mas.last) {
    masSetErr(mas, -EINVAL);
    return undefined;
  }
  const pre = storeStatus(mas);
  mas.status = ma_start;
  const type = masWrStoreType(mas, entry);
  mas.storeType = type;
  const content = wr.content;
  if ((mas.masFlags & MA_STATE_PREALLOC) !== 0) {
    masWrStore(mas, entry, type);
    masPositionAfterWrite(mas, entry, pre);
    return content;
  }
  const request = masPreallocCalc(mt, type, mas.index, mas.last);
  if (request > 0) {
    masNodeCount(mas, request, GFP_NOWAIT);
    if (mas.status === ma_error) return undefined;
  }
  masWrStore(mas, entry, type);
  masDestroy(mas);
  masPositionAfterWrite(mas, entry, pre);
  return content;
}

/** Store `entry` over [index, last], allocating nodes with `gfp`; 0, or -ENOMEM with the tree unchanged. @kernel mas_store_gfp (lib/maple_tree.c) */
export function masStoreGfp(mas: MaState, entry: unknown, gfp: number): number {
  checkMas('masStoreGfp', mas);
  checkGfp('masStoreGfp', gfp);
  const mt = mas.tree;
  checkTree(mt, 'masStoreGfp');
  checkWriteLock(mt);
  const pre = storeStatus(mas);
  const ret = storeGfpInner(mas, entry, gfp);
  if (ret === 0) masPositionAfterWrite(mas, entry, pre);
  return ret;
}

/**
 * @internal {@link masStoreGfp} without the checks and the final positioning.
 * A store that stays inside its leaf without allocating (exact fit, append,
 * slot store, a node store without RCU: `mas_prealloc_calc()` answers 0 for
 * them) goes from the walk straight to the write: with nothing to
 * preallocate, `mas_nomem()` has nothing to retry.
 */
export function storeGfpInner(mas: MaState, entry: unknown, gfp: number): number {
  const index = mas.index;
  const last = mas.last;
  if (index > last) return -EINVAL;
  mas.status = ma_start;
  let type = masWrStoreType(mas, entry);
  if (
    type === wr_node_store
      ? !treeInRcu(mas.tree)
      : type === wr_exact_fit || type === wr_append || type === wr_slot_store
  ) {
    mas.storeType = type;
    mas.nodeRequest = 0;
    masWrStore(mas, entry, type);
    if (mas.sheaf !== null || mas.masFlags !== 0 || mas.reuse.length !== 0) masDestroy(mas);
    return 0;
  }
  for (;;) {
    mas.storeType = type;
    const request = masPreallocCalc(mas.tree, type, mas.index, mas.last);
    mas.nodeRequest = request;
    if (request > 0) masNodeCount(mas, request, GFP_NOWAIT);
    if (mas.status === ma_error && mas.error === -ENOMEM && nomemRetry(mas, gfp)) {
      mas.index = index;
      mas.last = last;
      type = masWrStoreType(mas, entry);
      continue;
    }
    break;
  }
  let ret = 0;
  if (mas.status === ma_error) ret = mas.error;
  else masWrStore(mas, entry, type);
  masDestroy(mas);
  return ret;
}

/** Store `entry` over [index, last] with the nodes {@link masPreallocate} reserved; cannot fail. @kernel mas_store_prealloc (lib/maple_tree.c) */
export function masStorePrealloc(mas: MaState, entry: unknown): void {
  checkMas('masStorePrealloc', mas);
  const mt = mas.tree;
  checkTree(mt, 'masStorePrealloc');
  checkWriteLock(mt);
  const pre = storeStatus(mas);
  mas.status = ma_start;
  const type = masWrStoreType(mas, entry);
  mas.storeType = type;
  masWrStore(mas, entry, type);
  masDestroy(mas);
  masPositionAfterWrite(mas, entry, pre);
}

/** Reserve the nodes a store of `entry` over [index, last] will need; 0, or -ENOMEM. @kernel mas_preallocate (lib/maple_tree.c) */
export function masPreallocate(mas: MaState, entry: unknown, gfp: number): number {
  checkMas('masPreallocate', mas);
  checkGfp('masPreallocate', gfp);
  const mt = mas.tree;
  checkTree(mt, 'masPreallocate');
  const index = mas.index;
  const last = mas.last;
  masWrPreallocate(mas, entry, gfp);
  mas.index = index;
  mas.last = last;
  if (mas.status === ma_error) {
    const ret = mas.error;
    masDestroy(mas);
    mas.status = ma_start;
    return ret;
  }
  mas.status = ma_start;
  mas.masFlags |= MA_STATE_PREALLOC;
  return 0;
}

/** After a store failed with -ENOMEM, allocate nodes with `gfp`; true when the caller should retry the store. @kernel mas_nomem (lib/maple_tree.c) */
export function masNomem(mas: MaState, gfp: number): boolean {
  checkGfp('masNomem', gfp);
  if (mas.status !== ma_error || mas.error !== -ENOMEM) return false;
  return nomemRetry(mas, gfp);
}

/** {@link masNomem} once the state is known to hold -ENOMEM. */
function nomemRetry(mas: MaState, gfp: number): boolean {
  const mt = mas.tree;
  const count = mas.nodeRequest;
  mt.stats.requested += count;
  mt.stats.bulkRequests++;
  const sheaf = mt.allocator.prefillSheaf(count, gfp);
  if (sheaf === null) {
    mt.stats.failedRequests++;
    return false;
  }
  mt.stats.allocated += sheaf.size;
  if (mas.sheaf !== null) {
    mt.stats.returned += mas.sheaf.size;
    mt.allocator.returnSheaf(mas.sheaf);
  }
  mas.sheaf = sheaf;
  mas.status = ma_start;
  mas.error = 0;
  return true;
}

/** Free the nodes the cursor reserved and did not use. @kernel mas_destroy (lib/maple_tree.c) */
export function masDestroy(mas: MaState): void {
  mas.masFlags &= ~(MA_STATE_BULK | MA_STATE_REBALANCE | MA_STATE_PREALLOC);
  const reuse = mas.reuse;
  if (reuse.length > 0) {
    const mt = mas.tree;
    for (let i = 0; i < reuse.length; i++) mt.allocator.free(reuse[i]!);
    mt.stats.freed += reuse.length;
    reuse.length = 0;
  }
  if (mas.sheaf !== null) {
    const mt = mas.tree;
    mt.stats.returned += mas.sheaf.size;
    mt.allocator.returnSheaf(mas.sheaf);
    mas.sheaf = null;
  }
}

/** Reserve nodes for a bulk insertion of `nrEntries` entries in ascending order; 0, or -ENOMEM. @kernel mas_expected_entries (lib/maple_tree.c) */
export function masExpectedEntries(mas: MaState, nrEntries: number): number {
  checkCount('masExpectedEntries', 'nrEntries', nrEntries);
  const mt = mas.tree;
  checkTree(mt, 'masExpectedEntries');
  let nonleafCap = 10 - 2;
  mas.masFlags |= MA_STATE_BULK;
  let nrNodes = Math.max(nrEntries, nrEntries * 2 + 1);
  if (!treeIsAlloc(mt)) nonleafCap = 16 - 2;
  nrNodes = Math.ceil(nrNodes / (16 - 2));
  nrNodes += Math.ceil(nrNodes / nonleafCap);
  masNodeCount(mas, nrNodes + 3, GFP_KERNEL);
  mas.masFlags |= MA_STATE_PREALLOC;
  if (mas.status !== ma_error) return 0;
  const ret = mas.error;
  mas.status = ma_start;
  masDestroy(mas);
  return ret;
}

/** Erase the range holding `index`; returns the entry removed. @kernel mas_erase (lib/maple_tree.c) */
export function masErase(mas: MaState): unknown {
  checkMas('masErase', mas);
  return masEraseInner(mas, true);
}

/**
 * {@link masErase}; `position` false skips leaving the state on the emptied
 * range (a re-walk from the root) for callers whose state is thrown away
 * (`mtree_erase()`'s on-stack state).
 */
export function masEraseInner(mas: MaState, position: boolean): unknown {
  const mt = mas.tree;
  checkTree(mt);
  checkWriteLock(mt);
  const index = mas.index;
  for (;;) {
    mas.status = ma_start;
    let entry: unknown;
    let type: number;
    if (mt.root === 0) {
      entry = masStateWalk(mas);
      if (entry === undefined) return undefined;
      type = masWrPreallocate(mas, undefined, GFP_NOWAIT);
    } else {
      // One walk finds the range and decides the store type (the kernel walks twice).
      type = masWrStoreTypeErase(mas);
      if (type < 0) {
        // Nothing to erase: like the kernel, leave the state on the empty range.
        mas.status = ma_start;
        if (position) masStateWalk(mas);
        return undefined;
      }
      entry = wr.content;
      mas.storeType = type;
      if (type === wr_node_store ? !treeInRcu(mt) : type === wr_exact_fit || type === wr_slot_store) {
        // In the leaf, nothing to preallocate (as in storeGfpInner).
        mas.nodeRequest = 0;
        const pre = position ? rootStatus(mt) : 0;
        masWrStore(mas, undefined, type);
        if (mas.sheaf !== null || mas.masFlags !== 0 || mas.reuse.length !== 0) masDestroy(mas);
        if (position) masPositionAfterWrite(mas, undefined, pre);
        return entry;
      }
      const request = masPreallocCalc(mt, type, mas.index, mas.last);
      mas.nodeRequest = request;
      if (request > 0) masNodeCount(mas, request, GFP_NOWAIT);
    }
    if (masNomem(mas, GFP_KERNEL)) {
      mas.index = index;
      mas.last = index;
      continue;
    }
    if (mas.status !== ma_error) {
      const pre = rootStatus(mt);
      masWrStore(mas, undefined, type);
      masDestroy(mas);
      // Like the kernel, leave the state on the range now empty.
      if (position) masPositionAfterWrite(mas, undefined, pre);
      return entry;
    }
    masDestroy(mas);
    return entry;
  }
}

/**
 * Insert when [index, last] is empty, else `-EEXIST` in the state.
 * @kernel mas_insert (lib/maple_tree.c)
 */
export function masInsert(mas: MaState, entry: unknown): void {
  mas.status = ma_start;
  const content = masStart(mas);
  if (content !== undefined) {
    masSetErr(mas, -EEXIST);
    return;
  }
  const type = masWrPreallocate(mas, entry, GFP_NOWAIT);
  if (mas.status === ma_error) return;
  if (type === wr_spanning_store) {
    masSetErr(mas, -EEXIST);
    return;
  }
  if (type !== wr_new_root && type !== wr_store_root) {
    if (wr.content !== undefined || mas.last > wr.rMax) {
      masSetErr(mas, -EEXIST);
      return;
    }
  }
  masWrStore(mas, entry, type);
}

/** A reusable maple state for the normal API (no allocation per call). */
export function scratchState(mt: Mtree, first: number, last: number): MaState {
  let mas = mt.scratchState as MaState | null;
  if (mas === null) {
    mas = new MaState(mt, first, last);
    mt.scratchState = mas;
  }
  mas.index = first;
  mas.last = last;
  mas.status = ma_start;
  mas.node = 0;
  mas.error = 0;
  mas.masFlags = 0;
  return mas;
}

/** @internal Check the two bounds of a range argument, naming them. */
export function checkRange(fn: string, first: number, last: number, a = 'first', b = 'last'): void {
  checkIndex(fn, a, first);
  checkIndex(fn, b, last);
}

/** @internal Take the internal lock unless held or external; true when this call took it. */
export function takeLock(mt: Mtree): boolean {
  if (mt.externalLock !== null) {
    checkWriteLock(mt);
    return false;
  }
  if (mt.lockHeld) return false;
  mt.lockHeld = true;
  return true;
}
