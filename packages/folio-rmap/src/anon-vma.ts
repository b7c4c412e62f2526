/**
 * DOC: anon_vma and anon_vma_chain: how an anonymous folio finds every VMA
 * that may map it.
 *
 * An anon folio's `mapping` points at an anon_vma; the anon_vma's interval
 * tree holds one anon_vma_chain (avc) per VMA that may map its folios, keyed
 * by the VMA's [vm_pgoff, vm_pgoff + pages - 1] (the anon linear page
 * index range; 2.6.34 replaced the anon_vma list with chains and v3.7 the
 * list with an interval tree in v3.7, the kernel commit "mm anon rmap:
 * replace same_anon_vma linked list with an interval tree"). Each VMA's `anonVmaChain` lists the
 * avcs linking it to its anon_vma and to every ancestor's, newest first.
 * Fork gives the child VMA a new anon_vma (child of the parent's, sharing
 * its root and the root's lock) unless an anon_vma with no VMA and at most
 * one child can be reused (`num_children`, `num_active_vmas`: the 2022 fix
 * of unbounded anon_vma chains).
 *
 * Locking: all anon_vmas of a tree use the root's rwsem (a machine
 * `RwSemaphore`). A contended write lock queues the task (machine scheduler
 * semantics); the function then returns -EAGAIN and the step is retried.
 */
import {
  downRead,
  downReadTrylock,
  downWrite,
  EAGAIN,
  ENOMEM,
  MmBugError,
  RwSemaphore,
  upRead,
  upWrite,
} from '@mm/machine';
import type { FolioRmap, RmapCache } from './env.js';
import { FolioError } from './errors.js';
import { RB_NIL, RbRootCached } from './interval-tree.js';
import { type RmapVma, vmaLastPgoff, vmaStartPgoff } from './vma.js';

/** `enum vma_operation`: why `anonVmaClone` is called (mm/internal.h, v7.2). */
export const VMA_OP_SPLIT = 0;
/** Merging an unfaulted VMA (no anon_vma yet) with one that has an anon_vma. */
export const VMA_OP_MERGE_UNFAULTED = 1;
/** Copying a VMA for mremap(). */
export const VMA_OP_REMAP = 2;
/** Cloning the parent's VMA at fork(). */
export const VMA_OP_FORK = 3;

/** The set of VMAs that may map an anonymous folio, found from `folio->mapping`. @kernel struct anon_vma (include/linux/rmap.h) */
export class AnonVma {
  /** The handle `folio->mapping` stores (`handle << 2 | FOLIO_MAPPING_ANON`). */
  readonly handle: number;
  /** Root of this anon_vma tree: its rwsem is the lock of the whole tree. */
  root: AnonVma;
  /** Parent anon_vma (itself for a root). */
  parent: AnonVma;
  /** The rwsem (only the root's is used). */
  readonly rwsem: RwSemaphore;
  /** `refcount`: one per child anon_vma pinning this root, plus the VMA users' reference. */
  refcount: number;
  /** Anon_vmas whose parent is this one, itself included for a root. */
  numChildren: number;
  /** VMAs whose `anon_vma` is this one. */
  numActiveVmas: number;
  /** `rb_root`: interval tree of anon_vma_chains. */
  readonly rbRoot: RbRootCached;
  /** Slab object handle from the composer's `anon_vma` cache. */
  readonly slabObj: number;
  /** Set when freed (a stale `folio->mapping` may still name the handle). */
  freed: boolean;

  constructor(rm: FolioRmap, handle: number, slabObj: number) {
    this.handle = handle;
    this.root = this;
    this.parent = this;
    this.rwsem = new RwSemaphore(rm.machine, 'anon_vma->rwsem');
    this.refcount = 1;
    this.numChildren = 0;
    this.numActiveVmas = 0;
    this.rbRoot = new RbRootCached();
    this.slabObj = slabObj;
    this.freed = false;
  }
}

