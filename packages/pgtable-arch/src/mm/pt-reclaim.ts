/**
 * DOC: reclaiming empty user PTE tables after MADV_DONTNEED, the upstream
 * way (CONFIG_PT_RECLAIM, `mm/pt_reclaim.c` of 6.13-6.18, folded into
 * `mm/memory.c` later).
 *
 * Only a zap asked to (`zap_details.reclaim_pt`, set by MADV_DONTNEED) whose
 * range inside one `zap_pte_range()` call covers a whole PTE table tries. If
 * any entry survived the zap (a folio not to be zapped, a kept uffd-wp or
 * guard marker, a reinstalled uffd-wp marker) the table stays. Fast path: the
 * zap loop ran to the end without dropping the PTE lock, so the table is
 * known empty; the PMD lock is *trylocked* while the PTE lock is held and
 * the PMD cleared. Slow path (the lock was dropped, or the trylock failed):
 * take the PMD lock, map the table, take its lock nested, rescan all
 * PTRS_PER_PTE entries for `pte_none()`, and clear the PMD only if all are.
 * The table is then freed through the mmu_gather (`pte_free_tlb()`), after
 * the TLB flush and, with MMU_GATHER_RCU_TABLE_FREE, after RCU, so that a
 * concurrent `pte_offset_map()` reader still sees a valid, empty, detached
 * table and lock-and-revalidate users see the PMD change.
 */
import { PMD_LEVEL, PTE_LEVEL } from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import type { MmPgtables } from '../table/page-tables.js';
import { __pteOffsetMap, pteUnmap } from '../table/pgalloc.js';
import { __ptepGet } from '../table/pte-raw.js';
import { type MmuGather, pteFreeTlb } from './mmu-gather.js';

const tmp = new PteVal();

/**
 * Whether a zap of [start, end) may reclaim its PTE table.
 * @kernel reclaim_pt_is_enabled (mm/pt_reclaim.c)
 */
export function reclaimPtIsEnabled(mm: MmPgtables, start: number, end: number, reclaimPt: boolean): boolean {
  const pt = mm.pt;
  return pt.ptReclaim === 'upstream' && !mm.isInitMm && reclaimPt && end - start >= pt.levelSize(PMD_LEVEL);
}

/** `pmd_clear()` of a PMD pointing to PTE table `t`: the table is detached. */
export function pmdClearTable(mm: MmPgtables, pmdp: number, t: number): void {
  const pt = mm.pt;
  tmp.setWords(0, 0);
  pt.writeEntry(PMD_LEVEL, pmdp, tmp);
  pt.pools[PTE_LEVEL]!.parent[t] = -1;
}

/**
 * Fast path, with the PTE lock of table `t` held: take the PMD lock without
 * waiting (if it is a different lock) and clear the PMD.
 * @returns false when the PMD lock was busy.
 * @kernel try_get_and_clear_pmd (mm/pt_reclaim.c) / zap_empty_pte_table (mm/memory.c)
 */
export function tryGetAndClearPmd(mm: MmPgtables, pmdp: number, t: number): boolean {
  const pt = mm.pt;
  const same = pt.pmdLockIsPteLock(mm);
  if (!same && !pt.pmdTrylock(mm, pmdp)) return false;
  pmdClearTable(mm, pmdp, t);
  if (!same) pt.pmdUnlock(mm, pmdp);
  return true;
}

/**
 * Free the PTE table unhooked from `addr`'s PMD through the gather.
 * @kernel free_pte (mm/pt_reclaim.c)
 */
export function freePte(mm: MmPgtables, addr: number, tlb: MmuGather, t: number): void {
  pteFreeTlb(tlb, t, addr);
  mm.pt.mmIncNr(mm, PTE_LEVEL, -1);
  mm.pt.nrPtesReclaimed++;
}

/**
 * Slow path: under the PMD lock and the PTE lock nested, check every entry
 * of the table under `pmdp` is none; if so clear the PMD and free the table.
 * @returns whether the table was reclaimed.
 * @kernel try_to_free_pte (mm/pt_reclaim.c) / zap_pte_table_if_empty (mm/memory.c)
 */
export function tryToFreePte(mm: MmPgtables, pmdp: number, addr: number, tlb: MmuGather): boolean {
  const pt = mm.pt;
  pt.pmdLock(mm, pmdp);
  const seen = new PteVal();
  const start = __pteOffsetMap(mm, pmdp, addr, seen);
  if (start < 0) {
    pt.pmdUnlock(mm, pmdp);
    return false;
  }
  const ptrs = pt.ptrs[PTE_LEVEL]!;
  const base = start - (start % ptrs);
  const t = base / ptrs;
  const same = pt.pmdLockIsPteLock(mm);
  if (!same) pt.pteLock(mm, t, true);
  let empty = true;
  for (let i = 0; i < ptrs; i++) {
    if (!pt.codec.pteNone(__ptepGet(pt, base + i, tmp))) {
      empty = false;
      break;
    }
  }
  pteUnmap(mm, start);
  if (empty) pmdClearTable(mm, pmdp, t);
  if (!same) pt.pteUnlock(mm, t);
  pt.pmdUnlock(mm, pmdp);
  if (empty) freePte(mm, addr - (addr % pt.levelSize(PMD_LEVEL)), tlb, t);
  return empty;
}
