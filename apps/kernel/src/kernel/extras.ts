/**
 * DOC: GUP pins, device-exclusive entries and userfaultfd write protection.
 *
 * - `pinUserPage` is `pin_user_pages(FOLL_WRITE | FOLL_LONGTERM)` of one
 *   page: fault it in writable and pin its folio (the mm gets
 *   MMF_HAS_PINNED), so fork must copy it for the child
 *   (`folio_try_dup_anon_rmap_*` fails for a maybe-pinned exclusive page).
 * - `makeDeviceExclusive` replaces a present anonymous PTE by a
 *   device-exclusive entry (`make_device_exclusive`); a CPU access faults
 *   and `remove_device_exclusive_entry` restores it.
 * - `uffdRegisterWp` / `uffdWriteprotect` are UFFDIO_REGISTER with
 *   UFFDIO_REGISTER_MODE_WP and UFFDIO_WRITEPROTECT: protected entries get
 *   the uffd-wp bit (and, with UFFD_FEATURE_WP_UNPOPULATED, empty entries a
 *   uffd-wp marker); a write to one is a typed `UFFD_WP` fault.
 */
import { folioMaybeDmaPinned, folioPin, folioUnpin, MMF_HAS_PINNED, pageFolio } from '@mm/folio-rmap';
import { EFAULT, EINVAL } from '@mm/machine';
import {
  MM_CP_UFFD_WP,
  MM_CP_UFFD_WP_RESOLVE,
  type MmPgtables,
  PMD_LEVEL,
  PteVal,
  pteOffsetMapLock,
  ptepGet,
  pteUnmapUnlock,
  SwpEntry,
  setPteAt,
} from '@mm/pgtable-arch';
import type { MmStruct, UserfaultfdCtx } from '../mm/mm-types.js';
import { VM_UFFD_WP, VM_WRITE } from '../mm/vm-flags.js';
import { findVma, vmaList } from '../mm/vma.js';
import { FAULT_FLAG_WRITE, type Kernel } from './kernel.js';

const pv = new PteVal();
const pv2 = new PteVal();
const ent = new SwpEntry();
let nextUffdId = 1;

/** The PFN mapped at `addr` after faulting it in (`write`: writable), or a negative errno. */
function faultInPfn(k: Kernel, mm: MmStruct, addr: number, write: boolean): number {
  const vma = findVma(mm, addr);
  if (vma === null || vma.vmStart > addr) return -EFAULT;
  if (write && (vma.vmFlags & VM_WRITE) === 0) return -EFAULT;
  const page = addr - (addr % k.pageSize);
  for (let i = 0; i < 4 && !k.pageMapped(vma, page, write); i++) {
    if (k.handleMmFault(vma, page, write ? FAULT_FLAG_WRITE : 0) !== 0) return -EFAULT;
  }
  const pgt = mm.pgt as MmPgtables;
  const pmdp = k.pt.lookup(pgt, PMD_LEVEL, page);
  if (pmdp < 0) return -EFAULT;
  const c = k.pt.codec;
  const pmd = k.pt.readEntry(PMD_LEVEL, pmdp, pv);
  if (c.pmdLeaf(pmd)) return c.pmdPfn(pmd) + (page % k.pmdSize) / k.pageSize;
  const ptep = pteOffsetMapLock(pgt, pmdp, page);
  if (ptep < 0) return -EFAULT;
  const pte = ptepGet(pgt, ptep, pv2);
  const pfn = c.ptePresent(pte) ? c.ptePfn(pte) : -EFAULT;
  pteUnmapUnlock(pgt, ptep);
  return pfn;
}

/**
 * Pin the page at `addr` for DMA (FOLL_PIN | FOLL_WRITE | FOLL_LONGTERM).
 * @returns the pinned PFN, or -EFAULT.
 * @kernel pin_user_pages (mm/gup.c)
 */
export function pinUserPage(k: Kernel, mm: MmStruct, addr: number): number {
  const pfn = faultInPfn(k, mm, addr, true);
  if (pfn < 0) return pfn;
  mm.mmFlags |= MMF_HAS_PINNED;
  folioPin(k.rm, pageFolio(k.rm, pfn), 1, mm as never);
  return pfn;
}

