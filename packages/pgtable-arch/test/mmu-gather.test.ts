// mmu_gather and zapping: batch sizes as the kernel computes them; a page is
// never handed back while any CPU's TLB may still translate it (random
// map/access/zap/free_pgtables sequences on 4 CPUs); delayed rmap happens
// after the flush and only from the local and active batches; RCU table
// freeing keeps a table alive for a lockless walker; empty PTE tables are
// reclaimed after MADV_DONTNEED of a whole table; free_pgtables honours
// floor and ceiling.
import { MMU_READ, MMU_USER, MMU_WRITE } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ARCH_DESCRIPTORS,
  type ArchDescriptor,
  archDescriptor,
  freePgtables,
  MmuGather,
  maxGatherBatch,
  maxGatherBatchCount,
  maxTableBatch,
  mmuGatherStats,
  type PgtableVma,
  PMD_LEVEL,
  PT_FREE,
  PT_FREEING,
  PTE_LEVEL,
  PteVal,
  ptValidate,
  tlbFinishMmu,
  tlbGatherMmu,
  tlbGatherMmuFullmm,
  unmapPageRange,
} from '../src/index.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';
import { TestPages } from './pages.js';

const RUNS = fuzzRuns(10);

describe('batch sizes (include/asm-generic/tlb.h)', () => {
  it.each([
    [4096, 510, 19, 509],
    [16384, 2046, 4, 2045],
    [65536, 8190, 1, 8189],
  ])('%i-byte pages: MAX_GATHER_BATCH %i, MAX_GATHER_BATCH_COUNT %i, MAX_TABLE_BATCH %i', (ps, b, c, t) => {
    expect(maxGatherBatch(ps)).toBe(b);
    expect(maxGatherBatchCount(ps)).toBe(c);
    expect(maxTableBatch(ps)).toBe(t);
  });
});

/** A VMA covering everything. */
function vmaAll(k: TestKernel, anonymous: boolean): PgtableVma {
  return { start: 0, end: k.pt.addrLimit - (k.pt.addrLimit % k.pageSize), anonymous };
}

/** Map a new folio of 2^order pages at `addr`; the caller ensures the range is empty. */
function mapFolio(k: TestKernel, pages: TestPages, addr: number, order: number, anon: boolean, write: boolean): number {
  const pfn = pages.alloc(order, anon);
  const nr = 2 ** order;
  k.map(addr, nr, pfn, write, false);
  pages.mapped(pfn, nr, addr);
  return pfn;
}

function checkPfnLive(k: TestKernel) {
  return (pfn: number, nr: number): string | null => {
    for (let i = 0; i < nr; i++) {
      if (k.machine.mem.memmap.refcount(pfn + i) <= 0 && k.machine.mem.memmap.compoundHead(pfn + i) < 0) {
        return `maps free page ${pfn + i}`;
      }
    }
    return null;
  };
}

const RUNNABLE = ['x86_64', 'arm64-4k-48', 'arm64-16k-47', 'riscv64-sv48', 'ppc64-radix-4k'].map(
  (n) => ARCH_DESCRIPTORS[n]!,
);

