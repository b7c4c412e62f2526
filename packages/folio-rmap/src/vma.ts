/**
 * DOC: what the rmap needs of VMAs and mms, as interfaces the consumer's own
 * `vm_area_struct` and `mm_struct` implement (structural typing: the kernel
 * model's objects carry these fields), and the address arithmetic of
 * `mm/internal.h` and `include/linux/pagemap.h`.
 *
 * `vmFlags` is the kernel's 64-bit `vm_flags` as a number: the low 32 bits
 * are tested with `&`, VM_DROPPABLE (bit 40) with {@link vmaTestDroppable}.
 */
import type { AddressSpace } from './address-space.js';
import type { AnonVma, AnonVmaChain } from './anon-vma.js';

/** VMA flags the rmap reads (`include/linux/mm.h`). */
export const VM_READ = 0x1;
/** Writes are allowed (VM_WRITE). */
export const VM_WRITE = 0x2;
/** Instruction fetches are allowed (VM_EXEC). */
export const VM_EXEC = 0x4;
/** Shared mapping (VM_SHARED): writes reach the file or shmem object, never a private COW copy. */
export const VM_SHARED = 0x8;
/** May be made writable. */
export const VM_MAYWRITE = 0x20;
/** Shared mapping, even if read-only. */
export const VM_MAYSHARE = 0x80;
/** Stack that grows down. */
export const VM_GROWSDOWN = 0x100;
/** Raw PFNs without struct pages. */
export const VM_PFNMAP = 0x400;
/** userfaultfd write-protect tracking. */
export const VM_UFFD_WP = 0x1000;
/** mlocked (VM_LOCKED): rmap walks mlock its folios instead of unmapping them. */
export const VM_LOCKED = 0x2000;
/** Maps device I/O memory (VM_IO). */
export const VM_IO = 0x4000;
/** MADV_SEQUENTIAL: no recency, `folio_referenced` ignores this VMA. */
export const VM_SEQ_READ = 0x8000;
/** MADV_RANDOM: no recency. */
export const VM_RAND_READ = 0x10000;
/** Not copied into the child on fork (VM_DONTCOPY, MADV_DONTFORK). */
export const VM_DONTCOPY = 0x20000;
/** mremap may not grow it (VM_DONTEXPAND). */
export const VM_DONTEXPAND = 0x40000;
/** mlock pages as they are faulted in. */
export const VM_LOCKONFAULT = 0x80000;
/** Maps hugetlbfs folios (VM_HUGETLB). */
export const VM_HUGETLB = 0x400000;
/** Mix of struct-page and raw PFN mappings. */
export const VM_MIXEDMAP = 0x10000000;
/** `VM_DROPPABLE`: bit 40; never swapped, dropped under pressure. */
export const VM_DROPPABLE = 2 ** 40;
/** `VM_SPECIAL`: never merged, never mlocked. */
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;
/** `VM_STACK`: the flag that marks a stack VMA, VM_GROWSDOWN on every architecture modelled. */
export const VM_STACK = VM_GROWSDOWN;

/** `mm->flags` bits (`MMF_*`) the rmap reads, as bit values here. */
export const MMF_HAS_PINNED = 1 << 0;
/** `MMF_UNSTABLE`: the OOM reaper tore the address space down (`check_stable_address_space` fails). */
export const MMF_UNSTABLE = 1 << 1;

/** `mm->rss_stat` counters (`enum { MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES }`). */
export const MM_FILEPAGES = 0;
/** Anonymous pages mapped. */
export const MM_ANONPAGES = 1;
/** Swap entries in the page tables. */
export const MM_SWAPENTS = 2;
/** Shmem pages mapped. */
export const MM_SHMEMPAGES = 3;
/** Number of `mm->rss_stat` counters. */
export const NR_MM_COUNTERS = 4;

/** `f_mode` bit: the file's pages are not reused (no recency). */
export const FMODE_NOREUSE = 1 << 23;

/** What the rmap reads and writes of an `mm_struct`. */
export interface RmapMm {
  /** `mm->mm_id` (from {@link mmAllocId}); `MM_ID_DUMMY` for mms that never map folios. */
  readonly mmId: number;
  /** `mm->mm_users`: 0 once the process exited (folio_referenced skips its exclusive anon folios). */
  mmUsers: number;
  /** `mm->flags`: {@link MMF_HAS_PINNED}, {@link MMF_UNSTABLE}. */
  mmFlags: number;
  /** `mm->rss_stat`, indexed by MM_FILEPAGES .. MM_SHMEMPAGES. */
  readonly rssStat: Float64Array;
  /** On `init_mm.mmlist` (swapoff scans these): set by try_to_unmap when it installs a swap entry. */
  onMmlist: boolean;
}

/** What the rmap reads of a `struct file`. */
export interface RmapFile {
  /** The page cache holding the file's folios (`file->f_mapping`). */
  readonly mapping: AddressSpace;
  /** Open-mode bits of the file (`file->f_mode`); the rmap reads {@link FMODE_NOREUSE}. */
  fMode: number;
}

/**
 * What the rmap reads and writes of a `vm_area_struct`. The rmap owns
 * `anonVma`, `anonVmaChain` and `sharedRb`; the consumer owns the rest and
 * must unlink the VMA from its trees before changing `vmStart`, `vmEnd` or
 * `vmPgoff` (as the kernel's `vma_prepare`/`vma_complete` do).
 */
