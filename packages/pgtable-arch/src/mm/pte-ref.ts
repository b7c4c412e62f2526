/**
 * DOC: the "Free user PTE page table pages" patch series' design (Qi
 * Zheng, 2021; not merged): a reference
 * count per PTE table (`include/linux/pte_ref.h`, `mm/pte_ref.c` of Qi
 * Zheng's 2021 series, never merged; the merged design is `pt-reclaim.ts`).
 *
 * Every `!pte_none()` entry and every visitor (a walker, the fault path, a
 * zap) holds a reference on its PTE table; when the count drops to zero the
 * table is empty and unused, so it is unhooked from its PMD and freed (after
 * the TLB flush and RCU, like any table). The table also records the PMD
 * entry that maps it (`ptdesc->pmd`, `pte_to_pmd()`), which `mremap` updates
 * when it moves the table (`pte_update_pmd()`).
 *
 * In this model the entry references are kept by the entry operations
 * themselves (a none -> !none change adds one, the reverse drops one), so
 * users only manage visitor references: take one with `pteTryGet()` /
 * `pteTrygetMapLock()` (or `pteAllocGetMapLock()`, which allocates the table
 * holding one for the caller) and drop it with `ptePut()` once done. Clearing
 * the last entry of a table without holding a reference is a bug
 * (MmBugError). The failure kinds of `pte_try_get()` are the series'
 * `enum pte_tryget_type`.
 */
import { EAGAIN, ENOMEM } from '@mm/machine';
import { PMD_LEVEL, PTE_LEVEL } from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import type { MmPgtables } from '../table/page-tables.js';
import { PgtableError } from '../table/page-tables.js';
import { __pteOffsetMap, pmdInstall, pteAllocOne, pteOffsetMapLock, pteUnmap } from '../table/pgalloc.js';
import { PT_FREEING } from '../table/ptdesc.js';
import { type MmuGather, pteFreeTlb } from './mmu-gather.js';
import { pmdClearTable } from './pt-reclaim.js';

/** `pte_try_get()` took a reference. @kernel TRYGET_SUCCESSED (include/linux/pte_ref.h) */
export const TRYGET_SUCCESSED = 0;
/** The table's count is zero: it is being freed. */
export const TRYGET_FAILED_ZERO = 1;
/** The PMD is none: no table. */
export const TRYGET_FAILED_NONE = 2;
/** The PMD is a leaf (THP): no table. */
export const TRYGET_FAILED_HUGE_PMD = 3;
/** A {@link pteTryGet} result. */
export type PteTrygetType = 0 | 1 | 2 | 3;

const tmp = new PteVal();

function checkMode(mm: MmPgtables): void {
  if (mm.pt.ptReclaim !== 'refcount')
    throw new PgtableError('EINVAL', "pte_ref: the context is not in 'refcount' reclaim mode");
}

/** The PTE table under `pmdp`, or -1. */
function tableOf(mm: MmPgtables, pmdp: number): number {
  const pt = mm.pt;
  const v = pt.readEntry(PMD_LEVEL, pmdp, tmp);
  if (!pt.codec.tableEntryOk(v, PMD_LEVEL)) return -1;
  return pt.tableOfPfn(pt.codec.tableEntryPfn(v, PMD_LEVEL));
}

function addVisitors(mm: MmPgtables, t: number, n: number): void {
  const pt = mm.pt;
  const v = (pt.refVisitors.get(t) ?? 0) + n;
  if (v < 0) throw new PgtableError('EINVAL', `pte_put: PTE table ${t} has no visitor reference to drop`);
  if (v === 0) pt.refVisitors.delete(t);
  else pt.refVisitors.set(t, v);
}

/**
 * Initialise the count of a new table and record its PMD.
 * @kernel pte_ref_init (include/linux/pte_ref.h)
 */
export function pteRefInit(mm: MmPgtables, t: number, pmdp: number, count: number): void {
  const pool = mm.pt.pools[PTE_LEVEL]!;
  pool.refcount[t] = count;
  pool.parent[t] = pmdp;
}

