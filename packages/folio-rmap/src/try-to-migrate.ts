/**
 * DOC: try_to_migrate: replace every page-table mapping of a folio with a
 * migration entry (page migration, folio split).
 *
 * Each present PTE is cleared (its dirty bit moves to the folio); an
 * exclusive anon page is first marked possibly shared (-EBUSY if pinned:
 * the PTE is restored and the walk stops); the migration entry is writable
 * if the PTE was, readable-exclusive for an exclusive anon page, readable
 * otherwise, and keeps the young, dirty, soft-dirty and uffd-wp bits. A PMD
 * mapping becomes a PMD migration entry, or (TTU_SPLIT_HUGE_PMD) 512 PTE
 * migration entries. Mlock is ignored; no swap count is taken. Temporary
 * stack VMAs of exec are skipped for anon folios.
 */
import { PG_hwpoison } from '@mm/machine';
import type { FolioRmap } from './env.js';
import { FolioError } from './errors.js';
import {
  folioMapped,
  folioPut,
  folioTestAnon,
  folioTestFlag,
  folioTestHugetlb,
  folioTestKsm,
  pageAnonExclusive,
} from './folio.js';
import {
  folioVmaWalkScratch,
  PVMW_SYNC,
  pageVmaMappedWalk,
  pageVmaMappedWalkDone,
  pageVmaMappedWalkRestart,
} from './page-vma-mapped.js';
import {
  type PgtableView,
  PTE_DEVICE_PRIVATE,
  PTE_DIRTY,
  PTE_HWPOISON,
  PTE_MIGRATION,
  PTE_MIGRATION_WRITE,
  PTE_NONE,
  PTE_PRESENT,
  PTE_SOFT_DIRTY,
  PTE_SWP_EXCLUSIVE,
  PTE_UFFD_WP,
  PTE_UNUSED,
  PTE_WRITE,
  PTE_YOUNG,
  PtEntry,
} from './pgtable-view.js';
import {
  folioRemoveRmapPmd,
  folioRemoveRmapPte,
  folioTryShareAnonRmapPmd,
  folioTryShareAnonRmapPte,
  hugetlbRemoveRmap,
  hugetlbTryShareAnonRmap,
} from './rmap.js';
import { folioLockAnonVmaRead, type RmapWalkControl, rmapWalk, rmapWalkLocked } from './rmap-walk.js';
import { folioMarkDirty, splitHugePmdLocked } from './split-huge-pmd.js';
import { mmCounter, TTU_BATCH_FLUSH, TTU_RMAP_LOCKED, TTU_SPLIT_HUGE_PMD, TTU_SYNC } from './try-to-unmap.js';
import { type RmapVma, VM_GROWSDOWN, VM_RAND_READ, VM_SEQ_READ, VM_UFFD_WP } from './vma.js';

/** exec's temporary stack carries both read hints until set up (`VM_STACK_INCOMPLETE_SETUP`); migration skips it. */
export const VM_STACK_INCOMPLETE_SETUP = VM_RAND_READ | VM_SEQ_READ;

const pteval = new PtEntry();
const ent = new PtEntry();

/**
 * Replace the PMD mapping at the walk's position with a PMD migration entry.
 * @kernel set_pmd_migration_entry (mm/huge_memory.c)
 */