describe.each(RUNNABLE.map((d) => [d.name, d] as const))('%s: never free before flush', (_n, d: ArchDescriptor) => {
  it('random map / access / zap / free_pgtables on 4 CPUs', () => {
    type Op =
      | { op: 'map'; slot: number; order: number; anon: boolean; write: boolean }
      | { op: 'access'; slot: number; cpu: number; write: boolean }
      | { op: 'zap'; slot: number; nr: number; reclaim: boolean; free: boolean };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        op: fc.constant('map' as const),
        slot: fc.nat(255),
        order: fc.integer({ min: 0, max: 4 }),
        anon: fc.boolean(),
        write: fc.boolean(),
      }),
      fc.record({ op: fc.constant('access' as const), slot: fc.nat(255), cpu: fc.nat(3), write: fc.boolean() }),
      fc.record({
        op: fc.constant('zap' as const),
        slot: fc.nat(255),
        nr: fc.integer({ min: 1, max: 200 }),
        reclaim: fc.boolean(),
        free: fc.boolean(),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 4, maxLength: 30 }), (ops) => {
        const k = new TestKernel(d);
        const pages = new TestPages(k.machine, k.mm);
        const ps = k.pageSize;
        const pmd = k.pmdSize;
        // 256 slots of 16 pages over 4 PMD-aligned regions far apart.
        const base = (slot: number): number => (slot >> 6) * 64 * pmd + 16 * pmd + (slot & 63) * 16 * ps;
        const tlb = new MmuGather(k.pt, pages);
        // Pages inside "VMAs": mapped once and not munmapped since (MADV_DONTNEED keeps the VMA).
        const inVma = new Set<number>();
        // Accesses and zaps aim at mapped pages: the slot picks one of them.
        const mappedAddr = (pick: number): number => {
          const keys = Array.from(k.oracle.keys());
          return keys.length === 0 ? base(pick) : keys[pick % keys.length]! * ps;
        };
        for (const o of ops) {
          if (o.op === 'map') {
            const addr = base(o.slot);
            const nr = 2 ** o.order;
            let empty = true;
            for (let i = 0; i < nr; i++) if (k.oracle.has(addr / ps + i)) empty = false;
            if (empty) {
              mapFolio(k, pages, addr, o.order, o.anon, o.write);
              for (let i = 0; i < nr; i++) inVma.add(addr / ps + i);
            }
          } else if (o.op === 'access') {
            // Fill the TLBs of two CPUs with one page.
            const addr = mappedAddr(o.slot);
            k.machine.mmu.access(o.cpu, k.mm.as, addr, (o.write ? MMU_WRITE : MMU_READ) | MMU_USER);
            k.machine.mmu.access((o.cpu + 1) & 3, k.mm.as, addr, MMU_READ | MMU_USER);
          } else {
            const start = mappedAddr(o.slot);
            const regionEnd = start - (start % (64 * pmd)) + 64 * pmd;
            const end = Math.min(start + o.nr * ps, regionEnd);
            const vma = vmaAll(k, true);
            tlbGatherMmu(tlb, k.mm);
            unmapPageRange(tlb, vma, start, end, { reclaimPt: o.reclaim }, pages);
            if (o.free) {
              // munmap: the range's tables may go, bounded by the nearest VMAs left below and above.
              for (let v = start / ps; v < end / ps; v++) inVma.delete(v);
              let floor = 0;
              let ceiling = 0;
              for (const v of inVma) {
                const a = v * ps;
                if (a < start && a + ps > floor) floor = a + ps;
                if (a >= end && (ceiling === 0 || a < ceiling)) ceiling = a;
              }
              freePgtables(tlb, [{ ...vma, start, end }], floor, ceiling, false);
            }
            tlbFinishMmu(tlb);
            for (let v = start / ps; v < end / ps; v++) k.oracle.delete(v);
          }
          expect(pages.violations).toEqual([]);
          ptValidate(k.pt, { checkPfn: checkPfnLive(k) });
          k.machine.validate();
        }
        // exit_mmap(): every CPU has switched away; a fullmm gather tears everything down.
        for (let c = 0; c < 4; c++) k.machine.mmu.leaveMm(c);
        tlbGatherMmuFullmm(tlb, k.mm);
        unmapPageRange(tlb, vmaAll(k, true), 0, vmaAll(k, true).end, null, pages);
        freePgtables(tlb, [vmaAll(k, true)], 0, 0, false);
        tlbFinishMmu(tlb);
        expect(pages.violations).toEqual([]);
        expect(pages.folios.size).toBe(0);
        expect(k.mm.pgtablesBytes).toBe(0);
        // RCU hands back the tables; then the PGD goes.
        k.machine.rcu.synchronizeRcu();
        k.machine.rcu.rcuBarrier();
        k.pt.mmFree(k.mm);
        ptValidate(k.pt);
        expect(k.pt.stats().tablesLive).toEqual([0, 0, 0, 0, 0]);
        k.machine.validate();
        expect(k.machine.warnings).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('delayed rmap (seed 003)', () => {
  it('dirty file folios lose their rmap after the flush, and only from the local and active batches', () => {
    const k = new TestKernel(archDescriptor('x86_64'));
    const pages = new TestPages(k.machine, k.mm);
    const base = 0x7f00_0000_0000;
    // 600 one-page file folios, written (dirty) and cached in CPU 1's TLB.
    for (let i = 0; i < 600; i++) {
      mapFolio(k, pages, base + i * 4096, 0, false, true);
      expect(k.machine.mmu.access(1, k.mm.as, base + i * 4096, MMU_WRITE | MMU_USER)).toBeGreaterThan(0);
    }
    const tlb = new MmuGather(k.pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, false), base, base + 600 * 4096, null, pages);
    tlbFinishMmu(tlb);
    expect(pages.violations).toEqual([]);
    expect(pages.delayedRmaps).toBe(600);
    // Every rmap removal came before the free of its page, after a flush (checked by the
    // violations), and the batches never grew past local + one: 517 entries per flush round.
    const s = mmuGatherStats(k.pt);
    expect(s.batchPagesAllocated).toBe(1);
    expect(s.tlbFlushes).toBeGreaterThanOrEqual(2);
    const firstFree = pages.events.findIndex((e) => e.startsWith('free'));
    const rmapsBefore = pages.events.slice(0, firstFree).filter((e) => e.startsWith('rmap')).length;
    expect(rmapsBefore).toBeGreaterThan(0);
    expect(rmapsBefore).toBeLessThanOrEqual(8 + maxGatherBatch(4096));
    for (const f of pages.folios.values()) expect(f.mapcount).toBe(0);
  });

  it('anonymous folios are never delayed', () => {
    const k = new TestKernel(archDescriptor('x86_64'));
    const pages = new TestPages(k.machine, k.mm);
    const base = 0x7f00_0000_0000;
    for (let i = 0; i < 20; i++) {
      mapFolio(k, pages, base + i * 4096, 0, true, true);
      k.machine.mmu.access(0, k.mm.as, base + i * 4096, MMU_WRITE | MMU_USER);
    }
    const tlb = new MmuGather(k.pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base, base + 20 * 4096, null, pages);
    tlbFinishMmu(tlb);
    expect(pages.delayedRmaps).toBe(0);
    expect(pages.freedPages).toBe(20);
  });
});

describe('RCU table free against a lockless walker', () => {
  function setup(rcuTableFree: boolean) {
    const k = new TestKernel(archDescriptor('x86_64'), { rcuTableFree });
    const pages = new TestPages(k.machine, k.mm);
    const base = 0x7f00_0000_0000;
    for (let i = 0; i < 512; i += 64) mapFolio(k, pages, base + i * 4096, 0, true, true);
    return { k, pages, base };
  }

  it('a table freed while a GUP-fast-style walker is inside RCU stays readable until the grace period', () => {
    const { k, pages, base } = setup(true);
    const pt = k.pt;
    // CPU 1: lockless walk (GUP-fast): RCU read side, read the PMD, keep the PTE table.
    k.machine.currentCpu = 1;
    k.machine.rcu.rcuReadLock();
    const pmdp = pt.lookup(k.mm, PMD_LEVEL, base);
    const pmd = pt.readEntry(PMD_LEVEL, pmdp, new PteVal());
    const table = pt.tableOfPfn(pt.codec.tableEntryPfn(pmd, PMD_LEVEL));
    // CPU 0: MADV_DONTNEED of the whole table: zap, reclaim the empty table.
    k.machine.currentCpu = 0;
    const tlb = new MmuGather(pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base, base + k.pmdSize, { reclaimPt: true }, pages);
    tlbFinishMmu(tlb);
    expect(pt.codec.pmdNone(pt.readEntry(PMD_LEVEL, pmdp, new PteVal()))).toBe(true);
    // The walker still reads its table: detached, empty, not freed, not reused.
    const pool = pt.pools[PTE_LEVEL]!;
    expect(pool.state[table]).toBe(PT_FREEING);
    const v = new PteVal();
    for (let i = 0; i < 512; i++) expect(pt.codec.pteNone(pt.readEntry(PTE_LEVEL, table * 512 + i, v))).toBe(true);
    // A new table allocated meanwhile gets another index.
    mapFolio(k, pages, base + 2 * k.pmdSize, 0, true, true);
    expect(pool.state[table]).toBe(PT_FREEING);
    k.machine.currentCpu = 1;
    k.machine.rcu.rcuReadUnlock();
    k.machine.currentCpu = 0;
    k.machine.rcu.synchronizeRcu();
    k.machine.rcu.rcuBarrier();
    expect(pool.state[table]).toBe(PT_FREE);
    expect(pages.violations).toEqual([]);
    ptValidate(pt);
  });

  it('without MMU_GATHER_RCU_TABLE_FREE the table is gone at once (what broadcast flushes break)', () => {
    const { k, pages, base } = setup(false);
    const pt = k.pt;
    const pmdp = pt.lookup(k.mm, PMD_LEVEL, base);
    const table = pt.tableOfPfn(pt.codec.tableEntryPfn(pt.readEntry(PMD_LEVEL, pmdp, new PteVal()), PMD_LEVEL));
    const tlb = new MmuGather(pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base, base + k.pmdSize, null, pages);
    freePgtables(tlb, [{ ...vmaAll(k, true), start: base, end: base + k.pmdSize }], 0, 0, false);
    tlbFinishMmu(tlb);
    expect(pt.pools[PTE_LEVEL]!.state[table]).toBe(PT_FREE);
  });
});

describe('empty PTE-table reclaim, upstream (CONFIG_PT_RECLAIM)', () => {
  it('MADV_DONTNEED of an aligned 2 MiB range frees the table; a partial range does not', () => {
    const k = new TestKernel(archDescriptor('x86_64'));
    const pages = new TestPages(k.machine, k.mm);
    const base = 0x7f00_0000_0000;
    for (let i = 0; i < 1024; i++) mapFolio(k, pages, base + i * 4096, 0, true, true);
    expect(k.mm.nrPtes).toBe(2);
    const before = k.mm.pgtablesBytes;
    const tlb = new MmuGather(k.pt, pages);
    // Partial: half a table. The table stays.
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base, base + k.pmdSize / 2, { reclaimPt: true }, pages);
    tlbFinishMmu(tlb);
    expect(k.mm.nrPtes).toBe(2);
    // The whole first table: reclaimed; the second table is untouched.
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base, base + k.pmdSize, { reclaimPt: true }, pages);
    tlbFinishMmu(tlb);
    expect(k.mm.nrPtes).toBe(1);
    expect(k.mm.pgtablesBytes).toBe(before - 4096);
    expect(k.pt.stats().ptesReclaimed).toBe(1);
    // Without reclaim_pt (munmap-style zap) nothing is reclaimed.
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base + k.pmdSize, base + 2 * k.pmdSize, null, pages);
    tlbFinishMmu(tlb);
    expect(k.mm.nrPtes).toBe(1);
    k.machine.rcu.synchronizeRcu();
    k.machine.rcu.rcuBarrier();
    expect(pages.violations).toEqual([]);
    ptValidate(k.pt);
  });

  it('a surviving entry (a guard marker) keeps the table', () => {
    const k = new TestKernel(archDescriptor('x86_64'));
    const pages = new TestPages(k.machine, k.mm);
    const base = 0x7f00_0000_0000;
    mapFolio(k, pages, base, 0, true, true);
    // Install a guard marker at the second page (MADV_GUARD_INSTALL).
    const ptep = k.pt.lookup(k.mm, PTE_LEVEL, base + 4096);
    const marker = k.pt.swap.makePteMarker(new PteVal(), 4);
    k.pt.pools[PTE_LEVEL]!.write(ptep, marker.lo, marker.hi);
    const tlb = new MmuGather(k.pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base, base + k.pmdSize, { reclaimPt: true }, pages);
    tlbFinishMmu(tlb);
    expect(k.mm.nrPtes).toBe(1);
    expect(k.pt.codec.pteNone(k.pt.readEntry(PTE_LEVEL, ptep, new PteVal()))).toBe(false);
  });
});

