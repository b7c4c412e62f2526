/**
 * DOC: the user-visible constants of mmap, mremap, mprotect, madvise and
 * mlock (include/uapi/asm-generic/mman-common.h, mman.h, linux/mman.h; x86
 * values where an architecture differs) and the translations of PROT_ and
 * MAP_ bits into VMA flags (include/linux/mman.h).
 */
import { VM_EXEC, VM_GROWSDOWN, VM_LOCKED, VM_NOHUGEPAGE, VM_READ, VM_SYNC, VM_WRITE } from './vm-flags.js';

/** Protection bit of mmap/mprotect (`PROT_NONE`, include/uapi/asm-generic/mman-common.h). */
export const PROT_NONE = 0x0;
/** Protection bit of mmap/mprotect (`PROT_READ`, include/uapi/asm-generic/mman-common.h). */
export const PROT_READ = 0x1;
/** Protection bit of mmap/mprotect (`PROT_WRITE`, include/uapi/asm-generic/mman-common.h). */
export const PROT_WRITE = 0x2;
/** Protection bit of mmap/mprotect (`PROT_EXEC`, include/uapi/asm-generic/mman-common.h). */
export const PROT_EXEC = 0x4;
/** Protection bit of mmap/mprotect (`PROT_SEM`, include/uapi/asm-generic/mman-common.h). */
export const PROT_SEM = 0x8;
/** Protection bit of mmap/mprotect (`PROT_GROWSDOWN`, include/uapi/asm-generic/mman-common.h). */
export const PROT_GROWSDOWN = 0x01000000;
/** Protection bit of mmap/mprotect (`PROT_GROWSUP`, include/uapi/asm-generic/mman-common.h). */
export const PROT_GROWSUP = 0x02000000;

/** mmap flag `MAP_SHARED` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_SHARED = 0x01;
/** mmap flag `MAP_PRIVATE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_PRIVATE = 0x02;
/** mmap flag `MAP_SHARED_VALIDATE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_SHARED_VALIDATE = 0x03;
/** mmap flag `MAP_DROPPABLE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_DROPPABLE = 0x08;
/** mmap flag `MAP_TYPE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_TYPE = 0x0f;
/** mmap flag `MAP_FIXED` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_FIXED = 0x10;
/** mmap flag `MAP_ANONYMOUS` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_ANONYMOUS = 0x20;
/** x86: only give out 32-bit addresses. */
export const MAP_32BIT = 0x40;
/** x86: only map above 4 GiB. */
export const MAP_ABOVE4G = 0x80;
/** mmap flag `MAP_GROWSDOWN` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_GROWSDOWN = 0x0100;
/** mmap flag `MAP_DENYWRITE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_DENYWRITE = 0x0800;
/** mmap flag `MAP_EXECUTABLE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_EXECUTABLE = 0x1000;
/** mmap flag `MAP_LOCKED` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_LOCKED = 0x2000;
/** mmap flag `MAP_NORESERVE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_NORESERVE = 0x4000;
/** mmap flag `MAP_POPULATE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_POPULATE = 0x008000;
/** mmap flag `MAP_NONBLOCK` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_NONBLOCK = 0x010000;
/** mmap flag `MAP_STACK` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_STACK = 0x020000;
/** mmap flag `MAP_HUGETLB` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_HUGETLB = 0x040000;
/** mmap flag `MAP_SYNC` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_SYNC = 0x080000;
/** mmap flag `MAP_FIXED_NOREPLACE` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_FIXED_NOREPLACE = 0x100000;
/** mmap flag `MAP_UNINITIALIZED` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_UNINITIALIZED = 0x4000000;
/** mmap flag `MAP_HUGE_SHIFT` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_HUGE_SHIFT = 26;
/** mmap flag `MAP_HUGE_2MB` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_HUGE_2MB = 21 << MAP_HUGE_SHIFT;
/** mmap flag `MAP_HUGE_1GB` (include/uapi/asm-generic/mman*.h, x86 values). */
export const MAP_HUGE_1GB = 30 << MAP_HUGE_SHIFT;

/** The flags plain MAP_SHARED accepts (others are dropped silently; MAP_SHARED_VALIDATE refuses them). */
export const LEGACY_MAP_MASK =
  MAP_SHARED |
  MAP_PRIVATE |
  MAP_FIXED |
  MAP_ANONYMOUS |
  MAP_DENYWRITE |
  MAP_EXECUTABLE |
  MAP_UNINITIALIZED |
  MAP_GROWSDOWN |
  MAP_LOCKED |
  MAP_NORESERVE |
  MAP_POPULATE |
  MAP_NONBLOCK |
  MAP_STACK |
  MAP_HUGETLB |
  MAP_32BIT |
  MAP_ABOVE4G |
  MAP_HUGE_2MB |
  MAP_HUGE_1GB;

/** mremap flag `MREMAP_MAYMOVE` (include/uapi/linux/mman.h). */
export const MREMAP_MAYMOVE = 1;
/** mremap flag `MREMAP_FIXED` (include/uapi/linux/mman.h). */
export const MREMAP_FIXED = 2;
/** mremap flag `MREMAP_DONTUNMAP` (include/uapi/linux/mman.h). */
export const MREMAP_DONTUNMAP = 4;