function setPmdMigrationEntry(rm: FolioRmap, folio: number, vma: RmapVma, address: number, page: number): number {
  const v = rm.pgtable as PgtableView;
  const mm = vma.vmMm;
  v.pmdRead(mm, address, pteval);
  const present = pteval.kind === PTE_PRESENT;
  v.pmdGetAndClear(mm, address, pteval);
  if (present) v.flushTlbRange(mm, address, address + rm.pageSize * rm.hpagePmdNr);
  const writable = present ? (pteval.bits & PTE_WRITE) !== 0 : (pteval.bits & PTE_MIGRATION_WRITE) !== 0;
  const anonExclusive = folioTestAnon(rm, folio) && pageAnonExclusive(rm, page);
  if (anonExclusive && folioTryShareAnonRmapPmd(rm, folio, page) !== 0) {
    v.pmdWrite(mm, address, pteval);
    return -16;
  }
  ent.kind = PTE_MIGRATION;
  ent.pfn = page;
  ent.val = 0;
  ent.bits = writable ? PTE_MIGRATION_WRITE : anonExclusive ? PTE_SWP_EXCLUSIVE : 0;
  if (present && pteval.bits & PTE_YOUNG) ent.bits |= PTE_YOUNG;
  if (present && pteval.bits & PTE_DIRTY) {
    folioMarkDirty(rm, folio);
    ent.bits |= PTE_DIRTY;
  }
  ent.bits |= pteval.bits & (PTE_SOFT_DIRTY | PTE_UFFD_WP);
  v.pmdWrite(mm, address, ent);
  folioRemoveRmapPmd(rm, folio, page, vma);
  folioPut(rm, folio);
  return 0;
}

/** @kernel try_to_migrate_one (mm/rmap.c) */
function tryToMigrateOne(rm: FolioRmap, folio: number, vma: RmapVma, address: number, arg: { flags: number }): boolean {
  const v = rm.pgtable as PgtableView;
  const mm = vma.vmMm;
  let flags = arg.flags;
  const pvmw = folioVmaWalkScratch(rm, folio, vma, address, flags & TTU_SYNC ? PVMW_SYNC : 0);
  let ret = true;
  const hugetlb = folioTestHugetlb(rm, folio);
  const anon = folioTestAnon(rm, folio);
  while (pageVmaMappedWalk(rm, pvmw)) {
    if (!pvmw.pte) {
      if (flags & TTU_SPLIT_HUGE_PMD) {
        splitHugePmdLocked(rm, vma, pvmw.address, true);
        flags &= ~TTU_SPLIT_HUGE_PMD;
        pageVmaMappedWalkRestart(pvmw);
        continue;
      }
      const page = pvmw.entry.pfn;
      if (setPmdMigrationEntry(rm, folio, vma, pvmw.address, page) !== 0) {
        ret = false;
        pageVmaMappedWalkDone(pvmw);
        break;
      }
      continue;
    }
    address = pvmw.address;
    pteval.set(pvmw.entry);
    const present = pteval.kind === PTE_PRESENT;
    const subpage = pteval.pfn;
    const anonExclusive = anon && pageAnonExclusive(rm, subpage);
    let writable: boolean;
    if (hugetlb) {
      v.pmdGetAndClear(mm, address, pteval);
      v.flushTlbRange(mm, address, address + pvmw.nrPages * rm.pageSize);
      if (pteval.bits & PTE_DIRTY) folioMarkDirty(rm, folio);
      writable = (pteval.bits & PTE_WRITE) !== 0;
    } else if (present) {
      v.pteGetAndClear(mm, address, 1, pteval);
      if (flags & TTU_BATCH_FLUSH) rm.tlbUbc.push({ mm, start: address, end: address + rm.pageSize });
      else v.flushTlbRange(mm, address, address + rm.pageSize);
      if (pteval.bits & PTE_DIRTY) folioMarkDirty(rm, folio);
      writable = (pteval.bits & PTE_WRITE) !== 0;
    } else {
      ent.kind = PTE_NONE;
      ent.bits = 0;
      v.pteWrite(mm, address, ent);
      writable = pteval.kind === PTE_DEVICE_PRIVATE && (pteval.bits & PTE_WRITE) !== 0;
    }
    rm.machine.warnOn(writable && anon && !anonExclusive, 'rmap: writable anon PTE of a page that is not exclusive');
    if (folioTestFlag(rm, subpage, PG_hwpoison)) {
      ent.kind = PTE_HWPOISON;
      ent.pfn = subpage;
      ent.val = 0;
      ent.bits = 0;
      if (hugetlb) v.pmdWrite(mm, address, ent);
      else {
        mm.rssStat[mmCounter(rm, folio)] = (mm.rssStat[mmCounter(rm, folio)] as number) - 1;
        v.pteWrite(mm, address, ent);
      }
    } else if (present && pteval.bits & PTE_UNUSED && !(vma.vmFlags & VM_UFFD_WP)) {
      mm.rssStat[mmCounter(rm, folio)] = (mm.rssStat[mmCounter(rm, folio)] as number) - 1;
    } else {
      // See folio_try_share_anon_rmap_pte(): the PTE is cleared first.
      const busy = hugetlb
        ? anonExclusive && hugetlbTryShareAnonRmap(rm, folio) !== 0
        : anonExclusive && folioTryShareAnonRmapPte(rm, folio, subpage) !== 0;
      if (busy) {
        if (hugetlb) v.pmdWrite(mm, address, pteval);
        else v.pteWrite(mm, address, pteval);
        ret = false;
        pageVmaMappedWalkDone(pvmw);
        break;
      }
      ent.kind = PTE_MIGRATION;
      ent.pfn = subpage;
      ent.val = 0;
      ent.bits = writable ? PTE_MIGRATION_WRITE : anonExclusive ? PTE_SWP_EXCLUSIVE : 0;
      if (present) {
        if (pteval.bits & PTE_YOUNG) ent.bits |= PTE_YOUNG;
        if (pteval.bits & PTE_DIRTY) ent.bits |= PTE_DIRTY;
      }
      ent.bits |= pteval.bits & (PTE_SOFT_DIRTY | PTE_UFFD_WP);
      if (hugetlb) v.pmdWrite(mm, address, ent);
      else v.pteWrite(mm, address, ent);
    }
    if (hugetlb) hugetlbRemoveRmap(rm, folio);
    else folioRemoveRmapPte(rm, folio, subpage, vma);
    folioPut(rm, folio);
  }
  return ret;
}

