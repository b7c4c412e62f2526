// Generic operations with kernel semantics: populate-under-lock races,
// pte_offset_map_lock() and its PMD revalidation, the set_ptes() contract,
// PTL checks, batched get-and-clear, write protection, young bits, the
// protection transaction, PMD leaves and their split, arm64 contpte folding.
import { MMU_READ, MMU_USER, MmBugError, MmError, WALK_OK, WalkResult } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  __pteAlloc,
  __ptepGet,
  type Arm64Pte,
  archDescriptor,
  arm64Descriptor,
  CHUNK_WORDS,
  getAndClearFullPtes,
  LazyMmuError,
  PMD_LEVEL,
  PTE_LEVEL,
  PteVal,
  pmdAllocWalk,
  pmdInstall,
  pmdpGet,
  pteAllocOne,
  pteOffsetMap,
  pteOffsetMapLock,
  pteOffsetMapRwNolock,
  ptepGet,
  ptepModifyProtCommit,
  ptepModifyProtStart,
  ptepSetWrprotect,
  ptepTestAndClearYoung,
  pteUnmap,
  pteUnmapUnlock,
  ptValidate,
  setPmdAt,
  setPteAt,
  setPtes,
  TablePool,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
  wrprotectPtes,
} from '../src/index.js';
import { TestKernel } from './harness.js';

const X86 = archDescriptor('x86_64');
const BASE = 0x7f00_0000_0000;

function mapPtes(k: TestKernel, addr: number, nr: number, pfn: number): number {
  const pmdp = pmdAllocWalk(k.mm, addr);
  expect(__pteAlloc(k.mm, pmdp)).toBe(0);
  const ptep = pteOffsetMapLock(k.mm, pmdp, addr);
  const v = new PteVal();
  k.pt.codec.pfnPte(v, pfn, k.protOf(true, false));
  setPtes(k.mm, addr, ptep, v, nr);
  pteUnmapUnlock(k.mm, ptep);
  return ptep;
}

describe('table allocation', () => {
  it('allocates every level once, counts them, and types the pages PGTY_table', () => {
    const k = new TestKernel(X86);
    k.machine.mem.refreshVmStats();
    const before = k.machine.mem.vmstat.globalNodePageState(38);
    mapPtes(k, BASE, 4, 100);
    expect(k.mm.nrPtes).toBe(1);
    expect(k.mm.nrPmds).toBe(1);
    expect(k.mm.nrPuds).toBe(1);
    expect(k.mm.pgtablesBytes).toBe(3 * 4096);
    expect(k.pt.stats().tablesLive).toEqual([1, 1, 1, 0, 1]);
    k.machine.mem.refreshVmStats();
    expect(k.machine.mem.vmstat.globalNodePageState(38) - before).toBe(3);
    ptValidate(k.pt);
  });

  it('the loser of a populate race frees its table (pmd_install)', () => {
    const k = new TestKernel(X86);
    const pmdp = pmdAllocWalk(k.mm, BASE);
    // CPU A allocates a table but is preempted before pmd_install().
    const mine = pteAllocOne(k.mm);
    // CPU B faults on the same PMD and installs its own.
    k.machine.currentCpu = 1;
    expect(__pteAlloc(k.mm, pmdp)).toBe(0);
    k.machine.currentCpu = 0;
    const installed = pmdpGet(k.mm, pmdp, new PteVal()).toHex();
    expect(pmdInstall(k.mm, pmdp, mine)).toBe(false);
    expect(pmdpGet(k.mm, pmdp, new PteVal()).toHex()).toBe(installed);
    expect(k.pt.stats().populateRaces).toBe(1);
    expect(k.mm.nrPtes).toBe(1);
    expect(k.pt.tableLive(PTE_LEVEL, mine)).toBe(false);
    ptValidate(k.pt);
  });

  it('entry storage grows by doubling without losing entries, and holds no whole chunk for a few tables', () => {
    const pool = new TablePool(8192);
    const tables: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = pool.alloc();
      tables.push(t);
      pool.write(t * 8192 + 17, i + 1, -(i + 1));
      // Every table written so far keeps its entry across the growth.
      for (let j = 0; j <= i; j++)
        expect([pool.lo(tables[j]! * 8192 + 17), pool.hi(tables[j]! * 8192 + 17)]).toEqual([j + 1, -(j + 1)]);
      expect(pool.lo(t * 8192)).toBe(0);
    }
    // Two 64K tables per chunk: 5 tables are two full chunks and one sized for one table.
    expect(pool.chunks.map((c) => c.length)).toEqual([CHUNK_WORDS, CHUNK_WORDS, 2 * 8192]);
  });
});

