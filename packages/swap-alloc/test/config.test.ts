/**
 * Configuration: geometry without THP_SWAP, MAX_SWAPFILES as a parameter
 * and its kernel derivation, entry encoding, reclaim of cache-only slots
 * once swap is over half full, and deterministic JSON.
 */
import { describe, expect, it } from 'vitest';
import {
  folioAllocSwap,
  MAX_SWAPFILES_DEFAULT,
  maxSwapfilesFor,
  swapGeometry,
  swapon,
  swapStateJson,
  swapValidate,
  swpEntry,
  swpOffset,
  swpType,
  vmSwapFull,
} from '../src/index.js';
import { allocOn, makeHarness, newFolio, TinyMm } from './helpers/harness.js';

const MiB = 2 ** 20;

describe('geometry and limits', () => {
  it('uses 512-slot clusters and orders 0..9 with THP_SWAP, 256 and order 0 without', () => {
    expect(swapGeometry(12, true)).toMatchObject({ clusterSize: 512, nrOrders: 10, pmdOrder: 9 });
    expect(swapGeometry(12, false)).toMatchObject({ clusterSize: 256, nrOrders: 1 });
    expect(swapGeometry(16, true)).toMatchObject({ clusterSize: 8192, nrOrders: 14 }); // arm64 64K pages
    const h = makeHarness({ thpSwap: false });
    swapon(h.swap, { sizeBytes: 4 * MiB });
    expect(h.swap.swapInfo[0]!.nrClusters).toBe(4);
    const big = newFolio(h, 2);
    expect(folioAllocSwap(h.swap, big)).toBe(-11); // -EAGAIN: split the folio
    expect(allocOn(h, 0, 0).entry).toBeGreaterThan(0);
    swapValidate(h.swap);
  });

  it('derives MAX_SWAPFILES like the kernel and takes it as a parameter', () => {
    expect(MAX_SWAPFILES_DEFAULT).toBe(24);
    expect(maxSwapfilesFor({ devicePrivate: false })).toBe(27);
    expect(maxSwapfilesFor({ devicePrivate: false, migration: false, memoryFailure: false })).toBe(31);
    const h = makeHarness({ maxSwapfiles: 2 });
    swapon(h.swap, { pages: 100 });
    swapon(h.swap, { pages: 100 });
    expect(() => swapon(h.swap, { pages: 100 })).toThrow(expect.objectContaining({ code: 'EPERM' }));
    expect(() => makeHarness({ maxSwapfiles: 33 })).toThrow(/maxSwapfiles/);
  });

  it('packs type and offset into one number', () => {
    const e = swpEntry(23, 2 ** 40 + 5);
    expect(swpType(e)).toBe(23);
    expect(swpOffset(e)).toBe(2 ** 40 + 5);
    expect(() => swpEntry(32, 1)).toThrow(/type/);
    expect(() => swpEntry(0, -1)).toThrow(/offset/);
  });
});

describe('swap over half full', () => {
  it('fails once every slot is held, even by the cache alone (the full device is off the list)', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 2 * 512 });
    const si = h.swap.swapInfo[0]!;
    for (;;) {
      const x = allocOn(h, 0, 0);
      if (x.entry < 0) break;
      h.swap.folios.folioUnlock(x.folio);
    }
    expect(si.inusePages).toBe(si.pages);
    expect(si.onAvail).toBe(false);
    expect(vmSwapFull(h.swap)).toBe(true);
    expect(allocOn(h, 1, 0).entry).toBe(-12);
    swapValidate(h.swap);
  });

  it('reclaims cache-only slots inside a cluster the allocator scans', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 4 * 512 });
    const si = h.swap.swapInfo[0]!;
    // 1500 cache-only folios (unlocked), then free 2 to make the device non-full
    const held = [];
    for (let k = 0; k < 1500; k++) {
      const x = allocOn(h, k % 4, 0);
      h.swap.folios.folioUnlock(x.folio);
      held.push(x);
    }
    expect(vmSwapFull(h.swap)).toBe(true);
    // CPU 3 has no hint left in a cluster with room: the slow path scans,
    // and the scan reclaims cache-only slots rather than failing
    for (let k = 0; k < 600; k++) expect(allocOn(h, 3, 0).entry).toBeGreaterThan(0);
    expect(h.swap.counters.cacheReclaimed).toBeGreaterThan(0);
    expect(si.inusePages).toBeLessThanOrEqual(si.pages);
    swapValidate(h.swap);
  });
});

describe('JSON', () => {
  it('is the same for the same seed and operations', () => {
    const run = () => {
      const h = makeHarness({}, { seed: 5 });
      swapon(h.swap, { sizeBytes: 4 * MiB, priority: 1 });
      swapon(h.swap, { sizeBytes: 4 * MiB, priority: 1, kind: 'hdd' });
      const mm = new TinyMm(300, 3);
      for (let i = 0; i < 300; i++) mm.swapOut(h, i);
      for (let i = 0; i < 300; i += 2) mm.swapIn(h, i);
      return JSON.stringify(swapStateJson(h.swap));
    };
    const a = run();
    expect(run()).toBe(a);
    expect(JSON.parse(a).devices).toHaveLength(2);
  });
});
