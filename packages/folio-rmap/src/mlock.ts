/**
 * DOC: the mlock side of the rmap.
 *
 * Adding the last missing mapping of a folio in a VM_LOCKED VMA mlocks it;
 * removing any mapping from a VM_LOCKED VMA munlocks it ("reclaim will
 * correct it if it's wrong"). The LRU side (the unevictable list and
 * `mlock_count`) belongs to the composer through the `mlockFolio` /
 * `munlockFolio` hooks; without them the folio's PG_mlocked flag and the
 * zone's NR_MLOCK count are kept here, as `mlock_folio()` does for a folio
 * that is not on an LRU list.
 */
import { NR_MLOCK, PG_head, PG_mlocked } from '@mm/machine';
import type { FolioRmap } from './env.js';
import { type RmapVma, VM_LOCKED, VM_SPECIAL } from './vma.js';

/**
 * Mark the folio mlocked (PG_mlocked, NR_MLOCK).
 * @kernel mlock_folio (mm/mlock.c)
 */
export function mlockFolio(rm: FolioRmap, folio: number): void {
  const hook = rm.hooks.mlockFolio;
  if (hook !== undefined) {
    hook(folio);
    return;
  }
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const f = s.flags[i] as number;
  if (f & (1 << PG_mlocked)) return;
  s.flags[i] = f | (1 << PG_mlocked);
  const nr = f & (1 << PG_head) ? 1 << (s.order[i] as number) : 1;
  rm.mem.vmstat.modZonePageState(rm.machine.currentCpu, rm.mem.pageZone(folio), NR_MLOCK, nr);
}

/**
 * Clear PG_mlocked and NR_MLOCK (assuming this was the last mlocked mapping).
 * @kernel munlock_folio (mm/mlock.c)
 */
export function munlockFolio(rm: FolioRmap, folio: number): void {
  const hook = rm.hooks.munlockFolio;
  if (hook !== undefined) {
    hook(folio);
    return;
  }
  const s = rm.sec(folio);
  const i = folio & rm.mask;
  const f = s.flags[i] as number;
  if (!(f & (1 << PG_mlocked))) return;
  s.flags[i] = f & ~(1 << PG_mlocked);
  const nr = f & (1 << PG_head) ? 1 << (s.order[i] as number) : 1;
  rm.mem.vmstat.modZonePageState(rm.machine.currentCpu, rm.mem.pageZone(folio), NR_MLOCK, -nr);
}

/**
 * mlock the folio if `vma` is VM_LOCKED and not VM_SPECIAL.
 * @kernel mlock_vma_folio (mm/internal.h)
 */
export function mlockVmaFolio(rm: FolioRmap, folio: number, vma: RmapVma): void {
  if ((vma.vmFlags & (VM_LOCKED | VM_SPECIAL)) === VM_LOCKED) mlockFolio(rm, folio);
}

/**
 * munlock the folio if `vma` is VM_LOCKED.
 * @kernel munlock_vma_folio (mm/internal.h)
 */
export function munlockVmaFolio(rm: FolioRmap, folio: number, vma: RmapVma): void {
  if (vma.vmFlags & VM_LOCKED) munlockFolio(rm, folio);
}
