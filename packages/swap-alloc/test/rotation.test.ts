/**
 * Device choice: priorities, the automatic priorities, rotation among equal
 * priorities once per consumed cluster (SSD) or per allocation (HDD), the
 * fast path's indifference to priority, large-entry failure on the first
 * device, node affinity, and the old slot cache's rotation every 64 entries
 * (seed 000, "mm, swap: use percpu cluster as allocation fast path").
 */
import { describe, expect, it } from 'vitest';
import { setSlotCache, swapon, swapValidate, swpOffset, swpType } from '../src/index.js';
import { allocOn, dropFolio, makeHarness } from './helpers/harness.js';

const MiB = 2 ** 20;

/** Lengths of the runs of consecutive allocations on the same device. */
function runs(types: number[]): number[] {
  const out: number[] = [];
  let n = 0;
  for (let i = 0; i < types.length; i++) {
    n++;
    if (i === types.length - 1 || types[i + 1] !== types[i]) {
      out.push(n);
      n = 0;
    }
  }
  return out;
}

describe('rotation among devices of equal priority', () => {
  it('rotates non-rotational devices once per consumed cluster', () => {
    const h = makeHarness();
    const a = swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5 });
    const b = swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5 });
    const types: number[] = [];
    for (let k = 0; k < 3000; k++) types.push(swpType(allocOn(h, 0, 0).entry));
    expect(types[0]).toBe(a);
    // the header clusters hold 511 slots, the others 512
    expect(runs(types)).toEqual([511, 511, 512, 512, 512, 3000 - 511 - 511 - 3 * 512]);
    expect(types[511]).toBe(b);
    swapValidate(h.swap);
  });

  it('rotates HDDs on every allocation', () => {
    const h = makeHarness();
    const a = swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5, kind: 'hdd' });
    const b = swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5, kind: 'hdd' });
    const types: number[] = [];
    for (let k = 0; k < 100; k++) types.push(swpType(allocOn(h, k % 4, 0).entry));
    expect(runs(types).every((r) => r === 1)).toBe(true);
    expect(types.slice(0, 4)).toEqual([a, b, a, b]);
    // each HDD's entries are sequential
    swapValidate(h.swap);
  });

  it('rotates every 64 order-0 entries with the old slot cache', () => {
    const h = makeHarness({ slotCache: true });
    swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5 });
    swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5 });
    const types: number[] = [];
    for (let k = 0; k < 640; k++) types.push(swpType(allocOn(h, 0, 0).entry));
    expect(runs(types)).toEqual(new Array(10).fill(64));
    expect(h.swap.counters.slotCacheRefill).toBe(10);
    swapValidate(h.swap);
    setSlotCache(h.swap, false);
    swapValidate(h.swap);
  });

  it('rotates a large-folio allocation per cluster as well', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5 });
    swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5 });
    const types: number[] = [];
    for (let k = 0; k < 128; k++) types.push(swpType(allocOn(h, 0, 4).entry));
    // 32 order-4 entries fill a cluster
    expect(runs(types)).toEqual([32, 32, 32, 32]);
  });
});

describe('priorities', () => {
  it('hands out -2, -3, ... automatically and sorts /proc order by priority', () => {
    const h = makeHarness();
    const a = swapon(h.swap, { sizeBytes: 4 * MiB });
    const b = swapon(h.swap, { sizeBytes: 4 * MiB });
    const c = swapon(h.swap, { sizeBytes: 4 * MiB, priority: 0 });
    expect(h.swap.swapInfo[a]!.prio).toBe(-2);
    expect(h.swap.swapInfo[b]!.prio).toBe(-3);
    expect(h.swap.active.map((s) => s.type)).toEqual([c, a, b]);
    // allocation goes to the highest priority
    expect(swpType(allocOn(h, 0, 0).entry)).toBe(c);
  });

  it('uses a lower priority only when the higher one is full, and comes back when it frees', () => {
    const h = makeHarness();
    const hi = swapon(h.swap, { pages: 512, priority: 10 });
    const lo = swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5 });
    const held = [];
    for (let k = 0; k < 511; k++) {
      const x = allocOn(h, 0, 0);
      expect(swpType(x.entry)).toBe(hi);
      held.push(x);
    }
    expect(h.swap.swapInfo[hi]!.onAvail).toBe(false);
    const y = allocOn(h, 0, 0);
    expect(swpType(y.entry)).toBe(lo);
    // a free slot on the high-priority device puts it back on the list ...
    dropFolio(h, held[100]!.folio);
    expect(h.swap.swapInfo[hi]!.onAvail).toBe(true);
    // ... but CPU 0 finishes its cached cluster on the low one first (the fast path ignores priority)
    expect(swpType(allocOn(h, 0, 0).entry)).toBe(lo);
    // another CPU has no cached cluster and takes the high-priority slot
    const z = allocOn(h, 1, 0);
    expect(swpType(z.entry)).toBe(hi);
    expect(swpOffset(z.entry)).toBe(101);
    swapValidate(h.swap);
  });

  it('fails a large allocation that the first device cannot serve, without trying the next', () => {
    const h = makeHarness();
    const hi = swapon(h.swap, { pages: 512, priority: 10 });
    swapon(h.swap, { sizeBytes: 16 * MiB, priority: 5 });
    const held = [];
    for (let k = 0; k < 511; k++) held.push(allocOn(h, 0, 0));
    // free every other slot: room on `hi`, but no aligned run of 16
    for (let k = 0; k < 511; k += 2) dropFolio(h, held[k]!.folio);
    expect(h.swap.swapInfo[hi]!.onAvail).toBe(true);
    expect(allocOn(h, 1, 4).entry).toBe(-12);
    // order 0 goes on to the next device only when the first has no room at all
    expect(swpType(allocOn(h, 1, 0).entry)).toBe(hi);
    swapValidate(h.swap);
  });

  it('does not put large entries on a swapfile (only block devices)', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 16 * MiB, file: true });
    expect(allocOn(h, 0, 4).entry).toBe(-12);
    expect(allocOn(h, 0, 0).entry).toBeGreaterThan(0);
  });

  it('prefers a device on the allocating CPU node among automatic priorities', () => {
    const h = makeHarness({}, { preset: 'server2s' });
    const n0 = swapon(h.swap, { sizeBytes: 16 * MiB, node: 0 });
    const n1 = swapon(h.swap, { sizeBytes: 16 * MiB, node: 1 });
    const cpuOnNode1 = h.machine.topology.cpuToNode.indexOf(1);
    expect(swpType(allocOn(h, 0, 0).entry)).toBe(n0);
    expect(swpType(allocOn(h, cpuOnNode1, 0).entry)).toBe(n1);
    swapValidate(h.swap);
  });
});
