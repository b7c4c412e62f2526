/**
 * DOC: the reverse map of file folios, and what it is for: finding every
 * PTE that maps a page-cache folio, in every process, from the folio alone.
 *
 * A file folio's `folio->mapping` is its inode's `address_space`, whose
 * `i_mmap` interval tree (`@mm/folio-rmap`) holds every VMA mapping the
 * file by page-offset range; `rmap_walk_file` visits the VMAs whose range
 * contains the folio's index, and `page_vma_mapped_walk` finds the PTE in
 * each. On top of it: `folio_referenced` (reclaim's accessed-bit harvest),
 * `try_to_unmap` (remove every mapping), `folio_mkclean` (write-protect and
 * clean the shared mappings before writeback).
 *
 * Truncation goes the other way, by file range: `unmap_mapping_range` walks
 * i_mmap over the page offsets being removed and zaps them in each VMA
 * (`even_cows`: also the private CoW copies, as truncation does; hole
 * punching keeps them), then the page cache drops the folios. A fault on a
 * page at or beyond `i_size` afterwards gets SIGBUS (`do_fault`'s check,
 * shmem_get_folio's -EINVAL → VM_FAULT_SIGBUS).
 */
import {
  folioMapped,
  folioMkclean,
  folioNrPages,
  folioReferenced,
  folioTestAnon,
  folioTrylock,
  folioUnlock,
  type RmapVma,
  type RmapWalkControl,
  rmapWalk,
  TTU_IGNORE_MLOCK,
  tryToUnmap,
} from '@mm/folio-rmap';
import { EAGAIN, EBADF, EBUSY, EINVAL, EOPNOTSUPP, EPERM, ETXTBSY } from '@mm/machine';
import { type MmPgtables, PMD_LEVEL, PteVal, pmdpGet } from '@mm/pgtable-arch';
import { type AddressSpace, type File, FMODE_WRITE, iMmapVmas, S_APPEND, S_IFREG, S_SWAPFILE } from '../mm/file.js';
import type { VmAreaStruct } from '../mm/mm-types.js';
import { VM_LOCKED } from '../mm/vm-flags.js';
import type { Kernel } from './kernel.js';
import { splitFilePmd } from './shmem-huge.js';

/** `EFBIG`: the new size is larger than the file system allows. */
export const EFBIG = 27;
/** `fallocate()` mode: do not change the file size. @kernel FALLOC_FL_KEEP_SIZE (include/uapi/linux/falloc.h) */
export const FALLOC_FL_KEEP_SIZE = 0x01;
/** `fallocate()` mode: deallocate the range (with KEEP_SIZE). @kernel FALLOC_FL_PUNCH_HOLE */
export const FALLOC_FL_PUNCH_HOLE = 0x02;
/** `MAX_LFS_FILESIZE` as far as a JavaScript number reaches (tmpfs's `s_maxbytes`). */
const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
/** The file-type bits of `i_mode`. */
const S_IFMT = 0o170000;

/**
 * Zap the pages of [first, last] (page offsets of `mapping`) in every VMA
 * mapping them, found through the i_mmap interval tree; with `evenCows`
 * also the anonymous CoW copies private mappings made of them.
 * @returns the number of VMAs zapped.
 * @kernel unmap_mapping_pages / unmap_mapping_range_tree / zap_page_range_single (mm/memory.c)
 */
export function unmapMappingPages(
  k: Kernel,
  mapping: AddressSpace,
  first: number,
  nr: number,
  evenCows: boolean,
): number {
  const last = nr === 0 ? Number.MAX_SAFE_INTEGER : first + nr - 1;
  const pt = k.ptOps;
  let n = 0;
  for (const vma of iMmapVmas(mapping, first, last)) {
    const vba = vma.vmPgoff;
    const vea = vba + (vma.vmEnd - vma.vmStart) / k.pageSize - 1;
    const zba = Math.max(first, vba);
    const zea = Math.min(last, vea);
    const start = vma.vmStart + (zba - vba) * k.pageSize;
    const end = start + (zea - zba + 1) * k.pageSize;
    const tlb = pt.tlbGatherMmu(vma.vmMm);
    pt.updateHiwaterRss(vma.vmMm);
    pt.zapVmaRange(tlb, vma, start, end, 0, !evenCows);
    pt.tlbFinishMmu(tlb);
    n++;
  }
  return n;
}

/**
 * Unmap the bytes [holebegin, holebegin + holelen) of `mapping` from every
 * process (`holelen` 0: to the end of the file).
 * @kernel unmap_mapping_range (mm/memory.c)
 */
export function unmapMappingRange(
  k: Kernel,
  mapping: AddressSpace,
  holebegin: number,
  holelen: number,
  evenCows: boolean,
): number {
  const hba = Math.floor(holebegin / k.pageSize);
  const hlen = Math.ceil(holelen / k.pageSize);
  return unmapMappingPages(k, mapping, hba, hlen, evenCows);
}

