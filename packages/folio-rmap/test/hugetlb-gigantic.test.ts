// 1 GiB hugetlb folios (order 18 with 4 KiB pages, beyond MAX_PAGE_ORDER):
// allocated through @mm/machine's contiguous allocator, spanning memory
// sections; the hugetlb rmap family on them in both mapcount modes, the
// head-page rules for tails in other sections (PageAnonExclusive,
// kpagecount), and freeing back to the buddy allocator.
import { createMachine, EBUSY, GFP_HIGHUSER_MOVABLE, type Machine } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  createAddressSpace,
  createFolioRmap,
  FolioError,
  type FolioRmap,
  folioAllocHugetlb,
  folioAveragePageMapcount,
  folioClearMapping,
  folioEntireMapcount,
  folioMapcount,
  folioMaybeMappedShared,
  folioNrPages,
  folioPin,
  folioPut,
  folioRefAdd,
  folioRmapValidate,
  folioSetMapping,
  folioTestHugetlb,
  folioUnpin,
  hugetlbAddAnonRmap,
  hugetlbAddFileRmap,
  hugetlbAddNewAnonRmap,
  hugetlbRemoveRmap,
  hugetlbTryDupAnonRmap,
  hugetlbTryShareAnonRmap,
  kpagecount,
  pageAnonExclusive,
  RMAP_EXCLUSIVE,
  RMAP_NONE,
} from '../src/index.js';
import { anonVma, newMm } from './helpers.js';

const GiB = 2 ** 30;
const A = 0x7f00_0000_0000;
const ORDER = 18;
const NR = 2 ** ORDER;

function setup(pageMapcount: boolean): { machine: Machine; rm: FolioRmap } {
  const machine = createMachine({ seed: 5, nodes: [{ memoryBytes: 4 * GiB, cpus: 2 }] });
  machine.lockdep.enabled = true;
  return { machine, rm: createFolioRmap(machine, { pageMapcount }) };
}

function freePages(machine: Machine): number {
  machine.mem.drainAllPages();
  machine.mem.refreshVmStats();
  return machine.mem.nrFreePages();
}

describe.each([true, false])('1 GiB hugetlb folios (CONFIG_PAGE_MAPCOUNT=%s)', (pageMapcount) => {
  it('allocates beyond MAX_PAGE_ORDER across sections and frees back to the buddy allocator', () => {
    const { machine, rm } = setup(pageMapcount);
    expect(ORDER).toBeGreaterThan(rm.memmap.maxOrder);
    const before = freePages(machine);
    const h = folioAllocHugetlb(rm, GFP_HIGHUSER_MOVABLE, ORDER);
    expect(h).toBeGreaterThanOrEqual(0);
    expect(h % NR).toBe(0);
    expect(folioTestHugetlb(rm, h)).toBe(true);
    expect(folioNrPages(rm, h)).toBe(NR);
    expect(freePages(machine)).toBe(before - NR);
    machine.validate();
    folioRmapValidate(rm);
    folioPut(rm, h);
    expect(freePages(machine)).toBe(before);
    machine.validate();
    // Orders the contiguous allocator cannot give are refused by name.
    expect(() => folioAllocHugetlb(rm, GFP_HIGHUSER_MOVABLE, 40)).toThrow(/hugetlb order/);
  });

  it('the hugetlb rmap family: both counters together, exclusive on the head, dup/share/pin rules', () => {
    const { machine, rm } = setup(pageMapcount);
    const before = freePages(machine);
    const p = newMm(rm);
    const pv = anonVma(rm, p, A, NR);
    const h = folioAllocHugetlb(rm, GFP_HIGHUSER_MOVABLE, ORDER);
    const farTail = h + NR - 1; // in the folio's last section, not the head's
    expect(farTail >>> rm.shift).not.toBe(h >>> rm.shift);
    hugetlbAddNewAnonRmap(rm, h, pv, A);
    expect(folioMapcount(rm, h)).toBe(1);
    expect(folioEntireMapcount(rm, h)).toBe(1);
    expect(pageAnonExclusive(rm, h)).toBe(true);
    expect(pageAnonExclusive(rm, farTail)).toBe(true); // read from the head
    expect(kpagecount(rm, farTail)).toBe(1);
    expect(folioAveragePageMapcount(rm, h)).toBe(1);
    expect(folioMaybeMappedShared(rm, h)).toBe(false);
    folioRmapValidate(rm, { walk: false });
    // fork: the child shares it; the head loses PageAnonExclusive.
    expect(hugetlbTryDupAnonRmap(rm, h, pv)).toBe(0);
    expect(folioMapcount(rm, h)).toBe(2);
    expect(folioMaybeMappedShared(rm, h)).toBe(true);
    expect(pageAnonExclusive(rm, farTail)).toBe(false);
    expect(kpagecount(rm, farTail)).toBe(2);
    hugetlbRemoveRmap(rm, h);
    hugetlbAddAnonRmap(rm, h, pv, A, RMAP_NONE);
    hugetlbRemoveRmap(rm, h);
    expect(folioMaybeMappedShared(rm, h)).toBe(false);
    hugetlbRemoveRmap(rm, h);
    expect(folioMapcount(rm, h)).toBe(0);
    expect(() => hugetlbRemoveRmap(rm, h)).toThrow(FolioError);
    // Re-mapped exclusively, then pinned: neither dup nor share may proceed.
    hugetlbAddAnonRmap(rm, h, pv, A, RMAP_EXCLUSIVE);
    expect(pageAnonExclusive(rm, farTail)).toBe(true);
    folioPin(rm, h, 1, p);
    expect(hugetlbTryShareAnonRmap(rm, h)).toBe(-EBUSY);
    expect(hugetlbTryDupAnonRmap(rm, h, pv)).toBe(-EBUSY);
    expect(pageAnonExclusive(rm, farTail)).toBe(true);
    folioUnpin(rm, h, 1);
    expect(hugetlbTryShareAnonRmap(rm, h)).toBe(0);
    expect(pageAnonExclusive(rm, farTail)).toBe(false);
    folioRmapValidate(rm, { walk: false });
    hugetlbRemoveRmap(rm, h);
    // A file-backed 1 GiB folio (hugetlbfs).
    const fh = folioAllocHugetlb(rm, GFP_HIGHUSER_MOVABLE, ORDER);
    expect(fh).toBeGreaterThanOrEqual(0);
    folioSetMapping(rm, fh, createAddressSpace(rm, 'hugetlbfs'), 0);
    folioRefAdd(rm, fh, 1); // one reference per mapping
    hugetlbAddFileRmap(rm, fh);
    hugetlbAddFileRmap(rm, fh);
    expect(folioMapcount(rm, fh)).toBe(2);
    expect(kpagecount(rm, fh + NR / 2 + 3)).toBe(2);
    expect(() => hugetlbAddAnonRmap(rm, fh, pv, A, RMAP_NONE)).toThrow(/anonymous/);
    folioRmapValidate(rm, { walk: false });
    machine.validate();
    hugetlbRemoveRmap(rm, fh);
    hugetlbRemoveRmap(rm, fh);
    folioClearMapping(rm, fh); // out of the hugetlbfs page cache
    folioPut(rm, fh);
    folioPut(rm, fh);
    folioPut(rm, h);
    expect(freePages(machine)).toBe(before);
    machine.validate();
  });
});
