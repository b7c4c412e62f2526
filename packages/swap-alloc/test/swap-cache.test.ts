/**
 * The swap cache (per-cluster swap table): add, look-up, delete, shadows,
 * folio_free_swap; swap-in readahead (cluster and VMA-based) and its
 * hit accounting.
 */
import { GFP_KERNEL } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  __swapinNrPages,
  folioFreeSwap,
  readSwapCacheAsync,
  type SwapVmaRa,
  swapCacheDelFolioShadow,
  swapCacheGetFolio,
  swapCacheGetShadow,
  swapDuplicate,
  swapFree,
  swapinReadahead,
  swapon,
  swapUpdateReadahead,
  swapValidate,
  swpOffset,
} from '../src/index.js';
import { allocOn, makeHarness, TinyMm } from './helpers/harness.js';

const MiB = 2 ** 20;

describe('swap cache', () => {
  it('maps every entry of a large folio to the folio and counts NR_SWAPCACHE', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 16 * MiB });
    const { folio, entry } = allocOn(h, 0, 3);
    const refs = h.swap.folios.folioRefCount(folio);
    expect(refs).toBe(1 + 8);
    for (let i = 0; i < 8; i++) {
      const got = swapCacheGetFolio(h.swap, entry + i);
      expect(got).toBe(folio);
      h.swap.folios.folioRefSub(got, 1);
    }
    expect(h.swap.nrSwapcache).toBe(8);
    expect(swapCacheGetFolio(h.swap, entry + 8)).toBe(-1);
    // still locked by the allocator: folio_free_swap removes it (no PTE references)
    expect(folioFreeSwap(h.swap, folio)).toBe(true);
    expect(h.swap.nrSwapcache).toBe(0);
    expect(h.swap.folios.folioRefCount(folio)).toBe(1);
    expect(h.swap.swapInfo[0]!.inusePages).toBe(0);
    swapValidate(h.swap);
  });

  it('keeps the folio while page tables reference the slots; keeps a shadow after reclaim', () => {
    const seen: number[] = [];
    const h = makeHarness({ workingsetRefault: (_f, s) => seen.push(s) });
    swapon(h.swap, { sizeBytes: 16 * MiB });
    const { folio, entry } = allocOn(h, 0, 0, 42);
    swapDuplicate(h.swap, entry);
    expect(folioFreeSwap(h.swap, folio)).toBe(false);
    swapCacheDelFolioShadow(h.swap, folio, 77);
    h.swap.folios.folioUnlock(folio);
    h.swap.folios.folioPut(folio);
    expect(swapCacheGetShadow(h.swap, entry)).toBe(77);
    const r = readSwapCacheAsync(h.swap, entry, GFP_KERNEL, -1, false, { folio: -1, allocated: false });
    expect(r.allocated).toBe(true);
    expect(seen).toEqual([77]);
    swapValidate(h.swap);
    // the shadow was replaced by the folio; freeing the slot leaves NULL
    h.swap.folios.folioUnlock(r.folio);
    swapFree(h.swap, entry);
    h.swap.folios.folioTrylock(r.folio);
    expect(folioFreeSwap(h.swap, r.folio)).toBe(true);
    expect(swapCacheGetShadow(h.swap, entry)).toBe(-1);
    swapValidate(h.swap);
  });
});