/** mlock2 flag `MLOCK_ONFAULT`. */
export const MLOCK_ONFAULT = 0x01;
/** mlockall flag `MCL_CURRENT`. */
export const MCL_CURRENT = 1;
/** mlockall flag `MCL_FUTURE`. */
export const MCL_FUTURE = 2;
/** mlockall flag `MCL_ONFAULT`. */
export const MCL_ONFAULT = 4;

/** madvise advice `MADV_NORMAL` (include/uapi/asm-generic/mman-common.h). */
export const MADV_NORMAL = 0;
/** madvise advice `MADV_RANDOM` (include/uapi/asm-generic/mman-common.h). */
export const MADV_RANDOM = 1;
/** madvise advice `MADV_SEQUENTIAL` (include/uapi/asm-generic/mman-common.h). */
export const MADV_SEQUENTIAL = 2;
/** madvise advice `MADV_WILLNEED` (include/uapi/asm-generic/mman-common.h). */
export const MADV_WILLNEED = 3;
/** madvise advice `MADV_DONTNEED` (include/uapi/asm-generic/mman-common.h). */
export const MADV_DONTNEED = 4;
/** madvise advice `MADV_FREE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_FREE = 8;
/** madvise advice `MADV_REMOVE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_REMOVE = 9;
/** madvise advice `MADV_DONTFORK` (include/uapi/asm-generic/mman-common.h). */
export const MADV_DONTFORK = 10;
/** madvise advice `MADV_DOFORK` (include/uapi/asm-generic/mman-common.h). */
export const MADV_DOFORK = 11;
/** madvise advice `MADV_MERGEABLE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_MERGEABLE = 12;
/** madvise advice `MADV_UNMERGEABLE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_UNMERGEABLE = 13;
/** madvise advice `MADV_HUGEPAGE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_HUGEPAGE = 14;
/** madvise advice `MADV_NOHUGEPAGE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_NOHUGEPAGE = 15;
/** madvise advice `MADV_DONTDUMP` (include/uapi/asm-generic/mman-common.h). */
export const MADV_DONTDUMP = 16;
/** madvise advice `MADV_DODUMP` (include/uapi/asm-generic/mman-common.h). */
export const MADV_DODUMP = 17;
/** madvise advice `MADV_WIPEONFORK` (include/uapi/asm-generic/mman-common.h). */
export const MADV_WIPEONFORK = 18;
/** madvise advice `MADV_KEEPONFORK` (include/uapi/asm-generic/mman-common.h). */
export const MADV_KEEPONFORK = 19;
/** madvise advice `MADV_COLD` (include/uapi/asm-generic/mman-common.h). */
export const MADV_COLD = 20;
/** madvise advice `MADV_PAGEOUT` (include/uapi/asm-generic/mman-common.h). */
export const MADV_PAGEOUT = 21;
/** madvise advice `MADV_POPULATE_READ` (include/uapi/asm-generic/mman-common.h). */
export const MADV_POPULATE_READ = 22;
/** madvise advice `MADV_POPULATE_WRITE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_POPULATE_WRITE = 23;
/** madvise advice `MADV_DONTNEED_LOCKED` (include/uapi/asm-generic/mman-common.h). */
export const MADV_DONTNEED_LOCKED = 24;
/** madvise advice `MADV_COLLAPSE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_COLLAPSE = 25;
/** madvise advice `MADV_HWPOISON` (include/uapi/asm-generic/mman-common.h). */
export const MADV_HWPOISON = 100;
/** madvise advice `MADV_SOFT_OFFLINE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_SOFT_OFFLINE = 101;
/** madvise advice `MADV_GUARD_INSTALL` (include/uapi/asm-generic/mman-common.h). */
export const MADV_GUARD_INSTALL = 102;
/** madvise advice `MADV_GUARD_REMOVE` (include/uapi/asm-generic/mman-common.h). */
export const MADV_GUARD_REMOVE = 103;

/** `vm.overcommit_memory` values. */
export const OVERCOMMIT_GUESS = 0;
/** `vm.overcommit_memory` mode `OVERCOMMIT_ALWAYS` (include/uapi/linux/mman.h). */
export const OVERCOMMIT_ALWAYS = 1;
/** `vm.overcommit_memory` mode `OVERCOMMIT_NEVER` (include/uapi/linux/mman.h). */
export const OVERCOMMIT_NEVER = 2;

/**
 * PROT_ bits as VM_ bits (protection-key bits are not modelled).
 * @kernel calc_vm_prot_bits (include/linux/mman.h)
 */
export function calcVmProtBits(prot: number): number {
  return (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

/**
 * MAP_ bits as VM_ bits: GROWSDOWN, LOCKED, SYNC, and MAP_STACK → VM_NOHUGEPAGE (THP kernels).
 * @kernel calc_vm_flag_bits (include/linux/mman.h)
 */
export function calcVmFlagBits(flags: number): number {
  return (
    (flags & MAP_GROWSDOWN ? VM_GROWSDOWN : 0) |
    (flags & MAP_LOCKED ? VM_LOCKED : 0) |
    (flags & MAP_SYNC ? VM_SYNC : 0) |
    (flags & MAP_STACK ? VM_NOHUGEPAGE : 0)
  );
}

/**
 * mprotect accepts only R, W, X and SEM.
 * @kernel arch_validate_prot (include/linux/mman.h)
 */
export function archValidateProt(prot: number): boolean {
  return (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM)) === 0;
}
