/**
 * DOC: allocating and mapping page tables: `__pte_alloc()` and
 * `pmd_install()`, `__pmd_alloc()`, `__pud_alloc()`, `__p4d_alloc()`,
 * `pte_alloc_map_lock()` (mm/memory.c), and the `pte_offset_map()` family
 * (mm/pgtable-generic.c).
 *
 * Allocation follows the kernel's populate-under-lock rule: the new table is
 * allocated without locks (the allocation may sleep), then the upper entry is
 * checked under its lock and populated only if still empty; a CPU that lost
 * the race frees its table. `pteAllocOne` + `pmdInstall` expose the two
 * halves so that a test can interleave two CPUs between them.
 *
 * `pteOffsetMap` enters an RCU read-side section (a racing free of the table
 * waits for it), reads the PMD once, and gives up when it is none, not
 * present, a leaf or bad (a bad PMD is cleared). `pteOffsetMapLock` also
 * takes the PTE table's lock and revalidates the PMD (`pmd_same()`),
 * starting again if it changed. The `_nolock` variants return the PMD value
 * they saw so that the caller revalidates after locking. Every successful map
 * is paired with `pteUnmap` / `pteUnmapUnlock`.
 */
import { EEXIST, ENOMEM } from '@mm/machine';
import { P4D_LEVEL, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL } from '../arch/pte-ops.js';
import { PteVal } from '../entry/pteval.js';
import { type MmPgtables, type PageTables, PgtableError } from './page-tables.js';

const scratch = new PteVal();
const scratch2 = new PteVal();
const seenScratch = new PteVal();

/**
 * Allocate a PTE table for `mm` (not yet installed).
 * @returns the table index, or -ENOMEM.
 * @kernel pte_alloc_one (include/asm-generic/pgalloc.h)
 */
export function pteAllocOne(mm: MmPgtables): number {
  return mm.pt.pagetableAlloc(mm, PTE_LEVEL);
}

/**
 * Free a PTE table that was never installed.
 * @kernel pte_free (include/asm-generic/pgalloc.h)
 */
export function pteFree(mm: MmPgtables, t: number): void {
  mm.pt.pagetableDtorFree(PTE_LEVEL, t);
}

/** Point `parentSlot`'s entry of `level + 1`'s host at the new table `t` of `level`. */
function populate(pt: PageTables, mm: MmPgtables, level: number, parentSlot: number, t: number): void {
  const pool = pt.pools[level]!;
  pt.codec.mkTableEntry(scratch, (level + 1) as 1 | 2 | 3 | 4, pool.pfn[t]!);
  pt.writeEntry(level + 1, parentSlot, scratch);
  pool.parent[t] = parentSlot;
  pt.mmIncNr(mm, level, 1);
  if (level === PTE_LEVEL && pt.ptReclaim === 'refcount') pool.refcount[t] = 0;
}

/**
 * Point the PMD `pmdp` at PTE table `t` (which records `pmdp` as its
 * parent); `count` adds it to the mm's page-table counters (a table
 * withdrawn from a THP deposit is already counted).
 * @remarks Context: the PMD lock held.
 * @kernel pmd_populate (include/asm-generic/pgalloc.h)
 */
export function pmdPopulate(mm: MmPgtables, pmdp: number, t: number, count: boolean): void {
  const pt = mm.pt;
  const pool = pt.pools[PTE_LEVEL]!;
  pt.codec.mkTableEntry(scratch, PMD_LEVEL, pool.pfn[t]!);
  pt.writeEntry(PMD_LEVEL, pmdp, scratch);
  pool.parent[t] = pmdp;
  if (count) pt.mmIncNr(mm, PTE_LEVEL, 1);
}

/**
 * Install the preallocated PTE table `t` in `pmdp` unless another CPU
 * populated it meanwhile, in which case `t` is freed.
 * @returns true when `t` was installed.
 * @remarks Context: takes the PMD lock.
 * @kernel pmd_install (mm/memory.c)
 */
export function pmdInstall(mm: MmPgtables, pmdp: number, t: number): boolean {
  const pt = mm.pt;
  pt.pmdLock(mm, pmdp);
  let installed = false;
  if (pt.codec.pmdNone(pt.readEntry(PMD_LEVEL, pmdp, scratch2))) {
    populate(pt, mm, PTE_LEVEL, pmdp, t);
    installed = true;
  }
  pt.pmdUnlock(mm, pmdp);
  if (!installed) {
    pt.nrPopulateRaces++;
    pteFree(mm, t);
  }
  return installed;
}

/**
 * Allocate and install a PTE table in the empty PMD `pmdp`.
 * @returns 0 (also when another CPU installed one first), or -ENOMEM.
 * @kernel __pte_alloc (mm/memory.c)
 */
