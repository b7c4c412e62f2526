/**
 * DOC: folio_referenced: how many mappings referenced a folio since the
 * last check (vmscan's `folio_check_references`), clearing the accessed
 * bits on the way.
 *
 * The walk uses a try-lock (contention returns -1) and skips VMAs without
 * recency (VM_SEQ_READ / VM_RAND_READ, FMODE_NOREUSE files; the kernel
 * commit "mm: support POSIX_FADV_NOREUSE", v6.3) and
 * VMAs of other memcgs. In a VM_LOCKED VMA it restores a missed mlock once
 * the whole folio was seen under one page-table lock and reports VM_LOCKED.
 * An exclusive swap-backed anon folio of a dying process (no users, or
 * OOM-reaped) returns -1 at once: swapping out memory that is about to be
 * freed is wasted I/O. Young PTEs are counted batch by batch (one
 * referenced mapping per VMA); PG_young from page_idle counts too.
 */
import { PG_idle, PG_young } from '@mm/machine';
import type { FolioRmap } from './env.js';
import {
  folioClearFlag,
  folioMapcount,
  folioMaybeMappedShared,
  folioNrPages,
  folioPgoff,
  folioRawMapping,
  folioTestAnon,
  folioTestFlag,
  folioTestLarge,
  folioTestSwapbacked,
  folioTrylock,
  folioUnlock,
} from './folio.js';
import { mlockVmaFolio } from './mlock.js';
import {
  folioVmaWalkScratchAt,
  PVMW_PGTABLE_CROSSED,
  pageVmaMappedWalk,
  pageVmaMappedWalkDone,
} from './page-vma-mapped.js';
import type { PgtableView } from './pgtable-view.js';
import { folioLockAnonVmaRead, type RmapWalkControl, rmapWalk } from './rmap-walk.js';
import { folioPteBatch } from './try-to-unmap.js';
import { mmIsDying, type RmapMm, type RmapVma, VM_LOCKED, vmaHasRecency } from './vma.js';

/** @kernel struct folio_referenced_arg (mm/rmap.c) */
interface FolioReferencedArg {
  mapcount: number;
  referenced: number;
  vmFlags: number;
  memcg: ((mm: RmapMm) => boolean) | null;
  /** The folio's size, offset and whether it is large, read once per walk. */
  nrPages: number;
  pgoff: number;
  large: boolean;
}

/** @kernel folio_referenced_one (mm/rmap.c) */
function folioReferencedOne(
  rm: FolioRmap,
  folio: number,
  vma: RmapVma,
  address: number,
  pra: FolioReferencedArg,
): boolean {
  const v = rm.pgtable as PgtableView;
  const pvmw = folioVmaWalkScratchAt(folio, pra.nrPages, pra.pgoff, vma, address, 0);
  const mm = vma.vmMm;
  let ptes = 0;
  let referenced = 0;
  const pmdSize = rm.pageSize * rm.hpagePmdNr;
  while (pageVmaMappedWalk(rm, pvmw)) {
    address = pvmw.address;
    let nr = 1;
    if (vma.vmFlags & VM_LOCKED) {
      ptes++;
      pra.mapcount--;
      // Only mlock fully mapped folios, all PTEs under one page-table lock.
      if (pvmw.pte && ptes !== pvmw.nrPages) continue;
      if (pvmw.flags & PVMW_PGTABLE_CROSSED) continue;
      mlockVmaFolio(rm, folio, vma);
      pageVmaMappedWalkDone(pvmw);
      pra.vmFlags |= VM_LOCKED;
      return false;
    }
    // Skip the exclusive swapbacked folio of an exiting or OOM-reaped process.
    if (
      mmIsDying(mm) &&
      folioTestAnon(rm, folio) &&
      folioTestSwapbacked(rm, folio) &&
      !folioMaybeMappedShared(rm, folio)
    ) {
      pra.referenced = -1;
      pageVmaMappedWalkDone(pvmw);
      return false;
    }
    if (pvmw.pte && pra.large) {
      let end = Math.floor(address / pmdSize) * pmdSize + pmdSize;
      if (end > vma.vmEnd) end = vma.vmEnd;
      nr = folioPteBatch(rm, folio, mm, address, pvmw.entry, (end - address) / rm.pageSize, 0);
    }
    if (pvmw.pte) {
      if (v.pteClearFlushYoung(mm, address, nr)) referenced++;
    } else if (v.pmdClearFlushYoung(mm, address)) {
      referenced++;
    }
    ptes += nr;
    pra.mapcount -= nr;
    // The whole folio was batched: stop right here.
    if (ptes === pvmw.nrPages) {
      pageVmaMappedWalkDone(pvmw);
      break;
    }
    pvmw.address += (nr - 1) * rm.pageSize;
  }
  if (referenced) folioClearFlag(rm, folio, PG_idle);
  if (folioTestFlag(rm, folio, PG_young)) {
    folioClearFlag(rm, folio, PG_young);
    referenced++;
  }
  if (referenced) {
    pra.referenced++;
    pra.vmFlags |= vma.vmFlags & ~VM_LOCKED;
  }
  return pra.mapcount !== 0;
}

