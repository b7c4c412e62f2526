/**
 * DOC: maple tree nodes backed by the `maple_node` slab cache.
 *
 * `@mm/maple-tree` asks its allocator for nodes the way lib/maple_tree.c asks
 * SLUB: a store first prefills a sheaf with its worst case
 * (`kmem_cache_prefill_sheaf`), takes the nodes it really uses
 * (`kmem_cache_alloc_from_sheaf`) and gives the sheaf back
 * (`kmem_cache_return_sheaf`). This adapter forwards those calls to
 * `@mm/slab-sheaves`, so every maple node is a real slab object with its
 * sheaf, barn and statistics, while the node's contents live in the maple
 * tree's typed-array node store under a handle. Dead nodes of RCU-mode trees
 * go to `kfree_rcu()` one by one, as `ma_free_rcu()` does since the kernel
 * gained sheaves: slab collects them in the CPU's `rcu_free` sheaf
 * (`free_rcu_sheaf` in /sys/kernel/slab/maple_node) and frees them after a
 * grace period. The handles keep the nodes' contents for readers until a grace
 * period of the machine's RCU has ended too.
 */
import { GFP_NOWAIT, type Machine, MmBugError } from '@mm/machine';
import { type MapleNodeAllocator, type MapleNodeSheaf, MapleNodeStore, type MapleRcu } from '@mm/maple-tree';
import {
  type KmemCache,
  kfreeRcu,
  kmemCacheAlloc,
  kmemCacheAllocFromSheaf,
  kmemCacheFree,
  kmemCachePrefillSheaf,
  kmemCacheReturnSheaf,
  kmemCacheSheafSize,
  type SlabSheaf,
} from '@mm/slab-sheaves';

/** A prefilled slab sheaf seen through the maple tree's sheaf interface. */
class SlabNodeSheaf implements MapleNodeSheaf {
  readonly cache: KmemCache;
  readonly ref: SlabSheaf;

  constructor(cache: KmemCache, ref: SlabSheaf) {
    this.cache = cache;
    this.ref = ref;
  }

  get size(): number {
    return kmemCacheSheafSize(this.ref);
  }
}

/** Maple nodes from a slab cache; node handles map to slab object addresses. */
export class SlabMapleNodeAllocator implements MapleNodeAllocator {
  readonly store: MapleNodeStore;
  /** The `maple_node` slab cache the nodes come from. */
  readonly cache: KmemCache;
  /** `objOf[handle]`: the slab object (address) holding node `handle`; 0 when the handle is free. */
  private objOf: Float64Array;
  private freeHandles: Int32Array;
  private nrFreeHandles = 0;
  private nextHandle = 1;
  /** Nodes handed out and not yet freed. */
  inUse = 0;

  constructor(cache: KmemCache) {
    this.cache = cache;
    this.store = new MapleNodeStore();
    this.objOf = new Float64Array(64);
    this.freeHandles = new Int32Array(64);
  }

  /** Give slab object `obj` a node handle. */
  private attach(obj: number): number {
    let h: number;
    if (this.nrFreeHandles > 0) h = this.freeHandles[--this.nrFreeHandles] as number;
    else {
      h = this.nextHandle++;
      this.store.ensure(h);
      if (h >= this.objOf.length) {
        const grown = new Float64Array(this.objOf.length * 2);
        grown.set(this.objOf);
        this.objOf = grown;
      }
    }
    this.objOf[h] = obj;
    this.inUse++;
    return h;
  }

  /** Forget node `h` and return the slab object it lived in. */
  private detach(h: number): number {
    const obj = this.objOf[h] as number;
    if (obj === 0) throw new MmBugError(`maple_node: node handle ${h} freed twice`);
    this.objOf[h] = 0;
    this.release(h);
    return obj;
  }

  /** Clear node `h` and make its handle reusable (its slab object is gone or going). */
  private release(h: number): void {
    this.store.clear(h);
    if (this.nrFreeHandles === this.freeHandles.length) {
      const grown = new Int32Array(this.freeHandles.length * 2);
      grown.set(this.freeHandles);
      this.freeHandles = grown;
    }
    this.freeHandles[this.nrFreeHandles++] = h;
    this.inUse--;
  }

  /** Reserve `count` maple nodes in a sheaf; null when the slab allocation fails. @kernel kmem_cache_prefill_sheaf (mm/slub.c) */
  prefillSheaf(count: number, gfp: number): MapleNodeSheaf | null {
    const ref = kmemCachePrefillSheaf(this.cache, gfp, count);
    return ref === null ? null : new SlabNodeSheaf(this.cache, ref);
  }

  /** Take one reserved node from `sheaf`. @kernel kmem_cache_alloc_from_sheaf (mm/slub.c) */
  allocFromSheaf(sheaf: MapleNodeSheaf): number {
    const s = sheaf as SlabNodeSheaf;
    const obj = kmemCacheAllocFromSheaf(this.cache, GFP_NOWAIT, s.ref);
    return obj > 0 ? this.attach(obj) : 0;
  }

  /** Give back the unused nodes of `sheaf`. @kernel kmem_cache_return_sheaf (mm/slub.c) */
  returnSheaf(sheaf: MapleNodeSheaf): void {
    const s = sheaf as SlabNodeSheaf;
    kmemCacheReturnSheaf(this.cache, GFP_NOWAIT, s.ref);
  }

  /** Allocate one maple node; negative on failure. @kernel kmem_cache_alloc (mm/slub.c) */
  alloc(gfp: number): number {
    const obj = kmemCacheAlloc(this.cache, gfp);
    return obj > 0 ? this.attach(obj) : 0;
  }

  /** Free maple node `node`. @kernel kmem_cache_free (mm/slub.c) */
  free(node: number): void {
    kmemCacheFree(this.cache, this.detach(node));
  }

  /**
   * Free the dead nodes of an RCU-mode write: each node's slab object goes to
   * `kfree_rcu()` now; the handles (the model's copy of the nodes' contents,
   * which readers may still walk) are recycled after a grace period of `rcu`.
   * @kernel ma_free_rcu (lib/maple_tree.c)
   */
  freeRcu(nodes: readonly number[], rcu: MapleRcu): void {
    const slab = this.cache.allocator;
    for (const n of nodes) {
      const obj = this.objOf[n] as number;
      if (obj === 0) throw new MmBugError(`maple_node: node handle ${n} freed twice`);
      this.objOf[n] = 0;
      kfreeRcu(slab, obj);
    }
    rcu.callRcu(() => {
      for (const n of nodes) this.release(n);
    });
  }

  /**
   * The RCU hook for RCU-mode trees: a dead node keeps its contents (readers
   * may still walk it) until a grace period of the machine's RCU has ended.
   * @kernel ma_free_rcu (lib/maple_tree.c)
   */
  rcuFor(machine: Machine): MapleRcu {
    return {
      callRcu: (cb: () => void) => {
        machine.rcu.callRcu((done: () => void) => done(), cb);
      },
    };
  }
}
