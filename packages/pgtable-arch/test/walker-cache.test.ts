// The x86 walker's child-table cache (per upper-level entry, the table it last
// led to) must never hand back a stale table: after the entry changes, or
// after the table is freed and its index and page are reused, the walk must
// give what the tables say now.
import { MMU_READ, MMU_USER, WALK_NOT_PRESENT, WALK_OK, WalkResult } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import { ARCH_DESCRIPTORS, PMD_LEVEL, PTE_LEVEL, PteVal, pmdClearTable, ptValidate } from '../src/index.js';
import { TestKernel } from './harness.js';

const BASE = 0x7f00_0000_0000;
const PMD = 2 ** 21;
const KIND = MMU_READ | MMU_USER;

function walk(k: TestKernel, vaddr: number): number {
  const wr = new WalkResult();
  const r = k.pt.walker.walk(k.mm.as, vaddr, KIND, wr);
  return r === WALK_OK ? wr.pfn : -1;
}

/** Detach and free the PTE table under `addr` (its entries must be clear). */
function freePteTable(k: TestKernel, addr: number): number {
  const pmdp = k.pt.lookup(k.mm, PMD_LEVEL, addr);
  const t = k.pt.childTable(PMD_LEVEL, k.pt.readEntry(PMD_LEVEL, pmdp, new PteVal()));
  expect(t).toBeGreaterThanOrEqual(0);
  pmdClearTable(k.mm, pmdp, t);
  k.pt.mmIncNr(k.mm, PTE_LEVEL, -1);
  k.pt.pagetableDtorFree(PTE_LEVEL, t);
  k.machine.mmu.flushTlbRange(k.mm.as, addr, addr + PMD);
  return t;
}

describe('x86-64 walker child-table cache', () => {
  const d = ARCH_DESCRIPTORS.x86_64!;

  it('a freed table whose index is reused by another range is not walked through the old entry', () => {
    const k = new TestKernel(d);
    const a = BASE;
    const b = BASE + 8 * PMD;
    const c = BASE + 16 * PMD;
    k.map(a, 4, 0x1000, true, false);
    k.map(b, 4, 0x2000, true, false);
    expect(walk(k, a + 4096)).toBe(0x1001); // fills the cache for a's PMD entry
    expect(walk(k, b + 4096)).toBe(0x2001);
    k.unmap(a, 4);
    const freed = freePteTable(k, a);
    expect(walk(k, a + 4096)).toBe(-1);
    // c's new PTE table takes the freed index (the pool's free list).
    k.map(c, 4, 0x3000, true, false);
    const pmdC = k.pt.lookup(k.mm, PMD_LEVEL, c);
    expect(k.pt.childTable(PMD_LEVEL, k.pt.readEntry(PMD_LEVEL, pmdC, new PteVal()))).toBe(freed);
    expect(walk(k, c + 4096)).toBe(0x3001);
    // a gets a new table: the cached index (now c's table) must not be used.
    k.map(a, 4, 0x4000, true, false);
    expect(walk(k, a + 4096)).toBe(0x4001);
    expect(walk(k, c + 4096)).toBe(0x3001);
    expect(k.machine.mmu.access(0, k.mm.as, a + 2 * 4096, KIND)).toBe(0x4002);
    ptValidate(k.pt);
  });

  it('an entry changed to point to another table is followed to the new table', () => {
    const k = new TestKernel(d);
    const a = BASE;
    const b = BASE + PMD;
    k.map(a, 4, 0x1000, true, false);
    k.map(b, 4, 0x2000, true, false);
    expect(walk(k, a)).toBe(0x1000);
    expect(walk(k, b)).toBe(0x2000);
    // Point a's PMD at b's PTE table (what a PMD move does), without freeing anything.
    const pmdA = k.pt.lookup(k.mm, PMD_LEVEL, a);
    const pmdB = k.pt.lookup(k.mm, PMD_LEVEL, b);
    const v = k.pt.readEntry(PMD_LEVEL, pmdB, new PteVal());
    const old = k.pt.readEntry(PMD_LEVEL, pmdA, new PteVal());
    k.pt.writeEntry(PMD_LEVEL, pmdA, v);
    expect(walk(k, a + 4096)).toBe(0x2001);
    k.pt.writeEntry(PMD_LEVEL, pmdA, old);
    expect(walk(k, a + 4096)).toBe(0x1001);
    // A cleared entry is not present, whatever the cache holds.
    k.pt.writeEntry(PMD_LEVEL, pmdA, new PteVal().setWords(0, 0));
    const wr = new WalkResult();
    expect(k.pt.walker.walk(k.mm.as, a, KIND, wr)).toBe(WALK_NOT_PRESENT);
    k.pt.writeEntry(PMD_LEVEL, pmdA, old);
  });

  it('the cache is counted in hostBytes()', () => {
    const k = new TestKernel(d);
    const before = k.pt.hostBytes();
    expect(k.pt.walker.hostBytes()).toBe(0);
    k.map(BASE, 1, 0x1000, true, false);
    expect(walk(k, BASE)).toBe(0x1000);
    expect(k.pt.walker.hostBytes()).toBeGreaterThan(0);
    expect(k.pt.hostBytes()).toBeGreaterThan(before);
  });
});