/** Links one VMA to one anon_vma: on the VMA's chain list and in the anon_vma's interval tree. @kernel struct anon_vma_chain (include/linux/rmap.h) */
export class AnonVmaChain {
  /** The VMA the chain links. @kernel anon_vma_chain.vma */
  readonly vma: RmapVma;
  /** The anon_vma the chain links. @kernel anon_vma_chain.anon_vma */
  readonly anonVma: AnonVma;
  /** Node handle in `anonVma.rbRoot` (RB_NIL when not linked). */
  rb: number;
  /** @internal */
  readonly slabObj: number;

  constructor(vma: RmapVma, anonVma: AnonVma, slabObj: number) {
    this.vma = vma;
    this.anonVma = anonVma;
    this.rb = RB_NIL;
    this.slabObj = slabObj;
  }
}

function slabAlloc(rm: FolioRmap, cache: RmapCache): number {
  const hook = rm.hooks.allocObject;
  return hook === undefined ? 0 : hook(cache);
}

function slabFree(rm: FolioRmap, cache: RmapCache, obj: number): void {
  const hook = rm.hooks.freeObject;
  if (hook !== undefined) hook(cache, obj);
}

/**
 * A new anon_vma: refcount 1, its own root and parent; null on -ENOMEM.
 * @kernel anon_vma_alloc (mm/rmap.c)
 */
export function anonVmaAlloc(rm: FolioRmap): AnonVma | null {
  const obj = slabAlloc(rm, 'anon_vma');
  if (obj < 0) return null;
  let handle = rm.freeAnonVmaHandles.pop();
  if (handle === undefined) {
    handle = rm.anonVmas.length;
    rm.anonVmas.push(undefined);
  }
  const av = new AnonVma(rm, handle, obj);
  rm.anonVmas[handle] = av;
  rm.nrAnonVmas++;
  return av;
}

/**
 * Free an anon_vma whose refcount dropped to zero. The slab is
 * SLAB_TYPESAFE_BY_RCU: the handle may be reused at once, and a reader that
 * found it through a stale `folio->mapping` re-checks `folio_mapped()`.
 * @kernel anon_vma_free (mm/rmap.c)
 */
export function anonVmaFree(rm: FolioRmap, av: AnonVma): void {
  if (av.refcount !== 0)
    throw new FolioError('EBUSY', -1, `anon_vma: free of anon_vma ${av.handle} with refcount ${av.refcount}`);
  av.freed = true;
  rm.anonVmas[av.handle] = undefined;
  rm.freeAnonVmaHandles.push(av.handle);
  rm.nrAnonVmas--;
  slabFree(rm, 'anon_vma', av.slabObj);
}

/** Take a reference on `av`. @kernel get_anon_vma (mm/internal.h) */
export function getAnonVma(av: AnonVma): void {
  av.refcount++;
}

/**
 * Drop a reference; the last frees the anon_vma and drops its reference on the root.
 * @kernel put_anon_vma / __put_anon_vma (mm/internal.h, mm/rmap.c)
 */
export function putAnonVma(rm: FolioRmap, av: AnonVma): void {
  if (--av.refcount > 0) return;
  const root = av.root;
  anonVmaFree(rm, av);
  if (root !== av && --root.refcount === 0) anonVmaFree(rm, root);
}

function avcAlloc(rm: FolioRmap, vma: RmapVma, av: AnonVma): AnonVmaChain | null {
  const obj = slabAlloc(rm, 'anon_vma_chain');
  if (obj < 0) return null;
  rm.nrAnonVmaChains++;
  return new AnonVmaChain(vma, av, obj);
}

function avcFree(rm: FolioRmap, avc: AnonVmaChain): void {
  rm.nrAnonVmaChains--;
  slabFree(rm, 'anon_vma_chain', avc.slabObj);
}

/** Link `avc` at the head of `vma`'s chain list. @kernel anon_vma_chain_assign (mm/rmap.c): link `avc` at the head of `vma`'s list. */
function anonVmaChainAssign(vma: RmapVma, avc: AnonVmaChain): void {
  vma.anonVmaChain.unshift(avc);
}

