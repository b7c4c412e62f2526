/**
 * DOC: tree duplication (lib/maple_tree.c): `__mt_dup` and `mtree_dup`, the
 * node-by-node copy fork uses for the VMA tree.
 */
import { checkGfp } from './check.js';
import { EINVAL, ENOMEM, MapleTreeError } from './errors.js';
import { mtreeEmpty } from './maple-tree.js';
import { GFP_KERNEL, type MAPLE_GAP_STRIDE, type MAPLE_NODE_STRIDE } from './node-store.js';
import { takeLock } from './store.js';
import { checkTree as checkTreeArg, type Mtree, treeAttr, treeHeight } from './tree.js';

// Module-local copies of the node-store strides and MAPLE_MAX (their types pin
// them to the exported values): an imported binding is a live cell the JIT
// reloads on every use; a local constant folds into the index arithmetic.
const S: typeof MAPLE_NODE_STRIDE = 16;
const GS: typeof MAPLE_GAP_STRIDE = 10;

/**
 * Duplicate `mt` into the empty tree `dst` node by node (fork's bulk copy).
 * @returns 0, -EINVAL (attributes differ or `dst` not empty) or -ENOMEM (nothing left allocated).
 * @remarks Context: the caller holds both locks.
 * @kernel __mt_dup (lib/maple_tree.c)
 */
export function __mtDup(mt: Mtree, dst: Mtree, gfp = GFP_KERNEL): number {
  checkDupArgs('__mtDup', mt, dst, gfp);
  return mtDupInner(mt, dst, gfp);
}

function checkDupArgs(fn: string, mt: Mtree, dst: Mtree, gfp: number): void {
  checkTreeArg(fn, mt);
  checkTreeArg(fn, dst, 'dst');
  checkGfp(fn, gfp);
  if (dst === mt) throw new MapleTreeError('EINVAL', `maple_tree: ${fn}: dst is the source tree`);
}

function mtDupInner(mt: Mtree, dst: Mtree, gfp: number): number {
  if (treeAttr(mt) !== treeAttr(dst) || !mtreeEmpty(dst)) return -EINVAL;
  if (mt.root === 0) {
    dst.rootEntry = mt.rootEntry;
    dst.flags = mt.flags;
    return 0;
  }
  const src = mt.store;
  const a = dst.allocator;
  const got: number[] = [];
  const h = treeHeight(mt);
  // Depth-first copy: (source node, depth, parent copy, slot).
  const stack: number[] = [mt.root, 0, 0, 0];
  let newRoot = 0;
  while (stack.length > 0) {
    const slot = stack.pop()!;
    const pcopy = stack.pop()!;
    const d = stack.pop()!;
    const n = stack.pop()!;
    const c = a.alloc(gfp);
    dst.stats.requested++;
    if (c === 0) {
      dst.stats.failedRequests++;
      for (const m of got) a.free(m);
      return -ENOMEM;
    }
    dst.stats.allocated++;
    dst.stats.used++;
    got.push(c);
    const ds = dst.store;
    ds.ensure(c);
    ds.init(c, src.type[n]!);
    const sb = n * S;
    const db = c * S;
    const e = src.pivots[n * S + 15]!;
    ds.pivots[c * S + 15] = e;
    ds.gapOffset[c] = src.gapOffset[n]!;
    for (let i = 0; i <= e && i < 15; i++) ds.pivots[db + i] = src.pivots[sb + i]!;
    if (d === h - 1) for (let i = 0; i <= e; i++) ds.slots[db + i] = src.slots[sb + i];
    else {
      {
        const dg = ds.gapIdx[c]! * GS;
        const sg = src.gapIdx[n]! * GS;
        for (let i = 0; i <= e; i++) ds.gaps[dg + i] = src.gaps[sg + i]!;
      }
      for (let i = e; i >= 0; i--) stack.push(src.slots[sb + i] as number, d + 1, c, i);
    }
    if (pcopy === 0) newRoot = c;
    else {
      ds.slots[pcopy * S + slot] = c;
      ds.parent[c] = pcopy;
      ds.parentSlot[c] = slot;
    }
  }
  dst.root = newRoot;
  dst.flags = mt.flags;
  dst.gen++;
  return 0;
}

/**
 * {@link __mtDup} taking both trees' locks.
 * @kernel mtree_dup (lib/maple_tree.c)
 */
export function mtreeDup(mt: Mtree, dst: Mtree, gfp = GFP_KERNEL): number {
  checkDupArgs('mtreeDup', mt, dst, gfp);
  const t1 = takeLock(dst);
  const t2 = takeLock(mt);
  const ret = mtDupInner(mt, dst, gfp);
  if (t2) mt.lockHeld = false;
  if (t1) dst.lockHeld = false;
  return ret;
}
