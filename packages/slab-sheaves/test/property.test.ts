/**
 * fast-check sequences of alloc/free/bulk/kfree_rcu/prefill/return/refill,
 * IRQ-context allocations, shrinks, CPU hotplug and page allocation faults
 * across CPUs and nodes, with validate() (conservation of every object)
 * after each step and an oracle of the objects users hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  flushAllRcuSheaves,
  type KmemCache,
  kfree,
  kfreeRcu,
  kfreeRcuMonitor,
  kmalloc,
  kmemCacheAlloc,
  kmemCacheAllocBulk,
  kmemCacheAllocFromSheaf,
  kmemCacheAllocNode,
  kmemCacheCreate,
  kmemCacheDestroy,
  kmemCacheFree,
  kmemCacheFreeBulk,
  kmemCachePrefillSheaf,
  kmemCacheRefillSheaf,
  kmemCacheReturnSheaf,
  kmemCacheShrink,
  NUMA_NO_NODE,
  type SheafRef,
  SLAB_CONSISTENCY_CHECKS,
  SLAB_POISON,
  SLAB_RED_ZONE,
  SLAB_STORE_USER,
  SLAB_TYPESAFE_BY_RCU,
  type SlubConfig,
  slabValidate,
} from '../src/index.js';
import { GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT } from '../src/internal/gfp.js';
import { makeHarness, reserved, TWO_NODES } from './helpers/harness.js';

/** `MM_FUZZ_RUNS=N` multiplies the run counts for a long fuzzing session (the default run stays short). */
const FUZZ_FACTOR = Math.max(1, Number(process.env.MM_FUZZ_RUNS ?? '1') || 1);

type Op =
  | { t: 'alloc'; cpu: number; c: number; gfp: number; node: number }
  | { t: 'free'; cpu: number; i: number }
  | { t: 'bulkAlloc'; cpu: number; c: number; n: number }
  | { t: 'bulkFree'; cpu: number; c: number; n: number }
  | { t: 'kfreeRcu'; cpu: number; i: number }
  | { t: 'prefill'; cpu: number; c: number; size: number }
  | { t: 'fromSheaf'; k: number; n: number }
  | { t: 'returnSheaf'; cpu: number; k: number; gfp: number }
  | { t: 'refill'; cpu: number; k: number; size: number }
  | { t: 'irqAlloc'; cpu: number; c: number }
  | { t: 'gp' }
  | { t: 'monitor' }
  | { t: 'shrink'; c: number }
  | { t: 'cpuDown'; cpu: number }
  | { t: 'cpuUp'; cpu: number }
  | { t: 'fault'; p: number }
  | { t: 'kmalloc'; cpu: number; size: number };

