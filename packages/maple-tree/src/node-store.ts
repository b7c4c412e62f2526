/**
 * DOC: maple nodes as a structure of arrays, and the node allocator interface.
 *
 * A node is an integer handle (>= 1; 0 means "no node"). Its fields live in
 * typed arrays indexed by the handle (stride {@link MAPLE_NODE_STRIDE} for the
 * per-slot arrays), the layout of `struct maple_node` turned sideways:
 * `maple_range_64`/`maple_leaf_64` use 16 slots and 15 pivots, `maple_arange_64`
 * 10 slots, 9 pivots and 10 gaps. Only `maple_arange_64` nodes (a few per cent
 * of a tree: internal nodes of allocation trees) have gaps, so the gaps live in
 * a table of their own, one record per such node, found through the node's
 * `gapIdx`: the table stays small enough to stay in cache, and leaves carry no
 * room for gaps. Pivots are Float64 because indices go up to
 * `Number.MAX_SAFE_INTEGER`. One JS array (`slots`) holds the entries of
 * leaves and the child handles (small integers) of internal nodes: the node
 * type alone tells a value from a child pointer (the kernel tags pointers).
 *
 * The allocator hands out handles. Its interface is the shape of the SLUB
 * prefilled-sheaf API (`kmem_cache_prefill_sheaf()` for a worst case,
 * `kmem_cache_alloc_from_sheaf()` per node, `kmem_cache_return_sheaf()` for the
 * rest) so that a slab model can back it without this package depending on it.
 */

/** The number of slots of a `maple_range_64` / `maple_leaf_64` node. */
export const MAPLE_RANGE64_SLOTS = 16;
/** The number of slots of a `maple_arange_64` node (gap-tracking internal node). */
export const MAPLE_ARANGE64_SLOTS = 10;
/** Stride of the per-slot arrays of the node store (pivots, slots). */
export const MAPLE_NODE_STRIDE = 16;
/** Stride of the gap table (one record of 10 gaps per `maple_arange_64` node). */
export const MAPLE_GAP_STRIDE = 10;
/** The largest tree height. */
export const MAPLE_HEIGHT_MAX = 31;
/** The most nodes a {@link MapleNodeStore} is created for (the pool's default `maxNodes`, 2^22). */
export const MAPLE_STORE_MAX_NODES = 1 << 22;

/** `enum maple_type`: a free node (not in the kernel: handles are recycled). */
export const maple_free = 0;
/** `enum maple_type`: a leaf of 16 range slots. */
export const maple_leaf_64 = 1;
/** `enum maple_type`: an internal node of 16 range slots. */
export const maple_range_64 = 2;
/** `enum maple_type`: an internal node of 10 slots with per-slot largest gaps. */
export const maple_arange_64 = 3;

/** Slots per node type (`mt_slots[]`). */
export const mtSlots: readonly number[] = [0, MAPLE_RANGE64_SLOTS, MAPLE_RANGE64_SLOTS, MAPLE_ARANGE64_SLOTS];
/** Pivots per node type (`mt_pivots[]`). */
export const mtPivots: readonly number[] = [
  0,
  MAPLE_RANGE64_SLOTS - 1,
  MAPLE_RANGE64_SLOTS - 1,
  MAPLE_ARANGE64_SLOTS - 1,
];
/** Minimum occupancy per node type (`mt_min_slots[]`): a node with more slots in use is sufficient. */
export const mtMinSlots: readonly number[] = [
  0,
  MAPLE_RANGE64_SLOTS / 2 - 2,
  MAPLE_RANGE64_SLOTS / 2 - 2,
  MAPLE_ARANGE64_SLOTS / 2 - 1,
];

/**
 * The node memory shared by every tree using one allocator: one typed array
 * per field, grown by doubling. Hot code re-reads the array fields after an
 * allocation (growth replaces the arrays).
 */
