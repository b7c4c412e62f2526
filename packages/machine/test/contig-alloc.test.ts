// Contiguous allocation beyond MAX_PAGE_ORDER (contig-alloc.ts): gigantic
// compound pages spanning memory sections, non-compound ranges, -EBUSY for
// ranges holding pages in use (no migration in the model), argument errors,
// and the validator on all of it.
import { describe, expect, it } from 'vitest';
import {
  __GFP_COMP,
  __GFP_NOFAIL,
  __GFP_ZERO,
  allocContigPages,
  allocContigRange,
  BadPageError,
  createMachine,
  EBUSY,
  EINVAL,
  ENOMEM,
  freeContigRange,
  GFP_KERNEL,
  type Machine,
  NR_FREE_PAGES,
  PG_head,
} from '../src/index.js';
import { smallNumaMachine } from './machines.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function machine(bytes = 4 * GiB): Machine {
  return createMachine({ seed: 3, nodes: [{ memoryBytes: bytes, cpus: 2 }] });
}

function freePages(m: Machine): number {
  m.mem.drainAllPages();
  m.mem.refreshVmStats();
  return m.mem.vmstat.globalZonePageState(NR_FREE_PAGES);
}

describe('allocContigPages / freeContigRange', () => {
  it('a 1 GiB compound page (order 18) spans memory sections and is freed whole', () => {
    const m = machine();
    const mem = m.mem;
    const nr = 2 ** 18;
    expect(18).toBeGreaterThan(mem.maxOrder);
    expect(nr).toBeGreaterThan(mem.memmap.pagesPerSection);
    const before = freePages(m);
    const pfn = allocContigPages(mem, nr, GFP_KERNEL | __GFP_COMP | __GFP_ZERO);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(pfn % nr).toBe(0);
    expect(mem.compoundOrder(pfn)).toBe(18);
    expect(mem.memmap.compoundHead(pfn + nr - 1)).toBe(pfn);
    expect(mem.memmap.compoundHead(pfn + mem.memmap.pagesPerSection + 5)).toBe(pfn);
    expect((mem.sec(pfn).flags[pfn & mem.sectionMask]! >>> PG_head) & 1).toBe(1);
    expect(freePages(m)).toBe(before - nr);
    m.validate();
    // get/put through a tail in another section reach the head.
    mem.getPage(pfn + nr - 1);
    expect(mem.sec(pfn).refcount[pfn & mem.sectionMask]).toBe(2);
    freeContigRange(mem, pfn, nr);
    expect(freePages(m)).toBe(before - nr);
    freeContigRange(mem, pfn, nr);
    expect(freePages(m)).toBe(before);
    m.validate();
    // The pages merge back into max-order blocks: another gigantic page fits again.
    const again = allocContigPages(mem, nr, GFP_KERNEL | __GFP_COMP);
    expect(again).toBeGreaterThanOrEqual(0);
    freeContigRange(mem, again, nr);
    m.validate();
  });

  it('a non-compound unaligned range gives order-0 pages with a reference each; the blocks around it go back', () => {
    const m = machine(512 * MiB);
    const mem = m.mem;
    const before = freePages(m);
    const start = 70_001;
    const end = 70_001 + 3000;
    expect(allocContigRange(mem, start, end, GFP_KERNEL)).toBe(0);
    expect(freePages(m)).toBe(before - 3000);
    for (const p of [start, start + 1, end - 1]) {
      expect(mem.sec(p).refcount[p & mem.sectionMask]).toBe(1);
      expect(mem.compoundOrder(p)).toBe(0);
    }
    m.validate();
    // Pages can be freed one by one, or the range at once.
    mem.freePages(start, 0);
    freeContigRange(mem, start + 1, 2999);
    expect(freePages(m)).toBe(before);
    m.validate();
  });

  it('-EBUSY when a page of the range is in use, with nothing changed', () => {
    const m = machine(512 * MiB);
    const mem = m.mem;
    const busy = mem.allocPages(GFP_KERNEL, 0);
    const start = busy - (busy % 1024);
    const before = freePages(m);
    const heads = Array.from(mem.zones.freeHead);
    expect(allocContigRange(mem, start, start + 1024, GFP_KERNEL)).toBe(-EBUSY);
    expect(freePages(m)).toBe(before);
    expect(Array.from(mem.zones.freeHead)).toEqual(heads);
    m.validate();
    // Ranges elsewhere are fine; a search skips the busy one.
    const pfn = allocContigPages(mem, 1024, GFP_KERNEL);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(busy < pfn || busy >= pfn + 1024).toBe(true);
    freeContigRange(mem, pfn, 1024);
    mem.freePages(busy, 0);
    m.validate();
  });

  it('argument errors: flags the kernel refuses, misshapen compound ranges, ranges across zones, counts', () => {
    const m = machine(512 * MiB);
    const mem = m.mem;
    expect(allocContigRange(mem, 65536, 65536 + 1024, GFP_KERNEL | __GFP_NOFAIL)).toBe(-EINVAL);
    expect(allocContigRange(mem, 65536 + 1, 65536 + 1 + 1024, GFP_KERNEL | __GFP_COMP)).toBe(-EINVAL);
    expect(allocContigRange(mem, 65536, 65536 + 1000, GFP_KERNEL | __GFP_COMP)).toBe(-EINVAL);
    // A range across a zone boundary (DMA32 / MOVABLE).
    const z = smallNumaMachine().mem.zones;
    let boundary = -1;
    for (let k = 0; k < z.nrZones; k++) if (z.spanned[k]! > 0 && z.startPfn[k]! > 0) boundary = z.startPfn[k]!;
    expect(boundary).toBeGreaterThan(0);
    expect(() => allocContigRange(smallNumaMachine().mem, boundary - 10, boundary + 10, GFP_KERNEL)).toThrow(
      /one zone/,
    );
    expect(() => allocContigRange(mem, 5000, 5000, GFP_KERNEL)).toThrow(/empty range/);
    expect(() => allocContigRange(mem, -1, 5, GFP_KERNEL)).toThrow(/start/);
    expect(() => allocContigPages(mem, 0, GFP_KERNEL)).toThrow(/nrPages/);
    expect(() => allocContigPages(mem, 2 ** 18, GFP_KERNEL | __GFP_COMP)).toThrow(/nrPages/);
    const busy = mem.allocPages(GFP_KERNEL, 0);
    expect(allocContigPages(mem, mem.memmap.totalPages, GFP_KERNEL | __GFP_COMP)).toBe(-ENOMEM);
    mem.freePages(busy, 0);
    m.validate();
  });

  it('freeContigRange refuses a count that is not the compound page and a page still mapped', () => {
    const m = machine();
    const mem = m.mem;
    const nr = 2 ** 18;
    const pfn = allocContigPages(mem, nr, GFP_KERNEL | __GFP_COMP);
    expect(() => freeContigRange(mem, pfn, nr / 2)).toThrow(/nrPages/);
    const tail = pfn + 100_000;
    mem.sec(tail).mapcount[tail & mem.sectionMask] = 0;
    expect(() => freeContigRange(mem, pfn, nr)).toThrow(BadPageError);
    mem.sec(tail).mapcount[tail & mem.sectionMask] = -1;
    m.validate();
    freeContigRange(mem, pfn, nr);
    m.validate();
    // A free page in a non-compound range: nothing is freed.
    const start = allocContigPages(mem, 16, GFP_KERNEL);
    mem.freePages(start + 3, 0);
    const before = freePages(m);
    expect(() => freeContigRange(mem, start, 16)).toThrow(BadPageError);
    expect(freePages(m)).toBe(before);
  });

  it('the validator catches a broken tail of a section-spanning compound page', () => {
    const m = machine();
    const mem = m.mem;
    const nr = 2 ** 18;
    const pfn = allocContigPages(mem, nr, GFP_KERNEL | __GFP_COMP);
    const tail = pfn + 3 * mem.memmap.pagesPerSection + 7;
    mem.sec(tail).compoundHead[tail & mem.sectionMask] = pfn + 1;
    expect(() => m.validate()).toThrow(/points at/);
    mem.sec(tail).compoundHead[tail & mem.sectionMask] = pfn;
    m.validate();
  });
});