/**
 * The PMD slot mapping the table of `ptep`, or -1 when detached.
 * @kernel pte_to_pmd (include/linux/pte_ref.h)
 */
export function pteToPmd(mm: MmPgtables, ptep: number): number {
  const pt = mm.pt;
  return pt.pools[PTE_LEVEL]!.parent[pt.tableOfSlot(PTE_LEVEL, ptep)]!;
}

/**
 * The table under `oldPmd` moved to `newPmdp` (mremap): update its record.
 * @kernel pte_update_pmd (include/linux/pte_ref.h)
 */
export function pteUpdatePmd(mm: MmPgtables, newPmdp: number): void {
  const t = tableOf(mm, newPmdp);
  if (t >= 0) mm.pt.pools[PTE_LEVEL]!.parent[t] = newPmdp;
}

/**
 * Add `nr` visitor references to the table under `pmdp` (which must be live and held).
 * @kernel pte_get_many (include/linux/pte_ref.h)
 */
export function pteGetMany(mm: MmPgtables, pmdp: number, nr: number): void {
  checkMode(mm);
  const t = tableOf(mm, pmdp);
  if (t < 0) throw new PgtableError('EINVAL', 'pte_get: the PMD maps no PTE table');
  const pool = mm.pt.pools[PTE_LEVEL]!;
  if (pool.refcount[t]! <= 0)
    throw new PgtableError('EINVAL', 'pte_get on a table whose count is zero (use pte_try_get)');
  pool.refcount[t] = pool.refcount[t]! + nr;
  addVisitors(mm, t, nr);
}

/** Take one reference on the PTE table `pmdp` points to, which must already have one. @kernel pte_get (include/linux/pte_ref.h) */
export function pteGet(mm: MmPgtables, pmdp: number): void {
  pteGetMany(mm, pmdp, 1);
}

/**
 * Take a visitor reference unless the count is zero.
 * @kernel pte_get_unless_zero (mm/pte_ref.c)
 */
export function pteGetUnlessZero(mm: MmPgtables, pmdp: number): boolean {
  checkMode(mm);
  const t = tableOf(mm, pmdp);
  if (t < 0) return false;
  const pool = mm.pt.pools[PTE_LEVEL]!;
  if (pool.refcount[t]! <= 0) return false;
  pool.refcount[t] = pool.refcount[t]! + 1;
  addVisitors(mm, t, 1);
  return true;
}

/**
 * Try to take a visitor reference on the table under `pmdp`.
 * @kernel pte_try_get (mm/pte_ref.c)
 */
export function pteTryGet(mm: MmPgtables, pmdp: number): PteTrygetType {
  checkMode(mm);
  const pt = mm.pt;
  const v = pt.readEntry(PMD_LEVEL, pmdp, tmp);
  if (pt.codec.pmdNone(v)) return TRYGET_FAILED_NONE;
  if (pt.codec.pmdLeaf(v) || !pt.codec.pmdPresent(v)) return TRYGET_FAILED_HUGE_PMD;
  return pteGetUnlessZero(mm, pmdp) ? TRYGET_SUCCESSED : TRYGET_FAILED_ZERO;
}

/**
 * Take a reference, then map the table (pair with `pteUnmap` and `ptePut`).
 * @returns the PTE slot or -1.
 * @kernel pte_tryget_map (include/linux/pte_ref.h)
 */
export function pteTrygetMap(mm: MmPgtables, pmdp: number, addr: number): number {
  if (pteTryGet(mm, pmdp) !== TRYGET_SUCCESSED) return -1;
  return __pteOffsetMap(mm, pmdp, addr, null);
}

/**
 * Take a reference, then map and lock the table (pair with
 * `pteUnmapUnlock` and `ptePut`).
 * @returns the PTE slot or -1.
 * @kernel pte_tryget_map_lock (include/linux/pte_ref.h)
 */
export function pteTrygetMapLock(mm: MmPgtables, pmdp: number, addr: number): number {
  if (pteTryGet(mm, pmdp) !== TRYGET_SUCCESSED) return -1;
  return pteOffsetMapLock(mm, pmdp, addr);
}

