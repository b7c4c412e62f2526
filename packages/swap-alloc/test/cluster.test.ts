/**
 * Clusters: setup, list transitions, order-N alignment, the 6.18 choice
 * order, the per-CPU fast path, HDD serialisation, discard and the swap
 * table's lifecycle.
 */
import { describe, expect, it } from 'vitest';
import {
  CLUSTER_FLAG_DISCARD,
  CLUSTER_FLAG_FRAG,
  CLUSTER_FLAG_FREE,
  CLUSTER_FLAG_FULL,
  CLUSTER_FLAG_NONFULL,
  folioAllocSwap,
  SWAP_HAS_CACHE,
  SWAP_MAP_BAD,
  swapDoScheduledDiscard,
  swapon,
  swapValidate,
  swpOffset,
  swpType,
} from '../src/index.js';
import { allocOn, dropFolio, failPages, makeHarness } from './helpers/harness.js';

const MiB = 2 ** 20;

describe('swapon: cluster setup', () => {
  it('puts the header cluster on nonfull[0] and the rest on the free list', () => {
    const h = makeHarness();
    const t = swapon(h.swap, { sizeBytes: 64 * MiB });
    const si = h.swap.swapInfo[t]!;
    expect(si.max).toBe(16384);
    expect(si.pages).toBe(16383);
    expect(si.nrClusters).toBe(32);
    expect(si.ciFlags[0]).toBe(CLUSTER_FLAG_NONFULL);
    expect(si.ciCount[0]).toBe(1);
    expect(si.swapMap[0]).toBe(SWAP_MAP_BAD);
    expect(si.ciTable[0]).not.toBeNull();
    for (let ci = 1; ci < 32; ci++) {
      expect(si.ciFlags[ci]).toBe(CLUSTER_FLAG_FREE);
      expect(si.ciTable[ci]).toBeNull();
    }
    swapValidate(h.swap);
  });

  it('counts bad slots and the tail of a short last cluster as used', () => {
    const h = makeHarness();
    const t = swapon(h.swap, { pages: 1000, badPages: [600, 700] });
    const si = h.swap.swapInfo[t]!;
    expect(si.pages).toBe(1000 - 1 - 2);
    expect(si.nrClusters).toBe(2);
    // cluster 1 covers 512..1023: two bad slots and 24 slots past the end
    expect(si.ciCount[1]).toBe(2 + 24);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_NONFULL);
    swapValidate(h.swap);
  });

  it('rejects bad sizes and bad-page lists without leaving a device behind', () => {
    const h = makeHarness();
    expect(() => swapon(h.swap, { pages: 1 })).toThrow(/usable size/);
    expect(() => swapon(h.swap, { pages: 100, badPages: [0] })).toThrow(/bad page 0/);
    expect(() => swapon(h.swap, { pages: 100, badPages: [5, 5] })).toThrow(/duplicated/);
    expect(() => swapon(h.swap, { sizeBytes: 4097 })).toThrow(/whole number of pages/);
    expect(h.swap.swapInfo.every((s) => s === null)).toBe(true);
    swapValidate(h.swap);
  });
});