export class MapleNodeStore {
  /** Number of handles the arrays can hold. */
  capacity: number;
  /**
   * Pivots: `pivots[n * 16 + i]` is the inclusive upper bound of slot `i`;
   * `pivots[n * 16 + 15]` (no node type has a 16th pivot) is `ma_meta end`,
   * the offset of the last slot in use.
   */
  pivots: Float64Array;
  /**
   * The gap table: `gaps[gapIdx[n] * 10 + i]` is the largest gap below slot
   * `i` of `maple_arange_64` node `n`. Record 0 is all zeros and belongs to no
   * node: every other node type's `gapIdx` is 0.
   */
  gaps: Float64Array;
  /** The node's record in {@link gaps} (`maple_arange_64` only; 0 otherwise). */
  gapIdx: Int32Array;
  /** Records of the gap table in use (record 0 included). */
  private gapNext: number;
  /** Released gap records, reused first. */
  private gapFree: Int32Array;
  private nrGapFree: number;
  /** Leaves: the entries (`undefined` is NULL); internal nodes: child handles. */
  slots: unknown[];
  /** `ma_meta gap`: offset of the largest gap (`maple_arange_64`). */
  gapOffset: Uint8Array;
  /** `enum maple_type` of the node; {@link maple_free} when not allocated. */
  type: Uint8Array;
  /** Parent handle; 0 for a root. */
  parent: Int32Array;
  /** The node's offset in its parent (the slot bits of the kernel's parent pointer). */
  parentSlot: Uint8Array;
  /** 1 once the node was replaced in RCU mode (`mte_set_node_dead`): readers rewalk. */
  dead: Uint8Array;

  /**
   * Node memory for `capacity` nodes to start with (it grows on demand).
   * @throws MapleTreeError (EINVAL) when `capacity` is not a count up to {@link MAPLE_STORE_MAX_NODES}.
   */
  constructor(capacity = 64) {
    checkCount('MapleNodeStore', 'capacity', capacity);
    if (capacity > MAPLE_STORE_MAX_NODES)
      throw new MapleTreeError(
        'EINVAL',
        `maple_tree: MapleNodeStore: capacity (${capacity}) is above MAPLE_STORE_MAX_NODES (${MAPLE_STORE_MAX_NODES})`,
      );
    const cap = Math.max(2, capacity | 0);
    this.capacity = cap;
    this.pivots = new Float64Array(cap * MAPLE_NODE_STRIDE);
    this.gaps = new Float64Array(16 * MAPLE_GAP_STRIDE);
    this.gapIdx = new Int32Array(cap);
    this.gapNext = 1;
    this.gapFree = new Int32Array(16);
    this.nrGapFree = 0;
    this.slots = new Array<unknown>(cap * MAPLE_NODE_STRIDE).fill(undefined);
    this.gapOffset = new Uint8Array(cap);
    this.type = new Uint8Array(cap);
    this.parent = new Int32Array(cap);
    this.parentSlot = new Uint8Array(cap);
    this.dead = new Uint8Array(cap);
  }

  /** Make handle `n` addressable. */
  ensure(n: number): void {
    if (n < this.capacity) return;
    // Double while small (fewer copies), then grow by a sixteenth: the slack of
    // the node arrays is part of the trees' memory.
    let cap = this.capacity;
    while (cap <= n) cap = cap < 16384 ? cap * 2 : Math.ceil(cap * 1.0625) + 16;
    const s = MAPLE_NODE_STRIDE;
    this.pivots = grow(this.pivots, new Float64Array(cap * s));
    this.gapIdx = grow(this.gapIdx, new Int32Array(cap));
    this.gapOffset = grow(this.gapOffset, new Uint8Array(cap));
    this.type = grow(this.type, new Uint8Array(cap));
    this.parent = grow(this.parent, new Int32Array(cap));
    this.parentSlot = grow(this.parentSlot, new Uint8Array(cap));
    this.dead = grow(this.dead, new Uint8Array(cap));
    const more = cap * s - this.slots.length;
    if (more > 0) this.slots = this.slots.concat(new Array<unknown>(more).fill(undefined));
    this.capacity = cap;
  }