describe('free_pgtables floor and ceiling', () => {
  it('keeps tables shared with neighbouring mappings', () => {
    const k = new TestKernel(archDescriptor('x86_64'));
    const pages = new TestPages(k.machine, k.mm);
    const pmd = k.pmdSize;
    const base = 0x7f00_0000_0000;
    // A: [base, base + 1 page) and B: [base + 4 pages, base + 2 PMDs + 1 page); C: far above.
    mapFolio(k, pages, base, 0, true, true);
    for (let i = 4; i < 520; i++) mapFolio(k, pages, base + i * 4096, 0, true, true);
    mapFolio(k, pages, base + 1024 * pmd, 0, true, true);
    expect(k.mm.nrPtes).toBe(3);
    const tlb = new MmuGather(k.pt, pages);
    // munmap B: its first PTE table is shared with A (floor = A's end), so only B's second goes.
    const b: PgtableVma = { start: base + 4 * 4096, end: base + 520 * 4096, anonymous: true };
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, b, b.start, b.end, null, pages);
    freePgtables(tlb, [b], base + 4096, base + 1024 * pmd, false);
    tlbFinishMmu(tlb);
    expect(k.mm.nrPtes).toBe(2);
    expect(k.mm.nrPmds).toBe(2);
    // munmap A with nothing below and C 2 GiB above: its PTE table and its PMD table go
    // (the PMD table's 1 GiB lies inside [0, C)); the PUD table holds C too and stays.
    const a: PgtableVma = { start: base, end: base + 4096, anonymous: true };
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, a, a.start, a.end, null, pages);
    freePgtables(tlb, [a], 0, base + 1024 * pmd, false);
    tlbFinishMmu(tlb);
    expect(k.mm.nrPtes).toBe(1);
    expect(k.mm.nrPmds).toBe(1);
    expect(k.mm.nrPuds).toBe(1);
    k.machine.rcu.synchronizeRcu();
    k.machine.rcu.rcuBarrier();
    ptValidate(k.pt);
    expect(pages.violations).toEqual([]);
  });
});