export interface RmapVma {
  /** `vm_start` (bytes). */
  vmStart: number;
  /** `vm_end` (bytes, exclusive). */
  vmEnd: number;
  /** `vm_pgoff`: file offset in pages, or the virtual page number of the first anon page. */
  vmPgoff: number;
  /** VM_* flag bits; the rmap reads VM_LOCKED, VM_SHARED, VM_DROPPABLE and the like; mirrors `vm_area_struct::vm_flags`. */
  vmFlags: number;
  /** The address space the VMA belongs to; mirrors `vm_area_struct::vm_mm`. */
  readonly vmMm: RmapMm;
  /** `anon_vma`: where new anon folios of this VMA go; null until the first anon fault. */
  anonVma: AnonVma | null;
  /** `anon_vma_chain` (the `same_vma` list), newest first. */
  anonVmaChain: AnonVmaChain[];
  /** `vm_file`, null for anonymous memory. */
  vmFile: RmapFile | null;
  /** `shared.rb`: the node in `vm_file->f_mapping->i_mmap`, -1 when not linked. */
  sharedRb: number;
}

/** A plain mm for users without their own `mm_struct`. */
export function createRmapMm(mmId: number): RmapMm {
  return { mmId, mmUsers: 1, mmFlags: 0, rssStat: new Float64Array(NR_MM_COUNTERS), onMmlist: false };
}

/**
 * A plain VMA for users without their own `vm_area_struct` (tests, examples).
 * `vmPgoff` defaults to the virtual page number (anonymous memory).
 */
export function createRmapVma(
  mm: RmapMm,
  vmStart: number,
  vmEnd: number,
  vmFlags: number,
  opts: { vmPgoff?: number; vmFile?: RmapFile | null; pageShift?: number } = {},
): RmapVma {
  const shift = opts.pageShift ?? 12;
  return {
    vmStart,
    vmEnd,
    vmPgoff: opts.vmPgoff ?? Math.floor(vmStart / 2 ** shift),
    vmFlags,
    vmMm: mm,
    anonVma: null,
    anonVmaChain: [],
    vmFile: opts.vmFile ?? null,
    sharedRb: -1,
  };
}

/** Pages spanned by `vma`. @kernel vma_pages (include/linux/mm.h) */
export function vmaPages(vma: RmapVma, pageSize: number): number {
  return (vma.vmEnd - vma.vmStart) / pageSize;
}

/** First page offset of `vma`. @kernel vma_start_pgoff (mm/interval_tree.c) */
export function vmaStartPgoff(vma: RmapVma): number {
  return vma.vmPgoff;
}

/** Last page offset of `vma` (inclusive). @kernel vma_last_pgoff (include/linux/mm.h) */
export function vmaLastPgoff(vma: RmapVma, pageSize: number): number {
  return vma.vmPgoff + (vma.vmEnd - vma.vmStart) / pageSize - 1;
}

/**
 * The page offset `address` maps in `vma` (for anon VMAs the linear page index).
 * @kernel linear_page_index (include/linux/pagemap.h)
 */
export function linearPageIndex(vma: RmapVma, address: number, pageSize: number): number {
  return (address - vma.vmStart) / pageSize + vma.vmPgoff;
}

/**
 * The first address in `vma` where a page of [pgoff, pgoff + nrPages) is
 * mapped, or -EFAULT (-14) when none is.
 * @kernel vma_address (mm/internal.h)
 */
export function vmaAddress(vma: RmapVma, pgoff: number, nrPages: number, pageSize: number): number {
  if (pgoff >= vma.vmPgoff) {
    const address = vma.vmStart + (pgoff - vma.vmPgoff) * pageSize;
    return address < vma.vmStart || address >= vma.vmEnd ? -14 : address;
  }
  if (pgoff + nrPages - 1 >= vma.vmPgoff) return vma.vmStart;
  return -14;
}

/**
 * Whether references through `vma` say anything about reuse: not with
 * MADV_SEQUENTIAL/MADV_RANDOM (VM_SEQ_READ/VM_RAND_READ) or an FMODE_NOREUSE file.
 * @kernel vma_has_recency (include/linux/mm_inline.h)
 */
export function vmaHasRecency(vma: RmapVma): boolean {
  if (vma.vmFlags & (VM_SEQ_READ | VM_RAND_READ)) return false;
  if (vma.vmFile !== null && vma.vmFile.fMode & FMODE_NOREUSE) return false;
  return true;
}

/** VM_DROPPABLE (a flag above bit 31). */
export function vmaTestDroppable(vma: RmapVma): boolean {
  return Math.floor(vma.vmFlags / VM_DROPPABLE) % 2 === 1;
}

/** Whether the VMA maps hugetlbfs folios (VM_HUGETLB) @kernel is_vm_hugetlb_page (include/linux/hugetlb_inline.h) */
export function isVmHugetlbPage(vma: RmapVma): boolean {
  return (vma.vmFlags & VM_HUGETLB) !== 0;
}

/** `mm->mm_users == 0` or OOM-reaped: the address space is going away. */
export function mmIsDying(mm: RmapMm): boolean {
  return mm.mmUsers === 0 || (mm.mmFlags & MMF_UNSTABLE) !== 0;
}