describe('pte_offset_map family', () => {
  it('returns nothing for an empty or leaf PMD, and revalidates under the lock', () => {
    const k = new TestKernel(X86);
    const pmdp = pmdAllocWalk(k.mm, BASE);
    expect(pteOffsetMap(k.mm, pmdp, BASE)).toBe(-1);
    expect(pteOffsetMapLock(k.mm, pmdp, BASE)).toBe(-1);
    k.mapHuge(BASE, 512, true, false);
    expect(pteOffsetMapLock(k.mm, pmdp, BASE)).toBe(-1);
  });

  it('a _nolock mapping sees a PMD change when it revalidates', () => {
    const k = new TestKernel(X86);
    mapPtes(k, BASE, 1, 7);
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const seen = new PteVal();
    const ptep = pteOffsetMapRwNolock(k.mm, pmdp, BASE, seen);
    expect(ptep).toBeGreaterThanOrEqual(0);
    pteUnmap(k.mm, ptep);
    // Another path replaces the PTE table (think mremap moving it away).
    k.pt.pmdLock(k.mm, pmdp);
    setPmdAt(k.mm, BASE, pmdp, new PteVal());
    k.pt.pmdUnlock(k.mm, pmdp);
    expect(pmdpGet(k.mm, pmdp, new PteVal()).same(seen)).toBe(false);
  });

  it('maps inside an RCU read-side section', () => {
    const k = new TestKernel(X86);
    mapPtes(k, BASE, 1, 7);
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const ptep = pteOffsetMap(k.mm, pmdp, BASE);
    expect(k.machine.rcu.rcuReadLockHeld()).toBe(true);
    pteUnmap(k.mm, ptep);
    expect(k.machine.rcu.rcuReadLockHeld()).toBe(false);
  });
});

describe('set_ptes contract', () => {
  it('needs the PTE lock', () => {
    const k = new TestKernel(X86);
    const ptep = mapPtes(k, BASE, 1, 1);
    expect(() => setPteAt(k.mm, BASE, ptep, new PteVal())).toThrow(/not locked/);
  });

  it('refuses a batch over present entries, or crossing the table', () => {
    const k = new TestKernel(X86);
    mapPtes(k, BASE, 2, 1);
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const ptep = pteOffsetMapLock(k.mm, pmdp, BASE);
    const v = new PteVal();
    k.pt.codec.pfnPte(v, 9, k.protOf(false, false));
    expect(() => setPtes(k.mm, BASE, ptep, v, 4)).toThrow(/entry 0 of 4 is present/);
    expect(() => setPtes(k.mm, BASE + 510 * 4096, ptep + 510, v, 4)).toThrow(/cross the PTE table/);
    pteUnmapUnlock(k.mm, ptep);
    expect(() => ptValidate(k.pt)).not.toThrow();
  });

  it('advances the PFN entry by entry', () => {
    const k = new TestKernel(X86);
    const ptep = mapPtes(k, BASE, 512, 0x1ff00);
    const v = new PteVal();
    for (let i = 0; i < 512; i += 37) expect(k.pt.codec.ptePfn(__ptepGet(k.pt, ptep + i, v))).toBe(0x1ff00 + i);
  });
});