/**
 * Insert `avc` into its anon_vma's tree, keyed by its VMA's page offsets.
 * @kernel anon_vma_interval_tree_insert (mm/interval_tree.c)
 */
export function anonVmaIntervalTreeInsert(rm: FolioRmap, avc: AnonVmaChain): void {
  const t = rm.avcTree;
  const h = t.alloc(avc, vmaStartPgoff(avc.vma), vmaLastPgoff(avc.vma, rm.pageSize));
  avc.rb = h;
  t.insert(avc.anonVma.rbRoot, h);
}

/** Unlink `avc` from its anon_vma's interval tree. @kernel anon_vma_interval_tree_remove (mm/interval_tree.c) */
export function anonVmaIntervalTreeRemove(rm: FolioRmap, avc: AnonVmaChain): void {
  const t = rm.avcTree;
  t.remove(avc.anonVma.rbRoot, avc.rb);
  t.free(avc.rb);
  avc.rb = RB_NIL;
}

/**
 * The avcs of `av` whose VMA may map a page offset in [first, last], in tree order.
 * @kernel anon_vma_interval_tree_foreach (include/linux/rmap.h)
 */
export function anonVmaIntervalTreeForeach(rm: FolioRmap, av: AnonVma, first: number, last: number): AnonVmaChain[] {
  const t = rm.avcTree;
  const out: AnonVmaChain[] = [];
  for (let h = t.iterFirst(av.rbRoot, first, last); h !== RB_NIL; h = t.iterNext(h, first, last)) {
    out.push(t.owner[h] as AnonVmaChain);
  }
  return out;
}

/** Write-lock the tree of `av` (its root's rwsem); false when the task was queued to sleep. @kernel anon_vma_lock_write (mm/internal.h) */
export function anonVmaLockWrite(av: AnonVma): boolean {
  return downWrite(av.root.rwsem);
}

/** Release the write lock of `av`'s tree (its root's rwsem) @kernel anon_vma_unlock_write (mm/internal.h) */
export function anonVmaUnlockWrite(av: AnonVma): void {
  upWrite(av.root.rwsem);
}

/** Read-lock the tree of `av` (its root's rwsem); false when the task was queued to sleep. @kernel anon_vma_lock_read (mm/internal.h) */
export function anonVmaLockRead(av: AnonVma): boolean {
  return downRead(av.root.rwsem);
}

/** Try to read-lock the tree of `av` without sleeping; true on success. @kernel anon_vma_trylock_read (mm/internal.h) */
export function anonVmaTrylockRead(av: AnonVma): boolean {
  return downReadTrylock(av.root.rwsem);
}

/** Release the read lock of `av`'s tree. @kernel anon_vma_unlock_read (mm/internal.h) */
export function anonVmaUnlockRead(av: AnonVma): void {
  upRead(av.root.rwsem);
}

/**
 * Give `vma` an anon_vma before its first anon folio: `mergeable` (an
 * adjacent VMA's anon_vma that `find_mergeable_anon_vma` found, from the
 * VMA code) or a new root. Returns 0, -ENOMEM, or -EAGAIN (lock contended:
 * the task sleeps and retries).
 * @kernel anon_vma_prepare / __anon_vma_prepare (mm/internal.h, mm/rmap.c)
 */
