/**
 * DOC: splitting a PMD mapping into PTE mappings ("remap PMD→PTE"), the
 * rmap and page-table steps of `__split_huge_pmd_locked`
 * (mm/huge_memory.c), through the page-table view.
 *
 * An anon THP's PMD becomes 512 PTEs of the deposited page table carrying
 * its write/young/dirty/soft-dirty/uffd-wp bits; the rmap gains 511
 * references and a batched `folio_add_anon_rmap_ptes` of all pages
 * (PageAnonExclusive propagated) before the PMD mapping is removed. With
 * `freeze` (migration) the PTEs become migration entries instead, if the
 * folio can be marked shared. A file THP's PMD is simply zapped (the pages
 * fault back in through PTEs).
 */
import { PG_dirty, PG_referenced } from '@mm/machine';
import type { FolioRmap } from './env.js';
import { FolioError } from './errors.js';
import {
  folioPut,
  folioRefAdd,
  folioSetFlag,
  folioTestAnon,
  folioTestFlag,
  folioTestSwapbacked,
  pageAnonExclusive,
  pageFolio,
} from './folio.js';
import {
  type PgtableView,
  PTE_DIRTY,
  PTE_MIGRATION,
  PTE_MIGRATION_WRITE,
  PTE_PRESENT,
  PTE_SOFT_DIRTY,
  PTE_SWP_EXCLUSIVE,
  PTE_UFFD_WP,
  PTE_WRITE,
  PTE_YOUNG,
  PtEntry,
} from './pgtable-view.js';
import {
  folioAddAnonRmapPtes,
  folioRemoveRmapPmd,
  folioTryShareAnonRmapPmd,
  RMAP_EXCLUSIVE,
  RMAP_NONE,
} from './rmap.js';
import { MM_FILEPAGES, MM_SHMEMPAGES, type RmapVma } from './vma.js';

/** `folio_mark_dirty()`: PG_dirty, plus the composer's accounting. */
export function folioMarkDirty(rm: FolioRmap, folio: number): void {
  const wasDirty = folioTestFlag(rm, folio, PG_dirty);
  folioSetFlag(rm, folio, PG_dirty);
  const hook = rm.hooks.folioMarkDirty;
  if (!wasDirty && hook !== undefined) hook(folio);
}

const old = new PtEntry();
const pte = new PtEntry();

/**
 * Split the PMD leaf mapping at `haddr` (PMD aligned) of `vma` into PTEs.
 * @kernel __split_huge_pmd_locked (mm/huge_memory.c)
 */
export function splitHugePmdLocked(rm: FolioRmap, vma: RmapVma, haddr: number, freeze: boolean): void {
  const v = rm.pgtable as PgtableView;
  const mm = vma.vmMm;
  const nr = rm.hpagePmdNr;
  const pageSize = rm.pageSize;
  if (haddr % (nr * pageSize) !== 0 || vma.vmStart > haddr || vma.vmEnd < haddr + nr * pageSize) {
    throw new FolioError('EINVAL', -1, `split_huge_pmd: ${haddr} is not a PMD-aligned range inside the VMA`);
  }
  v.pmdRead(mm, haddr, old);
  if (old.kind !== PTE_PRESENT && old.kind !== PTE_MIGRATION) return;
  if (vma.vmFile !== null) {
    // File THP: zap the PMD; the pages refault through PTEs.
    v.pmdGetAndClear(mm, haddr, old);
    v.flushTlbRange(mm, haddr, haddr + nr * pageSize);
    const folio = pageFolio(rm, old.pfn);
    const counter = folioTestSwapbacked(rm, folio) ? MM_SHMEMPAGES : MM_FILEPAGES;
    mm.rssStat[counter] = (mm.rssStat[counter] as number) - nr;
    if (old.kind === PTE_MIGRATION) return;
    if (!folioTestFlag(rm, folio, PG_dirty) && old.bits & PTE_DIRTY) folioMarkDirty(rm, folio);
    if (!folioTestFlag(rm, folio, PG_referenced) && old.bits & PTE_YOUNG) folioSetFlag(rm, folio, PG_referenced);
    folioRemoveRmapPmd(rm, folio, old.pfn, vma);
    folioPut(rm, folio);
    return;
  }
  const page = old.pfn;
  const folio = pageFolio(rm, page);
  const pmdMigration = old.kind === PTE_MIGRATION;
  let write: boolean;
  let young: boolean;
  let dirty: boolean;
  let anonExclusive: boolean;
  const softDirty = (old.bits & PTE_SOFT_DIRTY) !== 0;
  const uffdWp = (old.bits & PTE_UFFD_WP) !== 0;
  if (pmdMigration) {
    write = (old.bits & PTE_MIGRATION_WRITE) !== 0;
    anonExclusive = folioTestAnon(rm, folio) && (old.bits & PTE_SWP_EXCLUSIVE) !== 0;
    young = (old.bits & PTE_YOUNG) !== 0;
    dirty = (old.bits & PTE_DIRTY) !== 0;
    v.pmdGetAndClear(mm, haddr, old);
  } else {
    v.pmdGetAndClear(mm, haddr, old); // pmdp_invalidate
    v.flushTlbRange(mm, haddr, haddr + nr * pageSize);
    dirty = (old.bits & PTE_DIRTY) !== 0;
    if (dirty) folioSetFlag(rm, folio, PG_dirty);
    write = (old.bits & PTE_WRITE) !== 0;
    young = (old.bits & PTE_YOUNG) !== 0;
    anonExclusive = pageAnonExclusive(rm, page);
    if (freeze && anonExclusive && folioTryShareAnonRmapPmd(rm, folio, page) !== 0) freeze = false;
    if (!freeze) {
      folioRefAdd(rm, folio, nr - 1);
      folioAddAnonRmapPtes(rm, folio, page, nr, vma, haddr, anonExclusive ? RMAP_EXCLUSIVE : RMAP_NONE);
    }
  }
  v.pmdPopulateTable(mm, haddr);
  if (freeze || pmdMigration) {
    pte.kind = PTE_MIGRATION;
    pte.val = 0;
    pte.bits =
      (write ? PTE_MIGRATION_WRITE : anonExclusive ? PTE_SWP_EXCLUSIVE : 0) |
      (young ? PTE_YOUNG : 0) |
      (dirty ? PTE_DIRTY : 0) |
      (softDirty ? PTE_SOFT_DIRTY : 0) |
      (uffdWp ? PTE_UFFD_WP : 0);
  } else {
    pte.kind = PTE_PRESENT;
    pte.val = 0;
    pte.bits =
      (write ? PTE_WRITE : 0) |
      (young ? PTE_YOUNG : 0) |
      (dirty ? PTE_DIRTY : 0) |
      (softDirty ? PTE_SOFT_DIRTY : 0) |
      (uffdWp ? PTE_UFFD_WP : 0);
  }
  for (let k = 0; k < nr; k++) {
    pte.pfn = page + k;
    v.pteWrite(mm, haddr + k * pageSize, pte);
  }
  if (!pmdMigration) folioRemoveRmapPmd(rm, folio, page, vma);
  // freeze: the PMD's reference becomes the migration entries' (put_page).
  if (freeze) folioPut(rm, folio);
}