describe('lazy MMU batching during a zap', () => {
  it('x86 Xen PV: PTE updates become multicalls, one hypercall per 32', () => {
    const k = new TestKernel(archDescriptor('x86_64'), { lazyMmu: 'xen-pv' });
    const pages = new TestPages(k.machine, k.mm);
    const base = 0x7f00_0000_0000;
    for (let i = 0; i < 100; i++) mapFolio(k, pages, base + i * 4096, 0, true, true);
    const before = k.pt.lazy.stats();
    // The maps above were made outside lazy mode: one hypercall per update.
    expect(before.immediateOps).toBeGreaterThanOrEqual(100);
    const tlb = new MmuGather(k.pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base, base + 100 * 4096, null, pages);
    tlbFinishMmu(tlb);
    const s = k.pt.lazy.stats();
    expect(s.lazyUpdates - before.lazyUpdates).toBe(100);
    expect(s.queued - before.queued).toBe(100);
    expect(s.batchFlushes - before.batchFlushes).toBe(Math.ceil(100 / 32));
    expect(s.saved - before.saved).toBe(100 - Math.ceil(100 / 32));
  });

  it('powerpc hash: invalidations of hashed PTEs are batched and preemption is off in the region', () => {
    const k = new TestKernel(archDescriptor('ppc64-hash-4k'));
    const pages = new TestPages(k.machine, k.mm);
    const base = 0x1000_0000_00;
    for (let i = 0; i < 40; i++) mapFolio(k, pages, base + i * 4096, 0, true, true);
    const lazy = k.pt.lazy;
    lazy.enter();
    expect(k.machine.cpus.preemptible()).toBe(false);
    lazy.leave();
    expect(k.machine.cpus.preemptible()).toBe(true);
    const tlb = new MmuGather(k.pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), base, base + 40 * 4096, null, pages);
    tlbFinishMmu(tlb);
    const s = lazy.stats();
    expect(s.queued).toBe(40);
    expect(s.batchFlushes).toBe(1);
    expect(s.saved).toBe(39);
  });

  it('x86 native: nothing to batch', () => {
    const k = new TestKernel(archDescriptor('x86_64'));
    const pages = new TestPages(k.machine, k.mm);
    mapFolio(k, pages, 0x7f00_0000_0000, 0, true, true);
    const tlb = new MmuGather(k.pt, pages);
    tlbGatherMmu(tlb, k.mm);
    unmapPageRange(tlb, vmaAll(k, true), 0x7f00_0000_0000, 0x7f00_0000_1000, null, pages);
    tlbFinishMmu(tlb);
    expect(k.pt.lazy.stats().queued).toBe(0);
    expect(k.pt.lazy.stats().enters).toBe(1);
  });
});
