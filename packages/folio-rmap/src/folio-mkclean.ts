/**
 * DOC: folio_mkclean: write-protect and clean every shared-file mapping of a
 * folio before writeback (`folio_clear_dirty_for_io`), so the next write
 * faults and dirties the folio again. Only VM_SHARED VMAs are walked, with
 * PVMW_SYNC; non-present entries are skipped. Returns the number of entries
 * cleaned.
 */

import { folioMapping } from './address-space.js';
import type { FolioRmap } from './env.js';
import { FolioError } from './errors.js';
import { folioMapped, folioTestLocked } from './folio.js';
import { folioVmaWalkScratch, PVMW_SYNC, pageVmaMappedWalk } from './page-vma-mapped.js';
import { type PgtableView, PTE_DIRTY, PTE_PRESENT, PTE_WRITE, PtEntry } from './pgtable-view.js';
import { type RmapWalkControl, rmapWalk } from './rmap-walk.js';
import { type RmapVma, VM_SHARED } from './vma.js';

const e = new PtEntry();

/** @kernel page_vma_mkclean_one / page_mkclean_one (mm/rmap.c) */
function pageMkcleanOne(rm: FolioRmap, folio: number, vma: RmapVma, address: number, cleaned: { n: number }): boolean {
  const v = rm.pgtable as PgtableView;
  const mm = vma.vmMm;
  const pvmw = folioVmaWalkScratch(rm, folio, vma, address, PVMW_SYNC);
  while (pageVmaMappedWalk(rm, pvmw)) {
    const a = pvmw.address;
    const entry = pvmw.entry;
    if (entry.kind !== PTE_PRESENT) continue;
    if (!(entry.bits & (PTE_DIRTY | PTE_WRITE))) continue;
    if (pvmw.pte) {
      v.pteGetAndClear(mm, a, 1, e); // ptep_clear_flush
      v.flushTlbRange(mm, a, a + rm.pageSize);
      e.bits &= ~(PTE_DIRTY | PTE_WRITE);
      v.pteWrite(mm, a, e);
    } else {
      v.pmdGetAndClear(mm, a, e); // pmdp_invalidate
      v.flushTlbRange(mm, a, a + rm.pageSize * rm.hpagePmdNr);
      e.bits &= ~(PTE_DIRTY | PTE_WRITE);
      v.pmdWrite(mm, a, e);
    }
    cleaned.n++;
  }
  return true;
}

/** @kernel invalid_mkclean_vma (mm/rmap.c) */
function invalidMkcleanVma(vma: RmapVma): boolean {
  return !(vma.vmFlags & VM_SHARED);
}

/**
 * Clean and write-protect the PTEs/PMDs of shared mappings of a locked folio.
 * @kernel folio_mkclean (mm/rmap.c)
 */
export function folioMkclean(rm: FolioRmap, folio: number): number {
  if (!folioTestLocked(rm, folio))
    throw new FolioError('EINVAL', folio, `rmap: folio_mkclean of unlocked folio ${folio}`);
  if (!folioMapped(rm, folio)) return 0;
  if (folioMapping(rm, folio) === null) return 0;
  const cleaned = { n: 0 };
  const rwc: RmapWalkControl<{ n: number }> = {
    arg: cleaned,
    tryLock: false,
    contended: false,
    wouldBlock: false,
    rmapOne: pageMkcleanOne,
    done: null,
    anonLock: null,
    invalidVma: invalidMkcleanVma,
  };
  rmapWalk(rm, folio, rwc);
  return cleaned.n;
}