/**
 * The fault path's way in: allocate the table if the PMD is none (the new
 * table starts with the caller's reference), else take a reference.
 * @returns 0, -ENOMEM, or -EAGAIN when the table is being freed or a leaf is there (retry the fault).
 */
export function pteAllocGet(mm: MmPgtables, pmdp: number): number {
  checkMode(mm);
  const pt = mm.pt;
  for (;;) {
    if (pt.codec.pmdNone(pt.readEntry(PMD_LEVEL, pmdp, tmp))) {
      const t = pteAllocOne(mm);
      if (t < 0) return -ENOMEM;
      if (pmdInstall(mm, pmdp, t)) {
        pteRefInit(mm, t, pmdp, 1);
        addVisitors(mm, t, 1);
        return 0;
      }
    }
    const r = pteTryGet(mm, pmdp);
    if (r === TRYGET_SUCCESSED) return 0;
    if (r !== TRYGET_FAILED_NONE) return -EAGAIN;
  }
}

/**
 * {@link pteAllocGet}, then map and lock.
 * @returns the PTE slot, -ENOMEM or -EAGAIN.
 */
export function pteAllocGetMapLock(mm: MmPgtables, pmdp: number, addr: number): number {
  const r = pteAllocGet(mm, pmdp);
  if (r < 0) return r;
  return pteOffsetMapLock(mm, pmdp, addr);
}

/**
 * Drop `nr` visitor references; the last reference frees the table:
 * unhook it from the PMD under the PMD lock, flush, and free it (through
 * `tlb` when given, else after a flush of its range and RCU).
 * @kernel pte_put_many (include/linux/pte_ref.h)
 */
export function ptePutMany(mm: MmPgtables, pmdp: number, addr: number, nr: number, tlb: MmuGather | null = null): void {
  checkMode(mm);
  const pt = mm.pt;
  const t = tableOf(mm, pmdp);
  if (t < 0) throw new PgtableError('EINVAL', 'pte_put: the PMD maps no PTE table');
  addVisitors(mm, t, -nr);
  const pool = pt.pools[PTE_LEVEL]!;
  const r = pool.refcount[t]! - nr;
  pool.refcount[t] = r;
  if (r > 0) return;
  // free_pte_table(): the table is empty and nobody holds it.
  const pmdSize = pt.levelSize(PMD_LEVEL);
  const haddr = addr - (addr % pmdSize);
  pt.pmdLock(mm, pmdp);
  pmdClearTable(mm, pmdp, t);
  pt.pmdUnlock(mm, pmdp);
  pt.mmIncNr(mm, PTE_LEVEL, -1);
  pt.nrPtesReclaimed++;
  if (tlb !== null) {
    pteFreeTlb(tlb, t, haddr);
    return;
  }
  pt.machine.mmu.flushTlbMmRange(mm.as, haddr, haddr + pmdSize, pt.pageShift, true);
  pool.state[t] = PT_FREEING;
  if (pt.rcuTableFree) pt.machine.rcu.callRcu((x: number) => pt.pagetableDtorFree(PTE_LEVEL, x), t);
  else pt.pagetableDtorFree(PTE_LEVEL, t);
}

/** Drop one reference on the PTE table `pmdp` points to; the last one unhooks and frees the table. @kernel pte_put (include/linux/pte_ref.h) */
export function ptePut(mm: MmPgtables, pmdp: number, addr: number, tlb: MmuGather | null = null): void {
  ptePutMany(mm, pmdp, addr, 1, tlb);
}

/**
 * The fault path's put (while the mmap lock still keeps the PMD stable).
 * @kernel pte_put_vmf (mm/pte_ref.c)
 */
export function ptePutVmf(mm: MmPgtables, pmdp: number, addr: number): void {
  ptePut(mm, pmdp, addr, null);
}

/** End a {@link pteTrygetMap} (unmap; the reference stays until `ptePut`). */
export function pteUnmapRef(mm: MmPgtables, ptep: number): void {
  pteUnmap(mm, ptep);
}