  /** Prepare a freshly allocated handle as an empty node of `type`. */
  init(n: number, type: number): void {
    this.type[n] = type;
    const gi = this.gapIdx[n]!;
    if (type === maple_arange_64) {
      if (gi === 0) this.gapIdx[n] = this.gapTake();
    } else if (gi !== 0) this.gapRelease(n);
    // `ma_meta end` lives in the unused 16th pivot: one cache line less per level.
    this.pivots[n * MAPLE_NODE_STRIDE + 15] = 0;
    this.gapOffset[n] = 0;
    this.parent[n] = 0;
    this.parentSlot[n] = 0;
    this.dead[n] = 0;
  }

  /** Forget a node's contents (drops entry references for the garbage collector). */
  clear(n: number): void {
    if (this.type[n] === maple_free) return;
    const b = n * MAPLE_NODE_STRIDE;
    const slots = this.slots;
    for (let i = 0; i < MAPLE_NODE_STRIDE; i++) slots[b + i] = undefined;
    this.type[n] = maple_free;
    if (this.gapIdx[n] !== 0) this.gapRelease(n);
  }

  /** A gap record for a new `maple_arange_64` node. */
  private gapTake(): number {
    if (this.nrGapFree > 0) return this.gapFree[--this.nrGapFree]!;
    const g = this.gapNext++;
    if ((g + 1) * MAPLE_GAP_STRIDE > this.gaps.length) {
      const more = new Float64Array(this.gaps.length * 2);
      more.set(this.gaps);
      this.gaps = more;
    }
    return g;
  }

  /** Give node `n`'s gap record back (the node is freed or no longer an arange node). */
  private gapRelease(n: number): void {
    const g = this.gapIdx[n]!;
    this.gapIdx[n] = 0;
    this.gaps.fill(0, g * MAPLE_GAP_STRIDE, (g + 1) * MAPLE_GAP_STRIDE);
    if (this.nrGapFree === this.gapFree.length) {
      const more = new Int32Array(this.gapFree.length * 2);
      more.set(this.gapFree);
      this.gapFree = more;
    }
    this.gapFree[this.nrGapFree++] = g;
  }