export function __pteAlloc(mm: MmPgtables, pmdp: number): number {
  const t = pteAllocOne(mm);
  if (t < 0) return -ENOMEM;
  pmdInstall(mm, pmdp, t);
  return 0;
}

/**
 * Make sure `pmdp` points to a PTE table.
 * @returns 0 or -ENOMEM.
 * @kernel pte_alloc (include/linux/mm.h)
 */
export function pteAlloc(mm: MmPgtables, pmdp: number): number {
  const pt = mm.pt;
  if (pt.codec.pmdNone(pt.readEntry(PMD_LEVEL, pmdp, scratch2))) return __pteAlloc(mm, pmdp);
  return 0;
}

/**
 * Allocate and install a table of `level` (PMD, PUD or P4D) below the
 * empty upper entry `upperSlot`, under `mm->page_table_lock` (or the PUD
 * table's lock for PMD tables where PMD locks are split, which the kernel
 * takes via `pud_lock()` = `mm->page_table_lock` as well).
 * @returns 0 or -ENOMEM.
 * @kernel __pmd_alloc / __pud_alloc / __p4d_alloc (mm/memory.c)
 */
export function __upperAlloc(mm: MmPgtables, level: number, upperSlot: number): number {
  const pt = mm.pt;
  const t = pt.pagetableAlloc(mm, level);
  if (t < 0) return -ENOMEM;
  pt.mmLock(mm);
  const v = pt.readEntry(level + 1, upperSlot, scratch2);
  // !pud_present(*pud) / !p4d_present(*p4d) / !pgd_present(*pgd)
  const empty = level === PMD_LEVEL ? !pt.codec.pudPresent(v) : v.lo === 0 && v.hi === 0;
  if (empty) populate(pt, mm, level, upperSlot, t);
  pt.mmUnlock(mm);
  if (!empty) {
    pt.nrPopulateRaces++;
    pt.pagetableDtorFree(level, t);
  }
  return 0;
}

/**
 * The slot of the `level` entry mapping `addr`, allocating the tables above
 * it (`p4d_alloc()`, `pud_alloc()`, `pmd_alloc()` in turn; folded levels
 * cost nothing). The PTE table itself is not allocated for `level` 1 (PMD):
 * use {@link pteAlloc} on the returned slot.
 * @returns the slot, -ENOMEM, or -EEXIST when a leaf above `level` maps `addr`.
 * @kernel pgd_offset + p4d_alloc + pud_alloc + pmd_alloc (include/linux/mm.h)
 */
export function walkAlloc(mm: MmPgtables, addr: number, level: number): number {
  const pt = mm.pt;
  let slot = pt.pgdOffset(mm, addr);
  for (let l = P4D_LEVEL; l >= level; l--) {
    if (pt.folded[l] === 1) continue;
    const upper = pt.host[l + 1]!;
    let v = pt.readEntry(upper, slot, scratch2);
    if (v.lo === 0 && v.hi === 0) {
      const r = __upperAlloc(mm, l, slot);
      if (r < 0) return r;
      v = pt.readEntry(upper, slot, scratch2);
    }
    const child = pt.childTable(upper, v);
    if (child < 0) return -EEXIST;
    slot = child * pt.ptrs[l]! + pt.index(l, addr);
  }
  return slot;
}

/**
 * The PMD slot of `addr`, allocating the tables above it.
 * @returns the slot, -ENOMEM, or -EEXIST when a PUD/P4D leaf maps `addr`.
 */
export function pmdAllocWalk(mm: MmPgtables, addr: number): number {
  return walkAlloc(mm, addr, PMD_LEVEL);
}

/**
 * The PUD slot of `addr`, allocating the tables above it.
 * @returns the slot or -ENOMEM.
 */
export function pudAllocWalk(mm: MmPgtables, addr: number): number {
  return walkAlloc(mm, addr, PUD_LEVEL);
}

/**
 * Map the PTE table under `pmdp` for `addr`, locklessly, inside an RCU
 * read-side section; `pmdval`, when given, receives the PMD value seen.
 * @returns the PTE slot (pair with {@link pteUnmap}), or -1 when the PMD maps
 *   no table (none, not present, a leaf; a bad PMD is cleared).
 * @kernel __pte_offset_map (mm/pgtable-generic.c)
 */