/**
 * Set a tmpfs file's size. Shrinking unmaps the pages beyond the new end
 * from every mapping (private CoW copies too), drops them from the page
 * cache and the file, and unmaps again (a CoW racing with the truncation
 * would have made a copy); a later access there gets SIGBUS. The tail of a
 * partial last page keeps its content token (tokens are per page).
 * @returns 0, or -EINVAL (negative or non-integer length, not a regular file
 *   opened for writing), -EPERM (append-only), -EFBIG (too large), -ETXTBSY
 *   (shrinking an active swapfile).
 * @kernel do_ftruncate (fs/open.c), inode_newsize_ok (fs/attr.c), shmem_setattr (mm/shmem.c)
 */
export function doFtruncate(k: Kernel, file: File, length: number): number {
  if (!Number.isInteger(length) || length < 0) return -EINVAL;
  const inode = file.fInode;
  if ((inode.iMode & S_IFMT) !== S_IFREG || (file.fMode & FMODE_WRITE) === 0) return -EINVAL;
  if (inode.iFlags & S_APPEND) return -EPERM;
  const oldsize = inode.iSize;
  if (length > oldsize) {
    if (length > MAX_FILE_SIZE) return -EFBIG;
  } else if (inode.iFlags & S_SWAPFILE) return -ETXTBSY;
  inode.iSize = length;
  if (length <= oldsize) {
    const holebegin = Math.ceil(length / k.pageSize) * k.pageSize;
    const mapping = file.fMapping;
    if (oldsize > holebegin) unmapMappingRange(k, mapping, holebegin, 0, true);
    k.truncatePagecacheRange(file, holebegin / k.pageSize, Number.MAX_SAFE_INTEGER);
    // unmap again to remove racily CoWed private pages
    if (oldsize > holebegin) unmapMappingRange(k, mapping, holebegin, 0, true);
  }
  return 0;
}

/**
 * `fallocate()` on a tmpfs file: FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
 * unmaps the whole pages of the range from shared mappings (private CoW
 * copies stay), then drops them from the cache and the file (reading 0
 * again); mode 0 or KEEP_SIZE only extends the size (tmpfs pages are
 * allocated at fault time here, not reserved).
 * @returns 0, or -EINVAL (offset < 0, len <= 0), -EOPNOTSUPP (other modes,
 *   PUNCH_HOLE without KEEP_SIZE), -EBADF (not open for writing), -EPERM
 *   (punching an append-only file), -ETXTBSY (a swapfile), -EFBIG.
 * @kernel vfs_fallocate (fs/open.c), shmem_fallocate (mm/shmem.c)
 */
export function doFallocate(k: Kernel, file: File, mode: number, offset: number, len: number): number {
  if (!Number.isInteger(offset) || !Number.isInteger(len) || offset < 0 || len <= 0) return -EINVAL;
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) return -EOPNOTSUPP;
  if (mode & FALLOC_FL_PUNCH_HOLE && !(mode & FALLOC_FL_KEEP_SIZE)) return -EOPNOTSUPP;
  if ((file.fMode & FMODE_WRITE) === 0) return -EBADF;
  const inode = file.fInode;
  if (mode & FALLOC_FL_PUNCH_HOLE && inode.iFlags & S_APPEND) return -EPERM;
  if (inode.iFlags & S_SWAPFILE) return -ETXTBSY;
  if ((inode.iMode & S_IFMT) !== S_IFREG) return -EINVAL;
  if (offset + len > MAX_FILE_SIZE) return -EFBIG;
  if (mode & FALLOC_FL_PUNCH_HOLE) {
    const ps = k.pageSize;
    const unmapStart = Math.ceil(offset / ps) * ps;
    const unmapEnd = Math.floor((offset + len) / ps) * ps - 1;
    if (unmapEnd > unmapStart) unmapMappingRange(k, file.fMapping, unmapStart, 1 + unmapEnd - unmapStart, false);
    // whole pages only: the partial pages at the ends keep their tokens
    if (unmapEnd > unmapStart) k.truncatePagecacheRange(file, unmapStart / ps, (unmapEnd + 1) / ps - 1);
    // no second unmap: hole punching leaves CoWed pages
    return 0;
  }
  if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + len > inode.iSize) inode.iSize = offset + len;
  return 0;
}

/**
 * Lock a page-cache folio for an rmap walk: 0, -EINVAL for an anonymous
 * folio, -EBUSY when it is locked already.
 */
function lockFileFolio(k: Kernel, folio: number): number {
  if (folioTestAnon(k.rm, folio)) return -EINVAL;
  return folioTrylock(k.rm, folio) ? 0 : -EBUSY;
}

