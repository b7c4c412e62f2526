// The rmap API's exact effects in both mapcount modes: counters
// (per-page, large, entire, _nr_pages_mapped, MM slots), statistics
// (NR_ANON_MAPPED, NR_FILE_MAPPED, NR_ANON_THPS, NR_*_PMDMAPPED),
// PageAnonExclusive, the deferred split queue and mlock, as mm/rmap.c and
// include/linux/rmap.h (v7.2) define them.
import { EBUSY, NODE_STAT, NR_MLOCK, PG_mlocked, PG_swapbacked } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  createAddressSpace,
  deferredSplitQueue,
  ENTIRELY_MAPPED,
  FolioError,
  folioAddAnonRmapPmd,
  folioAddAnonRmapPte,
  folioAddAnonRmapPtes,
  folioAddFileRmapPmd,
  folioAddFileRmapPtes,
  folioAddNewAnonRmap,
  folioAllocHugetlb,
  folioDupFileRmapPmd,
  folioDupFileRmapPtes,
  folioEntireMapcount,
  folioLargeMapcount,
  folioMapcount,
  folioMaybeMappedShared,
  folioMmId,
  folioMmIdMapcount,
  folioNrPagesMapped,
  folioOnDeferredList,
  folioPin,
  folioPut,
  folioRefAdd,
  folioRemoveRmapPmd,
  folioRemoveRmapPte,
  folioRemoveRmapPtes,
  folioSetFlag,
  folioSetMapping,
  folioTestFlag,
  folioTestPartiallyMapped,
  folioTryDupAnonRmapPmd,
  folioTryDupAnonRmapPte,
  folioTryDupAnonRmapPtes,
  folioTryShareAnonRmapPmd,
  folioTryShareAnonRmapPte,
  GUP_PIN_COUNTING_BIAS,
  hugetlbAddAnonRmap,
  hugetlbAddFileRmap,
  hugetlbAddNewAnonRmap,
  hugetlbRemoveRmap,
  hugetlbTryDupAnonRmap,
  hugetlbTryShareAnonRmap,
  MTHP_STAT,
  mthpStat,
  pageAnonExclusive,
  pageMapcountRaw,
  RMAP_EXCLUSIVE,
  RMAP_NONE,
  VM_LOCKED,
  VM_READ,
  VM_WRITE,
} from '../src/index.js';
import { alloc, anonVma, fileVma, newMm, nodeStat, setup } from './helpers.js';

const { NR_ANON_MAPPED, NR_FILE_MAPPED, NR_ANON_THPS, NR_FILE_PMDMAPPED, NR_SHMEM_PMDMAPPED } = NODE_STAT;
const A = 0x40000000; // anon VMA start (1 GiB, PMD aligned)

