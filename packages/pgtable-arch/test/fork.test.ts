// copy_page_range() for fork: every kind of entry is copied by the kernel's
// rules (COW write-protect on both sides, clean child entries for shared
// mappings, old child entries, uffd-wp only into registered VMAs, swap
// counts duplicated and the parent's exclusive bit cleared, writable
// migration / device-private entries made readable, poison and guard markers
// always copied (seed 003: swapin errors survive fork), uffd-wp markers only
// with uffd-wp, pinned anonymous pages copied into a preallocated page, PMD
// leaves shared write-protected with a deposited table); random layouts of
// folios keep the rmap oracle and the validator happy.
import { EIO, MMU_USER, MMU_WRITE } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCH_DESCRIPTORS,
  type ArchDescriptor,
  type CopyOps,
  type CopyVma,
  copyPageRange,
  LEAF_KIND,
  type MmPgtables,
  PMD_LEVEL,
  PTE_MARKER_GUARD,
  PTE_MARKER_POISONED,
  PTE_MARKER_UFFD_WP,
  PteVal,
  pmdpGet,
  pteOffsetMapLock,
  ptepGet,
  ptepGetAndClear,
  pteUnmapUnlock,
  ptValidate,
  SwpEntry,
  setPteAt,
} from '../src/index.js';
import { __setCopyRawSingles } from '../src/mm/copy-page-range.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';

const RUNS = fuzzRuns(10);
const PICK = ['x86_64', 'x86', 'arm64-4k-48', 'arm64-64k-42', 'riscv64-sv39', 'ppc64-radix-4k'];
const DESCS = PICK.map((n) => ARCH_DESCRIPTORS[n]!);

/** Folios of the fork tests: head -> state; reference and mapcount per page. */
class ForkPages implements CopyOps {
  readonly head = new Map<number, number>();
  readonly nr = new Map<number, number>();
  readonly anon = new Map<number, boolean>();
  readonly pinned = new Set<number>();
  readonly mapcount = new Map<number, number>();
  readonly swapCount = new Map<string, number>();
  readonly events: string[] = [];
  nextPrealloc = 900_000;
  failSwapOnce = false;

  folio(head: number, nr: number, anon: boolean): void {
    for (let i = 0; i < nr; i++) this.head.set(head + i, head);
    this.nr.set(head, nr);
    this.anon.set(head, anon);
  }
  normalFolio(_v: CopyVma, _a: number, pfn: number, special: boolean): number {
    return special ? -1 : (this.head.get(pfn) ?? -1);
  }
  folioNrPages(head: number): number {
    return this.nr.get(head)!;
  }
  folioAnon(head: number): boolean {
    return this.anon.get(head)!;
  }
  dupFolioPtes(_d: CopyVma, _s: CopyVma, head: number, pfn: number, nr: number): boolean {
    if (this.anon.get(head)) for (let i = 0; i < nr; i++) if (this.pinned.has(pfn + i)) return false;
    for (let i = 0; i < nr; i++) this.mapcount.set(pfn + i, (this.mapcount.get(pfn + i) ?? 0) + 1);
    return true;
  }
  dupFolioPmd(_d: CopyVma, _s: CopyVma, head: number): boolean {
    if (this.pinned.has(head)) return false;
    this.mapcount.set(head, (this.mapcount.get(head) ?? 0) + 1);
    return true;
  }
  preallocFolio(): number {
    this.events.push('prealloc');
    return this.nextPrealloc++;
  }
  copyPresentPage(_d: CopyVma, _s: CopyVma, addr: number, srcPfn: number, newPfn: number): number {
    this.events.push(`copy ${srcPfn}->${newPfn} @${addr}`);
    return 0;
  }
  putPrealloc(pfn: number): void {
    this.events.push(`put ${pfn}`);
  }
  swapDup(_d: CopyVma, type: number, offset: number): number {
    if (this.failSwapOnce) {
      this.failSwapOnce = false;
      return -EIO;
    }
    const k = `${type}:${offset}`;
    this.swapCount.set(k, (this.swapCount.get(k) ?? 1) + 1);
    return 0;
  }
  swapRetryTableAlloc(): number {
    this.events.push('swap continuation');
    return 0;
  }
  dupPfnEntry(_d: CopyVma, _s: CopyVma, kind: number, pfn: number): void {
    this.events.push(`pfn ${kind} ${pfn}`);
  }
  restoreExclusive(): 0 | 1 {
    return 1;
  }
}

function vmas(k: TestKernel, child: MmPgtables, start: number, end: number, shared: boolean, uffd: boolean) {
  const prot = k.protOf(!shared, false);
  const common = { start, end, anonymous: !shared, shared, mayWrite: true, hasAnonVma: true, pageProt: prot };
  const src: CopyVma = { ...common, mm: k.mm, uffdWp: uffd };
  const dst: CopyVma = { ...common, mm: child, uffdWp: uffd };
  return { src, dst };
}

