// Regression tests for bad inputs and lifecycle bugs found by probing the
// public API (issue 9): each failed before its fix.
import { GFP_KERNEL, MmError } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  kfree,
  kfreeRcu,
  kmalloc,
  kmallocNode,
  kmallocSlab,
  kmemCacheAlloc,
  kmemCacheAllocBulk,
  kmemCacheAllocFromSheaf,
  kmemCacheCreate,
  kmemCacheDestroy,
  kmemCacheFree,
  kmemCachePrefillSheaf,
  kmemCacheRefillSheaf,
  kmemCacheReturnSheaf,
  kmemCacheSheafSize,
  kmemCacheShrink,
  kvfreeRcuBarrier,
  SlabError,
  STAT,
  slabValidate,
  slubCpuDead,
} from '../src/index.js';
import { makeHarness, reserved } from './helpers/harness.js';

function slabsOf(s: { nrSlabsNode: Float64Array }): number {
  return s.nrSlabsNode.reduce((a, b) => a + b, 0);
}

describe('lifecycle regressions', () => {
  it('destroying a cache with sheaves after normal use frees all its slab pages', () => {
    const { slab, pages } = makeHarness();
    const base = pages.nrAllocated;
    const s = kmemCacheCreate(slab, 'sheafy', 64, { sheafCapacity: 8 });
    const objs: number[] = [];
    for (let i = 0; i < 200; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    for (const o of objs) kmemCacheFree(s, o);
    kmemCacheDestroy(s);
    slabValidate(slab);
    expect(slabsOf(s)).toBe(0);
    // the sheaf structs were kmalloc objects: at most the kmalloc caches' slabs remain
    let kmallocPages = 0;
    for (const c of slab.caches)
      for (let l = 0; l < c.nrIds; l++) if (c.slabPfn[l]! >= 0) kmallocPages += 2 ** c.slabOrder[l]!;
    expect(pages.nrAllocated - reserved(slab)).toBe(kmallocPages);
    expect(base).toBeLessThanOrEqual(kmallocPages);
  });

  it('a destroyed kmalloc cache is not used by kmalloc', () => {
    const { slab } = makeHarness();
    const km = kmallocSlab(slab, 100);
    expect(() => kmemCacheDestroy(km)).toThrow(SlabError);
    const p = kmalloc(slab, 100, GFP_KERNEL);
    expect(p).toBeGreaterThan(0);
    kfree(slab, p);
    slabValidate(slab);
  });

  it('kmemCacheFree of an object already passed to kfreeRcu is a double free', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'rcu-df', 64, { sheafCapacity: 4 });
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    kfreeRcu(slab, o);
    expect(() => kmemCacheFree(s, o)).toThrow(/double free|double-free/);
    kvfreeRcuBarrier(slab);
    slabValidate(slab);
  });

  it('a ctor that throws leaves no slab counted', () => {
    const { slab, pages } = makeHarness();
    let fail = true;
    const s = kmemCacheCreate(slab, 'ctor-throws', 64, {
      ctor: () => {
        if (fail) throw new Error('ctor failed');
      },
    });
    const before = pages.nrAllocated - reserved(slab);
    expect(() => kmemCacheAlloc(s, GFP_KERNEL)).toThrow('ctor failed');
    expect(pages.nrAllocated - reserved(slab)).toBe(before);
    expect(slabsOf(s)).toBe(0);
    slabValidate(slab);
    fail = false;
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    kmemCacheFree(s, o);
    slabValidate(slab);
  });

  it('kmemCacheAllocBulk into a read-only array leaks nothing', () => {
    const { slab } = makeHarness();
    for (const cap of [0, 8]) {
      const s = kmemCacheCreate(slab, `bulk-ro-${cap}`, 64, { sheafCapacity: cap });
      const frozen = Object.freeze([0, 0, 0, 0]) as unknown as number[];
      expect(() => kmemCacheAllocBulk(s, GFP_KERNEL, 4, frozen)).toThrow(SlabError);
      expect(s.nrUserObjects).toBe(0);
      slabValidate(slab);
      kmemCacheDestroy(s);
    }
  });

  it('one kmemCacheShrink frees every empty slab', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'shrink-once', 64);
    const objs: number[] = [];
    for (let i = 0; i < 300; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    for (const o of objs) kmemCacheFree(s, o);
    kmemCacheShrink(s);
    expect(slabsOf(s)).toBe(0);
    slabValidate(slab);
  });
});

describe('bad arguments are typed errors naming the argument', () => {
  it('kmallocNode with a bad node', () => {
    const { slab } = makeHarness();
    for (const node of [99, -5, 1.5, Number.NaN]) {
      let r: unknown;
      try {
        r = kmallocNode(slab, 64, GFP_KERNEL, node);
      } catch (e) {
        r = e;
      }
      expect(r instanceof TypeError).toBe(false);
      if (typeof r === 'number') expect(r).toBe(-22);
      else expect(r).toBeInstanceOf(MmError);
    }
    slabValidate(slab);
  });

  it('slubCpuDead with a bad CPU', () => {
    const { slab } = makeHarness();
    for (const cpu of [99, -1, 0.5, Number.NaN]) {
      expect(() => slubCpuDead(slab, cpu)).toThrow(SlabError);
      expect(() => slubCpuDead(slab, cpu)).toThrow(/cpu/);
    }
    slabValidate(slab);
  });
});

describe('prefilled sheaves of a cache without sheaves (seed 000 / kernel behaviour)', () => {
  it('are served as oversize sheaves: filled fresh, flushed and freed on return', () => {
    const { slab } = makeHarness();
    const s = kmemCacheCreate(slab, 'no-sheaves', 64);
    const sh = kmemCachePrefillSheaf(s, GFP_KERNEL, 3);
    expect(sh).not.toBe(null);
    expect(kmemCacheSheafSize(sh!)).toBe(3);
    const a = kmemCacheAllocFromSheaf(s, GFP_KERNEL, sh!);
    expect(a).toBeGreaterThan(0);
    const ref = { sheaf: sh! };
    expect(kmemCacheRefillSheaf(s, GFP_KERNEL, ref, 5)).toBe(0);
    expect(ref.sheaf.size).toBeGreaterThanOrEqual(5);
    kmemCacheReturnSheaf(s, GFP_KERNEL, ref.sheaf);
    kmemCacheFree(s, a);
    expect(s.statTotal(STAT.SHEAF_PREFILL_OVERSIZE)).toBe(2);
    slabValidate(slab);
    kmemCacheDestroy(s);
  });
});
