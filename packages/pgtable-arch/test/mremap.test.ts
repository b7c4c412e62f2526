// move_page_tables() for mremap: after random moves (aligned, mutually
// aligned, misaligned; PTEs, large folios, PMD leaves, swap entries and
// markers) the destination holds exactly the source's entries (soft-dirty
// set where the architecture tracks it), the source is empty, no CPU's TLB
// still translates an old address, whole PTE tables move by their PMD entry
// when the extent covers it (and whole PMD tables by their PUD entry), the
// uffd-wp state is dropped for a VMA without the remap event, and the
// validator is happy.
import { MMU_READ, MMU_USER } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCH_DESCRIPTORS,
  type ArchDescriptor,
  type MoveOps,
  type MoveVma,
  movePageTables,
  PagetableMoveControl,
  PMD_LEVEL,
  PTE_LEVEL,
  PTE_MARKER_GUARD,
  PTE_MARKER_UFFD_WP,
  PteVal,
  PUD_LEVEL,
  pmdpGet,
  pteOffsetMapLock,
  ptepGet,
  ptepGetAndClear,
  pteUnmapUnlock,
  ptValidate,
  SwpEntry,
  setPteAt,
} from '../src/index.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';

const RUNS = fuzzRuns(8);
const PICK = ['x86_64', 'x86', 'arm64-4k-39', 'arm64-16k-47', 'riscv64-sv48', 'ppc64-hash-4k'];
const DESCS = PICK.map((n) => ARCH_DESCRIPTORS[n]!);

