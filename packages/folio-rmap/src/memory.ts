/**
 * DOC: the rmap-facing decisions of the fault path (mm/memory.c): whether a
 * write fault on a read-only anon PTE may reuse the folio instead of
 * copying it (CoW reuse), and which folio a PTE maps.
 *
 * A small folio is reused when we hold its only reference (after dropping
 * its swap-cache reference); it then moves to the faulting VMA's anon_vma.
 * A large folio (v6.15, MM owner tracking for large folios) is reused when MM owner tracking says it
 * is mapped exclusively (not "maybe mapped shared", more than one mapping)
 * and every reference is a mapping — all in our page tables.
 */
import { PG_swapcache } from '@mm/machine';
import type { FolioRmap } from './env.js';
import {
  folioLargeMapcount,
  folioRefCount,
  folioTestFlag,
  folioTestKsm,
  folioTestLarge,
  folioTrylock,
  folioUnlock,
  pageFolio,
} from './folio.js';
import { folioLockLargeMapcount, folioMmId, folioTestMmIdsShared, folioUnlockLargeMapcount } from './mm-id.js';
import { PTE_PRESENT, PTE_SPECIAL, type PtEntry } from './pgtable-view.js';
import { folioMoveAnonRmap } from './rmap.js';
import type { RmapVma } from './vma.js';

function folioFreeSwap(rm: FolioRmap, folio: number): void {
  const hook = rm.hooks.folioFreeSwap;
  if (hook !== undefined) hook(folio);
}

/** @kernel __wp_can_reuse_large_anon_folio (mm/memory.c) */
function wpCanReuseLargeAnonFolio(rm: FolioRmap, folio: number, vma: RmapVma): boolean {
  // Better copy and let a big folio mapped by a single page be freed.
  if (folioLargeMapcount(rm, folio) <= 1) return false;
  // All references from mappings, all mappings in our page tables: exclusive.
  if (folioTestMmIdsShared(rm, folio)) return false;
  rm.machine.warnOn(folioTestKsm(rm, folio), 'memory: KSM large folio');
  if (folioTestFlag(rm, folio, PG_swapcache)) {
    if (!folioTrylock(rm, folio)) return false;
    folioFreeSwap(rm, folio);
    folioUnlock(rm, folio);
  }
  if (folioLargeMapcount(rm, folio) !== folioRefCount(rm, folio)) return false;
  // Stabilize the mapcount against the refcount and recheck.
  folioLockLargeMapcount(rm, folio);
  let exclusive = false;
  if (!folioTestMmIdsShared(rm, folio) && folioLargeMapcount(rm, folio) === folioRefCount(rm, folio)) {
    const id = vma.vmMm.mmId;
    rm.machine.warnOn(
      folioMmId(rm, folio, 0) !== id && folioMmId(rm, folio, 1) !== id,
      'memory: exclusive large folio not owned by the faulting mm',
    );
    exclusive = true;
  }
  folioUnlockLargeMapcount(rm, folio);
  return exclusive;
}

/**
 * Whether a write fault on a read-only PTE of `folio` in `vma` may reuse the
 * folio (make the PTE writable) rather than copy it. For a small folio this
 * also moves it into `vma`'s anon_vma (`folio_move_anon_rmap`).
 * The caller sets PageAnonExclusive on the faulting page when it reuses.
 * @kernel wp_can_reuse_anon_folio (mm/memory.c)
 */
export function wpCanReuseAnonFolio(rm: FolioRmap, folio: number, vma: RmapVma): boolean {
  if (folioTestLarge(rm, folio)) return wpCanReuseLargeAnonFolio(rm, folio, vma);
  if (folioTestKsm(rm, folio) || folioRefCount(rm, folio) > 3) return false;
  // (!folio_test_lru: lru_add_drain() would drop a per-CPU LRU batch's
  // reference; the composer's LRU does that before the fault reaches here.)
  if (folioRefCount(rm, folio) > 1 + (folioTestFlag(rm, folio, PG_swapcache) ? 1 : 0)) return false;
  if (!folioTrylock(rm, folio)) return false;
  if (folioTestFlag(rm, folio, PG_swapcache)) folioFreeSwap(rm, folio);
  if (folioTestKsm(rm, folio) || folioRefCount(rm, folio) !== 1) {
    folioUnlock(rm, folio);
    return false;
  }
  // Our mapping holds the only reference and the folio is locked: reuse.
  folioMoveAnonRmap(rm, folio, vma);
  folioUnlock(rm, folio);
  return true;
}

/**
 * The folio a present PTE maps, or -1 for special mappings (pte_special,
 * the shared zero page `zeroPfn`, a PFN without memmap).
 * @kernel vm_normal_folio / vm_normal_page (mm/memory.c)
 */
export function vmNormalFolio(rm: FolioRmap, _vma: RmapVma, _addr: number, pte: PtEntry, zeroPfn = -1): number {
  if (pte.kind !== PTE_PRESENT) return -1;
  if (pte.bits & PTE_SPECIAL) return -1;
  if (pte.pfn === zeroPfn) return -1;
  if (!rm.memmap.pfnValid(pte.pfn) || rm.sections[pte.pfn >>> rm.shift] === undefined) return -1;
  return pageFolio(rm, pte.pfn);
}