export function anonVmaPrepare(rm: FolioRmap, vma: RmapVma, mergeable: AnonVma | null = null): number {
  if (vma.anonVma !== null) return 0;
  const obj = slabAlloc(rm, 'anon_vma_chain');
  if (obj < 0) return -ENOMEM;
  let av = mergeable;
  let allocated: AnonVma | null = null;
  if (av === null) {
    av = anonVmaAlloc(rm);
    if (av === null) {
      slabFree(rm, 'anon_vma_chain', obj);
      return -ENOMEM;
    }
    av.numChildren++; // self-parent link for a new root
    allocated = av;
  }
  if (!anonVmaLockWrite(av)) {
    if (allocated !== null) putAnonVma(rm, allocated);
    slabFree(rm, 'anon_vma_chain', obj);
    return -EAGAIN;
  }
  const avc = new AnonVmaChain(vma, av, obj);
  rm.nrAnonVmaChains++;
  vma.anonVma = av;
  anonVmaChainAssign(vma, avc);
  anonVmaIntervalTreeInsert(rm, avc);
  av.numActiveVmas++;
  anonVmaUnlockWrite(av);
  return 0;
}

/** @kernel cleanup_partial_anon_vmas (mm/rmap.c) */
function cleanupPartialAnonVmas(rm: FolioRmap, vma: RmapVma): void {
  for (const avc of vma.anonVmaChain) avcFree(rm, avc);
  vma.anonVmaChain = [];
  vma.anonVma = null;
}

/** @kernel maybe_reuse_anon_vma (mm/rmap.c) */
function maybeReuseAnonVma(dst: RmapVma, av: AnonVma): void {
  if (dst.anonVma !== null) return;
  // Reuse an anon_vma whose VMAs were all unmapped and that has at most
  // one child (a root counts itself, so a root is never reused).
  if (av.numActiveVmas > 0) return;
  if (av.numChildren > 1) return;
  dst.anonVma = av;
  av.numActiveVmas++;
}

/**
 * Link `dst` (with an empty chain) into every anon_vma `src` is linked
 * into: for a split, merge or remap `dst.anonVma` must already be
 * `src.anonVma`; for a fork (VMA_OP_FORK) `dst.anonVma` is null and may be
 * set to a reusable anon_vma of the tree. Returns 0, -ENOMEM (dst unlinked
 * and its anon_vma reset) or -EAGAIN.
 * @kernel anon_vma_clone (mm/rmap.c, v7.2)
 */
export function anonVmaClone(rm: FolioRmap, dst: RmapVma, src: RmapVma, operation: number): number {
  if (dst.anonVmaChain.length !== 0) throw new FolioError('EINVAL', -1, 'anon_vma: clone into a VMA with a chain');
  if (operation !== VMA_OP_FORK && src.anonVma !== null && dst.anonVma !== src.anonVma) {
    throw new FolioError('EINVAL', -1, 'anon_vma: clone without fork needs dst.anonVma == src.anonVma');
  }
  if (operation !== VMA_OP_FORK && dst.vmMm !== src.vmMm) {
    throw new FolioError('EINVAL', -1, 'anon_vma: clone across mms outside fork');
  }
  const active = src.anonVma;
  if (active === null) return 0;
  for (const pavc of src.anonVmaChain) {
    const avc = avcAlloc(rm, dst, pavc.anonVma);
    if (avc === null) {
      cleanupPartialAnonVmas(rm, dst);
      return -ENOMEM;
    }
    anonVmaChainAssign(dst, avc);
  }
  if (!anonVmaLockWrite(active)) {
    cleanupPartialAnonVmas(rm, dst);
    return -EAGAIN;
  }
  const chain = dst.anonVmaChain;
  for (let k = chain.length - 1; k >= 0; k--) {
    const avc = chain[k] as AnonVmaChain;
    anonVmaIntervalTreeInsert(rm, avc);
    if (operation === VMA_OP_FORK) maybeReuseAnonVma(dst, avc.anonVma);
  }
  if (operation !== VMA_OP_FORK) (dst.anonVma as AnonVma).numActiveVmas++;
  anonVmaUnlockWrite(active);
  return 0;
}

/**
 * Attach a child's VMA to the parent VMA's anon_vmas and to a new anon_vma
 * of its own (or a reused one), where its CoW copies will go. 0, -ENOMEM or -EAGAIN.
 * @kernel anon_vma_fork (mm/rmap.c)
 */