  /** Bytes of host memory the arrays take per handle (for bytes-per-range figures). */
  static bytesPerNode(): number {
    // 16 pivots (8 B) and slot references (8 B without pointer compression),
    // five one-byte and two four-byte per-node fields; `maple_arange_64` nodes
    // add a gap record (10 gaps of 8 B) in the gap table.
    return MAPLE_NODE_STRIDE * (8 + 8) + 5 + 4 + 4;
  }
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(old: T, next: T): T {
  next.set(old);
  return next;
}

/** An opaque batch of preallocated nodes (a prefilled sheaf). */
export interface MapleNodeSheaf {
  /** Nodes still in the sheaf. */
  readonly size: number;
}

/**
 * Where nodes come from. The default is {@link MaplePoolAllocator}; the kernel
 * model backs it with the `maple_node` slab cache and its prefilled sheaves.
 */
export interface MapleNodeAllocator {
  /** The node memory the handles index. */
  readonly store: MapleNodeStore;
  /**
   * A sheaf holding at least `count` nodes, or `null` when memory runs out.
   * @kernel kmem_cache_prefill_sheaf (mm/slub.c)
   */
  prefillSheaf(count: number, gfp: number): MapleNodeSheaf | null;
  /**
   * Take one node from the sheaf; 0 when it is empty.
   * @kernel kmem_cache_alloc_from_sheaf (mm/slub.c)
   */
  allocFromSheaf(sheaf: MapleNodeSheaf): number;
  /**
   * Give back the sheaf and the nodes left in it.
   * @kernel kmem_cache_return_sheaf (mm/slub.c)
   */
  returnSheaf(sheaf: MapleNodeSheaf): void;
  /**
   * One node outside a sheaf; 0 when memory runs out.
   * @kernel kmem_cache_alloc (mm/slub.c)
   */
  alloc(gfp: number): number;
  /**
   * Free one node now.
   * @kernel kmem_cache_free (mm/slub.c)
   */
  free(node: number): void;
  /**
   * Optional: free the dead nodes of an RCU-mode write after a grace period
   * of `rcu`, each on its own (the kernel's `ma_free_rcu()` is `kfree_rcu()`
   * of the node, which slab batches in its per-CPU `rcu_free` sheaf). The
   * nodes must stay readable until the grace period ends. Without this
   * method the tree queues one `rcu.callRcu()` that calls {@link free} for
   * each node.
   * @kernel ma_free_rcu (lib/maple_tree.c), kfree_rcu (include/linux/rcupdate.h)
   */
  freeRcu?(nodes: readonly number[], rcu: MapleRcu): void;
}

import { badArg, checkCount, checkGfp } from './check.js';
import { MapleTreeError } from './errors.js';
import type { MapleRcu } from './rcu.js';

/** `GFP_KERNEL`: may sleep and reclaim (the second attempt of `mas_nomem()`). */
export const GFP_KERNEL = 0xcc0;
/** `GFP_NOWAIT`: may not sleep (the first, opportunistic attempt). */
export const GFP_NOWAIT = 0x800;

class PoolSheaf implements MapleNodeSheaf {
  /** Nodes held: `nodes[0 .. size - 1]`. */
  size = 0;
  nodes = new Int32Array(8);
  /** The allocator that filled it; null while it is not handed out. */
  owner: MaplePoolAllocator | null = null;
}

/**
 * The built-in allocator: a free list of handles over a {@link MapleNodeStore}.
 * `failAfter` injects ENOMEM (the kernel's failslab / userspace
 * `kmem_cache_set_non_kernel` harness): after that many more successful node
 * allocations every request fails until it is reset to `-1`. `maxNodes`
 * bounds the nodes in use at once: a request beyond it fails with ENOMEM
 * before anything is allocated (the memory a real machine would run out of).
 * Frees of handles it did not hand out, double frees and sheaves returned
 * twice are rejected with a typed EINVAL and change nothing.
 */
export class MaplePoolAllocator implements MapleNodeAllocator {
  readonly store: MapleNodeStore;
  /** Node allocations left before requests fail; -1 = never fail. */
  failAfter = -1;
  /** Nodes currently handed out (allocated and not freed). */
  inUse = 0;
  /** Highest number of nodes in use at once. */
  peakInUse = 0;
  /** Most nodes in use at once (default 2^22: about 1.1 GB of node memory, half of what V8's largest JS array, 16 slots per node, allows). */
  maxNodes = MAPLE_STORE_MAX_NODES;
  private freeList: Int32Array;
  /** 1 for a handle handed out (in a sheaf or in use), 0 when free or never made. */
  private live: Uint8Array = new Uint8Array(64);
  private nrFree = 0;
  private next = 1;
  private spareSheaves: PoolSheaf[] = [];

  /** A pool over `store` (default: a new one). @throws MapleTreeError (EINVAL) when `store` is not a MapleNodeStore. */
  constructor(store: MapleNodeStore = new MapleNodeStore()) {
    if (!(store instanceof MapleNodeStore)) badArg('MaplePoolAllocator', 'store', store, 'a MapleNodeStore');
    this.store = store;
    this.freeList = new Int32Array(64);
  }

  private take(): number {
    if (this.failAfter === 0) return 0;
    if (this.inUse >= this.maxNodes) return 0;
    if (this.failAfter > 0) this.failAfter--;
    let n: number;
    if (this.nrFree > 0) n = this.freeList[--this.nrFree]!;
    else {
      n = this.next++;
      this.store.ensure(n);
      if (n >= this.live.length) {
        const l = new Uint8Array(this.store.capacity);
        l.set(this.live);
        this.live = l;
      }
    }
    this.live[n] = 1;
    if (++this.inUse > this.peakInUse) this.peakInUse = this.inUse;
    return n;
  }

