/**
 * swap_map counts: duplication (fork), continuation pages past
 * SWAP_MAP_MAX (thousands of references, exact counts, the byte encodings at
 * the carries), failure without a continuation page, SWAP_MAP_SHMEM,
 * swapcache_prepare, batched frees and free_swap_and_cache_nr.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  __swapCount,
  COUNT_CONTINUED,
  freeSwapAndCacheNr,
  SWAP_HAS_CACHE,
  SWAP_MAP_MAX,
  SWAP_MAP_SHMEM,
  swapcacheClear,
  swapcachePrepare,
  swapDuplicate,
  swapFree,
  swapFreeNr,
  swapon,
  swapShmemAlloc,
  swapValidate,
  swpEntry,
  swpOffset,
  swpSwapcount,
} from '../src/index.js';
import { assertInChunks } from './helpers/fuzz.js';
import { allocOn, dropFolio, failPages, makeHarness } from './helpers/harness.js';

const MiB = 2 ** 20;

function setup() {
  const h = makeHarness();
  swapon(h.swap, { sizeBytes: 16 * MiB });
  const x = allocOn(h, 0, 0);
  h.swap.folios.folioUnlock(x.folio);
  return { h, ...x, si: h.swap.swapInfo[0]! };
}

describe('swap counts', () => {
  it('counts page-table references next to the cache bit', () => {
    const { h, entry, si } = setup();
    const off = swpOffset(entry);
    expect(si.swapMap[off]).toBe(SWAP_HAS_CACHE);
    expect(swapDuplicate(h.swap, entry)).toBe(0);
    expect(swapDuplicate(h.swap, entry)).toBe(0);
    expect(si.swapMap[off]).toBe(SWAP_HAS_CACHE | 2);
    expect(__swapCount(h.swap, entry)).toBe(2);
    swapFree(h.swap, entry);
    expect(swpSwapcount(h.swap, entry)).toBe(1);
    swapValidate(h.swap);
  });

  it('continues counts past SWAP_MAP_MAX in continuation pages, exactly, up and down', () => {
    const { h, entry, si } = setup();
    const off = swpOffset(entry);
    for (let i = 1; i <= SWAP_MAP_MAX; i++) expect(swapDuplicate(h.swap, entry)).toBe(0);
    expect(si.swapMap[off]).toBe(SWAP_HAS_CACHE | SWAP_MAP_MAX);
    expect(h.swap.counters.contPages).toBe(0);
    // the 63rd reference carries: low digit 0 with COUNT_CONTINUED, one continuation page
    expect(swapDuplicate(h.swap, entry)).toBe(0);
    expect(si.swapMap[off]).toBe(SWAP_HAS_CACHE | COUNT_CONTINUED);
    expect(h.swap.counters.contPages).toBe(1);
    expect(swpSwapcount(h.swap, entry)).toBe(63);
    const N = 20_000; // 20000 = 23 + 61·63 + 2·63·128: two continuation pages
    for (let i = 64; i <= N; i++) expect(swapDuplicate(h.swap, entry)).toBe(0);
    expect(swpSwapcount(h.swap, entry)).toBe(N);
    expect(h.swap.counters.contPages).toBe(2);
    swapValidate(h.swap);
    for (let i = N; i > 0; i--) {
      swapFree(h.swap, entry);
      if (i % 997 === 0 || i < 70) expect(swpSwapcount(h.swap, entry)).toBe(i - 1);
    }
    expect(si.swapMap[off]).toBe(SWAP_HAS_CACHE);
    swapValidate(h.swap);
  });

  it('returns -ENOMEM when a continuation page cannot be had, leaving the count as it was', () => {
    const { h, entry, si } = setup();
    for (let i = 0; i < SWAP_MAP_MAX; i++) swapDuplicate(h.swap, entry);
    failPages(h, true);
    expect(swapDuplicate(h.swap, entry)).toBe(-12);
    failPages(h, false);
    expect(swpSwapcount(h.swap, entry)).toBe(SWAP_MAP_MAX);
    expect(si.swapMap[swpOffset(entry)]).toBe(SWAP_HAS_CACHE | SWAP_MAP_MAX);
    expect(swapDuplicate(h.swap, entry)).toBe(0);
    expect(swpSwapcount(h.swap, entry)).toBe(SWAP_MAP_MAX + 1);
    swapValidate(h.swap);
  });

  it('treats SWAP_MAP_SHMEM as one reference dropped at once', () => {
    const { h, entry, si } = setup();
    expect(swapShmemAlloc(h.swap, entry, 1)).toBe(0);
    expect(si.swapMap[swpOffset(entry)]).toBe(SWAP_MAP_SHMEM | SWAP_HAS_CACHE);
    expect(swpSwapcount(h.swap, entry)).toBe(1);
    // no more references can be added to a shmem entry
    expect(swapDuplicate(h.swap, entry)).toBe(0);
    expect(si.swapMap[swpOffset(entry)]).toBe(SWAP_MAP_SHMEM | SWAP_HAS_CACHE);
    swapFree(h.swap, entry);
    expect(si.swapMap[swpOffset(entry)]).toBe(SWAP_HAS_CACHE);
    swapValidate(h.swap);
  });

  it('claims slots for swap-in with swapcache_prepare', () => {
    const { h, entry, folio, si } = setup();
    swapDuplicate(h.swap, entry);
    expect(swapcachePrepare(h.swap, entry, 1)).toBe(-17); // the cache bit is held
    dropFolio(h, folio); // the cache lets go; the PTE reference stays
    expect(si.swapMap[swpOffset(entry)]).toBe(1);
    expect(swapcachePrepare(h.swap, entry, 1)).toBe(0);
    swapValidate(h.swap, { allowClaims: true });
    swapcacheClear(h.swap, entry, 1);
    expect(si.swapMap[swpOffset(entry)]).toBe(1);
    expect(swapcachePrepare(h.swap, swpEntry(0, 3000), 1)).toBe(-2); // a free slot
    expect(swapcachePrepare(h.swap, swpEntry(0, 0), 1)).toBe(-2); // the header (bad)
    swapValidate(h.swap);
  });

  it("frees a large folio's slots in one batch when each holds the last reference", () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 16 * MiB });
    const { folio, entry } = allocOn(h, 0, 4);
    const si = h.swap.swapInfo[0]!;
    for (let i = 0; i < 16; i++) swapDuplicate(h.swap, entry + i);
    dropFolio(h, folio);
    expect(si.inusePages).toBe(16);
    swapFreeNr(h.swap, entry, 16);
    expect(si.inusePages).toBe(0);
    expect(si.ciFlags[1]).toBe(1 /* free */);
    swapValidate(h.swap);
  });

  it('free_swap_and_cache_nr drops the last reference and reclaims the unmapped cache folio', () => {
    const { h, entry, folio, si } = setup();
    swapDuplicate(h.swap, entry);
    expect(h.swap.folios.folioTestSwapcache(folio)).toBe(true);
    freeSwapAndCacheNr(h.swap, entry, 1);
    expect(h.swap.folios.folioTestSwapcache(folio)).toBe(false);
    expect(si.swapMap[swpOffset(entry)]).toBe(0);
    expect(si.inusePages).toBe(0);
    expect(h.swap.nrSwapcache).toBe(0);
    swapValidate(h.swap);
    // a non-swap entry type is ignored
    freeSwapAndCacheNr(h.swap, swpEntry(30, 5), 1);
  });
});

describe('continuation digits against a counter', () => {
  it('matches a plain counter through random climbs and descents across several continuation pages', async () => {
    await assertInChunks(
      fc.property(fc.array(fc.integer({ min: -6000, max: 9000 }), { minLength: 1, maxLength: 12 }), (steps) => {
        const { h, entry } = setup();
        const other = allocOn(h, 0, 0).entry; // a neighbour sharing the continuation pages
        let n = 0;
        for (const s of steps) {
          const d = Math.max(-n, s);
          if (d > 0) for (let i = 0; i < d; i++) swapDuplicate(h.swap, entry);
          else for (let i = 0; i < -d; i++) swapFree(h.swap, entry);
          n += d;
          expect(swpSwapcount(h.swap, entry)).toBe(n);
          swapDuplicate(h.swap, other);
          expect(swpSwapcount(h.swap, other)).toBe(1);
          swapFree(h.swap, other);
        }
        swapValidate(h.swap);
      }),
      8,
    );
  });
});
