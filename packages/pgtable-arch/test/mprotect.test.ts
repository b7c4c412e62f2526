// change_protection(): mprotect takes write away everywhere (PTEs, large
// folios, PMD leaves) and no CPU's TLB still allows a write after the
// gather finishes; MM_CP_TRY_CHANGE_WRITABLE gives write back only where the
// write fault would (exclusive anonymous pages, dirty shared pages, no
// soft-dirty tracking pending); uffd-wp write-protects present and swap
// entries and installs markers on empty entries of marker VMAs, resolve
// drops them; poison and guard markers are never touched (seed 003);
// NUMA hinting makes normal pages PROT_NONE; writable migration entries
// become readable.
import { MMU_READ, MMU_USER, MMU_WRITE } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCH_DESCRIPTORS,
  type ArchDescriptor,
  changeProtection,
  LEAF_KIND,
  MM_CP_PROT_NUMA,
  MM_CP_TRY_CHANGE_WRITABLE,
  MM_CP_UFFD_WP,
  MM_CP_UFFD_WP_RESOLVE,
  MmuGather,
  PMD_LEVEL,
  type ProtOps,
  type ProtVma,
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
  tlbFinishMmu,
  tlbGatherMmu,
  type ZapOps,
} from '../src/index.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';

const RUNS = fuzzRuns(8);
const PICK = ['x86_64', 'x86', 'arm64-4k-48', 'arm64-64k-42', 'riscv64-sv39', 'ppc64-radix-64k'];
const DESCS = PICK.map((n) => ARCH_DESCRIPTORS[n]!);