export function __pteOffsetMap(mm: MmPgtables, pmdp: number, addr: number, pmdval: PteVal | null): number {
  const pt = mm.pt;
  const rcu = pt.machine.rcu;
  rcu.rcuReadLock();
  const v = pt.readEntry(PMD_LEVEL, pmdp, pmdval ?? scratch2);
  const c = pt.codec;
  if (c.pmdNone(v) || !c.pmdPresent(v) || c.pmdLeaf(v)) {
    rcu.rcuReadUnlock();
    return -1;
  }
  if (c.pmdBad(v)) {
    // pmd_clear_bad(): report and clear.
    pt.machine.warnOn(true, `pgtable: bad pmd ${v.toHex()} at slot ${pmdp}`);
    scratch.setWords(0, 0);
    pt.writeEntry(PMD_LEVEL, pmdp, scratch);
    rcu.rcuReadUnlock();
    return -1;
  }
  const t = pt.tableOfPfn(c.tableEntryPfn(v, PMD_LEVEL));
  return t * pt.ptrs[PTE_LEVEL]! + pt.index(PTE_LEVEL, addr);
}

/**
 * Map the PTE table for `addr` without locking it.
 * @returns the PTE slot (pair with {@link pteUnmap}) or -1.
 * @kernel pte_offset_map (include/linux/mm.h)
 */
export function pteOffsetMap(mm: MmPgtables, pmdp: number, addr: number): number {
  return __pteOffsetMap(mm, pmdp, addr, null);
}

/**
 * End the mapping made by {@link pteOffsetMap} (leaves the RCU read side).
 * @kernel pte_unmap (include/linux/pgtable.h)
 */
export function pteUnmap(mm: MmPgtables, _ptep: number): void {
  mm.pt.machine.rcu.rcuReadUnlock();
}

/**
 * Map and lock the PTE table for `addr`, revalidating the PMD under the
 * lock and starting again if it changed.
 * @returns the PTE slot (pair with {@link pteUnmapUnlock}) or -1 when no table is there.
 * @kernel pte_offset_map_lock (mm/pgtable-generic.c)
 */
export function pteOffsetMapLock(mm: MmPgtables, pmdp: number, addr: number): number {
  const pt = mm.pt;
  const seen = seenScratch;
  const now = scratch;
  for (;;) {
    const ptep = __pteOffsetMap(mm, pmdp, addr, seen);
    if (ptep < 0) return -1;
    const t = pt.tableOfSlot(PTE_LEVEL, ptep);
    pt.pteLock(mm, t);
    if (pt.readEntry(PMD_LEVEL, pmdp, now).same(seen)) return ptep;
    pt.pteUnlock(mm, t);
    pteUnmap(mm, ptep);
  }
}

/**
 * Unlock and unmap a table mapped by {@link pteOffsetMapLock} (or locked
 * after a `_nolock` map with `pt.pteLock`).
 * @kernel pte_unmap_unlock (include/linux/mm.h)
 */
export function pteUnmapUnlock(mm: MmPgtables, ptep: number): void {
  const pt = mm.pt;
  pt.pteUnlock(mm, pt.tableOfSlot(PTE_LEVEL, ptep));
  pteUnmap(mm, ptep);
}

/**
 * Map without locking and report the PMD value seen, for a caller that will
 * lock the table (`pt.pteLock(mm, pt.tableOfSlot(0, ptep))`) and revalidate
 * with `pmd_same()`/`pte_same()` before writing.
 * @returns the PTE slot or -1.
 * @kernel pte_offset_map_rw_nolock (mm/pgtable-generic.c)
 */
export function pteOffsetMapRwNolock(mm: MmPgtables, pmdp: number, addr: number, pmdval: PteVal): number {
  return __pteOffsetMap(mm, pmdp, addr, pmdval);
}

/**
 * Map without locking, for read-only use.
 * @returns the PTE slot or -1.
 * @kernel pte_offset_map_ro_nolock (mm/pgtable-generic.c)
 */
export function pteOffsetMapRoNolock(mm: MmPgtables, pmdp: number, addr: number): number {
  return __pteOffsetMap(mm, pmdp, addr, null);
}

/**
 * Allocate the PTE table under `pmdp` if needed, then map and lock it.
 * @returns the PTE slot, -1 when a leaf PMD appeared, or -ENOMEM.
 * @kernel pte_alloc_map_lock (include/linux/mm.h)
 */
export function pteAllocMapLock(mm: MmPgtables, pmdp: number, addr: number): number {
  const r = pteAlloc(mm, pmdp);
  if (r < 0) return r;
  return pteOffsetMapLock(mm, pmdp, addr);
}

/**
 * The PMD slot mapping `addr` in `mm`, or -1 when a table above is missing.
 * @kernel mm_find_pmd (mm/rmap.c)
 */
export function mmFindPmd(mm: MmPgtables, addr: number): number {
  if (!(addr >= 0 && addr < mm.pt.addrLimit))
    throw new PgtableError('EINVAL', `address 0x${addr.toString(16)} out of range`);
  return mm.pt.lookup(mm, PMD_LEVEL, addr);
}