describe('allocation inside clusters', () => {
  it('starts after the header and continues from the per-CPU hint', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 64 * MiB });
    const a = allocOn(h, 0, 0);
    const b = allocOn(h, 0, 0);
    expect(swpOffset(a.entry)).toBe(1);
    expect(swpOffset(b.entry)).toBe(2);
    expect(h.swap.counters.allocSlow[0]).toBe(1);
    expect(h.swap.counters.allocFast[0]).toBe(1);
    const si = h.swap.swapInfo[0]!;
    expect(si.ciFlags[0]).toBe(CLUSTER_FLAG_FRAG);
    expect(si.swapMap[1]).toBe(SWAP_HAS_CACHE);
    swapValidate(h.swap);
  });

  it('aligns order-N entries and keeps each cluster to one order', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 64 * MiB });
    const si = h.swap.swapInfo[0]!;
    const orders = [4, 0, 2, 4, 9, 0, 2, 3, 4, 1, 9, 2];
    for (let k = 0; k < 40; k++) {
      const order = orders[k % orders.length]!;
      const { entry } = allocOn(h, k % 4, order);
      expect(entry).toBeGreaterThan(0);
      const off = swpOffset(entry);
      expect(off % (1 << order)).toBe(0);
      for (let i = 0; i < 1 << order; i++) expect(si.swapMap[off + i]).toBe(SWAP_HAS_CACHE);
      const ci = off >>> 9;
      // order 0 may only share a cluster when stealing (not needed here)
      expect(si.ciOrder[ci]).toBe(ci === 0 ? 0 : order);
    }
    swapValidate(h.swap);
  });

  it('serves a PMD-order request only from a free cluster, at the cluster start', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 3 * 512 });
    const a = allocOn(h, 0, 9);
    expect(swpOffset(a.entry)).toBe(512);
    const b = allocOn(h, 1, 9);
    expect(swpOffset(b.entry)).toBe(1024);
    // no free cluster left: cluster 0 (header) cannot take order 9
    expect(allocOn(h, 2, 9).entry).toBe(-12);
    swapValidate(h.swap);
  });

  it('fills one cluster per CPU on an SSD', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 64 * MiB });
    const clusters = new Set<number>();
    for (let cpu = 0; cpu < 4; cpu++) {
      for (let k = 0; k < 10; k++) clusters.add((swpOffset(allocOn(h, cpu, 0).entry) >>> 9) * 10 + cpu);
    }
    // four CPUs, four different clusters
    expect(new Set([...clusters].map((x) => Math.floor(x / 10))).size).toBe(4);
    swapValidate(h.swap);
  });

  it('serialises HDD allocation through the global cluster: CPUs share it, no per-CPU cache', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 64 * MiB, kind: 'hdd' });
    const offs: number[] = [];
    for (let k = 0; k < 8; k++) offs.push(swpOffset(allocOn(h, k % 4, 0).entry));
    expect(offs).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(h.swap.counters.allocFast[0]).toBe(0);
    expect(h.swap.counters.allocSlow[0]).toBe(8);
    expect(Array.from(h.swap.pcpSi).every((t) => t === -1)).toBe(true);
    swapValidate(h.swap);
  });
});

