// The huge zero folio's PMD (special, read-only, with a deposited table) in
// the generic paths: copy_huge_pmd() copies it with a table for the child
// and takes the child's reference (not as a PFN map, which it would be
// without the isHugeZeroPfn hook), zap_huge_pmd() frees only its table, and
// __split_huge_zero_page_pmd() maps the small zero page read-only and special
// in every PTE, keeping uffd-wp.
import { GFP_KERNEL } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  ARCH_DESCRIPTORS,
  type CopyOps,
  type CopyVma,
  copyPageRange,
  type MmPgtables,
  MmuGather,
  PMD_LEVEL,
  PteVal,
  pmdpGet,
  pteOffsetMapLock,
  ptepGet,
  pteUnmapUnlock,
  ptValidate,
  setPmdAt,
  splitHugeZeroPagePmdLocked,
  tlbFinishMmu,
  tlbGatherMmu,
  unmapPageRange,
} from '../src/index.js';
import { TestKernel } from './harness.js';
import { TestPages } from './pages.js';

const DESCS = ['x86_64', 'arm64-4k-48'].map((n) => ARCH_DESCRIPTORS[n]!);

/** Map the huge zero folio `hz` read-only and special at `addr` (set_huge_zero_folio()). */
function mapHugeZero(k: TestKernel, addr: number, hz: number, uffdWp = false): number {
  expect(k.mapHuge(addr, hz, false, false)).toBe(true);
  const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, addr);
  const v = pmdpGet(k.mm, pmdp, new PteVal());
  k.pt.codec.pteMkspecial(v);
  if (uffdWp) k.pt.codec.pteMkuffdWp(v);
  k.pt.pmdLock(k.mm, pmdp);
  setPmdAt(k.mm, addr, pmdp, v);
  k.pt.pmdUnlock(k.mm, pmdp);
  return pmdp;
}

function copyOps(hz: number, hook: boolean, gets: CopyVma[]): CopyOps {
  const ops: CopyOps = {
    normalFolio: () => -1,
    folioNrPages: () => 1,
    folioAnon: () => true,
    dupFolioPtes: () => true,
    dupFolioPmd: () => {
      throw new Error('the huge zero folio has no rmap to duplicate');
    },
    preallocFolio: () => -1,
    copyPresentPage: () => 0,
    putPrealloc: () => undefined,
    swapDup: () => 0,
    swapRetryTableAlloc: () => 0,
    dupPfnEntry: () => undefined,
    restoreExclusive: () => 0,
  };
  if (hook) {
    ops.isHugeZeroPfn = (pfn) => pfn - (pfn % 512) === hz;
    ops.getHugeZeroFolio = (dst) => {
      gets.push(dst);
    };
  }
  return ops;
}

describe.each(DESCS)('huge zero PMD ($name)', (d) => {
  function setup(): { k: TestKernel; base: number; hz: number } {
    const k = new TestKernel(d, {}, 2);
    const hz = k.machine.mem.allocPages(GFP_KERNEL, 9);
    expect(hz % 512).toBe(0);
    const base = 64 * k.pmdSize;
    return { k, base, hz };
  }

  it('fork copies it with a deposited table and takes the child reference; without the hook it is a PFN map', () => {
    for (const hook of [true, false]) {
      const { k, base, hz } = setup();
      mapHugeZero(k, base, hz);
      const child = k.pt.mmAlloc() as MmPgtables;
      const prot = k.protOf(false, false);
      const common = { start: base, end: base + k.pmdSize, anonymous: true, shared: false, mayWrite: true };
      const src: CopyVma = { ...common, mm: k.mm, hasAnonVma: true, pageProt: prot };
      const dst: CopyVma = { ...common, mm: child, hasAnonVma: true, pageProt: prot };
      const gets: CopyVma[] = [];
      expect(copyPageRange(dst, src, copyOps(hz, hook, gets))).toBe(0);
      const cp = k.pt.lookup(child, PMD_LEVEL, base);
      const v = pmdpGet(child, cp, new PteVal());
      const c = k.pt.codec;
      expect(c.pmdLeaf(v) && c.pmdPfn(v) === hz && c.pteSpecial(v) && !c.pteWrite(v)).toBe(true);
      expect(k.pt.deposited.has(cp)).toBe(hook);
      expect(child.nrPtes).toBe(hook ? 1 : 0);
      expect(gets).toEqual(hook ? [dst] : []);
      ptValidate(k.pt);
    }
  });

  it('zap frees its table and hands no folio back', () => {
    const { k, base, hz } = setup();
    mapHugeZero(k, base, hz);
    expect(k.mm.nrPtes).toBe(1);
    const pages = new TestPages(k.machine, k.mm);
    let zapped = 0;
    pages.zapHugePmd = () => {
      zapped++;
    };
    const tlb = new MmuGather(k.pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, { start: base, end: base + k.pmdSize, anonymous: true }, base, base + k.pmdSize, null, pages);
    tlbFinishMmu(tlb);
    expect(zapped).toBe(0);
    expect(pages.freedPages).toBe(0);
    expect(k.mm.nrPtes).toBe(0);
    expect(k.pt.deposited.size).toBe(0);
    expect(k.pt.codec.pmdNone(pmdpGet(k.mm, k.pt.lookup(k.mm, PMD_LEVEL, base), new PteVal()))).toBe(true);
    ptValidate(k.pt);
  });

  it('split maps the small zero page read-only and special in every PTE, with the deposited table and uffd-wp', () => {
    const { k, base, hz } = setup();
    const zero = k.machine.mem.allocPages(GFP_KERNEL, 0);
    const uffd = k.pt.codec.features.uffdWp;
    const pmdp = mapHugeZero(k, base, hz, uffd);
    const table = k.pt.deposited.get(pmdp);
    k.pt.pmdLock(k.mm, pmdp);
    expect(splitHugeZeroPagePmdLocked(k.mm, base, pmdp, zero, k.protOf(false, false))).toBe(0);
    k.pt.pmdUnlock(k.mm, pmdp);
    expect(k.pt.deposited.has(pmdp)).toBe(false);
    expect(k.mm.nrPtes).toBe(1);
    const c = k.pt.codec;
    const ptep = pteOffsetMapLock(k.mm, pmdp, base);
    expect(Math.floor(ptep / 512)).toBe(table);
    const v = new PteVal();
    for (let i = 0; i < k.pmdSize / k.pageSize; i++) {
      ptepGet(k.mm, ptep + i, v);
      expect(c.ptePresent(v) && c.ptePfn(v) === zero && c.pteSpecial(v) && !c.pteWrite(v)).toBe(true);
      expect(c.pteUffdWp(v)).toBe(uffd);
    }
    pteUnmapUnlock(k.mm, ptep);
    ptValidate(k.pt);
  });
});