export function anonVmaFork(rm: FolioRmap, vma: RmapVma, pvma: RmapVma): number {
  if (pvma.anonVma === null) return 0;
  vma.anonVma = null;
  const av = anonVmaAlloc(rm);
  if (av === null) return -ENOMEM;
  const avc = avcAlloc(rm, vma, av);
  if (avc === null) {
    putAnonVma(rm, av);
    return -ENOMEM;
  }
  const rc = anonVmaClone(rm, vma, pvma, VMA_OP_FORK);
  if (rc !== 0 || vma.anonVma !== null) {
    putAnonVma(rm, av);
    avcFree(rm, avc);
    return rc;
  }
  av.numActiveVmas = 1;
  av.root = pvma.anonVma.root;
  av.parent = pvma.anonVma;
  // The root's lock outlives this anon_vma: pin the root.
  getAnonVma(av.root);
  vma.anonVma = av;
  anonVmaChainAssign(vma, avc);
  // The clone just took and dropped this root lock, and nothing runs in
  // between in the model, so it is free.
  if (!anonVmaLockWrite(av)) throw new MmBugError('anon_vma: root lock taken between clone and fork');
  anonVmaIntervalTreeInsert(rm, avc);
  av.parent.numChildren++;
  anonVmaUnlockWrite(av);
  return 0;
}

function unlinkAnonVmasLocked(rm: FolioRmap, vma: RmapVma, active: AnonVma): void {
  const keep: AnonVmaChain[] = [];
  for (const avc of vma.anonVmaChain) {
    const av = avc.anonVma;
    anonVmaIntervalTreeRemove(rm, avc);
    // Leave empty anon_vmas on the list: they are freed outside the lock.
    if (av.rbRoot.node === RB_NIL) {
      av.parent.numChildren--;
      keep.push(avc);
      continue;
    }
    avcFree(rm, avc);
  }
  active.numActiveVmas--;
  vma.anonVma = null;
  vma.anonVmaChain = keep;
}

/**
 * Remove every link between `vma` and anon_vmas (munmap, exit, merge),
 * freeing anon_vmas left with no VMA in their tree (newest to oldest, so
 * the root goes last). Returns 0 or -EAGAIN (lock contended, nothing done).
 * @kernel unlink_anon_vmas (mm/rmap.c)
 */
export function unlinkAnonVmas(rm: FolioRmap, vma: RmapVma): number {
  const active = vma.anonVma;
  if (active === null) {
    if (vma.anonVmaChain.length !== 0) throw new FolioError('EINVAL', -1, 'anon_vma: chain without anon_vma');
    return 0;
  }
  if (!anonVmaLockWrite(active)) return -EAGAIN;
  unlinkAnonVmasLocked(rm, vma, active);
  anonVmaUnlockWrite(active);
  for (const avc of vma.anonVmaChain) {
    const av = avc.anonVma;
    rm.machine.warnOn(av.numChildren !== 0 || av.numActiveVmas !== 0, 'anon_vma: freeing an anon_vma still in use');
    putAnonVma(rm, av);
    avcFree(rm, avc);
  }
  vma.anonVmaChain = [];
  return 0;
}

/**
 * Take `vma`'s avcs out of their trees before its start, end or pgoff
 * change (the caller holds the root anon_vma lock for write).
 * @kernel anon_vma_interval_tree_pre_update_vma (mm/vma.c)
 */
export function anonVmaIntervalTreePreUpdateVma(rm: FolioRmap, vma: RmapVma): void {
  for (const avc of vma.anonVmaChain) anonVmaIntervalTreeRemove(rm, avc);
}

/**
 * Put `vma`'s avcs back, keyed by its new page offsets.
 * @kernel anon_vma_interval_tree_post_update_vma (mm/vma.c)
 */
export function anonVmaIntervalTreePostUpdateVma(rm: FolioRmap, vma: RmapVma): void {
  for (const avc of vma.anonVmaChain) anonVmaIntervalTreeInsert(rm, avc);
}