const GFPS = [GFP_KERNEL, GFP_NOWAIT, GFP_ATOMIC];
const NC = 4;
const NCACHES = 4;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant('alloc' as const),
      cpu: fc.nat(NC - 1),
      c: fc.nat(NCACHES - 1),
      gfp: fc.nat(2),
      node: fc.integer({ min: -3, max: 1 }),
    }),
  },
  { weight: 8, arbitrary: fc.record({ t: fc.constant('free' as const), cpu: fc.nat(NC - 1), i: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('bulkAlloc' as const),
      cpu: fc.nat(NC - 1),
      c: fc.nat(NCACHES - 1),
      n: fc.integer({ min: 1, max: 40 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('bulkFree' as const),
      cpu: fc.nat(NC - 1),
      c: fc.nat(NCACHES - 1),
      n: fc.integer({ min: 1, max: 40 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('kfreeRcu' as const), cpu: fc.nat(NC - 1), i: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('prefill' as const),
      cpu: fc.nat(NC - 1),
      c: fc.constantFrom(0, 2),
      size: fc.integer({ min: 0, max: 24 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('fromSheaf' as const), k: fc.nat(), n: fc.integer({ min: 1, max: 10 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('returnSheaf' as const), cpu: fc.nat(NC - 1), k: fc.nat(), gfp: fc.nat(1) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('refill' as const),
      cpu: fc.nat(NC - 1),
      k: fc.nat(),
      size: fc.integer({ min: 1, max: 30 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('irqAlloc' as const), cpu: fc.nat(NC - 1), c: fc.constantFrom(0, 2) }),
  },
  { weight: 2, arbitrary: fc.constant({ t: 'gp' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'monitor' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('shrink' as const), c: fc.nat(NCACHES - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cpuDown' as const), cpu: fc.nat(NC - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('cpuUp' as const), cpu: fc.nat(NC - 1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('fault' as const), p: fc.constantFrom(0, 0, 0.3, 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('kmalloc' as const),
      cpu: fc.nat(NC - 1),
      size: fc.integer({ min: 0, max: 20000 }),
    }),
  },
);

function run(ops: Op[], config: SlubConfig = {}): void {
  const h = makeHarness(config, TWO_NODES);
  const { slab, machine, pages } = h;
  const caches: KmemCache[] = [
    kmemCacheCreate(slab, 'a64', 64, { sheafCapacity: 8 }),
    kmemCacheCreate(slab, 'b192', 192),
    kmemCacheCreate(slab, 'c500dbg', 500, {
      sheafCapacity: 4,
      flags: SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER,
    }),
    kmemCacheCreate(slab, 'd1k_rcu', 1024, { flags: SLAB_TYPESAFE_BY_RCU }),
  ];
  // oracle: objects held by the user, per cache, and kmalloc pointers
  const held: number[][] = caches.map(() => []);
  const all = new Set<number>();
  const kptr: number[] = [];
  const sheaves: { c: number; ref: SheafRef }[] = [];
  const online = (cpu: number): number => {
    if (machine.cpus.online[cpu] === 1) return cpu;
    for (let c = 0; c < NC; c++) if (machine.cpus.online[c] === 1) return c;
    return 0;
  };
  const take = (c: number, addr: number): void => {
    expect(all.has(addr)).toBe(false);
    all.add(addr);
    held[c]!.push(addr);
  };
  const pick = (i: number): { c: number; j: number } | null => {
    const total = held.reduce((x, l) => x + l.length, 0);
    if (total === 0) return null;
    let k = i % total;
    for (let c = 0; c < held.length; c++) {
      if (k < held[c]!.length) return { c, j: k };
      k -= held[c]!.length;
    }
    return null;
  };
  const drop = (c: number, j: number): number => {
    const l = held[c]!;
    const addr = l[j]!;
    l[j] = l[l.length - 1]!;
    l.pop();
    all.delete(addr);
    return addr;
  };
  for (const op of ops) {
    switch (op.t) {
      case 'alloc':
        machine.cpus.runOn(online(op.cpu), () => {
          const node = op.node < 0 ? NUMA_NO_NODE : op.node;
          const s = caches[op.c]!;
          const a =
            node === NUMA_NO_NODE ? kmemCacheAlloc(s, GFPS[op.gfp]!) : kmemCacheAllocNode(s, GFPS[op.gfp]!, node);
          if (a >= 0) take(op.c, a);
          else expect(a).toBe(-12);
        });
        break;
      case 'free': {
        const p = pick(op.i);
        if (p === null) break;
        machine.cpus.runOn(online(op.cpu), () => kmemCacheFree(caches[p.c]!, drop(p.c, p.j)));
        break;
      }
      case 'bulkAlloc':
        machine.cpus.runOn(online(op.cpu), () => {
          const arr = new Float64Array(op.n);
          const r = kmemCacheAllocBulk(caches[op.c]!, GFP_KERNEL, op.n, arr);
          if (r === op.n) for (const a of arr) take(op.c, a);
          else expect(r).toBe(0);
        });
        break;
      case 'bulkFree': {
        const l = held[op.c]!;
        const n = Math.min(op.n, l.length);
        if (n === 0) break;
        const arr: number[] = [];
        for (let k = 0; k < n; k++) arr.push(drop(op.c, l.length - 1));
        machine.cpus.runOn(online(op.cpu), () => kmemCacheFreeBulk(caches[op.c]!, n, arr));
        break;
      }
      case 'kfreeRcu': {
        const p = pick(op.i);
        if (p === null) break;
        machine.cpus.runOn(online(op.cpu), () => kfreeRcu(slab, drop(p.c, p.j)));
        break;
      }
      case 'prefill':
        machine.cpus.runOn(online(op.cpu), () => {
          const sh = kmemCachePrefillSheaf(caches[op.c]!, GFP_KERNEL, op.size);
          if (sh !== null) {
            expect(sh.size).toBeGreaterThanOrEqual(op.size);
            sheaves.push({ c: op.c, ref: { sheaf: sh } });
          }
        });
        break;
      case 'fromSheaf': {
        if (sheaves.length === 0) break;
        const e = sheaves[op.k % sheaves.length]!;
        for (let k = 0; k < op.n; k++) {
          const had = e.ref.sheaf.size;
          const a = kmemCacheAllocFromSheaf(caches[e.c]!, GFP_NOWAIT, e.ref.sheaf);
          if (had > 0) take(e.c, a);
          else expect(a).toBe(-12);
        }
        break;
      }
      case 'returnSheaf': {
        if (sheaves.length === 0) break;
        const idx = op.k % sheaves.length;
        const e = sheaves[idx]!;
        sheaves.splice(idx, 1);
        machine.cpus.runOn(online(op.cpu), () => kmemCacheReturnSheaf(caches[e.c]!, GFPS[op.gfp]!, e.ref.sheaf));
        break;
      }
      case 'refill': {
        if (sheaves.length === 0) break;
        const e = sheaves[op.k % sheaves.length]!;
        machine.cpus.runOn(online(op.cpu), () => {
          const r = kmemCacheRefillSheaf(caches[e.c]!, GFP_KERNEL, e.ref, op.size);
          if (r === 0) expect(e.ref.sheaf.size).toBeGreaterThanOrEqual(op.size);
        });
        break;
      }
      case 'irqAlloc': {
        const cpu = online(op.cpu);
        const s = caches[op.c]!;
        machine.cpus.runOn(cpu, () => {
          s.pcs!.lock.lock();
          machine.cpus.inHardirq(cpu, () => {
            const a = kmemCacheAlloc(s, GFP_ATOMIC);
            if (a >= 0) take(op.c, a);
          });
          s.pcs!.lock.unlock();
        });
        break;
      }
      case 'gp':
        machine.rcu.rcuBarrier();
        break;
      case 'monitor':
        kfreeRcuMonitor(slab);
        break;
      case 'shrink':
        // code runs on online CPUs only (the harness context may sit on an offline one)
        machine.cpus.runOn(online(0), () => kmemCacheShrink(caches[op.c]!));
        break;
      case 'cpuDown':
        machine.hotplug.cpuDown(op.cpu);
        break;
      case 'cpuUp':
        machine.hotplug.cpuUp(op.cpu);
        break;
      case 'fault':
        pages.failProbability = op.p;
        break;
      case 'kmalloc':
        machine.cpus.runOn(online(op.cpu), () => {
          const p = kmalloc(slab, op.size, GFP_KERNEL);
          if (p >= 0) {
            if (op.size > 0) kptr.push(p);
          } else expect(p).toBe(-12);
        });
        break;
    }
    slabValidate(slab);
    let n = 0;
    for (let c = 0; c < caches.length; c++) {
      n += held[c]!.length;
      expect(caches[c]!.nrUserObjects).toBe(held[c]!.length);
    }
    expect(all.size).toBe(n);
  }
  // teardown (on an online CPU): everything goes back, nothing leaks
  pages.failProbability = 0;
  machine.cpus.runOn(online(0), () => {
    for (const e of sheaves) kmemCacheReturnSheaf(caches[e.c]!, GFP_KERNEL, e.ref.sheaf);
    for (let c = 0; c < caches.length; c++) for (const a of held[c]!) kmemCacheFree(caches[c]!, a);
    for (const p of kptr) kfree(slab, p);
    kfreeRcuMonitor(slab);
    flushAllRcuSheaves(slab);
  });
  machine.rcu.rcuBarrier();
  // slabs emptied by those callbacks (SLAB_TYPESAFE_BY_RCU) wait for one more grace period
  machine.rcu.rcuBarrier();
  machine.cpus.runOn(online(0), () => {
    for (const s of caches) kmemCacheDestroy(s);
  });
  machine.rcu.rcuBarrier();
  machine.cpus.runOn(online(0), () => {
    for (const s of slab.caches) kmemCacheShrink(s);
  });
  slabValidate(slab);
  expect(slab.nrSlabPages).toBe(0);
  expect(slab.nrLargeKmallocPages).toBe(0);
  expect(pages.nrAllocated).toBe(reserved(slab));
  machine.validate();
  expect(slab.debugReports).toEqual([]);
  expect(machine.warnings).toEqual([]);
}

describe('property: random operation sequences keep every object accounted for', () => {
  it('conservation and no leaks', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), (ops) => {
        run(ops);
      }),
      { numRuns: FUZZ_FACTOR * 120 },
    );
  }, 600_000);

  it('the same with SLUB_TINY (no CPU partials, single-object paths, no kvfree_rcu batching)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), (ops) => {
        run(ops, { slubTiny: true });
      }),
      { numRuns: FUZZ_FACTOR * 40 },
    );
  }, 600_000);

  it('the same with KASAN-like checking', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), (ops) => {
        run(ops, { kasan: true });
      }),
      { numRuns: FUZZ_FACTOR * 40 },
    );
  }, 600_000);
});