describe('get-and-clear, write-protect, young', () => {
  it('get_and_clear_full_ptes ors dirty and young into the first entry', () => {
    const k = new TestKernel(X86);
    const ptep = mapPtes(k, BASE, 8, 50);
    const c = k.pt.codec;
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const p = pteOffsetMapLock(k.mm, pmdp, BASE);
    const v = ptepGet(k.mm, ptep + 5, new PteVal());
    c.pteMkdirty(v);
    c.pteMkyoung(v);
    setPteAt(k.mm, BASE + 5 * 4096, ptep + 5, v);
    const first = getAndClearFullPtes(k.mm, BASE, ptep, 8, false, new PteVal());
    expect(c.ptePfn(first)).toBe(50);
    expect(c.pteDirty(first)).toBe(true);
    expect(c.pteYoung(first)).toBe(true);
    for (let i = 0; i < 8; i++) expect(c.pteNone(__ptepGet(k.pt, ptep + i, v))).toBe(true);
    pteUnmapUnlock(k.mm, p);
  });

  it('write protection keeps dirtiness; test_and_clear_young reports once', () => {
    const k = new TestKernel(X86);
    const ptep = mapPtes(k, BASE, 4, 50);
    const c = k.pt.codec;
    expect(k.machine.mmu.access(0, k.mm.as, BASE, 1 | MMU_USER)).toBe(50); // a write: D and A set by the walker
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const p = pteOffsetMapLock(k.mm, pmdp, BASE);
    ptepSetWrprotect(k.mm, BASE, ptep);
    wrprotectPtes(k.mm, BASE + 4096, ptep + 1, 3);
    const v = ptepGet(k.mm, ptep, new PteVal());
    expect(c.pteWrite(v)).toBe(false);
    expect(c.pteDirty(v)).toBe(true);
    expect(ptepTestAndClearYoung(k.mm, BASE, ptep)).toBe(true);
    expect(ptepTestAndClearYoung(k.mm, BASE, ptep)).toBe(false);
    // A protection transaction: the value read at start is the one the hardware left.
    const old = ptepModifyProtStart(k.mm, BASE, ptep, new PteVal());
    expect(c.pteNone(__ptepGet(k.pt, ptep, new PteVal()))).toBe(true);
    const nv = old.clone();
    const prot = new PteVal();
    c.vmGetPageProt(prot, VM_READ | VM_WRITE | VM_SHARED);
    c.pteModify(nv, prot);
    ptepModifyProtCommit(k.mm, BASE, ptep, old, nv);
    expect(c.pteWrite(ptepGet(k.mm, ptep, v))).toBe(true);
    expect(c.pteDirty(v)).toBe(true);
    pteUnmapUnlock(k.mm, p);
  });
});

describe('PMD leaves', () => {
  it('split keeps the frames, protections and state of the leaf', () => {
    const k = new TestKernel(X86);
    expect(k.mapHuge(BASE, 1024, true, false)).toBe(true);
    expect(k.machine.mmu.access(0, k.mm.as, BASE + 5 * 4096 + 3, MMU_READ | MMU_USER)).toBe(1029);
    // The TLB cached a 2M entry: one walk served the whole leaf.
    const walks = k.machine.mmu.stats().walks;
    expect(k.machine.mmu.access(0, k.mm.as, BASE + 300 * 4096, MMU_READ | MMU_USER)).toBe(1324);
    expect(k.machine.mmu.stats().walks).toBe(walks);
    k.splitAt(BASE);
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    expect(k.pt.codec.pmdLeaf(pmdpGet(k.mm, pmdp, new PteVal()))).toBe(false);
    const ptep = k.pt.lookup(k.mm, PTE_LEVEL, BASE + 5 * 4096);
    const v = __ptepGet(k.pt, ptep, new PteVal());
    expect(k.pt.codec.ptePfn(v)).toBe(1029);
    expect(k.pt.codec.pteWrite(v)).toBe(true);
    expect(k.pt.codec.pteYoung(v)).toBe(true);
    expect(k.machine.mmu.access(1, k.mm.as, BASE + 511 * 4096, 1 | MMU_USER)).toBe(1535);
    ptValidate(k.pt);
  });
});

describe('lazy MMU rules', () => {
  it('nesting and interrupt context are typed errors', () => {
    const k = new TestKernel(X86);
    const lazy = k.pt.lazy;
    lazy.enter();
    expect(() => lazy.enter()).toThrow(LazyMmuError);
    lazy.leave();
    expect(() => lazy.leave()).toThrow(/outside lazy MMU mode/);
    k.machine.cpus.inHardirq(0, () => {
      expect(() => lazy.enter()).toThrow(/interrupt context/);
    });
  });
});

