/**
 * DOC: shmem THP (mm/shmem.c) and the file PMD mapping (mm/memory.c).
 *
 * - Which shmem faults may allocate a PMD-sized folio in the page cache:
 *   `/sys/kernel/mm/transparent_hugepage/shmem_enabled` (`deny` and `force`
 *   override everything; otherwise it is the `huge=` option of the internal
 *   mount behind shared anonymous memory), the tmpfs mount's own `huge=`
 *   option for tmpfs files, and for shared anonymous memory the per-size
 *   `hugepages-<size>kB/shmem_enabled` (`inherit` follows the top level).
 *   The folio must also fit the VMA with its file offset PMD-aligned
 *   (`thp_vma_suitable_order`) and no page of its range may be cached yet.
 * - `do_set_pmd` maps a PMD-sized cached folio with one PMD (no deposited
 *   table on x86-64 and arm64), counted in the rmap with
 *   `folio_add_file_rmap_pmd` and in MM_SHMEMPAGES.
 * - A file PMD is never split into PTEs: splitting it clears it and the
 *   next fault maps the pages again (`__split_huge_pmd_locked` for a
 *   non-anonymous VMA); fork does not copy it.
 */
import { folioAddFileRmapPmd, folioNrPages, folioRefAdd, folioRemoveRmapPmd, pageFolio } from '@mm/folio-rmap';
import { type MmPgtables, PTE_LEVEL, PteVal, pmdpGet, pmdpHugeClearFlush, setPmdAt } from '@mm/pgtable-arch';
import type { Inode } from '../mm/file.js';
import type { VmAreaStruct } from '../mm/mm-types.js';
import { VM_HUGEPAGE, VM_NOHUGEPAGE, VM_WRITE } from '../mm/vm-flags.js';
import { VM_FAULT_FALLBACK } from './huge-memory.js';
import type { Kernel } from './kernel.js';
import type { PageCacheMapping } from './page-cache.js';
import { mmCounter } from './pt-ops.js';
import { rmapVma } from './rmap-anon-vma.js';

/** A `shmem_enabled` value (the top-level file; `deny` and `force` are for testing in the kernel too). */
export type ShmemEnabled = 'always' | 'within_size' | 'advise' | 'never' | 'deny' | 'force';
/** A per-size `hugepages-<size>kB/shmem_enabled` value. */
export type ShmemMthpEnabled = 'always' | 'inherit' | 'within_size' | 'advise' | 'never';
/** A tmpfs mount's `huge=` option. */
export type TmpfsHuge = 'always' | 'within_size' | 'advise' | 'never';

/** The top-level `shmem_enabled` choices in the order the file lists them. */
export const SHMEM_ENABLED_VALUES: readonly ShmemEnabled[] = [
  'always',
  'within_size',
  'advise',
  'never',
  'deny',
  'force',
];
/** The per-size `shmem_enabled` choices in the order the file lists them. */
export const SHMEM_MTHP_VALUES: readonly ShmemMthpEnabled[] = ['always', 'inherit', 'within_size', 'advise', 'never'];

const pv = new PteVal();

/** The unlinked shmem file of a shared anonymous mapping. @kernel vma_is_anon_shmem (mm/shmem.c) */
export function vmaIsAnonShmem(vma: VmAreaStruct): boolean {
  return vma.vmFile !== null && vma.vmFile.path === '/dev/zero (deleted)';
}

/**
 * Whether a folio of `nr` pages ending at the aligned index after `index`
 * lies within the file's size.
 * @kernel shmem_get_orders_within_size (mm/shmem.c)
 */
function withinSize(k: Kernel, inode: Inode, index: number): boolean {
  const nr = k.hpageNr;
  const aligned = Math.ceil((index + 1) / nr) * nr;
  return aligned * k.pageSize <= inode.iSize;
}

/**
 * The mount-level answer: `deny` / `force`, else the mount's `huge=`
 * (the internal mount follows `shmem_enabled`; tmpfs files have their own).
 * @kernel shmem_huge_global_enabled (mm/shmem.c)
 */
function shmemHugeGlobalEnabled(k: Kernel, vma: VmAreaStruct, inode: Inode, index: number): boolean {
  if (k.shmemEnabled === 'deny') return false;
  if (k.shmemEnabled === 'force') return true;
  const huge: ShmemEnabled = vmaIsAnonShmem(vma) ? k.shmemEnabled : k.tmpfsHuge;
  const advised = (vma.vmFlags & VM_HUGEPAGE) !== 0;
  if (huge === 'always') return true;
  if (huge === 'within_size') return withinSize(k, inode, index) || advised;
  if (huge === 'advise') return advised;
  return false;
}

/**
 * Whether a fault at `index` of `vma` may allocate a PMD-sized shmem folio
 * (the PMD order of the allowed orders; smaller shmem mTHP sizes are not
 * modelled).
 * @kernel shmem_allowable_huge_orders (mm/shmem.c)
 */
