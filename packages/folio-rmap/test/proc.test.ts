// The /proc helpers in both modes: /proc/kpagecount for a 512-page folio as
// seed 000 tabulates it ("0 if no pages are mapped, 1 if there are 1 .. 767
// per-page mappings, 2 if there are 767 .. 1279"; the kernel's rounding puts
// 767 at 1 and 768 at 2), PMD mappings, smaps PSS/USS, PM_MMAP_EXCLUSIVE and
// mapmax.
import { PGTY_slab } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  createAddressSpace,
  FolioError,
  folioAddFileRmapPmd,
  folioAddFileRmapPtes,
  folioAddNewAnonRmap,
  folioAveragePageMapcount,
  folioDupFileRmapPtes,
  folioPageMappedExclusively,
  folioPrecisePageMapcount,
  folioRefAdd,
  folioSetMapping,
  kpagecount,
  kpagecountRead,
  MemSizeStats,
  numaMapsMapcount,
  PSS_SHIFT,
  RMAP_EXCLUSIVE,
  smapsAccount,
} from '../src/index.js';
import { alloc, anonVma, fileVma, newMm, setup } from './helpers.js';

const A = 0x40000000;

/** The seed's table, extended: what kpagecount reports for m page mappings of a 512-page folio. */
function seedAverage(m: number): number {
  if (m === 0) return 0;
  if (m <= 767) return 1;
  if (m <= 1279) return 2;
  return 3;
}

describe('kpagecount of a 512-page folio (CONFIG_NO_PAGE_MAPCOUNT)', () => {
  it('follows the seed table for 0..1536 PTE mappings', () => {
    const { rm } = setup(false);
    const file = createAddressSpace(rm, 'f');
    const f = alloc(rm, 9);
    folioSetMapping(rm, f, file, 0);
    const vmas = [0, 1, 2].map(() => fileVma(rm, newMm(rm), file, A, 512, 0));
    expect(kpagecount(rm, f + 17)).toBe(0);
    let m = 0;
    for (const v of vmas) {
      for (let k = 0; k < 512; k++) {
        folioAddFileRmapPtes(rm, f, f + k, 1, v);
        m++;
        expect(folioAveragePageMapcount(rm, f)).toBe(seedAverage(m));
      }
    }
    expect(kpagecount(rm, f)).toBe(3);
    expect(kpagecount(rm, f + 511)).toBe(3);
    expect(() => folioPrecisePageMapcount(rm, f, f)).toThrow(FolioError);
  });

  it('a PMD mapping counts for every page; PTEs on top average the rest', () => {
    const { rm } = setup(false);
    const file = createAddressSpace(rm, 'f');
    const f = alloc(rm, 9);
    folioSetMapping(rm, f, file, 0);
    const v1 = fileVma(rm, newMm(rm), file, A, 512, 0);
    const v2 = fileVma(rm, newMm(rm), file, A, 512, 0);
    folioAddFileRmapPmd(rm, f, f, v1);
    expect(kpagecount(rm, f + 5)).toBe(1);
    folioAddFileRmapPtes(rm, f, f, 1, v2);
    expect(kpagecount(rm, f + 5)).toBe(1); // round(1/512) + 1
    folioAddFileRmapPtes(rm, f, f + 1, 255, v2);
    expect(kpagecount(rm, f + 5)).toBe(2); // round(256/512) (halves up) + 1
  });
});

describe('kpagecount with CONFIG_PAGE_MAPCOUNT: precise per page', () => {
  it('counts each page PTE mappings plus PMD mappings', () => {
    const { rm } = setup(true);
    const file = createAddressSpace(rm, 'f');
    const f = alloc(rm, 9);
    folioSetMapping(rm, f, file, 0);
    const v1 = fileVma(rm, newMm(rm), file, A, 512, 0);
    const v2 = fileVma(rm, newMm(rm), file, A, 512, 0);
    folioAddFileRmapPmd(rm, f, f, v1);
    folioAddFileRmapPtes(rm, f, f + 10, 3, v2);
    const counts = kpagecountRead(rm, f + 9, 5);
    expect([...counts]).toEqual([1, 2, 2, 2, 1]);
    const slab = alloc(rm, 0);
    rm.mem.memmap.setPageType(slab, PGTY_slab);
    expect(kpagecount(rm, slab)).toBe(0);
    expect(kpagecount(rm, 0x3ffff)).toBe(0);
  });
});

describe.each([
  ['PAGE_MAPCOUNT', true],
  ['NO_PAGE_MAPCOUNT', false],
])('smaps, pagemap and numa_maps (CONFIG_%s)', (_n, pageMapcount) => {
  it('PSS/USS of a 16-page file folio partially shared with a second process', () => {
    const { rm } = setup(pageMapcount);
    const file = createAddressSpace(rm, 'f');
    const f = alloc(rm, 4);
    folioSetMapping(rm, f, file, 0);
    const v1 = fileVma(rm, newMm(rm), file, A, 16, 0);
    const v2 = fileVma(rm, newMm(rm), file, A, 16, 0);
    folioAddFileRmapPtes(rm, f, f, 16, v1);
    folioDupFileRmapPtes(rm, f, f, 4, v2);
    folioRefAdd(rm, f, 20);
    const mss = new MemSizeStats();
    for (let k = 0; k < 16; k++) smapsAccount(rm, mss, f + k, false, false, false, false, true);
    const page = 4096 * 2 ** PSS_SHIFT;
    if (pageMapcount) {
      // 12 pages private (mapcount 1), 4 shared by two: PSS = 12 + 4/2 pages.
      expect(mss.pss).toBe(14 * page);
      expect(mss.privateClean).toBe(12 * 4096);
      expect(mss.sharedClean).toBe(4 * 4096);
      expect(folioPageMappedExclusively(rm, f, f + 1)).toBe(false);
      expect(folioPageMappedExclusively(rm, f, f + 10)).toBe(true);
      expect(numaMapsMapcount(rm, f, f + 1)).toBe(2);
    } else {
      // Average mapcount round(20/16) = 1 and "maybe mapped shared": every
      // page counts as shared with full PSS; USS under-estimated, never over.
      expect(mss.pss).toBe(16 * page);
      expect(mss.privateClean).toBe(0);
      expect(mss.sharedClean).toBe(16 * 4096);
      expect(folioPageMappedExclusively(rm, f, f + 10)).toBe(false);
      expect(numaMapsMapcount(rm, f, f + 1)).toBe(1);
    }
    expect(mss.resident).toBe(16 * 4096);
  });

  it('an anon folio mapped once is private with full PSS (refcount 1)', () => {
    const { rm } = setup(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 16);
    const f = alloc(rm, 0);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    const mss = new MemSizeStats();
    smapsAccount(rm, mss, f, false, true, true, false, true);
    expect(mss.anonymous).toBe(4096);
    expect(mss.referenced).toBe(4096);
    expect(mss.privateDirty).toBe(4096);
    expect(mss.pssAnon).toBe(4096 * 2 ** PSS_SHIFT);
    expect(folioPageMappedExclusively(rm, f, f)).toBe(true);
  });
});