function readPte(k: TestKernel, addr: number, out = new PteVal()): PteVal {
  const { pt, mm } = k;
  const pmdp = pt.lookup(mm, PMD_LEVEL, addr);
  if (pmdp < 0) return out.setWords(0, 0);
  if (pt.codec.pmdLeaf(pmdpGet(mm, pmdp, out))) {
    // The PTE a PMD leaf stands for.
    const v = out.clone();
    const prot = new PteVal();
    pt.codec.ptePgprot(prot, v);
    const pfn = pt.codec.pmdPfn(v) + Math.floor((addr % k.pmdSize) / k.pageSize);
    pt.codec.pfnPte(out, pfn, k.protOf(pt.codec.pteWrite(v), false));
    return out;
  }
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

/** Folios for batching: head -> pages. */
function opsFor(folios: Map<number, number>, vmas: MoveVma[]): MoveOps {
  return {
    normalFolio(_v, _a, pfn) {
      for (const [h, n] of folios) if (pfn >= h && pfn < h + n) return h;
      return -1;
    },
    folioNrPages: (h) => folios.get(h)!,
    vmaIntersects: (_mm, start, end) => vmas.some((v) => v.start < end && v.end > start),
  };
}

describe.each(DESCS.map((d) => [d.name, d] as const))('%s: move_page_tables', (_n, d: ArchDescriptor) => {
  it('random moves: the destination has the source entries, the source and old TLB entries are gone', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2047 }),
        fc.constantFrom('same', 'pmd', 'other'),
        fc.integer({ min: 1, max: 2048 }),
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 2047 }),
            nr: fc.integer({ min: 1, max: 40 }),
            kind: fc.constantFrom('pte', 'folio', 'huge', 'swap', 'marker'),
            write: fc.boolean(),
          }),
          { maxLength: 10 },
        ),
        (pmds, off, align, lenPages, maps) => {
          const k = new TestKernel(d, {}, 2);
          const { pt, mm } = k;
          const c = pt.codec;
          const s = pt.swap;
          const ps = k.pageSize;
          const pmdPages = k.pmdSize / ps;
          const region =
            Math.floor(2 ** (Math.min(d.vaBits, 53) - 3) / pt.levelSize(PUD_LEVEL)) * pt.levelSize(PUD_LEVEL);
          const oldStart = region + (off % pmdPages) * ps;
          const len = Math.min(lenPages, pmds * pmdPages) * ps;
          const newBase = region + 4 * pt.levelSize(PUD_LEVEL);
          const newStart =
            align === 'same'
              ? newBase + (oldStart % k.pmdSize)
              : align === 'pmd'
                ? newBase
                : newBase + ((off * 7 + 3) % pmdPages) * ps;
          const oldVma: MoveVma = {
            start: oldStart,
            end: oldStart + len,
            anonymous: true,
            mm,
            pageProt: k.protOf(true, false),
          };
          const newVma: MoveVma = { ...oldVma, start: newStart, end: newStart + len };
          const folios = new Map<number, number>();
          let pfn = 1 << 14;
          const e = new SwpEntry();
          const v = new PteVal();
          for (const m of maps) {
            const a = oldStart + (m.at % (len / ps)) * ps;
            const room = (oldStart + len - a) / ps;
            if (m.kind === 'huge') {
              const h = Math.ceil(a / k.pmdSize) * k.pmdSize;
              if ((d.leafLevels & 2) === 0 || h + k.pmdSize > oldStart + len) continue;
              k.unmap(h, pmdPages);
              pfn = Math.ceil(pfn / pmdPages) * pmdPages;
              k.mapHuge(h, pfn, m.write, false);
              pfn += pmdPages;
            } else if (m.kind === 'swap') {
              writePte(k, a, s.swpEntryToPte(s.makeSwapEntry(e, 3, pfn++), v));
            } else if (m.kind === 'marker') {
              writePte(k, a, s.makePteMarker(v, c.features.uffdWp ? PTE_MARKER_UFFD_WP : PTE_MARKER_GUARD));
            } else {
              const nr = Math.min(m.nr, room);
              k.map(a, nr, pfn, m.write, false);
              if (m.kind === 'folio') folios.set(pfn, nr);
              pfn += nr;
            }
          }
          // What each page held, and TLBs loaded with the present ones.
          const before: PteVal[] = [];
          for (let i = 0; i < len / ps; i++) before.push(readPte(k, oldStart + i * ps));
          for (const vpn of k.oracle.keys()) {
            k.machine.mmu.access(0, mm.as, vpn * ps, MMU_READ | MMU_USER);
            k.machine.mmu.access(1, mm.as, vpn * ps, MMU_READ | MMU_USER);
          }
          const firstTable = pt.lookup(mm, PMD_LEVEL, Math.ceil(oldStart / k.pmdSize) * k.pmdSize);
          const movedTable =
            firstTable >= 0 && !c.pmdNone(pmdpGet(mm, firstTable, v)) && !c.pmdLeaf(v)
              ? pt.childTable(PMD_LEVEL, v)
              : -1;
          const pmc = new PagetableMoveControl(oldVma, newVma, oldStart, newStart, len);
          expect(movePageTables(pmc, opsFor(folios, []))).toBe(len);
          const q = new PteVal();
          for (let i = 0; i < len / ps; i++) {
            const b = before[i]!;
            readPte(k, newStart + i * ps, q);
            expect(c.pteNone(readPte(k, oldStart + i * ps, v)), `old page ${i} cleared`).toBe(true);
            if (c.pteNone(b)) {
              expect(c.pteNone(q), `page ${i} stays empty`).toBe(true);
              continue;
            }
            expect(c.ptePresent(q)).toBe(c.ptePresent(b));
            if (c.ptePresent(b)) {
              expect(c.ptePfn(q)).toBe(c.ptePfn(b));
              expect(c.pteWrite(q)).toBe(c.pteWrite(b));
            } else {
              // (Moved entry by entry they gain soft-dirty; moved with their table they do not.)
              const want = b.clone();
              const got = q.clone();
              if (c.features.softDirty) {
                c.pteSwpClearSoftDirty(want);
                c.pteSwpClearSoftDirty(got);
              }
              expect(got.toHex()).toBe(want.toHex());
            }
          }
          // Whole PTE tables moved by their PMD where the extent covered one.
          if (movedTable >= 0 && d.haveMovePmd && oldStart % k.pmdSize === newStart % k.pmdSize) {
            const h = Math.ceil(oldStart / k.pmdSize) * k.pmdSize;
            if (h + k.pmdSize <= oldStart + len) {
              const np = pt.lookup(mm, PMD_LEVEL, h - oldStart + newStart);
              expect(pt.childTable(PMD_LEVEL, pmdpGet(mm, np, v))).toBe(movedTable);
              expect(pt.pools[PTE_LEVEL]!.parent[movedTable]).toBe(np);
            }
          }
          // No CPU translates an old address any more; the new ones translate to the same frames.
          const moved = [...k.oracle.entries()].filter(([vpn]) => vpn * ps >= oldStart && vpn * ps < oldStart + len);
          for (const [vpn, o] of moved) {
            k.oracle.delete(vpn);
            k.oracle.set(vpn + (newStart - oldStart) / ps, o);
          }
          for (const [vpn, o] of moved) {
            for (const cpu of [0, 1]) {
              expect(k.machine.mmu.access(cpu, mm.as, vpn * ps, MMU_READ | MMU_USER)).toBeLessThan(0);
              expect(k.machine.mmu.access(cpu, mm.as, vpn * ps + newStart - oldStart, MMU_READ | MMU_USER)).toBe(o.pfn);
            }
          }
          ptValidate(pt);
          expect(k.machine.warnings).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('a PUD-aligned move takes the PMD table along; uffd-wp without the remap event is dropped', () => {
    const k = new TestKernel(d, {}, 2);
    const { pt, mm } = k;
    const c = pt.codec;
    const pud = pt.levelSize(PUD_LEVEL);
    const region = Math.floor(2 ** (Math.min(d.vaBits, 53) - 3) / pud) * pud;
    k.map(region + 5 * k.pageSize, 3, 700, true, false);
    const pmdTable = pt.tableOfSlot(PMD_LEVEL, pt.lookup(mm, PMD_LEVEL, region));
    const vma: MoveVma = { start: region, end: region + pud, anonymous: true, mm };
    const to = region + 8 * pud;
    const pmc = new PagetableMoveControl(vma, { ...vma, start: to, end: to + pud }, region, to, pud);
    expect(movePageTables(pmc, opsFor(new Map(), []))).toBe(pud);
    expect(c.ptePfn(readPte(k, to + 6 * k.pageSize))).toBe(701);
    if (d.haveMovePud && pt.folded[PMD_LEVEL] === 0) {
      expect(pt.tableOfSlot(PMD_LEVEL, pt.lookup(mm, PMD_LEVEL, to))).toBe(pmdTable);
    }
    ptValidate(pt);
    if (!d.uffdWp) return;
    // uffd-wp entries and markers of a VMA without EVENT_REMAP lose their protection.
    const v = new PteVal();
    readPte(k, to + 5 * k.pageSize, v);
    c.pteMkuffdWp(v);
    writePte(k, to + 5 * k.pageSize, v);
    writePte(k, to + 9 * k.pageSize, pt.swap.makePteMarker(v, PTE_MARKER_UFFD_WP));
    const uvma: MoveVma = { start: to, end: to + 16 * k.pageSize, anonymous: true, mm, uffdWithoutEventRemap: true };
    const dest = to + pud + 3 * k.pageSize;
    const pmc2 = new PagetableMoveControl(
      uvma,
      { ...uvma, start: dest, end: dest + 16 * k.pageSize },
      to,
      dest,
      16 * k.pageSize,
    );
    expect(movePageTables(pmc2, opsFor(new Map(), []))).toBe(16 * k.pageSize);
    expect(c.pteUffdWp(readPte(k, dest + 5 * k.pageSize))).toBe(false);
    // Moved entry by entry: soft-dirty tells userspace they moved.
    expect(c.pteSoftDirty(readPte(k, dest + 6 * k.pageSize))).toBe(c.features.softDirty);
    expect(c.pteNone(readPte(k, dest + 9 * k.pageSize))).toBe(true);
    ptValidate(pt);
  });
});