/** @kernel vma_is_temporary_stack (include/linux/mm.h) via invalid_migration_vma (mm/rmap.c) */
function invalidMigrationVma(vma: RmapVma): boolean {
  if (!(vma.vmFlags & VM_GROWSDOWN)) return false;
  return (vma.vmFlags & VM_STACK_INCOMPLETE_SETUP) === VM_STACK_INCOMPLETE_SETUP;
}

/**
 * Try to replace every page-table mapping of `folio` (locked, referenced)
 * with migration entries. Allowed flags: TTU_RMAP_LOCKED,
 * TTU_SPLIT_HUGE_PMD, TTU_SYNC, TTU_BATCH_FLUSH.
 * @kernel try_to_migrate (mm/rmap.c)
 */
export function tryToMigrate(
  rm: FolioRmap,
  folio: number,
  flags: number,
): RmapWalkControl<{
  /** The `TTU_*` flags the walk was started with. */
  flags: number;
}> {
  if (flags & ~(TTU_RMAP_LOCKED | TTU_SPLIT_HUGE_PMD | TTU_SYNC | TTU_BATCH_FLUSH)) {
    throw new FolioError('EINVAL', folio, `rmap: try_to_migrate with flags ${flags.toString(16)}`);
  }
  const rwc: RmapWalkControl<{ flags: number }> = {
    arg: { flags },
    tryLock: false,
    contended: false,
    wouldBlock: false,
    rmapOne: tryToMigrateOne,
    done: (r, f) => !folioMapped(r, f),
    anonLock: folioLockAnonVmaRead,
    invalidVma: !folioTestKsm(rm, folio) && folioTestAnon(rm, folio) ? invalidMigrationVma : null,
  };
  if (flags & TTU_RMAP_LOCKED) rmapWalkLocked(rm, folio, rwc);
  else rmapWalk(rm, folio, rwc);
  return rwc;
}