describe('arm64 contpte', () => {
  const d = arm64Descriptor({ pageSize: 4096, vaBits: 48 });

  it('set_ptes folds aligned blocks, the walker reports the 64K block, unaligned ends stay unfolded', () => {
    const k = new TestKernel(d);
    const codec = k.pt.codec as Arm64Pte;
    // 38 pages from page 8: the block [16, 32) is covered and aligned; [8, 16) and [32, 46) are partial.
    const addr = BASE + 8 * 4096;
    const ptep = mapPtes(k, addr, 38, 0x1008);
    const v = new PteVal();
    const cont = (i: number): boolean => codec.pteCont(__ptepGet(k.pt, ptep + i, v));
    expect(cont(0)).toBe(false);
    expect(cont(8)).toBe(true);
    expect(cont(23)).toBe(true);
    expect(cont(24)).toBe(false);
    expect(cont(37)).toBe(false);
    expect(k.machine.mmu.access(0, k.mm.as, BASE + 17 * 4096, MMU_READ | MMU_USER)).toBe(0x1011);
    // The walk reports the contiguous block (16 pages from 0x1010); @mm/machine's TLB has
    // no 64K entries and caches it as base pages.
    const wr = new WalkResult();
    expect(k.pt.walker.walk(k.mm.as, BASE + 30 * 4096, MMU_READ | MMU_USER, wr)).toBe(WALK_OK);
    expect([wr.shift, wr.pfn]).toEqual([16, 0x1010]);
    expect(k.pt.walker.walk(k.mm.as, BASE + 9 * 4096, MMU_READ | MMU_USER, wr)).toBe(WALK_OK);
    expect([wr.shift, wr.pfn]).toEqual([12, 0x1009]);
  });

  it('ptep_get gathers A/D over the block; clearing one entry unfolds it', () => {
    const k = new TestKernel(d);
    const codec = k.pt.codec as Arm64Pte;
    const ptep = mapPtes(k, BASE, 16, 0x2000);
    const pmdp0 = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const p0 = pteOffsetMapLock(k.mm, pmdp0, BASE);
    // The new entries are young (PAGE_* carry AF): aging clears AF on the whole block.
    expect(ptepTestAndClearYoung(k.mm, BASE + 4096, ptep + 1)).toBe(true);
    pteUnmapUnlock(k.mm, p0);
    for (let i = 0; i < 16; i++) expect(codec.pteYoung(__ptepGet(k.pt, ptep + i, new PteVal()))).toBe(false);
    // A write to the last page sets AF and clears RDONLY (DBM) on that entry only.
    expect(k.machine.mmu.access(0, k.mm.as, BASE + 15 * 4096, 1 | MMU_USER)).toBe(0x200f);
    const g = ptepGet(k.mm, ptep, new PteVal());
    expect(codec.pteYoung(g) && codec.pteDirty(g)).toBe(true);
    expect(codec.pteYoung(__ptepGet(k.pt, ptep, new PteVal()))).toBe(false);
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const p = pteOffsetMapLock(k.mm, pmdp, BASE);
    k.pt.codec.pteNone(ptepModifyProtStart(k.mm, BASE + 3 * 4096, ptep + 3, new PteVal()));
    pteUnmapUnlock(k.mm, p);
    for (let i = 0; i < 16; i++) expect(codec.pteCont(__ptepGet(k.pt, ptep + i, new PteVal()))).toBe(false);
    // The unfold kept the gathered dirtiness on every remaining entry.
    expect(codec.pteDirty(__ptepGet(k.pt, ptep, new PteVal()))).toBe(true);
    expect(k.pt.nrContpteConverts).toBe(1);
  });

  it('a single set completing a block of one folio folds it', () => {
    const k = new TestKernel(d, {
      contpteFolio: { folioHeadPfn: (pfn) => pfn - (pfn % 16), folioNrPages: () => 16 },
    });
    const codec = k.pt.codec as Arm64Pte;
    const ptep = mapPtes(k, BASE, 15, 0x3000);
    expect(codec.pteCont(__ptepGet(k.pt, ptep, new PteVal()))).toBe(false);
    const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, BASE);
    const p = pteOffsetMapLock(k.mm, pmdp, BASE);
    const v = new PteVal();
    codec.pfnPte(v, 0x300f, k.protOf(true, false));
    setPteAt(k.mm, BASE + 15 * 4096, ptep + 15, v);
    pteUnmapUnlock(k.mm, p);
    for (let i = 0; i < 16; i++) expect(codec.pteCont(__ptepGet(k.pt, ptep + i, new PteVal()))).toBe(true);
  });

  it('never folds init_mm', () => {
    const k = new TestKernel(d);
    const init = k.pt.initMmAlloc()!;
    const pmdp = pmdAllocWalk(init, BASE);
    __pteAlloc(init, pmdp);
    const ptep = pteOffsetMapLock(init, pmdp, BASE);
    const v = new PteVal();
    k.pt.codec.pfnPte(v, 0x4000, k.protOf(true, false));
    setPtes(init, BASE, ptep, v, 16);
    pteUnmapUnlock(init, ptep);
    expect((k.pt.codec as Arm64Pte).pteCont(__ptepGet(k.pt, ptep, new PteVal()))).toBe(false);
  });
});

describe('typed errors', () => {
  it('bad ranges and freeing busy address spaces', () => {
    const k = new TestKernel(X86);
    expect(() => k.pt.checkRange(1, 4096)).toThrow(MmError);
    mapPtes(k, BASE, 1, 1);
    expect(() => k.pt.mmFree(k.mm)).toThrow(/still has/);
    expect(() => k.pt.pagetableDtorFree(PTE_LEVEL, 12345)).toThrow();
    expect(MmBugError).toBeDefined();
  });
});