describe('cluster lists', () => {
  it('moves clusters: frag after allocation, nonfull after a partial free, free when empty', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 64 * MiB });
    const si = h.swap.swapInfo[0]!;
    const a = allocOn(h, 0, 4); // cluster 1 (free → order 4)
    const b = allocOn(h, 0, 4);
    expect(swpOffset(b.entry)).toBe(512 + 16);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_FRAG);
    dropFolio(h, a.folio);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_NONFULL);
    expect(si.ciList[1]).toBe(si.nonfullList(4));
    dropFolio(h, b.folio);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_FREE);
    expect(si.ciOrder[1]).toBe(0);
    expect(si.ciTable[1]).toBeNull();
    swapValidate(h.swap);
  });

  it('puts a filled cluster on the full list', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 2 * 512 });
    const si = h.swap.swapInfo[0]!;
    for (let k = 0; k < 32; k++) allocOn(h, 0, 4);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_FULL);
    expect(si.ciCount[1]).toBe(512);
    swapValidate(h.swap);
  });

  it('prefers nonfull[order] over a free cluster (6.18), and a free cluster first on a discarding device', () => {
    for (const discard of [false, true]) {
      const h = makeHarness();
      swapon(h.swap, { sizeBytes: 64 * MiB, discard: discard ? 'pages' : false });
      const held = [];
      for (let k = 0; k < 40; k++) held.push(allocOn(h, 0, 4));
      // cluster 1 is full (32 × 16), cluster 2 holds 8 entries; free one in cluster 1
      dropFolio(h, held[3]!.folio);
      const si = h.swap.swapInfo[0]!;
      expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_NONFULL);
      // CPU 1 has no cached cluster: slow path
      const c = allocOn(h, 1, 4);
      const ci = swpOffset(c.entry) >>> 9;
      expect(ci).toBe(discard ? 3 : 1);
      swapValidate(h.swap);
    }
  });

  it('lets order 0 steal from higher-order clusters when nothing else is left', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 2 * 512 });
    const si = h.swap.swapInfo[0]!;
    // fill cluster 0 (order 0, after the header) and cluster 1 (order 4)
    const small = [];
    for (let k = 0; k < 511; k++) small.push(allocOn(h, 0, 0));
    const big = [];
    for (let k = 0; k < 32; k++) big.push(allocOn(h, 1, 4));
    expect(allocOn(h, 2, 0).entry).toBe(-12);
    dropFolio(h, big[5]!.folio); // 16 free slots in the order-4 cluster
    const stolen = allocOn(h, 2, 0);
    expect(swpOffset(stolen.entry)).toBe(512 + 5 * 16);
    expect(si.ciOrder[1]).toBe(4);
    swapValidate(h.swap);
  });

  it('waits for discard before reusing a cluster; sync discard on an order-0 failure', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 2 * 512, discard: true });
    const si = h.swap.swapInfo[0]!;
    const held = [];
    for (let k = 0; k < 32; k++) held.push(allocOn(h, 0, 4));
    for (const x of held) dropFolio(h, x.folio);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_DISCARD);
    swapValidate(h.swap);
    // cluster 0 fills with order 0, then the discard is run synchronously
    for (let k = 0; k < 511; k++) allocOn(h, 0, 0);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_DISCARD);
    const x = allocOn(h, 0, 0);
    expect(swpOffset(x.entry)).toBe(512);
    expect(si.io.discards).toBeGreaterThanOrEqual(2); // the area once, then the cluster
    swapValidate(h.swap);
    expect(swapDoScheduledDiscard(h.swap, si)).toBe(false);
  });

  it('returns the cluster to the free list when its table cannot be allocated', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 64 * MiB });
    const pagesBefore = h.swap.nrTablePages;
    // an order-9 request needs a free cluster, hence a new table page
    const folio = h.swap.folios.folioAlloc(0, 9, -1);
    h.swap.folios.folioTrylock(folio);
    failPages(h, true);
    const r = folioAllocSwap(h.swap, folio);
    failPages(h, false);
    expect(r).toBe(-12);
    expect(h.swap.counters.tableAllocSlow).toBe(1);
    expect(h.swap.counters.tableAllocFail).toBe(1);
    expect(h.swap.nrTablePages).toBe(pagesBefore);
    expect(h.swap.folios.folioTestSwapcache(folio)).toBe(false);
    swapValidate(h.swap);
    // memory is back: the same request succeeds
    expect(folioAllocSwap(h.swap, folio)).toBe(0);
    expect(h.swap.nrTablePages).toBe(pagesBefore + 1);
    swapValidate(h.swap);
  });
});

describe('entries', () => {
  it('encode type and offset', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 4 * MiB });
    const t = swapon(h.swap, { sizeBytes: 4 * MiB, priority: 5 });
    const { entry } = allocOn(h, 0, 0);
    expect(swpType(entry)).toBe(t);
  });
});

describe('background work', () => {
  it('runs the discard work and the full-device reclaim work on the machine workqueue', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 2 * 512, discard: 'pages' });
    const si = h.swap.swapInfo[0]!;
    const held = [];
    for (let k = 0; k < 32; k++) held.push(allocOn(h, 0, 4));
    for (const x of held) dropFolio(h, x.folio);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_DISCARD);
    h.machine.sched.runFor(1_000_000);
    expect(si.ciFlags[1]).toBe(CLUSTER_FLAG_FREE);
    swapValidate(h.swap);
    // fill the device with cache-only folios: the last allocation schedules reclaim_work
    const cached = [];
    for (;;) {
      const x = allocOn(h, 0, 0);
      if (x.entry < 0) break;
      h.swap.folios.folioUnlock(x.folio);
      cached.push(x);
    }
    expect(si.onAvail).toBe(false);
    h.machine.sched.runFor(1_000_000);
    expect(h.swap.counters.cacheReclaimed).toBeGreaterThan(0);
    expect(si.onAvail).toBe(true);
    swapValidate(h.swap);
  });
});