function readPte(k: TestKernel, addr: number, out = new PteVal()): PteVal {
  const { pt, mm } = k;
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

const noZap = {} as ZapOps;

/** Folio answers from a table of folios and a set of exclusive pages. */
function ops(folios: Map<number, number>, exclusive: Set<number>): ProtOps {
  return {
    normalFolio(_v, _a, pfn, special) {
      if (special) return -1;
      for (const [h, n] of folios) if (pfn >= h && pfn < h + n) return h;
      return -1;
    },
    folioNrPages: (h) => folios.get(h)!,
    folioAnon: () => true,
    pageAnonExclusive: (pfn) => exclusive.has(pfn),
  };
}

function protect(k: TestKernel, vma: ProtVma, start: number, end: number, flags: number, o: ProtOps): number {
  const tlb = new MmuGather(k.pt, noZap);
  tlbGatherMmu(tlb, k.mm);
  const n = changeProtection(tlb, vma, start, end, flags, o);
  tlbFinishMmu(tlb);
  return n;
}

describe.each(DESCS.map((d) => [d.name, d] as const))('%s: change_protection', (_n, d: ArchDescriptor) => {
  it('mprotect read-only: no CPU may write afterwards; TRY_CHANGE_WRITABLE restores write where the fault would', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 2047 }),
            order: fc.integer({ min: 0, max: 3 }),
            huge: fc.boolean(),
            excl: fc.boolean(),
          }),
          { minLength: 1, maxLength: 10 },
        ),
        fc.integer({ min: 0, max: 1023 }),
        fc.integer({ min: 1, max: 1024 }),
        (maps, from, nr) => {
          const k = new TestKernel(d, {}, 2);
          const { pt, mm } = k;
          const c = pt.codec;
          const ps = k.pageSize;
          const pmdPages = k.pmdSize / ps;
          const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
          const span = Math.min(2048, 4 * pmdPages);
          const folios = new Map<number, number>();
          const exclusive = new Set<number>();
          let pfn = 1 << 14;
          for (const m of maps) {
            const at = m.at % span;
            if (m.huge && (d.leafLevels & 2) !== 0) {
              const h = base + Math.floor(at / pmdPages) * k.pmdSize;
              k.unmap(h, pmdPages);
              pfn = Math.ceil(pfn / pmdPages) * pmdPages;
              k.mapHuge(h, pfn, true, false);
              folios.set(pfn, pmdPages);
              if (m.excl) exclusive.add(pfn);
              pfn += pmdPages;
              continue;
            }
            const n = 2 ** m.order;
            const first = at - (at % n);
            if (first + n > span) continue;
            k.map(base + first * ps, n, pfn, true, false);
            folios.set(pfn, n);
            for (let i = 0; i < n; i++) if (m.excl || i % 2 === 0) exclusive.add(pfn + i);
            pfn += n;
          }
          const o = ops(folios, exclusive);
          // Load writable translations on both CPUs.
          for (const vpn of k.oracle.keys())
            for (const cpu of [0, 1]) k.machine.mmu.access(cpu, mm.as, vpn * ps, MMU_WRITE | MMU_USER);
          const start = base + (from % span) * ps;
          const end = Math.min(base + span * ps, start + nr * ps);
          const ro: ProtVma = {
            start,
            end,
            anonymous: true,
            mm,
            pageProt: k.protOf(false, false),
            shared: false,
            write: false,
          };
          protect(k, ro, start, end, 0, o);
          for (const [vpn, e] of k.oracle) if (vpn * ps >= start && vpn * ps < end) e.write = false;
          for (const [vpn, e] of k.oracle) {
            for (const cpu of [0, 1]) {
              const w = k.machine.mmu.access(cpu, mm.as, vpn * ps, MMU_WRITE | MMU_USER);
              expect(w, `write at 0x${(vpn * ps).toString(16)} on CPU ${cpu}`).toBe(e.write ? e.pfn : -14);
              expect(k.machine.mmu.access(cpu, mm.as, vpn * ps, MMU_READ | MMU_USER)).toBe(e.pfn);
            }
          }
          // mprotect(PROT_READ|PROT_WRITE) of a private mapping with MM_CP_TRY_CHANGE_WRITABLE.
          const rw: ProtVma = { ...ro, pageProt: k.protOf(false, false), write: true };
          protect(k, rw, start, end, MM_CP_TRY_CHANGE_WRITABLE, o);
          const v = new PteVal();
          for (const [vpn] of k.oracle) {
            if (vpn * ps < start || vpn * ps >= end) continue;
            readPte(k, vpn * ps, v);
            const huge = c.pmdLeaf(pmdpGet(mm, pt.lookup(mm, PMD_LEVEL, vpn * ps), new PteVal()));
            const p = huge ? c.pmdPfn(v) : c.ptePfn(v);
            expect(c.pteWrite(v), `0x${(vpn * ps).toString(16)}`).toBe(exclusive.has(p));
          }
          ptValidate(pt);
          expect(k.machine.warnings).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('uffd-wp: present, swap and empty entries; resolve; poison and guard markers untouched', () => {
    if (!d.uffdWp) return;
    const k = new TestKernel(d, {}, 2);
    const { pt, mm } = k;
    const c = pt.codec;
    const s = pt.swap;
    const ps = k.pageSize;
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    k.map(base, 2, 500, true, false);
    const e = new SwpEntry();
    const v = new PteVal();
    writePte(k, base + 2 * ps, s.swpEntryToPte(s.makeSwapEntry(e, 1, 99), v));
    writePte(k, base + 3 * ps, s.makePteMarker(v, PTE_MARKER_POISONED));
    writePte(k, base + 4 * ps, s.makePteMarker(v, PTE_MARKER_GUARD));
    writePte(k, base + 5 * ps, s.swpEntryToPte(s.makeWritableMigrationEntry(e, 501), v));
    const vma: ProtVma = {
      start: base,
      end: base + 8 * ps,
      anonymous: false,
      mm,
      pageProt: k.protOf(true, false),
      shared: true,
      write: true,
      uffdWp: true,
      uffdWpUseMarkers: true,
    };
    const o = ops(new Map([[500, 1]]), new Set());
    expect(protect(k, vma, base, base + 8 * ps, MM_CP_UFFD_WP, o)).toBeGreaterThan(0);
    readPte(k, base, v);
    expect(c.pteUffdWp(v) && !c.pteWrite(v)).toBe(true);
    expect(c.pteSwpUffdWp(readPte(k, base + 2 * ps, v))).toBe(true);
    expect(s.pteMarkerGet(s.pteToSwpEntry(readPte(k, base + 3 * ps, v), e))).toBe(PTE_MARKER_POISONED);
    expect(s.pteMarkerGet(s.pteToSwpEntry(readPte(k, base + 4 * ps, v), e))).toBe(PTE_MARKER_GUARD);
    expect(s.entryKind(s.pteToSwpEntry(readPte(k, base + 5 * ps, v), e))).toBe(LEAF_KIND.MIGRATION_READ);
    // The empty entries now hold uffd-wp markers.
    for (const i of [6, 7])
      expect(s.pteMarkerGet(s.pteToSwpEntry(readPte(k, base + i * ps, v), e))).toBe(PTE_MARKER_UFFD_WP);
    // The write fault is uffd's now: the TLB must not allow it.
    k.oracle.get(base / ps)!.write = false;
    expect(k.machine.mmu.access(0, mm.as, base, MMU_WRITE | MMU_USER)).toBe(-14);
    protect(k, vma, base, base + 8 * ps, MM_CP_UFFD_WP_RESOLVE, o);
    expect(c.pteUffdWp(readPte(k, base, v))).toBe(false);
    expect(c.pteSwpUffdWp(readPte(k, base + 2 * ps, v))).toBe(false);
    expect(s.pteMarkerGet(s.pteToSwpEntry(readPte(k, base + 3 * ps, v), e))).toBe(PTE_MARKER_POISONED);
    expect(s.pteMarkerGet(s.pteToSwpEntry(readPte(k, base + 4 * ps, v), e))).toBe(PTE_MARKER_GUARD);
    for (const i of [6, 7]) expect(c.pteNone(readPte(k, base + i * ps, v))).toBe(true);
    expect(() => protect(k, vma, base, base + ps, MM_CP_UFFD_WP | MM_CP_UFFD_WP_RESOLVE, o)).toThrow(/together/);
    ptValidate(pt);
  });

  it('NUMA hinting makes normal pages PROT_NONE (faulting) and leaves others', () => {
    const k = new TestKernel(d, {}, 2);
    const { pt, mm } = k;
    const c = pt.codec;
    const ps = k.pageSize;
    const base = Math.floor(2 ** (Math.min(d.vaBits, 53) - 2) / k.pmdSize) * k.pmdSize;
    k.map(base, 4, 800, true, false);
    const vma: ProtVma = {
      start: base,
      end: base + 4 * ps,
      anonymous: true,
      mm,
      pageProt: k.protOf(true, false),
      shared: false,
      write: true,
    };
    // Pages 800 and 801 are normal; 802 and 803 are not (a PFN map, the zero page, ...).
    const o = ops(new Map([[800, 2]]), new Set());
    for (let i = 0; i < 4; i++) k.machine.mmu.access(1, mm.as, base + i * ps, MMU_READ | MMU_USER);
    expect(protect(k, vma, base, base + 4 * ps, MM_CP_PROT_NUMA, o)).toBe(2);
    const v = new PteVal();
    for (let i = 0; i < 4; i++) {
      readPte(k, base + i * ps, v);
      expect(c.ptePresent(v)).toBe(true);
      expect(c.pteProtnone(v)).toBe(i < 2 && c.features.protnone);
      if (i < 2) {
        k.oracle.delete((base + i * ps) / ps);
        expect(k.machine.mmu.access(1, mm.as, base + i * ps, MMU_READ | MMU_USER)).toBe(-14);
      }
    }
    ptValidate(pt);
  });
});