function readPte(mm: MmPgtables, addr: number, out = new PteVal()): PteVal {
  const pt = mm.pt;
  const pmdp = pt.lookup(mm, PMD_LEVEL, addr);
  if (pmdp < 0) return out.setWords(0, 0);
  if (pt.codec.pmdLeaf(pmdpGet(mm, pmdp, out))) return out;
  const ptep = pteOffsetMapLock(mm, pmdp, addr);
  if (ptep < 0) return out.setWords(0, 0);
  ptepGet(mm, ptep, out);
  pteUnmapUnlock(mm, ptep);
  return out;
}

function writePte(k: TestKernel, addr: number, v: PteVal): void {
  k.map(addr, 1, 1, false, false);
  const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, addr);
  const ptep = pteOffsetMapLock(k.mm, pmdp, addr);
  ptepGetAndClear(k.mm, addr, ptep, new PteVal());
  setPteAt(k.mm, addr, ptep, v);
  pteUnmapUnlock(k.mm, ptep);
  k.oracle.delete(addr / k.pageSize);
}

describe.each(DESCS.map((d) => [d.name, d] as const))('%s: copy_page_range', (_n, d: ArchDescriptor) => {
  it('the single-entry fast path leaves the state the set_ptes()/wrprotect_ptes() path leaves', () => {
    // Random small and large folios with random PTE bits, private or shared,
    // uffd-wp registered or not, PT reclaim off or the arch default: copy once with the
    // raw single-entry writes and once through the checked helpers; both
    // tables, the lazy-MMU counters and the rmap calls must agree.
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            page: fc.integer({ min: 0, max: 255 }),
            order: fc.integer({ min: 0, max: 3 }),
            write: fc.boolean(),
            bits: fc.integer({ min: 0, max: 15 }),
            pinned: fc.boolean(),
          }),
          { minLength: 1, maxLength: 24 },
        ),
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        (maps, shared, uffd, reclaimOff) => {
          const run = (raw: boolean) => {
            const k = new TestKernel(d, reclaimOff ? { ptReclaim: 'off' } : {}, 2);
            const pt = k.pt;
            const c = pt.codec;
            const ps = k.pageSize;
            const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
            const child = pt.mmAlloc()!;
            const pages = new ForkPages();
            let nextPfn = 1 << 12;
            const v = new PteVal();
            for (const m of maps) {
              const nr = 2 ** m.order;
              const first = m.page - (m.page % nr);
              k.unmap(base + first * ps, nr);
              const pfn = nextPfn;
              nextPfn += nr;
              pages.folio(pfn, nr, !shared);
              if (m.pinned && !shared) pages.pinned.add(pfn);
              k.map(base + first * ps, nr, pfn, m.write, false);
              if (nr === 1 && m.bits !== 0) {
                readPte(k.mm, base + first * ps, v);
                if (m.bits & 1) c.pteMkdirty(v);
                if (m.bits & 2) c.pteMkyoung(v);
                if (m.bits & 4 && c.features.uffdWp) c.pteMkuffdWp(v);
                if (m.bits & 8 && c.features.softDirty) c.pteMksoftDirty(v);
                writePte(k, base + first * ps, v);
              }
            }
            const { src, dst } = vmas(k, child, base, base + 256 * ps, shared, uffd);
            __setCopyRawSingles(raw);
            let r: number;
            try {
              r = copyPageRange(dst, src, pages);
            } finally {
              __setCopyRawSingles(true);
            }
            const words: string[] = [];
            for (let i = 0; i < 256; i++) {
              words.push(readPte(k.mm, base + i * ps, v).toHex(), readPte(child, base + i * ps, v).toHex());
            }
            ptValidate(pt);
            return {
              r,
              words,
              lazy: pt.lazy.stats(),
              mapcount: [...pages.mapcount],
              events: pages.events,
              warnings: k.machine.warnings,
            };
          };
          expect(run(true)).toEqual(run(false));
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('copies every kind of entry by the kernel rules', () => {
    const k = new TestKernel(d, {}, 2);
    const pt = k.pt;
    const c = pt.codec;
    const s = pt.swap;
    const ps = k.pageSize;
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    const child = pt.mmAlloc()!;
    const pages = new ForkPages();
    const at = (i: number): number => base + i * ps;
    // 0: anon order-0 writable dirty young; 1: pinned anon; 2..5: a 4-page folio.
    pages.folio(100, 1, true);
    k.map(at(0), 1, 100, true, false);
    pages.folio(101, 1, true);
    pages.pinned.add(101);
    k.map(at(1), 1, 101, true, false);
    pages.folio(104, 4, true);
    k.map(at(2), 4, 104, true, false);
    const v = new PteVal();
    const e = new SwpEntry();
    // 6: exclusive swap entry with soft-dirty / uffd-wp where the arch has them.
    s.swpEntryToPte(s.makeSwapEntry(e, 1, 4242), v);
    c.pteSwpMkexclusive(v);
    if (c.features.uffdWp) c.pteSwpMkuffdWp(v);
    writePte(k, at(6), v);
    // 7: writable migration entry; 8: device-private write; 9..11: markers; 12: hwpoison.
    writePte(k, at(7), s.swpEntryToPte(s.makeWritableMigrationEntry(e, 300), v));
    writePte(k, at(8), s.swpEntryToPte(s.makeWritableDevicePrivateEntry(e, 301), v));
    writePte(k, at(9), s.makePteMarker(v, PTE_MARKER_POISONED));
    writePte(k, at(10), s.makePteMarker(v, PTE_MARKER_GUARD));
    writePte(k, at(11), s.makePteMarker(v, PTE_MARKER_UFFD_WP));
    writePte(k, at(12), s.swpEntryToPte(s.makeHwpoisonEntry(e, 302), v));
    // A PMD leaf in the next PMD (where the arch has them).
    const huge = (d.leafLevels & 2) !== 0;
    const hpfn = k.pmdSize / ps;
    if (huge) {
      pages.folio(hpfn, hpfn, true);
      k.mapHuge(base + k.pmdSize, hpfn, true, false);
    }
    const { src, dst } = vmas(k, child, base, base + 2 * k.pmdSize, false, false);
    expect(copyPageRange(dst, src, pages)).toBe(0);
    const p = new PteVal();
    const q = new PteVal();
    // Present, COW: both sides read-only, the child's entry old.
    for (const i of [0, 2, 3, 4, 5]) {
      readPte(k.mm, at(i), p);
      readPte(child, at(i), q);
      expect(c.ptePfn(q)).toBe(c.ptePfn(p));
      expect(c.pteWrite(p)).toBe(false);
      expect(c.pteWrite(q)).toBe(false);
      expect(c.pteYoung(q)).toBe(false);
      expect(pages.mapcount.get(c.ptePfn(p))).toBe(1);
    }
    // The pinned page: the child has its own dirty writable copy, the parent stays writable.
    readPte(k.mm, at(1), p);
    readPte(child, at(1), q);
    expect(c.ptePfn(p)).toBe(101);
    expect(c.pteWrite(p)).toBe(true);
    expect(c.ptePfn(q)).toBe(900_000);
    expect(c.pteWrite(q) && c.pteDirty(q)).toBe(true);
    expect(pages.events).toContain(`copy 101->900000 @${at(1)}`);
    // Swap: shared now (no exclusive bit) on both sides, the count duplicated, uffd-wp dropped in the child.
    readPte(k.mm, at(6), p);
    readPte(child, at(6), q);
    expect(c.pteSwpExclusive(p)).toBe(false);
    expect(c.pteSwpExclusive(q)).toBe(false);
    expect(c.pteSwpUffdWp(q)).toBe(false);
    expect(c.pteSwpUffdWp(p)).toBe(c.features.uffdWp);
    expect(s.pteToSwpEntry(q, e).offset).toBe(4242);
    expect(pages.swapCount.get('1:4242')).toBe(2);
    // Migration and device-private: readable on both sides.
    for (const [i, kind] of [
      [7, LEAF_KIND.MIGRATION_READ],
      [8, LEAF_KIND.DEVICE_PRIVATE_READ],
    ] as const) {
      expect(s.entryKind(s.pteToSwpEntry(readPte(k.mm, at(i), p), e))).toBe(kind);
      expect(s.entryKind(s.pteToSwpEntry(readPte(child, at(i), q), e))).toBe(kind);
    }
    // Markers: poison and guard copied, uffd-wp dropped (the child is not registered).
    expect(s.pteMarkerGet(s.pteToSwpEntry(readPte(child, at(9), q), e))).toBe(PTE_MARKER_POISONED);
    expect(s.pteMarkerGet(s.pteToSwpEntry(readPte(child, at(10), q), e))).toBe(PTE_MARKER_GUARD);
    expect(c.pteNone(readPte(child, at(11), q))).toBe(true);
    expect(s.entryKind(s.pteToSwpEntry(readPte(child, at(12), q), e))).toBe(LEAF_KIND.HWPOISON);
    if (huge) {
      readPte(k.mm, base + k.pmdSize, p);
      readPte(child, base + k.pmdSize, q);
      expect(c.pmdLeaf(q)).toBe(true);
      expect(c.pmdPfn(q)).toBe(hpfn);
      expect(c.pteWrite(p) || c.pteWrite(q) || c.pteYoung(q)).toBe(false);
      expect(pt.deposited.has(pt.lookup(child, PMD_LEVEL, base + k.pmdSize))).toBe(true);
      expect(child.nrPtes).toBe(2);
    }
    ptValidate(pt);
    // The parent's TLB may still hold a writable translation until the caller flushes.
    k.machine.mmu.flushTlbMm(k.mm.as);
    k.oracle.get(at(0) / ps)!.write = false;
    expect(k.machine.mmu.access(0, k.mm.as, at(0), MMU_WRITE | MMU_USER)).toBeLessThan(0);
    expect(k.machine.warnings).toEqual([]);
  });

  it('uffd-wp registered children keep uffd-wp entries and markers; swap continuations retry', () => {
    if (!d.uffdWp) return;
    const k = new TestKernel(d, {}, 2);
    const pt = k.pt;
    const c = pt.codec;
    const s = pt.swap;
    const ps = k.pageSize;
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    const child = pt.mmAlloc()!;
    const pages = new ForkPages();
    pages.folio(100, 1, true);
    k.map(base, 1, 100, false, false);
    const v = new PteVal();
    readPte(k.mm, base, v);
    c.pteMkuffdWp(v);
    writePte(k, base, v);
    writePte(k, base + ps, s.makePteMarker(v, PTE_MARKER_UFFD_WP));
    const e = new SwpEntry();
    writePte(k, base + 2 * ps, s.swpEntryToPte(s.makeSwapEntry(e, 2, 77), v));
    pages.failSwapOnce = true;
    const { src, dst } = vmas(k, child, base, base + 4 * ps, false, true);
    expect(copyPageRange(dst, src, pages)).toBe(0);
    expect(c.pteUffdWp(readPte(child, base, v))).toBe(true);
    expect(s.pteMarkerGet(s.pteToSwpEntry(readPte(child, base + ps, v), e))).toBe(PTE_MARKER_UFFD_WP);
    expect(pages.events).toContain('swap continuation');
    expect(pages.swapCount.get('2:77')).toBe(2);
    ptValidate(pt);
  });

  it('random folio layouts: child maps what the parent maps, rmap counted once per copied page', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            page: fc.integer({ min: 0, max: 1023 }),
            order: fc.integer({ min: 0, max: 4 }),
            write: fc.boolean(),
            pinned: fc.boolean(),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        fc.boolean(),
        (maps, shared) => {
          const k = new TestKernel(d, {}, 2);
          const pt = k.pt;
          const c = pt.codec;
          const ps = k.pageSize;
          const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
          const child = pt.mmAlloc()!;
          const pages = new ForkPages();
          let nextPfn = 1 << 12;
          for (const m of maps) {
            const nr = 2 ** m.order;
            const first = m.page - (m.page % nr);
            if (first + nr > 1024) continue;
            k.unmap(base + first * ps, nr);
            const pfn = nextPfn;
            nextPfn += nr;
            pages.folio(pfn, nr, !shared);
            if (m.pinned && !shared) pages.pinned.add(pfn);
            k.map(base + first * ps, nr, pfn, m.write, false);
          }
          const { src, dst } = vmas(k, child, base, base + 1024 * ps, shared, false);
          const before = new Map<number, PteVal>();
          for (let i = 0; i < 1024; i++) before.set(i, readPte(k.mm, base + i * ps));
          expect(copyPageRange(dst, src, pages)).toBe(0);
          const p = new PteVal();
          const q = new PteVal();
          for (let i = 0; i < 1024; i++) {
            const b = before.get(i)!;
            readPte(k.mm, base + i * ps, p);
            readPte(child, base + i * ps, q);
            if (c.pteNone(b)) {
              expect(c.pteNone(q)).toBe(true);
              continue;
            }
            const pfn = c.ptePfn(b);
            const copied = pages.pinned.has(pfn);
            expect(c.ptePresent(q)).toBe(true);
            expect(c.pteYoung(q)).toBe(copied);
            if (copied) {
              expect(c.ptePfn(q)).toBeGreaterThanOrEqual(900_000);
              expect(c.pteWrite(p)).toBe(c.pteWrite(b));
            } else {
              expect(c.ptePfn(q)).toBe(pfn);
              expect(pages.mapcount.get(pfn)).toBe(1);
              if (!shared) expect(c.pteWrite(p) || c.pteWrite(q)).toBe(false);
              else expect(c.pteDirty(q)).toBe(false);
            }
          }
          ptValidate(pt);
          expect(k.machine.warnings).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
