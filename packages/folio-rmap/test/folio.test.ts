// Folios over the memmap: allocation of every order, the initial state of
// the folio fields on the head and tail pages, get/put with freeing on the
// last reference, hugetlb folios, and bad frees that leave state unchanged.
import { BadPageError, GFP_HIGHUSER_MOVABLE, NR_FREE_PAGES, PG_head, PG_large_rmappable } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  FolioError,
  folioAddNewAnonRmap,
  folioAlloc,
  folioAllocHugetlb,
  folioEntireMapcount,
  folioGet,
  folioLargeMapcount,
  folioMapcount,
  folioMaybeDmaPinned,
  folioMmId,
  folioMmIdMapcount,
  folioNrPages,
  folioNrPagesMapped,
  folioOrder,
  folioPin,
  folioPincount,
  folioPut,
  folioRefCount,
  folioRemoveRmapPtes,
  folioTestFlag1,
  folioTestHugetlb,
  folioTestLarge,
  folioTestMmIdsShared,
  folioUnpin,
  GUP_PIN_COUNTING_BIAS,
  pageFolio,
  RMAP_EXCLUSIVE,
} from '../src/index.js';
import { anonVma, newMm, setup } from './helpers.js';

describe('folio allocation and references', () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])('order %i: fields start unmapped and free back', (order) => {
    const { rm, machine } = setup();
    const free0 = machine.mem.vmstat.globalZonePageState(NR_FREE_PAGES);
    const f = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, order);
    expect(f).toBeGreaterThanOrEqual(0);
    expect(f % (1 << order)).toBe(0);
    expect(folioOrder(rm, f)).toBe(order);
    expect(folioNrPages(rm, f)).toBe(1 << order);
    expect(folioTestLarge(rm, f)).toBe(order > 0);
    expect(folioRefCount(rm, f)).toBe(1);
    expect(folioMapcount(rm, f)).toBe(0);
    expect(folioEntireMapcount(rm, f)).toBe(0);
    if (order > 0) {
      expect(machine.mem.memmap.testPageFlag(f, PG_head)).toBe(true);
      expect(folioTestFlag1(rm, f, PG_large_rmappable)).toBe(true);
      expect(folioLargeMapcount(rm, f)).toBe(0);
      expect(folioNrPagesMapped(rm, f)).toBe(0);
      expect(folioMmId(rm, f, 0)).toBe(0);
      expect(folioMmId(rm, f, 1)).toBe(0);
      expect(folioMmIdMapcount(rm, f, 0)).toBe(0);
      expect(folioMmIdMapcount(rm, f, 1)).toBe(0);
      expect(folioTestMmIdsShared(rm, f)).toBe(false);
      expect(folioPincount(rm, f)).toBe(0);
      expect(pageFolio(rm, f + (1 << order) - 1)).toBe(f);
    }
    folioGet(rm, f);
    expect(folioRefCount(rm, f)).toBe(2);
    folioPut(rm, f);
    folioPut(rm, f);
    machine.mem.drainAllPages();
    expect(machine.mem.vmstat.globalZonePageState(NR_FREE_PAGES)).toBe(free0);
    expect(() => machine.validate()).not.toThrow();
  });

  it('rejects orders the allocator cannot serve and puts of tail pages', () => {
    const { rm } = setup();
    expect(() => folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 11)).toThrow(FolioError);
    const f = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 2);
    expect(() => folioPut(rm, f + 1)).toThrow(/not the head/);
    expect(() => folioGet(rm, f + 1)).toThrow(FolioError);
  });

  it('refuses to free a mapped folio, leaving it intact', () => {
    const { rm, machine } = setup();
    const mm = newMm(rm);
    const vma = anonVma(rm, mm, 0x100000, 16);
    const f = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 2);
    folioAddNewAnonRmap(rm, f, vma, 0x100000, RMAP_EXCLUSIVE);
    expect(() => folioPut(rm, f)).toThrow(BadPageError);
    expect(folioRefCount(rm, f)).toBe(1);
    expect(folioMapcount(rm, f)).toBe(4);
    folioRemoveRmapPtes(rm, f, f, 4, vma);
    folioPut(rm, f);
    expect(() => machine.validate()).not.toThrow();
  });

  it('hugetlb folios carry the page type and free like others', () => {
    const { rm, machine } = setup();
    const f = folioAllocHugetlb(rm, GFP_HIGHUSER_MOVABLE, 9);
    expect(folioTestHugetlb(rm, f)).toBe(true);
    expect(folioMapcount(rm, f)).toBe(0);
    folioPut(rm, f);
    expect(() => machine.validate()).not.toThrow();
  });

  it('pins: pincount on large folios, the refcount bias on small ones', () => {
    const { rm } = setup();
    const small = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 0);
    const large = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 4);
    expect(folioMaybeDmaPinned(rm, small)).toBe(false);
    folioPin(rm, small, 1);
    folioPin(rm, large, 2);
    expect(folioRefCount(rm, small)).toBe(1 + GUP_PIN_COUNTING_BIAS);
    expect(folioMaybeDmaPinned(rm, small)).toBe(true);
    expect(folioPincount(rm, large)).toBe(2);
    expect(folioRefCount(rm, large)).toBe(3);
    expect(() => folioPut(rm, large)).not.toThrow(); // refcount 2 left
    expect(folioMaybeDmaPinned(rm, large)).toBe(true);
    folioUnpin(rm, large, 1);
    expect(folioPincount(rm, large)).toBe(1);
    expect(() => folioUnpin(rm, large, 2)).toThrow(FolioError);
    folioUnpin(rm, large, 1); // the last reference: freed
    folioUnpin(rm, small, 1);
    expect(folioMaybeDmaPinned(rm, small)).toBe(false);
  });
});