/** Drop a pin taken by {@link pinUserPage}. @kernel unpin_user_page (mm/gup.c) */
export function unpinUserPage(k: Kernel, pfn: number): void {
  const folio = pageFolio(k.rm, pfn);
  if (!folioMaybeDmaPinned(k.rm, folio)) throw new Error(`EINVAL: pfn ${pfn} is not pinned`);
  folioUnpin(k.rm, folio, 1);
}

/**
 * Make the anonymous page at `addr` device-exclusive.
 * @returns 0, -EFAULT, or -EINVAL (not a private anonymous page).
 * @kernel make_device_exclusive (mm/rmap.c)
 */
export function makeDeviceExclusive(k: Kernel, mm: MmStruct, addr: number): number {
  const vma = findVma(mm, addr);
  if (vma === null || vma.vmStart > addr || vma.vmOps !== null) return vma === null ? -EFAULT : -EINVAL;
  // split a PMD mapping first: device-exclusive entries are PTEs
  k.splitHugePmd(vma, addr);
  const pfn = faultInPfn(k, mm, addr, true);
  if (pfn < 0) return pfn;
  const pgt = mm.pgt as MmPgtables;
  const page = addr - (addr % k.pageSize);
  const pmdp = k.pt.lookup(pgt, PMD_LEVEL, page);
  const ptep = pteOffsetMapLock(pgt, pmdp, page);
  k.pt.swap.makeDeviceExclusiveEntry(ent, pfn);
  k.pt.swap.swpEntryToPte(ent, pv);
  setPteAt(pgt, page, ptep, pv);
  pteUnmapUnlock(pgt, ptep);
  k.machine.mmu.flushTlbPage(pgt.as, page);
  return 0;
}

/**
 * Register `[start, start + len)` (whole VMAs) for userfaultfd write protection.
 * @returns 0 or -EINVAL.
 * @kernel userfaultfd_register (fs/userfaultfd.c)
 */
export function uffdRegisterWp(k: Kernel, mm: MmStruct, start: number, len: number, wpUnpopulated: boolean): number {
  const end = start + len;
  const vmas = vmaList(mm).filter((v) => v.vmEnd > start && v.vmStart < end);
  if (vmas.length === 0 || vmas[0]!.vmStart !== start || vmas[vmas.length - 1]!.vmEnd !== end) return -EINVAL;
  for (let i = 1; i < vmas.length; i++) if (vmas[i]!.vmStart !== vmas[i - 1]!.vmEnd) return -EINVAL;
  const ctx: UserfaultfdCtx = { id: nextUffdId++, wpUnpopulated };
  for (const v of vmas) {
    if (v.vmOps !== null && v.vmFile === null) return -EINVAL;
  }
  for (const v of vmas) {
    v.vmFlags |= VM_UFFD_WP;
    v.vmUserfaultfdCtx = ctx;
  }
  void k;
  return 0;
}

/**
 * Write-protect (or resolve) `[start, start + len)` of registered VMAs.
 * @returns 0 or -ENOENT / -EINVAL.
 * @kernel mwriteprotect_range (mm/userfaultfd.c)
 */
export function uffdWriteprotect(k: Kernel, mm: MmStruct, start: number, len: number, wp: boolean): number {
  const end = start + len;
  const vmas = vmaList(mm).filter((v) => v.vmEnd > start && v.vmStart < end);
  if (vmas.some((v) => (v.vmFlags & VM_UFFD_WP) === 0)) return -2;
  for (const v of vmas) {
    const s = Math.max(start, v.vmStart);
    const e = Math.min(end, v.vmEnd);
    if (wp && v.uffdWpUseMarkers) {
      // markers on the empty entries (the tables are populated for them)
      k.installMarkers(v, s, e, 'uffd-wp');
      continue;
    }
    const tlb = k.ptOps.tlbGatherMmu(mm);
    k.ptOps.changeProtection(tlb, v, s, e, wp ? MM_CP_UFFD_WP : MM_CP_UFFD_WP_RESOLVE);
    k.ptOps.tlbFinishMmu(tlb);
    if (!wp) k.removeMarkers(v, s, e, 'uffd-wp');
  }
  return 0;
}