describe('readahead', () => {
  it('sizes the window like __swapin_nr_pages', () => {
    // no hits: 1 page, or 2 for a neighbour of the previous offset
    expect(__swapinNrPages(10, 50, 0, 8, 0)).toBe(1);
    expect(__swapinNrPages(10, 11, 0, 8, 0)).toBe(2);
    // hits + 2 rounded up to a power of two >= 4, clamped to max
    expect(__swapinNrPages(0, 50, 1, 8, 0)).toBe(4);
    expect(__swapinNrPages(0, 50, 3, 8, 0)).toBe(8);
    expect(__swapinNrPages(0, 50, 30, 8, 0)).toBe(8);
    // never below half the previous window
    expect(__swapinNrPages(10, 50, 0, 8, 8)).toBe(4);
  });

  it('reads the aligned page-cluster block around the fault (cluster readahead), then counts hits', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 16 * MiB });
    const mm = new TinyMm(32, 1000);
    for (let i = 0; i < 32; i++) mm.swapOut(h, i);
    // page i sits at offset i + 1; page 8 → offset 9 → block 8..15 (initial 4 hits → 8 pages)
    const folio = swapinReadahead(h.swap, mm.swp[8]!, GFP_KERNEL, null, 0);
    expect(h.swap.counters.swapRa).toBe(7);
    expect(h.swap.counters.pswpin).toBe(8);
    for (let off = 8; off <= 15; off++) {
      const f = swapCacheGetFolio(h.swap, mm.swp[off - 1]!);
      expect(f).toBeGreaterThanOrEqual(0);
      expect(h.swap.folios.folioContent(f, 0)).toBe(1000 + off - 1);
      h.swap.folios.folioRefSub(f, 1);
    }
    expect(h.swap.folios.folioContent(folio, 0)).toBe(1008);
    // a later fault on page 9 hits the cache
    const hit = swapCacheGetFolio(h.swap, mm.swp[9]!);
    swapUpdateReadahead(h.swap, hit, null, 0);
    expect(h.swap.counters.swapRaHit).toBe(1);
    expect(h.swap.ra.swapinReadaheadHits).toBe(1);
    swapValidate(h.swap);
  });

  it('reads the virtual neighbours of the fault (VMA readahead), clamped to the VMA', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 16 * MiB });
    const mm = new TinyMm(64, 500);
    // swap out in reverse so that virtual and swap order differ
    for (let i = 63; i >= 0; i--) mm.swapOut(h, i);
    const ps = h.machine.topology.pageSize;
    const vma: SwapVmaRa = {
      vmStart: 0,
      vmEnd: 64 * ps,
      swapReadaheadInfo: 0,
      swapEntryAt: (addr) => mm.swp[addr / ps] ?? -1,
    };
    const f = swapinReadahead(h.swap, mm.swp[20]!, GFP_KERNEL, vma, 20 * ps);
    expect(h.swap.folios.folioContent(f, 0)).toBe(520);
    // window 8 centred: pages 17..24
    expect(h.swap.counters.swapRa).toBe(7);
    for (let i = 17; i <= 24; i++) {
      const g = swapCacheGetFolio(h.swap, mm.swp[i]!);
      expect(g).toBeGreaterThanOrEqual(0);
      h.swap.folios.folioRefSub(g, 1);
    }
    expect(swapCacheGetFolio(h.swap, mm.swp[25]!)).toBe(-1);
    // the VMA remembers the fault address and the window
    expect(vma.swapReadaheadInfo).toBe(20 * ps + 8 * 2 ** 6);
    swapValidate(h.swap);
  });

  it('uses cluster readahead while a rotational device is swapped on', () => {
    const h = makeHarness();
    swapon(h.swap, { sizeBytes: 16 * MiB });
    expect(h.swap.nrRotateSwap).toBe(0);
    swapon(h.swap, { sizeBytes: 16 * MiB, kind: 'hdd' });
    expect(h.swap.nrRotateSwap).toBe(1);
    const { entry } = allocOn(h, 0, 0);
    expect(swpOffset(entry)).toBeGreaterThan(0);
    const vma: SwapVmaRa = { vmStart: 0, vmEnd: 4096, swapReadaheadInfo: 0, swapEntryAt: () => -1 };
    swapinReadahead(h.swap, entry, GFP_KERNEL, vma, 0);
    // the VMA's state is untouched: the cluster path ran
    expect(vma.swapReadaheadInfo).toBe(0);
  });
});
