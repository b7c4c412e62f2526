import { describe, expect, it } from 'vitest';
import {
  kfree,
  kmalloc,
  kmemCacheAlloc,
  kmemCacheAllocBulk,
  kmemCacheAllocNode,
  kmemCacheCreate,
  kmemCacheDestroy,
  kmemCacheFree,
  kmemCacheFreeBulk,
  kmemCacheShrink,
  STAT,
  slabValidate,
} from '../src/index.js';
import { GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT } from '../src/internal/gfp.js';
import { MAX_FULL_SHEAVES } from '../src/internal.js';
import { makeHarness, reserved, TWO_NODES } from './helpers/harness.js';

const CAP = 8;

function setup(machineConfig = {}) {
  const h = makeHarness({}, machineConfig);
  const s = kmemCacheCreate(h.slab, 'sheafy', 64, { sheafCapacity: CAP });
  return { ...h, s, pcs: s.pcs! };
}

describe('percpu sheaves: allocation path', () => {
  it('first allocation refills an empty sheaf from slabs (blocking allowed), then pops from main', () => {
    const { slab, s, pcs } = setup();
    const a = kmemCacheAlloc(s, GFP_KERNEL);
    expect(a).toBeGreaterThan(0);
    expect(s.statTotal(STAT.BARN_GET_FAIL)).toBe(1);
    expect(s.statTotal(STAT.SHEAF_REFILL)).toBe(CAP);
    expect(s.statTotal(STAT.ALLOC_PCS)).toBe(1);
    // the refill itself counted on the usual slab counters
    expect(s.statTotal(STAT.ALLOC_FASTPATH) + s.statTotal(STAT.ALLOC_SLOWPATH)).toBe(CAP);
    expect(pcs.main[0]!.size).toBe(CAP - 1);
    slabValidate(slab);
  });

  it('without blocking and no full sheaf in the barn, allocation falls back to the slab path', () => {
    const { slab, s } = setup();
    const a = kmemCacheAlloc(s, GFP_NOWAIT);
    expect(a).toBeGreaterThan(0);
    expect(s.statTotal(STAT.ALLOC_PCS)).toBe(0);
    expect(s.statTotal(STAT.SHEAF_REFILL)).toBe(0);
    expect(s.statTotal(STAT.BARN_GET_FAIL)).toBe(1);
    slabValidate(slab);
  });

  it('swaps in a non-empty spare before going to the barn', () => {
    const { slab, s, pcs } = setup();
    const objs: number[] = [];
    for (let i = 0; i < 2 * CAP; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    for (const o of objs) kmemCacheFree(s, o); // main full, spare full
    expect(pcs.main[0]!.size).toBe(CAP);
    expect(pcs.spare[0]!.size).toBe(CAP);
    const barnGets = s.statTotal(STAT.BARN_GET);
    for (let i = 0; i < 2 * CAP; i++) kmemCacheAlloc(s, GFP_NOWAIT);
    expect(s.statTotal(STAT.ALLOC_PCS)).toBe(4 * CAP);
    expect(s.statTotal(STAT.BARN_GET)).toBe(barnGets);
    slabValidate(slab);
  });

  it('exchanges the empty main for a full sheaf of the barn, shared by CPUs of the node', () => {
    const { slab, s, pcs, machine } = setup();
    // CPU 1 frees 3 sheaves worth: main, spare full, third goes to barn via an empty sheaf
    const objs = machine.cpus.runOn(1, () => {
      const o: number[] = [];
      for (let i = 0; i < 3 * CAP; i++) o.push(kmemCacheAlloc(s, GFP_KERNEL));
      return o;
    });
    machine.cpus.runOn(1, () => {
      for (const o of objs) kmemCacheFree(s, o);
    });
    slabValidate(slab);
    const barn = s.barns[0]!;
    expect(barn.nrFull).toBeGreaterThanOrEqual(1);
    // CPU 0 allocates without blocking: gets the barn's full sheaf
    const fullBefore = barn.nrFull;
    const o = kmemCacheAlloc(s, GFP_NOWAIT);
    expect(o).toBeGreaterThan(0);
    expect(s.statTotal(STAT.BARN_GET)).toBeGreaterThanOrEqual(1);
    expect(barn.nrFull).toBe(fullBefore - 1);
    expect(pcs.main[0]!.size).toBe(CAP - 1);
    slabValidate(slab);
  });

  it('a specific NUMA node bypasses the sheaves', () => {
    const { slab, s } = setup(TWO_NODES);
    const o = kmemCacheAllocNode(s, GFP_KERNEL, 1);
    expect(o).toBeGreaterThan(0);
    expect(s.statTotal(STAT.ALLOC_PCS)).toBe(0);
    expect(s.statTotal(STAT.SHEAF_REFILL)).toBe(0);
    // and freeing a remote-node object from CPU 0 (node 0) goes to the slab
    kmemCacheFree(s, o);
    expect(s.statTotal(STAT.FREE_PCS)).toBe(0);
    slabValidate(slab);
  });
});

describe('percpu sheaves: free path', () => {
  it('full main and spare: barn swaps a full sheaf for an empty one, or a sheaf is flushed over the limit', () => {
    const { slab, s, pcs } = setup();
    const n = (MAX_FULL_SHEAVES + 4) * CAP;
    const objs = new Float64Array(n);
    for (let i = 0; i < n; i++) objs[i] = kmemCacheAlloc(s, GFP_KERNEL);
    for (let i = 0; i < n; i++) kmemCacheFree(s, objs[i]!);
    slabValidate(slab);
    const barn = s.barns[0]!;
    expect(barn.nrFull).toBe(MAX_FULL_SHEAVES);
    expect(s.statTotal(STAT.BARN_PUT)).toBeGreaterThan(0);
    expect(s.statTotal(STAT.BARN_PUT_FAIL)).toBeGreaterThan(0);
    expect(s.statTotal(STAT.SHEAF_FLUSH_OTHER)).toBeGreaterThan(0);
    expect(s.statTotal(STAT.FREE_PCS)).toBe(n);
    expect(pcs.main[0]!.size + (pcs.spare[0]?.size ?? 0)).toBeGreaterThan(0);
    // racy checks: some barn operations failed fast without the lock
    expect(s.statTotal(STAT.BARN_LOCK_AVOIDED)).toBeGreaterThan(0);
    expect(barn.lockAvoided).toBe(s.statTotal(STAT.BARN_LOCK_AVOIDED));
  });

  it('IRQ-context allocation and free while the CPU holds its sheaves lock take the slab path', () => {
    const { slab, s, pcs, machine } = setup();
    const warm = kmemCacheAlloc(s, GFP_KERNEL);
    let inIrq = -1;
    const mainBefore = pcs.main[0]!.size;
    const pcsAllocs = s.statTotal(STAT.ALLOC_PCS);
    const pcsFrees = s.statTotal(STAT.FREE_PCS);
    machine.cpus.runOn(0, () => {
      pcs.lock.lock();
      const ran = machine.cpus.inHardirq(0, () => {
        inIrq = kmemCacheAlloc(s, GFP_ATOMIC);
        kmemCacheFree(s, warm);
      });
      expect(ran).toBe(true);
      pcs.lock.unlock();
    });
    expect(inIrq).toBeGreaterThan(0);
    expect(s.statTotal(STAT.PCS_TRYLOCK_FAIL)).toBe(2);
    // both went to the slab paths: the sheaf is untouched
    expect(pcs.main[0]!.size).toBe(mainBefore);
    expect(s.statTotal(STAT.ALLOC_PCS)).toBe(pcsAllocs);
    expect(s.statTotal(STAT.FREE_PCS)).toBe(pcsFrees);
    kmemCacheFree(s, inIrq);
    slabValidate(slab);
  });

  it('bulk operations use sheaves while available and slabs after, with no double copying', () => {
    const { slab, s } = setup();
    const p = new Float64Array(5 * CAP);
    expect(kmemCacheAllocBulk(s, GFP_KERNEL, 5 * CAP, p)).toBe(5 * CAP);
    expect(new Set(p).size).toBe(5 * CAP);
    // sheaves were empty: everything came from slabs directly
    expect(s.statTotal(STAT.ALLOC_PCS)).toBe(0);
    kmemCacheFreeBulk(s, 5 * CAP, p);
    slabValidate(slab);
    // main took CAP, then an empty sheaf from the barn failed (none) -> rest to slabs
    expect(s.statTotal(STAT.FREE_PCS)).toBe(CAP);
    expect(s.statTotal(STAT.FREE_FASTPATH) + s.statTotal(STAT.FREE_SLOWPATH)).toBe(4 * CAP);
    const q = new Float64Array(3);
    expect(kmemCacheAllocBulk(s, GFP_KERNEL, 3, q)).toBe(3);
    expect(s.statTotal(STAT.ALLOC_PCS)).toBe(3);
    kmemCacheFreeBulk(s, 3, q);
    slabValidate(slab);
  });

  it('shrink and CPU offline leave nothing stranded', () => {
    const { slab, s, pcs, machine, pages } = setup();
    for (let cpu = 0; cpu < 4; cpu++) {
      machine.cpus.runOn(cpu, () => {
        const o: number[] = [];
        for (let i = 0; i < 5 * CAP; i++) o.push(kmemCacheAlloc(s, GFP_KERNEL));
        for (const x of o) kmemCacheFree(s, x);
      });
    }
    slabValidate(slab);
    expect(machine.hotplug.cpuDown(3)).toBe(0);
    expect(pcs.main[3]!.size).toBe(0);
    expect(pcs.spare[3]).toBeNull();
    expect(s.cpuSlab[3]).toBe(-1);
    slabValidate(slab);
    kmemCacheShrink(s);
    slabValidate(slab);
    for (let cpu = 0; cpu < 3; cpu++) {
      expect(pcs.main[cpu]!.size).toBe(0);
      expect(pcs.spare[cpu]).toBeNull();
    }
    expect(s.barns[0]!.nrFull + s.barns[0]!.nrEmpty).toBe(0);
    expect(s.nrSlabsNode[0]).toBe(0);
    expect(pages.nrAllocated).toBeGreaterThan(0); // kmalloc caches hold the main sheaves
  });

  it('fail_page_alloc makes sheaf refills fail; nothing leaks', () => {
    const { slab, s, pages, machine } = setup();
    pages.failProbability = 0.5;
    const held: number[] = [];
    let failed = 0;
    for (let i = 0; i < 2000; i++) {
      const a = kmemCacheAlloc(s, GFP_KERNEL);
      if (a < 0) failed++;
      else held.push(a);
      if (i % 3 === 0 && held.length > 0) kmemCacheFree(s, held.pop()!);
      slabValidate(slab);
    }
    expect(failed).toBeGreaterThan(0);
    expect(machine.mem.failPageAlloc.nrFailed).toBeGreaterThan(0);
    pages.failProbability = 0;
    for (const a of held) kmemCacheFree(s, a);
    kmemCacheShrink(s);
    kmemCacheDestroy(s);
    for (const c of slab.caches) kmemCacheShrink(c);
    slabValidate(slab);
    machine.validate();
    expect(pages.nrAllocated).toBe(reserved(slab));
  });

  it('free with main and spare full, no empty sheaf in the barn and none allocatable: the main sheaf is flushed', () => {
    const { slab, s, pcs, pages } = setup();
    const objs: number[] = [];
    for (let i = 0; i < 2 * CAP + 1; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    let next = 0;
    while (!(pcs.main[0]!.size === CAP && pcs.spare[0]?.size === CAP)) kmemCacheFree(s, objs[next++]!);
    expect(pcs.main[0]!.size).toBe(CAP);
    expect(pcs.spare[0]!.size).toBe(CAP);
    expect(s.barns[0]!.nrEmpty).toBe(0);
    // use up the kmalloc cache that sheaves come from, with page allocations failing
    pages.failBudget = 1_000_000;
    const hog: number[] = [];
    for (;;) {
      const p = kmalloc(slab, 32 + 8 * CAP, GFP_NOWAIT);
      if (p < 0) break;
      hog.push(p);
    }
    kmemCacheFree(s, objs[next++]!);
    pages.failBudget = 0;
    for (const p of hog) kfree(slab, p);
    while (next < objs.length) kmemCacheFree(s, objs[next++]!);
    expect(s.statTotal(STAT.BARN_PUT_FAIL)).toBe(1);
    expect(s.statTotal(STAT.SHEAF_FLUSH_MAIN)).toBe(CAP);
    slabValidate(slab);
  });

  it('an IRQ on a CPU not holding its sheaves uses them; an NMI on a holder falls back', () => {
    const { slab, s, pcs, machine } = setup();
    kmemCacheFree(s, kmemCacheAlloc(s, GFP_KERNEL)); // warm CPU 0's sheaves
    let a = -1;
    machine.cpus.inHardirq(0, () => {
      a = kmemCacheAlloc(s, GFP_ATOMIC);
    });
    expect(s.statTotal(STAT.PCS_TRYLOCK_FAIL)).toBe(0);
    expect(s.statTotal(STAT.ALLOC_PCS)).toBe(2);
    let b = -1;
    machine.cpus.runOn(0, () => {
      expect(pcs.lock.trylock()).toBe(true);
      machine.cpus.inNmi(0, () => {
        b = kmemCacheAlloc(s, GFP_ATOMIC);
      });
      pcs.lock.unlock();
    });
    expect(b).toBeGreaterThan(0);
    expect(s.statTotal(STAT.PCS_TRYLOCK_FAIL)).toBe(1);
    kmemCacheFree(s, a);
    kmemCacheFree(s, b);
    slabValidate(slab);
  });

  it('lock classes: barn and list locks are taken (with interrupts saved) and counted by lockdep', () => {
    const { slab, s, machine } = setup();
    const objs: number[] = [];
    for (let i = 0; i < 6 * CAP; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    machine.cpus.inHardirq(0, () => {
      objs.push(kmemCacheAlloc(s, GFP_ATOMIC));
    });
    for (const o of objs) kmemCacheFree(s, o);
    kmemCacheShrink(s);
    expect(machine.lockdep.classStats('kmem_cache_node->list_lock').acquisitions).toBeGreaterThan(0);
    expect(machine.lockdep.classStats('node_barn->lock').acquisitions).toBeGreaterThan(0);
    expect(machine.lockdep.classStats('sheafy->cpu_sheaves->lock').trylockFailures).toBe(0);
    expect(machine.warnings).toEqual([]);
    slabValidate(slab);
  });
});
