/**
 * DOC: the maple-tree-like pattern: reserve a worst case of N objects for an
 * operation that cannot fail midway, use only a few, give the rest back.
 * Prefilled sheaves (kmem_cache_prefill_sheaf / alloc_from_sheaf /
 * return_sheaf) against kmem_cache_alloc_bulk(N) + kmem_cache_free_bulk of the
 * unused ones (the pre-sheaves maple tree preallocation). Figure: objects
 * moved between slabs and the caching layer (slab-level allocations and frees,
 * which is what the seed calls inefficient), and host ns per operation.
 */
import { createMachine, GFP_KERNEL, Prng } from '@mm/machine';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  createSlabEnv,
  createSlubAllocator,
  type KmemCache,
  kmemCacheAllocBulk,
  kmemCacheAllocFromSheaf,
  kmemCacheCreate,
  kmemCacheFree,
  kmemCacheFreeBulk,
  kmemCachePrefillSheaf,
  kmemCacheReturnSheaf,
  STAT,
} from '../src/index.js';

const suite = new BenchSuite('@mm/slab-sheaves: prefill vs bulk');
const OPS = 20_000;
const WORST = 24; // worst-case nodes reserved per write
const CAP = 32;

function slabMoves(s: KmemCache): number {
  return (
    s.statTotal(STAT.ALLOC_FASTPATH) +
    s.statTotal(STAT.ALLOC_SLOWPATH) +
    s.statTotal(STAT.FREE_FASTPATH) +
    s.statTotal(STAT.FREE_SLOWPATH)
  );
}

function setup(cap: number): { s: KmemCache; prng: Prng } {
  const machine = createMachine({});
  machine.lockdep.enabled = false;
  const slab = createSlubAllocator(createSlabEnv(machine));
  return { s: kmemCacheCreate(slab, 'maple_node', 256, { sheafCapacity: cap }), prng: new Prng(7) };
}

const used: number[] = [];
/** Each operation uses 1..3 nodes; a later operation frees what an earlier one used (a steady state). */
function step(s: KmemCache, prng: Prng, take: (n: number) => void): void {
  const n = 1 + prng.below(3);
  take(n);
  while (used.length > 64) kmemCacheFree(s, used.shift()!);
}

{
  const { s, prng } = setup(CAP);
  used.length = 0;
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    step(s, prng, (n) => {
      const sheaf = kmemCachePrefillSheaf(s, GFP_KERNEL, WORST)!;
      for (let k = 0; k < n; k++) used.push(kmemCacheAllocFromSheaf(s, GFP_KERNEL, sheaf));
      kmemCacheReturnSheaf(s, GFP_KERNEL, sheaf);
    });
  }
  const ns = ((performance.now() - t0) * 1e6) / OPS;
  const moves = slabMoves(s) / OPS;
  suite.record({ name: 'prefilled sheaf: slab moves per operation', value: moves, unit: 'objects/op' });
  suite.record({ name: 'prefilled sheaf: host time', value: ns, unit: 'ns/op' });
  (globalThis as { prefillMoves?: number }).prefillMoves = moves;
  (globalThis as { prefillNs?: number }).prefillNs = ns;
}
{
  const { s, prng } = setup(0);
  used.length = 0;
  const buf = new Float64Array(WORST);
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    step(s, prng, (n) => {
      kmemCacheAllocBulk(s, GFP_KERNEL, WORST, buf);
      for (let k = 0; k < n; k++) used.push(buf[k]!);
      kmemCacheFreeBulk(s, WORST - n, buf.subarray(n));
    });
  }
  const ns = ((performance.now() - t0) * 1e6) / OPS;
  const moves = slabMoves(s) / OPS;
  const g = globalThis as { prefillMoves?: number; prefillNs?: number };
  suite.record({ name: 'bulk alloc + bulk free: slab moves per operation', value: moves, unit: 'objects/op' });
  suite.record({ name: 'bulk alloc + bulk free: host time', value: ns, unit: 'ns/op' });
  suite.record({
    name: 'slab moves: bulk / prefill',
    value: moves / g.prefillMoves!,
    unit: 'x',
    reference: 'prefilled sheaves much more efficient',
  });
  suite.record({ name: 'host time: bulk / prefill', value: ns / g.prefillNs!, unit: 'x' });
}
suite.finish();
