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
  kfreeRcuStats,
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
  STAT,
  slabValidate,
} from '../src/index.js';
import { GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT } from '../src/internal/gfp.js';
import { makeHarness, reserved, TWO_NODES } from './helpers/harness.js';
import { SheafOracle } from './helpers/sheaf-oracle.js';

/** `MM_FUZZ_RUNS=N` multiplies the run counts for a long fuzzing session (the default run stays short). */
const FUZZ_FACTOR = Math.max(1, Number(process.env.MM_FUZZ_RUNS ?? '1') || 1);
/** Per-test timeout, scaled with the run count. */
const TIMEOUT = 120_000 * FUZZ_FACTOR;

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
  // reference model of the percpu sheaves and barns of the caches that have them
  const topo = machine.topology;
  const nodeOf = (cpu: number): number => topo.cpuToNode[cpu]!;
  const oracles: (SheafOracle | null)[] = caches.map((s) =>
    s.sheafCapacity > 0 ? new SheafOracle(s, topo.nrCpus, topo.nrNodes, nodeOf) : null,
  );
  const batched = config.slubTiny !== true && config.tinyRcu !== true;
  const isLocal = (addr: number, cpu: number): boolean =>
    pages.pageToNid(Math.floor(addr / topo.pageSize)) === nodeOf(cpu);
  const isOnline = (cpu: number): boolean => machine.cpus.online[cpu] === 1;
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
  const rcuPending = (): number => {
    const k = kfreeRcuStats(slab);
    return k.batchObjectsPending + k.singlePending;
  };
  for (const op of ops) {
    const pendingBefore = rcuPending();
    switch (op.t) {
      case 'alloc': {
        const cpu = online(op.cpu);
        machine.cpus.runOn(cpu, () => {
          const node = op.node < 0 ? NUMA_NO_NODE : op.node;
          const s = caches[op.c]!;
          const gfp = GFPS[op.gfp]!;
          let a = -1;
          const run = (): number => {
            a = node === NUMA_NO_NODE ? kmemCacheAlloc(s, gfp) : kmemCacheAllocNode(s, gfp, node);
            return a;
          };
          const o = oracles[op.c];
          if (o && node === NUMA_NO_NODE) o.alloc(cpu, gfp === GFP_KERNEL, run);
          else run();
          if (a >= 0) take(op.c, a);
          else expect(a).toBe(-12);
        });
        break;
      }
      case 'free': {
        const p = pick(op.i);
        if (p === null) break;
        const cpu = online(op.cpu);
        const addr = drop(p.c, p.j);
        const o = oracles[p.c];
        const run = (): void => kmemCacheFree(caches[p.c]!, addr);
        machine.cpus.runOn(cpu, () => (o && isLocal(addr, cpu) ? o.free(cpu, addr, run) : run()));
        break;
      }
      case 'bulkAlloc': {
        const cpu = online(op.cpu);
        machine.cpus.runOn(cpu, () => {
          const arr = new Float64Array(op.n);
          let r = -1;
          const run = (): number => {
            r = kmemCacheAllocBulk(caches[op.c]!, GFP_KERNEL, op.n, arr);
            return r;
          };
          const o = oracles[op.c];
          if (o) o.bulkAlloc(cpu, op.n, run, arr);
          else run();
          if (r === op.n) for (const a of arr) take(op.c, a);
          else expect(r).toBe(0);
        });
        break;
      }
      case 'bulkFree': {
        const l = held[op.c]!;
        const n = Math.min(op.n, l.length);
        if (n === 0) break;
        const arr: number[] = [];
        for (let k = 0; k < n; k++) arr.push(drop(op.c, l.length - 1));
        const cpu = online(op.cpu);
        const o = oracles[op.c];
        const run = (): void => kmemCacheFreeBulk(caches[op.c]!, n, arr);
        machine.cpus.runOn(cpu, () =>
          o
            ? o.bulkFree(
                cpu,
                arr.filter((a) => isLocal(a, cpu)),
                run,
              )
            : run(),
        );
        break;
      }
      case 'kfreeRcu': {
        const p = pick(op.i);
        if (p === null) break;
        const cpu = online(op.cpu);
        const addr = drop(p.c, p.j);
        const o = oracles[p.c];
        const run = (): void => kfreeRcu(slab, addr);
        machine.cpus.runOn(cpu, () => (o && batched && isLocal(addr, cpu) ? o.kfreeRcu(cpu, addr, run) : run()));
        break;
      }
      case 'prefill': {
        const cpu = online(op.cpu);
        machine.cpus.runOn(cpu, () => {
          let sh: ReturnType<typeof kmemCachePrefillSheaf> = null;
          oracles[op.c]!.prefill(cpu, op.size, () => {
            sh = kmemCachePrefillSheaf(caches[op.c]!, GFP_KERNEL, op.size);
            return sh;
          });
          if (sh !== null) {
            expect((sh as { size: number }).size).toBeGreaterThanOrEqual(op.size);
            sheaves.push({ c: op.c, ref: { sheaf: sh } });
          }
        });
        break;
      }
      case 'fromSheaf': {
        if (sheaves.length === 0) break;
        const e = sheaves[op.k % sheaves.length]!;
        for (let k = 0; k < op.n; k++) {
          const had = e.ref.sheaf.size;
          let a = -1;
          oracles[e.c]!.fromSheaf(e.ref.sheaf, () => {
            a = kmemCacheAllocFromSheaf(caches[e.c]!, GFP_NOWAIT, e.ref.sheaf);
            return a;
          });
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
        const cpu = online(op.cpu);
        machine.cpus.runOn(cpu, () =>
          oracles[e.c]!.returnSheaf(cpu, e.ref.sheaf, () =>
            kmemCacheReturnSheaf(caches[e.c]!, GFPS[op.gfp]!, e.ref.sheaf),
          ),
        );
        break;
      }
      case 'refill': {
        if (sheaves.length === 0) break;
        const e = sheaves[op.k % sheaves.length]!;
        const cpu = online(op.cpu);
        machine.cpus.runOn(cpu, () => {
          const before = e.ref.sheaf;
          const r = kmemCacheRefillSheaf(caches[e.c]!, GFP_KERNEL, e.ref, op.size);
          oracles[e.c]!.refill(before, e.ref.sheaf, cpu, r);
          if (r === 0) expect(e.ref.sheaf.size).toBeGreaterThanOrEqual(op.size);
        });
        break;
      }
      case 'irqAlloc': {
        const cpu = online(op.cpu);
        const s = caches[op.c]!;
        const fails = s.statTotal(STAT.PCS_TRYLOCK_FAIL);
        const fromPcs = s.statTotal(STAT.ALLOC_PCS);
        let ran = false;
        machine.cpus.runOn(cpu, () => {
          s.pcs!.lock.lock();
          ran = machine.cpus.inHardirq(cpu, () => {
            const a = kmemCacheAlloc(s, GFP_ATOMIC);
            if (a >= 0) take(op.c, a);
          });
          s.pcs!.lock.unlock();
        });
        // the interrupt found the sheaves locked by the code it interrupted: the slab path served it
        expect(ran).toBe(true);
        expect(s.statTotal(STAT.PCS_TRYLOCK_FAIL)).toBe(fails + 1);
        expect(s.statTotal(STAT.ALLOC_PCS)).toBe(fromPcs);
        break;
      }
      case 'gp':
        machine.rcu.rcuBarrier();
        break;
      case 'monitor':
        kfreeRcuMonitor(slab);
        break;
      case 'shrink': {
        // code runs on online CPUs only (the harness context may sit on an offline one)
        const o = oracles[op.c];
        const rcuBefore = o ? o.rcuFreeSnapshot() : [];
        machine.cpus.runOn(online(0), () => kmemCacheShrink(caches[op.c]!));
        o?.shrink(isOnline, rcuBefore);
        break;
      }
      case 'cpuDown': {
        const was = isOnline(op.cpu);
        const snaps = oracles.map((o) => (o ? o.rcuFreeSnapshot() : []));
        machine.hotplug.cpuDown(op.cpu);
        if (was && !isOnline(op.cpu)) {
          oracles.forEach((o, c) => {
            o?.flushCpu(op.cpu, snaps[c]![op.cpu] ?? null);
          });
        }
        break;
      }
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
    // kvfree_rcu callbacks that ran freed objects into whichever CPU's sheaves ran them
    if (rcuPending() < pendingBefore) for (const o of oracles) o?.resync((a) => all.has(a));
    for (const o of oracles) o?.compare();
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
  it(
    'conservation and no leaks',
    () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), (ops) => {
          run(ops);
        }),
        { numRuns: FUZZ_FACTOR * 120 },
      );
    },
    TIMEOUT,
  );

  it(
    'long runs on the caches with sheaves, against the sheaf and barn oracle',
    () => {
      // only the two caches with sheaves, long enough to fill barns
      const sheafOps = opArb.map((op) => ('c' in op ? { ...op, c: op.c & 2 } : op) as Op);
      fc.assert(
        fc.property(fc.array(sheafOps, { minLength: 150, maxLength: 400 }), (ops) => {
          run(ops);
        }),
        // no shrinking by default (hundreds of steps against the oracle shrink for
        // minutes): the seed and path printed replay the failure; MM_SHRINK=1 shrinks it
        { numRuns: FUZZ_FACTOR * 12, endOnFailure: process.env.MM_SHRINK !== '1' },
      );
    },
    TIMEOUT,
  );

  it('the oracle notices a sheaf that is not what it predicts', () => {
    const { slab, machine } = makeHarness();
    const s = kmemCacheCreate(slab, 'o', 64, { sheafCapacity: 4 });
    const topo = machine.topology;
    const o = new SheafOracle(s, topo.nrCpus, topo.nrNodes, (c) => topo.cpuToNode[c]!);
    const held: number[] = [];
    for (let i = 0; i < 3; i++) o.alloc(0, true, () => held[held.push(kmemCacheAlloc(s, GFP_KERNEL)) - 1]!);
    for (const a of held) o.free(0, a, () => kmemCacheFree(s, a));
    o.compare();
    // two objects of the main sheaf swapped behind the oracle's back
    const main = s.pcs!.main[0]!;
    const t = main.objects[0]!;
    main.objects[0] = main.objects[1]!;
    main.objects[1] = t;
    expect(() => o.compare()).toThrow(/cpu 0 main/);
  });

  it(
    'the same with SLUB_TINY (no CPU partials, single-object paths, no kvfree_rcu batching)',
    () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), (ops) => {
          run(ops, { slubTiny: true });
        }),
        { numRuns: FUZZ_FACTOR * 40 },
      );
    },
    TIMEOUT,
  );

  it(
    'the same with KASAN-like checking',
    () => {
      fc.assert(
        fc.property(fc.array(opArb, { minLength: 1, maxLength: 150 }), (ops) => {
          run(ops, { kasan: true });
        }),
        { numRuns: FUZZ_FACTOR * 40 },
      );
    },
    TIMEOUT,
  );
});