/**
 * How many mappings of a page-cache folio were accessed since the last
 * call, clearing their accessed bits; `vmFlags` gets the union of the
 * flags of those VMAs.
 * @returns the count, or -EINVAL (anonymous folio), -EBUSY (locked).
 * @kernel folio_referenced (mm/rmap.c)
 */
export function fileFolioReferenced(k: Kernel, folio: number, out: { vmFlags: number } | null = null): number {
  const r = lockFileFolio(k, folio);
  if (r !== 0) return r;
  const n = folioReferenced(k.rm, folio, true, null, out);
  folioUnlock(k.rm, folio);
  return n;
}

/**
 * Remove every mapping of a page-cache folio from every process (the
 * cache keeps it). Mappings in VM_LOCKED VMAs stay (without
 * `ignoreMlock`), as reclaim leaves mlocked pages.
 * @returns 0 when no mapping is left, -EAGAIN when some stayed (mlocked),
 *   -EINVAL (anonymous folio: needs swap), -EBUSY (locked).
 * @kernel try_to_unmap (mm/rmap.c)
 */
export function fileTryToUnmap(k: Kernel, folio: number, ignoreMlock = false): number {
  const r = lockFileFolio(k, folio);
  if (r !== 0) return r;
  // reclaim splits a PMD mapping first (shrink_folio_list passes
  // TTU_SPLIT_HUGE_PMD for a PMD-mappable folio); for a file VMA that
  // just clears the PMD (the kernel's own split, which drops the
  // references this model's PMD mapping holds)
  if (folioNrPages(k.rm, folio) >= k.rm.hpagePmdNr) splitFilePmds(k, folio, ignoreMlock);
  tryToUnmap(k.rm, folio, ignoreMlock ? TTU_IGNORE_MLOCK : 0);
  folioUnlock(k.rm, folio);
  return folioMapped(k.rm, folio) ? -EAGAIN : 0;
}

/**
 * Write-protect and clean every shared mapping of a page-cache folio (the
 * next store faults and dirties it again).
 * @returns the number of entries cleaned, or -EINVAL / -EBUSY.
 * @kernel folio_mkclean (mm/rmap.c)
 */
export function fileFolioMkclean(k: Kernel, folio: number): number {
  const r = lockFileFolio(k, folio);
  if (r !== 0) return r;
  const n = folioMkclean(k.rm, folio);
  folioUnlock(k.rm, folio);
  return n;
}

const collect: RmapWalkControl<VmAreaStruct[]> = {
  arg: [],
  tryLock: false,
  contended: false,
  wouldBlock: false,
  rmapOne: (_rm, _folio, vma, _address, arg) => {
    arg.push(vma as unknown as VmAreaStruct);
    return true;
  },
  done: null,
  anonLock: null,
  invalidVma: null,
};

/**
 * The VMAs `rmap_walk` visits for `folio` (every VMA whose range may map
 * it), in walk order.
 * @kernel rmap_walk (mm/rmap.c)
 */
export function rmapWalkVmas(k: Kernel, folio: number): VmAreaStruct[] {
  const weLocked = folioTrylock(k.rm, folio);
  const out: VmAreaStruct[] = [];
  collect.arg = out;
  collect.contended = false;
  collect.wouldBlock = false;
  rmapWalk(k.rm, folio, collect);
  collect.arg = [];
  if (weLocked) folioUnlock(k.rm, folio);
  return out;
}

/**
 * Clear every PMD that maps the PMD-sized page-cache folio `folio` (in
 * VMAs not VM_LOCKED unless `ignoreMlock`): the file VMA case of splitting
 * a huge PMD, after which the pages refault through PTEs.
 * @kernel split_huge_pmd_address / __split_huge_pmd_locked (mm/huge_memory.c)
 */
function splitFilePmds(k: Kernel, folio: number, ignoreMlock: boolean): void {
  const rm = k.rm;
  const index = rm.sec(folio).index[folio & rm.mask] as number;
  const c = k.pt.codec;
  for (const vma of rmapWalkVmas(k, folio)) {
    if (!ignoreMlock && (vma.vmFlags & VM_LOCKED) !== 0) continue;
    const addr = vma.vmStart + (index - vma.vmPgoff) * k.pageSize;
    if (addr < vma.vmStart || addr + k.pmdSize > vma.vmEnd || addr % k.pmdSize !== 0) continue;
    const pgt = vma.vmMm.pgt as MmPgtables;
    const pmdp = k.pt.lookup(pgt, PMD_LEVEL, addr);
    if (pmdp < 0) continue;
    const pmd = pmdpGet(pgt, pmdp, splitPmdVal);
    if (c.pmdPresent(pmd) && c.pmdLeaf(pmd) && c.pmdPfn(pmd) === folio) splitFilePmd(k, vma, addr, pmdp);
  }
}

const splitPmdVal = new PteVal();

/** The rmap's view of a kernel VMA (re-exported for tests). */
export type { RmapVma };