  /** A node of this allocator's that is handed out, else a typed EINVAL. */
  private checkLive(fn: string, node: number): void {
    if (!(typeof node === 'number' && node >= 1 && node < this.next && Math.floor(node) === node))
      throw new MapleTreeError('EINVAL', `maple_tree: ${fn}: node (${String(node)}) is not a node of this allocator`);
    if (this.live[node] !== 1)
      throw new MapleTreeError('EINVAL', `maple_tree: ${fn}: node ${node} is not allocated (double free?)`);
  }

  /** A sheaf this allocator handed out and that was not returned, else a typed EINVAL. */
  private checkSheaf(fn: string, sheaf: MapleNodeSheaf): PoolSheaf {
    // Only sheaves this allocator filled carry it as owner (anything else,
    // null included, fails the test without a type check on the fast path).
    if (sheaf === null || typeof sheaf !== 'object' || (sheaf as PoolSheaf).owner !== this)
      throw new MapleTreeError(
        'EINVAL',
        `maple_tree: ${fn}: sheaf is not a sheaf this allocator handed out (or it was returned already)`,
      );
    return sheaf as PoolSheaf;
  }

  prefillSheaf(count: number, gfp: number): MapleNodeSheaf | null {
    checkCount('MaplePoolAllocator.prefillSheaf', 'count', count);
    checkGfp('MaplePoolAllocator.prefillSheaf', gfp);
    // More than the allocator may ever hold: fail at once (ENOMEM), nothing allocated.
    if (count > this.maxNodes - this.inUse) return null;
    const sheaf = this.spareSheaves.pop() ?? new PoolSheaf();
    if (sheaf.nodes.length < count) sheaf.nodes = new Int32Array(Math.max(count, sheaf.nodes.length * 2));
    const nodes = sheaf.nodes;
    for (let i = 0; i < count; i++) {
      const n = this.take();
      if (n === 0) {
        for (let k = 0; k < i; k++) this.free(nodes[k]!);
        this.spareSheaves.push(sheaf);
        return null;
      }
      nodes[i] = n;
    }
    sheaf.size = count;
    sheaf.owner = this;
    return sheaf;
  }

  allocFromSheaf(sheaf: MapleNodeSheaf): number {
    const s = this.checkSheaf('MaplePoolAllocator.allocFromSheaf', sheaf);
    if (s.size === 0) return 0;
    return s.nodes[--s.size]!;
  }

  returnSheaf(sheaf: MapleNodeSheaf): void {
    const s = this.checkSheaf('MaplePoolAllocator.returnSheaf', sheaf);
    s.owner = null;
    const nodes = s.nodes;
    // A sheaf only ever holds clean nodes (fresh handles, or freed and
    // cleared ones): they go straight back to the free list.
    const nr = s.size;
    while (this.nrFree + nr > this.freeList.length) {
      const f = new Int32Array(this.freeList.length * 2);
      f.set(this.freeList);
      this.freeList = f;
    }
    const fl = this.freeList;
    const live = this.live;
    let k = this.nrFree;
    for (let i = 0; i < nr; i++) {
      const n = nodes[i]!;
      live[n] = 0;
      fl[k++] = n;
    }
    this.nrFree = k;
    this.inUse -= nr;
    s.size = 0;
    this.spareSheaves.push(s);
  }

  alloc(gfp: number): number {
    checkGfp('MaplePoolAllocator.alloc', gfp);
    return this.take();
  }

  free(node: number): void {
    this.checkLive('MaplePoolAllocator.free', node);
    this.live[node] = 0;
    this.store.clear(node);
    if (this.nrFree === this.freeList.length) {
      const f = new Int32Array(this.freeList.length * 2);
      f.set(this.freeList);
      this.freeList = f;
    }
    this.freeList[this.nrFree++] = node;
    this.inUse--;
  }
}