/** @kernel invalid_folio_referenced_vma (mm/rmap.c) */
function invalidFolioReferencedVma(vma: RmapVma, pra: FolioReferencedArg): boolean {
  // No recency: if the folio was used elsewhere that mapping tells; if that
  // mapping is gone, the unmap path set the referenced flag.
  if (!vmaHasRecency(vma)) return true;
  if (pra.memcg !== null && !pra.memcg(vma.vmMm)) return true;
  return false;
}

// Reused by every call (folio_referenced does not nest): no allocation per walk.
const referencedArg: FolioReferencedArg = {
  mapcount: 0,
  referenced: 0,
  vmFlags: 0,
  memcg: null,
  nrPages: 1,
  pgoff: 0,
  large: false,
};
const referencedRwc: RmapWalkControl<FolioReferencedArg> = {
  arg: referencedArg,
  tryLock: true,
  contended: false,
  wouldBlock: false,
  rmapOne: folioReferencedOne,
  done: null,
  anonLock: folioLockAnonVmaRead,
  invalidVma: invalidFolioReferencedVma,
};

/**
 * The number of mappings that referenced `folio` (clearing their accessed
 * bits), -1 on rmap lock contention or for a dying process's exclusive anon
 * folio; `out.vmFlags` gets the union of those VMAs' flags (VM_LOCKED when
 * an mlocked VMA maps the whole folio). `memcg`, when given, says which mms
 * belong to the memcg being reclaimed. An unlocked file folio that cannot be
 * trylocked counts as referenced (1).
 * @kernel folio_referenced (mm/rmap.c)
 */
export function folioReferenced(
  rm: FolioRmap,
  folio: number,
  isLocked: boolean,
  memcg: ((mm: RmapMm) => boolean) | null = null,
  out: { vmFlags: number } | null = null,
): number {
  const pra = referencedArg;
  pra.mapcount = folioMapcount(rm, folio);
  pra.referenced = 0;
  pra.vmFlags = 0;
  pra.memcg = memcg;
  pra.nrPages = folioNrPages(rm, folio);
  pra.pgoff = folioPgoff(rm, folio);
  pra.large = folioTestLarge(rm, folio);
  if (out !== null) out.vmFlags = 0;
  if (pra.mapcount === 0) return 0;
  if (folioRawMapping(rm, folio) === 0) return 0;
  let weLocked = false;
  if (!isLocked) {
    weLocked = folioTrylock(rm, folio);
    if (!weLocked) return 1;
  }
  const rwc = referencedRwc;
  rwc.contended = false;
  rwc.wouldBlock = false;
  rmapWalk(rm, folio, rwc);
  if (out !== null) out.vmFlags = pra.vmFlags;
  if (weLocked) folioUnlock(rm, folio);
  return rwc.contended ? -1 : pra.referenced;
}