export function shmemAllowsPmdOrder(k: Kernel, vma: VmAreaStruct, inode: Inode, index: number): boolean {
  if ((vma.vmFlags & VM_NOHUGEPAGE) !== 0) return false; // vma_thp_disabled()
  const global = shmemHugeGlobalEnabled(k, vma, inode, index);
  if (!vmaIsAnonShmem(vma)) return global;
  if (k.shmemEnabled === 'deny') return false;
  const e = k.shmemMthpEnabled[Math.log2(k.hpageNr)]!;
  if (k.shmemEnabled === 'force') return e === 'inherit';
  if (e === 'always') return true;
  if (e === 'within_size' && withinSize(k, inode, index)) return true;
  if (e === 'advise' && (vma.vmFlags & VM_HUGEPAGE) !== 0) return true;
  return e === 'inherit' && global;
}

/**
 * Whether a PMD-sized folio for `index` fits `vma` at `addr`: inside the
 * VMA with the file offset PMD-aligned.
 * @kernel thp_vma_suitable_order (include/linux/huge_mm.h)
 */
export function fileThpSuitable(k: Kernel, vma: VmAreaStruct, addr: number): boolean {
  if ((vma.vmStart / k.pageSize - vma.vmPgoff) % k.hpageNr !== 0) return false;
  const haddr = addr - (addr % k.pmdSize);
  return haddr >= vma.vmStart && haddr + k.pmdSize <= vma.vmEnd;
}

/**
 * The folio order a shmem fault at `addr` (file index `index`) allocates if
 * nothing is cached there: PMD order when allowed and suitable, else 0.
 * @kernel shmem_allowable_huge_orders + shmem_suitable_orders (mm/shmem.c)
 */
export function shmemFaultOrder(
  k: Kernel,
  vma: VmAreaStruct,
  m: PageCacheMapping,
  index: number,
  addr: number,
): number {
  if (!m.shmem || !shmemAllowsPmdOrder(k, vma, m.inode, index) || !fileThpSuitable(k, vma, addr)) return 0;
  return Math.log2(k.hpageNr);
}

/**
 * Map the PMD-sized cached folio of `page` with one PMD at `addr` (writable
 * and dirty on a write fault to a writable VMA).
 * @returns 0, or VM_FAULT_FALLBACK (map PTEs).
 * @kernel do_set_pmd (mm/memory.c)
 */
export function doSetPmd(
  k: Kernel,
  vma: VmAreaStruct,
  addr: number,
  pmdp: number,
  page: number,
  write: boolean,
): number {
  const rm = k.rm;
  if ((vma.vmFlags & VM_NOHUGEPAGE) !== 0) return VM_FAULT_FALLBACK; // vma_thp_disabled(forced_collapse)
  if (!fileThpSuitable(k, vma, addr)) return VM_FAULT_FALLBACK;
  const folio = pageFolio(rm, page);
  if (folioNrPages(rm, folio) !== k.hpageNr) return VM_FAULT_FALLBACK;
  const pgt = vma.vmMm.pgt as MmPgtables;
  const c = k.pt.codec;
  const haddr = addr - (addr % k.pmdSize);
  k.pt.pmdLock(pgt, pmdp);
  if (!c.pmdNone(pmdpGet(pgt, pmdp, pv))) {
    k.pt.pmdUnlock(pgt, pmdp);
    return VM_FAULT_FALLBACK;
  }
  c.pfnPmd(pv, folio, vma.pageProt);
  c.pmdMkhuge(pv);
  if (write) {
    c.pteMkdirty(pv);
    if ((vma.vmFlags & VM_WRITE) !== 0) c.pteMkwrite(pv);
  }
  c.pteMkyoung(pv);
  vma.vmMm.rssStat[mmCounter(rm, folio, vma)]! += k.hpageNr;
  folioAddFileRmapPmd(rm, folio, folio, rmapVma(vma));
  folioRefAdd(rm, folio, k.hpageNr);
  setPmdAt(pgt, haddr, pmdp, pv);
  k.pt.pmdUnlock(pgt, pmdp);
  k.vmEvent('thp_file_mapped');
  return 0;
}

/**
 * "Split" a file PMD: clear it (the next fault maps the pages again), drop
 * its rmap, RSS and references.
 * @kernel __split_huge_pmd_locked (mm/huge_memory.c), the !vma_is_anonymous() case
 */
export function splitFilePmd(k: Kernel, vma: VmAreaStruct, addr: number, pmdp: number): number {
  const rm = k.rm;
  const pgt = vma.vmMm.pgt as MmPgtables;
  const c = k.pt.codec;
  k.pt.pmdLock(pgt, pmdp);
  const old = pmdpHugeClearFlush(pgt, addr, pmdp, pv);
  const dep = k.pt.withdraw(pmdp); // none on x86-64 and arm64 (no arch_needs_pgtable_deposit)
  k.pt.pmdUnlock(pgt, pmdp);
  if (dep >= 0) {
    k.pt.mmIncNr(pgt, PTE_LEVEL, -1);
    k.pt.pagetableDtorFree(PTE_LEVEL, dep);
  }
  k.vmEvent('thp_split_pmd');
  if (!c.pmdPresent(old)) return 0;
  const folio = c.pmdPfn(old);
  folioRemoveRmapPmd(rm, folio, folio, rmapVma(vma));
  vma.vmMm.rssStat[mmCounter(rm, folio, vma)]! -= k.hpageNr;
  k.putFolio(folio, k.hpageNr);
  return 0;
}