describe.each([
  ['PAGE_MAPCOUNT', true],
  ['NO_PAGE_MAPCOUNT', false],
])('rmap API with CONFIG_%s', (_name, pageMapcount) => {
  it('folioAddNewAnonRmap on a small folio', () => {
    const { rm } = setup(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 512);
    const f = alloc(rm, 0);
    folioAddNewAnonRmap(rm, f, vma, A + 5 * 4096, RMAP_EXCLUSIVE);
    expect(folioMapcount(rm, f)).toBe(1);
    expect(pageAnonExclusive(rm, f)).toBe(true);
    expect(folioTestFlag(rm, f, PG_swapbacked)).toBe(true);
    expect(rm.sec(f).index[f & rm.mask]).toBe(A / 4096 + 5);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(1);
    expect(mthpStat(rm, 0, MTHP_STAT.MTHP_STAT_NR_ANON)).toBe(1);
    expect(folioMaybeMappedShared(rm, f)).toBe(false);
  });

  it('folioAddNewAnonRmap on an mTHP (16 pages): PTE-mapped, MM slot 0', () => {
    const { rm } = setup(pageMapcount);
    const mm = newMm(rm);
    const vma = anonVma(rm, mm, A, 512);
    const f = alloc(rm, 4);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    expect(folioMapcount(rm, f)).toBe(16);
    expect(folioLargeMapcount(rm, f)).toBe(16);
    expect(folioEntireMapcount(rm, f)).toBe(0);
    expect(folioNrPagesMapped(rm, f)).toBe(pageMapcount ? 16 : -1);
    for (let k = 0; k < 16; k++) {
      expect(pageMapcountRaw(rm, f + k)).toBe(pageMapcount ? 1 : 0);
      expect(pageAnonExclusive(rm, f + k)).toBe(true);
    }
    expect(folioMmId(rm, f, 0)).toBe(mm.mmId);
    expect(folioMmIdMapcount(rm, f, 0)).toBe(16);
    expect(folioMmId(rm, f, 1)).toBe(0);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(16);
    expect(nodeStat(rm, NR_ANON_THPS)).toBe(0);
    expect(mthpStat(rm, 4, MTHP_STAT.MTHP_STAT_NR_ANON)).toBe(1);
  });

  it('folioAddNewAnonRmap on a PMD-sized folio: one entire mapping, NR_ANON_THPS', () => {
    const { rm } = setup(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 1024);
    const f = alloc(rm, 9);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    expect(folioMapcount(rm, f)).toBe(1);
    expect(folioEntireMapcount(rm, f)).toBe(1);
    expect(folioNrPagesMapped(rm, f)).toBe(pageMapcount ? ENTIRELY_MAPPED : -1);
    expect(pageAnonExclusive(rm, f)).toBe(true);
    expect(pageAnonExclusive(rm, f + 1)).toBe(false);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(512);
    expect(nodeStat(rm, NR_ANON_THPS)).toBe(512);
  });

  it('partial unmap of an mTHP: accounting and deferred split', () => {
    const { rm } = setup(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 512);
    const f = alloc(rm, 4);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    folioRemoveRmapPtes(rm, f, f + 4, 4, vma);
    expect(folioMapcount(rm, f)).toBe(12);
    // PAGE_MAPCOUNT accounts exactly; NO_PAGE_MAPCOUNT keeps the whole folio
    // accounted until the last page is unmapped.
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(pageMapcount ? 12 : 16);
    expect(folioOnDeferredList(rm, f)).toBe(true);
    expect(folioTestPartiallyMapped(rm, f)).toBe(true);
    expect(deferredSplitQueue(rm, 0)).toEqual([f]);
    expect(mthpStat(rm, 4, MTHP_STAT.MTHP_STAT_SPLIT_DEFERRED)).toBe(1);
    expect(mthpStat(rm, 4, MTHP_STAT.MTHP_STAT_NR_ANON_PARTIALLY_MAPPED)).toBe(1);
    folioRemoveRmapPtes(rm, f, f, 4, vma);
    folioRemoveRmapPtes(rm, f, f + 8, 8, vma);
    expect(folioMapcount(rm, f)).toBe(0);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(0);
    expect(mthpStat(rm, 4, MTHP_STAT.MTHP_STAT_SPLIT_DEFERRED)).toBe(1);
    folioPut(rm, f);
    expect(deferredSplitQueue(rm, 0)).toEqual([]);
    expect(mthpStat(rm, 4, MTHP_STAT.MTHP_STAT_NR_ANON_PARTIALLY_MAPPED)).toBe(0);
    expect(mthpStat(rm, 4, MTHP_STAT.MTHP_STAT_NR_ANON)).toBe(0);
  });

  it('unmapping whole folios in batches never queues them', () => {
    const { rm } = setup(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 512);
    const f = alloc(rm, 4);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    folioRemoveRmapPtes(rm, f, f, 16, vma);
    expect(folioOnDeferredList(rm, f)).toBe(false);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(0);
  });

  it('PMD → PTE remap (split_huge_pmd): add 512 PTEs, then remove the PMD', () => {
    const { rm } = setup(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 1024);
    const f = alloc(rm, 9);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    folioRefAdd(rm, f, 511);
    folioAddAnonRmapPtes(rm, f, f, 512, vma, A, RMAP_EXCLUSIVE);
    expect(folioMapcount(rm, f)).toBe(513);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(512);
    folioRemoveRmapPmd(rm, f, f, vma);
    expect(folioMapcount(rm, f)).toBe(512);
    expect(folioEntireMapcount(rm, f)).toBe(0);
    expect(folioNrPagesMapped(rm, f)).toBe(pageMapcount ? 512 : -1);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(512);
    expect(nodeStat(rm, NR_ANON_THPS)).toBe(0);
    expect(folioOnDeferredList(rm, f)).toBe(false);
    for (let k = 0; k < 512; k += 97) expect(pageAnonExclusive(rm, f + k)).toBe(true);
    // Unmapping one PTE now makes it partially mapped.
    folioRemoveRmapPte(rm, f, f + 100, vma);
    expect(folioOnDeferredList(rm, f)).toBe(true);
    expect(rm.thpDeferredSplitPage).toBe(1);
  });

  it('a PMD and PTE mappings together: unmapping the PMD leaves PTE-mapped pages accounted', () => {
    const { rm } = setup(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 1024);
    const f = alloc(rm, 9);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    folioAddAnonRmapPtes(rm, f, f, 10, vma, A, RMAP_NONE);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(512);
    folioRemoveRmapPmd(rm, f, f, vma);
    // PAGE_MAPCOUNT: exactly the 10 PTE-mapped pages stay accounted (partially
    // mapped). NO_PAGE_MAPCOUNT: the whole folio stays accounted; average < 1
    // with no entire mapping: partially mapped.
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(pageMapcount ? 10 : 512);
    expect(nodeStat(rm, NR_ANON_THPS)).toBe(0);
    expect(folioOnDeferredList(rm, f)).toBe(true);
  });

  it('fork: folioTryDupAnonRmapPtes clears PageAnonExclusive and gives the child slot 1', () => {
    const { rm } = setup(pageMapcount);
    const p = newMm(rm);
    const c = newMm(rm);
    const pv = anonVma(rm, p, A, 512);
    const cv = anonVma(rm, c, A, 512);
    cv.anonVma = pv.anonVma; // same tree as after anon_vma_fork
    const f = alloc(rm, 4);
    folioAddNewAnonRmap(rm, f, pv, A, RMAP_EXCLUSIVE);
    folioRefAdd(rm, f, 16);
    expect(folioTryDupAnonRmapPtes(rm, f, f, 16, cv, pv)).toBe(0);
    expect(folioMapcount(rm, f)).toBe(32);
    for (let k = 0; k < 16; k++) {
      expect(pageAnonExclusive(rm, f + k)).toBe(false);
      expect(pageMapcountRaw(rm, f + k)).toBe(pageMapcount ? 2 : 0);
    }
    expect(folioMmId(rm, f, 1)).toBe(c.mmId);
    expect(folioMmIdMapcount(rm, f, 1)).toBe(16);
    expect(folioMaybeMappedShared(rm, f)).toBe(true);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(16); // dup never touches statistics
    // The child exits: the parent owns all mappings again.
    folioRemoveRmapPtes(rm, f, f, 16, cv);
    expect(folioMaybeMappedShared(rm, f)).toBe(false);
    expect(folioMmId(rm, f, 1)).toBe(0);
  });

  it('fork of a pinned folio fails with -EBUSY and changes nothing', () => {
    const { rm } = setup(pageMapcount);
    const p = newMm(rm);
    const pv = anonVma(rm, p, A, 1024);
    const cv = anonVma(rm, newMm(rm), A, 1024);
    cv.anonVma = pv.anonVma;
    const f = alloc(rm, 4);
    folioAddNewAnonRmap(rm, f, pv, A, RMAP_EXCLUSIVE);
    folioPin(rm, f, 1, p);
    expect(folioTryDupAnonRmapPtes(rm, f, f, 16, cv, pv)).toBe(-EBUSY);
    expect(folioMapcount(rm, f)).toBe(16);
    expect(pageAnonExclusive(rm, f)).toBe(true);
    expect(folioMmId(rm, f, 1)).toBe(0);
    const s = alloc(rm, 0);
    folioAddNewAnonRmap(rm, s, pv, A + 0x100000, RMAP_EXCLUSIVE);
    folioRefAdd(rm, s, GUP_PIN_COUNTING_BIAS);
    expect(folioTryDupAnonRmapPte(rm, s, s, cv, pv)).toBe(-EBUSY);
    const t = alloc(rm, 9);
    folioAddNewAnonRmap(rm, t, pv, A + 0x200000, RMAP_EXCLUSIVE);
    folioPin(rm, t, 1, p);
    expect(folioTryDupAnonRmapPmd(rm, t, t, cv, pv)).toBe(-EBUSY);
    expect(folioEntireMapcount(rm, t)).toBe(1);
    // A shared (not exclusive) page of a pinned folio can still be duplicated.
    const u = alloc(rm, 0);
    folioAddNewAnonRmap(rm, u, pv, A + 0x101000, RMAP_NONE);
    folioRefAdd(rm, u, GUP_PIN_COUNTING_BIAS);
    expect(folioTryDupAnonRmapPte(rm, u, u, cv, pv)).toBe(0);
  });

  it('folioTryShareAnonRmap clears PageAnonExclusive unless pinned', () => {
    const { rm } = setup(pageMapcount);
    const p = newMm(rm);
    const pv = anonVma(rm, p, A, 1024);
    const f = alloc(rm, 0);
    folioAddNewAnonRmap(rm, f, pv, A, RMAP_EXCLUSIVE);
    expect(folioTryShareAnonRmapPte(rm, f, f)).toBe(0);
    expect(pageAnonExclusive(rm, f)).toBe(false);
    const t = alloc(rm, 9);
    folioAddNewAnonRmap(rm, t, pv, A + 0x200000, RMAP_EXCLUSIVE);
    folioPin(rm, t, 1, p);
    expect(folioTryShareAnonRmapPmd(rm, t, t)).toBe(-EBUSY);
    expect(pageAnonExclusive(rm, t)).toBe(true);
  });

  it('file folios: add, dup, remove with NR_FILE_MAPPED and the PMD-mapped stats', () => {
    const { rm } = setup(pageMapcount);
    const mapping = createAddressSpace(rm, '/lib/libc.so');
    const m1 = newMm(rm);
    const m2 = newMm(rm);
    const v1 = fileVma(rm, m1, mapping, A, 1024, 0);
    const v2 = fileVma(rm, m2, mapping, A, 1024, 0);
    const f = alloc(rm, 4);
    folioSetMapping(rm, f, mapping, 16);
    folioAddFileRmapPtes(rm, f, f + 2, 3, v1);
    expect(nodeStat(rm, NR_FILE_MAPPED)).toBe(pageMapcount ? 3 : 16);
    folioDupFileRmapPtes(rm, f, f + 2, 3, v2);
    expect(folioMapcount(rm, f)).toBe(6);
    expect(folioMaybeMappedShared(rm, f)).toBe(true);
    folioRemoveRmapPtes(rm, f, f + 2, 3, v1);
    expect(folioMaybeMappedShared(rm, f)).toBe(false);
    expect(folioOnDeferredList(rm, f)).toBe(false); // file folios are never queued
    folioRemoveRmapPtes(rm, f, f + 2, 3, v2);
    expect(nodeStat(rm, NR_FILE_MAPPED)).toBe(0);
    const t = alloc(rm, 9);
    folioSetMapping(rm, t, mapping, 512);
    folioAddFileRmapPmd(rm, t, t, v1);
    expect(nodeStat(rm, NR_FILE_PMDMAPPED)).toBe(512);
    expect(nodeStat(rm, NR_FILE_MAPPED)).toBe(512);
    // folio_dup_file_rmap_pmd counts PTE-level mappings (the kernel's quirk).
    folioDupFileRmapPmd(rm, t, t, v2);
    expect(folioEntireMapcount(rm, t)).toBe(1);
    expect(folioMapcount(rm, t)).toBe(513);
    const sh = alloc(rm, 9);
    folioSetFlag(rm, sh, PG_swapbacked);
    folioSetMapping(rm, sh, createAddressSpace(rm, 'shmem'), 0);
    folioAddFileRmapPmd(rm, sh, sh, v1);
    expect(nodeStat(rm, NR_SHMEM_PMDMAPPED)).toBe(512);
    folioRemoveRmapPmd(rm, sh, sh, v1);
    expect(nodeStat(rm, NR_SHMEM_PMDMAPPED)).toBe(0);
  });

  it('mlock: mapping a whole folio into a VM_LOCKED VMA mlocks it; removing any mapping munlocks', () => {
    const { rm, machine } = setup(pageMapcount);
    const mm = newMm(rm);
    const vma = anonVma(rm, mm, A, 512, VM_READ | VM_WRITE | VM_LOCKED);
    const f = alloc(rm, 4);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    expect(folioTestFlag(rm, f, PG_mlocked)).toBe(false); // new folios: the LRU add mlocks
    folioRefAdd(rm, f, 16);
    folioAddAnonRmapPtes(rm, f, f, 8, vma, A, RMAP_NONE);
    expect(folioTestFlag(rm, f, PG_mlocked)).toBe(false); // not the whole folio
    folioAddAnonRmapPtes(rm, f, f, 16, vma, A, RMAP_NONE);
    expect(folioTestFlag(rm, f, PG_mlocked)).toBe(true);
    const zone = machine.mem.pageZone(f);
    expect(machine.mem.vmstat.zonePageStateSnapshot(zone, NR_MLOCK)).toBe(16);
    folioRemoveRmapPte(rm, f, f + 3, vma);
    expect(folioTestFlag(rm, f, PG_mlocked)).toBe(false);
    expect(machine.mem.vmstat.zonePageStateSnapshot(zone, NR_MLOCK)).toBe(0);
  });

  it('hugetlb: both counters together, no statistics, exclusive on the head', () => {
    const { rm } = setup(pageMapcount);
    const p = newMm(rm);
    const pv = anonVma(rm, p, A, 1024);
    const cv = anonVma(rm, newMm(rm), A, 1024);
    cv.anonVma = pv.anonVma;
    const h = folioAllocHugetlb(rm, 0x100cca, 9);
    hugetlbAddNewAnonRmap(rm, h, pv, A);
    expect(folioMapcount(rm, h)).toBe(1);
    expect(folioEntireMapcount(rm, h)).toBe(1);
    expect(pageAnonExclusive(rm, h + 7)).toBe(true); // read from the head
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(0);
    expect(hugetlbTryDupAnonRmap(rm, h, pv)).toBe(0);
    expect(folioMapcount(rm, h)).toBe(2);
    expect(folioMaybeMappedShared(rm, h)).toBe(true);
    expect(pageAnonExclusive(rm, h)).toBe(false);
    hugetlbRemoveRmap(rm, h);
    hugetlbAddAnonRmap(rm, h, pv, A, RMAP_NONE);
    hugetlbRemoveRmap(rm, h);
    expect(folioMaybeMappedShared(rm, h)).toBe(false);
    hugetlbRemoveRmap(rm, h);
    expect(folioMapcount(rm, h)).toBe(0);
    expect(() => hugetlbRemoveRmap(rm, h)).toThrow(FolioError);
    const g = folioAllocHugetlb(rm, 0x100cca, 9);
    hugetlbAddNewAnonRmap(rm, g, pv, A + 0x200000);
    folioPin(rm, g, 1, p);
    expect(hugetlbTryShareAnonRmap(rm, g)).toBe(-EBUSY);
    expect(hugetlbTryDupAnonRmap(rm, g, pv)).toBe(-EBUSY);
    const fh = folioAllocHugetlb(rm, 0x100cca, 9);
    folioSetMapping(rm, fh, createAddressSpace(rm, 'hugetlbfs'), 0);
    hugetlbAddFileRmap(rm, fh);
    hugetlbAddFileRmap(rm, fh);
    expect(folioMapcount(rm, fh)).toBe(2);
    expect(() => folioAddFileRmapPtes(rm, fh, fh, 1, pv)).toThrow(/hugetlb/);
  });

  it('bad input throws FolioError and changes nothing', () => {
    const { rm } = setup(pageMapcount);
    const vma = anonVma(rm, newMm(rm), A, 1024);
    const other = anonVma(rm, newMm(rm), A, 1024);
    const f = alloc(rm, 2);
    expect(() => folioAddNewAnonRmap(rm, f + 1, vma, A, RMAP_EXCLUSIVE)).toThrow(FolioError);
    folioAddNewAnonRmap(rm, f, vma, A, RMAP_EXCLUSIVE);
    expect(() => folioAddAnonRmapPtes(rm, f, f + 2, 3, vma, A + 0x2000, RMAP_NONE)).toThrow(/outside folio/);
    expect(() => folioAddAnonRmapPte(rm, f, f, other, A, RMAP_NONE)).toThrow(/anon_vma tree/);
    expect(() => folioAddAnonRmapPte(rm, f, f, vma, A + 0x1000, RMAP_NONE)).toThrow(/wrong address/);
    expect(() => folioAddAnonRmapPmd(rm, f, f, vma, A, RMAP_NONE)).toThrow(FolioError);
    folioRemoveRmapPte(rm, f, f, vma);
    // Without per-page mapcounts only the folio total can be checked.
    if (pageMapcount) expect(() => folioRemoveRmapPte(rm, f, f, vma)).toThrow(/not mapped/);
    expect(() => folioRemoveRmapPtes(rm, f, f, 4, vma)).toThrow(/not mapped/);
    expect(folioMapcount(rm, f)).toBe(3);
    expect(pageMapcountRaw(rm, f)).toBe(0);
    expect(nodeStat(rm, NR_ANON_MAPPED)).toBe(pageMapcount ? 3 : 4);
  });
});
