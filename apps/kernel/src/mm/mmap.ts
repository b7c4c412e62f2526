/**
 * DOC: the mmap, munmap and brk system calls and stack expansion
 * (mm/mmap.c, mm/util.c `vm_mmap_pgoff()`, mm/vma.c `expand_downwards()`).
 *
 * `do_mmap()` checks the arguments in the kernel's order and with its
 * errnos, turns PROT_/MAP_ bits into VMA flags, finds the address
 * (`__get_unmapped_area()`), applies the file rules (open mode, append-only,
 * swapfile, noexec) and the anonymous ones (shared: pgoff 0; private and
 * droppable: pgoff = address >> PAGE_SHIFT), honours MAP_NORESERVE unless
 * overcommit is "never", and calls `mmap_region()`. The syscall populates
 * the range after dropping the lock when it is VM_LOCKED or MAP_POPULATE
 * (through the page-table seam; the result is ignored, as the kernel does).
 * `brk()` grows the heap with `do_brk_flags()` or shrinks it with
 * `do_vmi_align_munmap()` and returns the old break on any failure.
 */
import {
  EACCES,
  EAGAIN,
  EBADF,
  EEXIST,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOMEM,
  EOPNOTSUPP,
  EOVERFLOW,
  EPERM,
  ETXTBSY,
} from '@mm/machine';
import { type File, FMODE_READ, FMODE_WRITE, S_APPEND, S_SWAPFILE } from './file.js';
import { mmPopulate } from './gup.js';
import { type MmStruct, READ_IMPLIES_EXEC, type VmAreaStruct, vmaIsAccessible, vmaStartWrite } from './mm-types.js';
import {
  calcVmFlagBits,
  calcVmProtBits,
  LEGACY_MAP_MASK,
  MAP_ANONYMOUS,
  MAP_DROPPABLE,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_LOCKED,
  MAP_NONBLOCK,
  MAP_NORESERVE,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  OVERCOMMIT_NEVER,
  PROT_EXEC,
  PROT_READ,
} from './mman.js';
import { mmapWriteLockKillable, mmapWriteUnlock } from './mmap-lock.js';
import { doBrkFlags, mmapRegion } from './mmap-region.js';
import { securityVmEnoughMemoryMm } from './overcommit.js';
import { __getUnmappedArea, getUnmappedArea, vmStartGap } from './unmapped-area.js';
import {
  VM_DONTDUMP,
  VM_DROPPABLE,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NORESERVE,
  VM_SHARED,
  VM_WIPEONFORK,
  vmFlagsClear,
  vmFlagsSet,
} from './vm-flags.js';
import { canDoMlock, mayExpandVm, mlockFutureOk, vmStatAccount } from './vm-stat.js';
import { findVma, findVmaIntersection } from './vma.js';
import {
  VmaIterator,
  vmaFind,
  vmaIterConfig,
  vmaIterFree,
  vmaIterNextRangeLimit,
  vmaIterPrealloc,
  vmaIterStoreOverwrite,
  vmaPrev,
  vmaPrevLimit,
} from './vma-iter.js';
import { doVmiAlignMunmap } from './vma-munmap.js';

/** The result of {@link doMmap}: the address or a negative errno, and how much to populate. */
export interface DoMmapResult {
  /** Start of the new mapping, or a negative errno. */
  readonly addr: number;
  /** Bytes from `addr` to fault in now (VM_LOCKED or MAP_POPULATE), else 0; mirrors `do_mmap()`'s `*populate` out-parameter. */
  readonly populate: number;
}

/** Pages of `len`, rounded up. */
function pageAlign(mm: MmStruct, x: number): number {
  const p = mm.ctx.pageSize;
  return Math.ceil(x / p) * p;
}

/**
 * A hint below `mmap_min_addr` moves up to it.
 * @kernel round_hint_to_min (mm/mmap.c)
 */
function roundHintToMin(mm: MmStruct, hintIn: number): number {
  const page = mm.ctx.pageSize;
  const hint = hintIn - (hintIn % page);
  if (hint !== 0 && hint < mm.ctx.mmapMinAddr) return pageAlign(mm, mm.ctx.mmapMinAddr);
  return hint;
}

/** A regular file can be mapped up to MAX_LFS_FILESIZE. @kernel file_mmap_ok (mm/mmap.c) */
function fileMmapOk(mm: MmStruct, pgoff: number, len: number): boolean {
  const maxsize = 2 ** 63 - 1;
  if (len > maxsize) return false;
  return pgoff <= Math.floor((maxsize - len) / mm.ctx.pageSize);
}

/**
 * Map `len` bytes with `prot` and `flags`.
 * @returns the address (may be inside a merged VMA) or a negative errno, and the bytes to populate.
 * @remarks Context: mmap lock held for writing.
 * @kernel do_mmap (mm/mmap.c)
 */
export function doMmap(
  mm: MmStruct,
  file: File | null,
  addrIn: number,
  lenIn: number,
  protIn: number,
  flagsIn: number,
  vmFlagsIn: number,
  pgoffIn: number,
): DoMmapResult {
  const ctx = mm.ctx;
  let prot = protIn;
  let flags = flagsIn;
  let addr = addrIn;
  let pgoff = pgoffIn;
  const fail = (err: number): DoMmapResult => ({ addr: err, populate: 0 });
  if (lenIn === 0) return fail(-EINVAL);
  // does the application expect PROT_READ to imply PROT_EXEC?
  if (prot & PROT_READ && mm.personality & READ_IMPLIES_EXEC && !file?.noexec) prot |= PROT_EXEC;
  if (flags & MAP_FIXED_NOREPLACE) flags |= MAP_FIXED;
  if (!(flags & MAP_FIXED)) addr = roundHintToMin(mm, addr);
  // careful about overflows: PAGE_ALIGN() of a length near 2^64 wraps to 0
  if (lenIn > 2 ** 64 - ctx.pageSize) return fail(-ENOMEM);
  const len = pageAlign(mm, lenIn);
  if (mm.mapCount > ctx.sysctlMaxMapCount) return fail(-ENOMEM);
  let vmFlags = vmFlagsSet(
    vmFlagsSet(vmFlagsIn, calcVmProtBits(prot) | calcVmFlagBits(flags) | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC),
    mm.defFlags,
  );
  addr = __getUnmappedArea(mm, file, addr, len, pgoff, flags, vmFlags);
  if (addr < 0) return fail(addr);
  if (flags & MAP_FIXED_NOREPLACE && findVmaIntersection(mm, addr, addr + len) !== null) return fail(-EEXIST);
  if (flags & MAP_LOCKED && !canDoMlock(mm)) return fail(-EPERM);
  if (!mlockFutureOk(mm, (vmFlags & VM_LOCKED) !== 0, len)) return fail(-EAGAIN);
  if (file !== null) {
    const inode = file.fInode;
    if (!fileMmapOk(mm, pgoff, len)) return fail(-EOVERFLOW);
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED || type === MAP_SHARED_VALIDATE) {
      // plain MAP_SHARED drops the flags it does not know; MAP_SHARED_VALIDATE refuses them
      if (type === MAP_SHARED) flags &= LEGACY_MAP_MASK;
      if (flags & ~LEGACY_MAP_MASK) return fail(-EOPNOTSUPP);
      if (prot & 0x2) {
        if (!(file.fMode & FMODE_WRITE)) return fail(-EACCES);
        if (inode.iFlags & S_SWAPFILE) return fail(-ETXTBSY);
      }
      // no writing to an append-only file
      if (inode.iFlags & S_APPEND && file.fMode & FMODE_WRITE) return fail(-EACCES);
      vmFlags = vmFlagsSet(vmFlags, VM_SHARED | VM_MAYSHARE);
      if (!(file.fMode & FMODE_WRITE)) vmFlags = vmFlagsClear(vmFlags, VM_MAYWRITE | VM_SHARED);
    } else if (type !== MAP_PRIVATE) {
      return fail(-EINVAL);
    }
    if (!(file.fMode & FMODE_READ)) return fail(-EACCES);
    if (file.noexec) {
      if (vmFlags & VM_EXEC) return fail(-EPERM);
      vmFlags = vmFlagsClear(vmFlags, VM_MAYEXEC);
    }
    if (file.fOp.mmap === null) return fail(-ENODEV);
    if (vmFlags & VM_GROWSDOWN) return fail(-EINVAL);
  } else {
    const type = flags & MAP_TYPE;
    if (type === MAP_SHARED) {
      if (vmFlags & VM_GROWSDOWN) return fail(-EINVAL);
      pgoff = 0;
      vmFlags = vmFlagsSet(vmFlags, VM_SHARED | VM_MAYSHARE);
    } else if (type === MAP_DROPPABLE) {
      // locked, stack or huge droppable areas make no sense
      if (flags & (MAP_LOCKED | MAP_HUGETLB)) return fail(-EINVAL);
      if (vmFlags & VM_GROWSDOWN) return fail(-EINVAL);
      // droppable pages are neither reserved, copied on fork nor dumped
      vmFlags = vmFlagsSet(vmFlags, VM_DROPPABLE + VM_NORESERVE + VM_WIPEONFORK + VM_DONTDUMP);
      pgoff = addr / ctx.pageSize;
    } else if (type === MAP_PRIVATE) {
      pgoff = addr / ctx.pageSize;
    } else {
      return fail(-EINVAL);
    }
  }
  // MAP_NORESERVE is honoured when overcommit is allowed
  if (flags & MAP_NORESERVE && ctx.sysctlOvercommitMemory !== OVERCOMMIT_NEVER)
    vmFlags = vmFlagsSet(vmFlags, VM_NORESERVE);
  const ret = mmapRegion(mm, file, addr, len, vmFlags, pgoff);
  let populate = 0;
  if (ret >= 0 && (vmFlags & VM_LOCKED || (flags & (MAP_POPULATE | MAP_NONBLOCK)) === MAP_POPULATE)) populate = len;
  return { addr: ret, populate };
}

/**
 * mmap under the lock, then populate without it.
 * @returns the address or a negative errno.
 * @kernel vm_mmap_pgoff (mm/util.c)
 */
export function vmMmapPgoff(
  mm: MmStruct,
  file: File | null,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  pgoff: number,
): number {
  const err = mmapWriteLockKillable(mm);
  if (err !== 0) return err;
  const r = doMmap(mm, file, addr, len, prot, flags, 0, pgoff);
  mmapWriteUnlock(mm);
  if (r.populate !== 0) mmPopulate(mm, r.addr, r.populate);
  return r.addr;
}

/**
 * The mmap system call: `file` stands for the file descriptor (null: none).
 * The offset must be page aligned.
 * @returns the address or a negative errno; on error the address space is
 * unchanged, except that a MAP_FIXED mapping that failed after removing the
 * old mappings leaves a hole, as the kernel does.
 * @kernel sys_mmap (arch/x86/kernel/sys_x86_64.c), ksys_mmap_pgoff (mm/mmap.c)
 */
export function sysMmap(
  mm: MmStruct,
  addr: number,
  len: number,
  prot: number,
  flags: number,
  file: File | null = null,
  off = 0,
): number {
  if (off % mm.ctx.pageSize !== 0) return -EINVAL;
  let f: File | null = null;
  if (!(flags & MAP_ANONYMOUS)) {
    if (file === null) return -EBADF;
    // hugetlbfs is not modelled: no file is a huge-page file
    if (flags & MAP_HUGETLB) return -EINVAL;
    f = file;
  } else if (flags & MAP_HUGETLB) {
    // hugetlb_file_setup(): the huge page pools are empty (no hugetlb reservation possible)
    return -ENOMEM;
  }
  return vmMmapPgoff(mm, f, addr, len, prot, flags, off / mm.ctx.pageSize);
}

// ---------------------------------------------------------------------------
// brk

/**
 * The brk system call: move the program break to `brk`.
 * @returns the new break, or the old one when the request fails or is refused.
 * @kernel sys_brk (mm/mmap.c)
 */
export function sysBrk(mm: MmStruct, brk: number): number {
  const ctx = mm.ctx;
  if (mmapWriteLockKillable(mm) !== 0) return mm.brk;
  const origbrk = mm.brk;
  const out = (): number => {
    mm.brk = origbrk;
    mmapWriteUnlock(mm);
    return origbrk;
  };
  // CONFIG_COMPAT_BRK is off: the break may go down to start_brk
  if (brk < mm.startBrk) return out();
  // check_data_rlimit(): heap plus data within RLIMIT_DATA
  const rlim = mm.rlim.data.cur;
  if (rlim !== Infinity && brk - mm.startBrk + (mm.endData - mm.startData) > rlim) return out();
  const newbrk = pageAlign(mm, brk);
  const oldbrk = pageAlign(mm, mm.brk);
  if (oldbrk === newbrk) {
    mm.brk = brk;
    mmapWriteUnlock(mm);
    return brk;
  }
  // always allow shrinking brk
  if (brk <= mm.brk) {
    const vmi = new VmaIterator(mm, newbrk);
    const brkvma = vmaFind(vmi, oldbrk);
    if (brkvma === null || brkvma.vmStart >= oldbrk) return out(); // a non-brk VMA intersects
    // mm->brk is protected by the write lock, which do_vmi_align_munmap() drops on success
    mm.brk = brk;
    if (doVmiAlignMunmap(vmi, brkvma, mm, newbrk, oldbrk, true) !== 0) return out();
    return brk;
  }
  // check_brk_limits()
  const mapped = getUnmappedArea(mm, null, oldbrk, newbrk - oldbrk, 0, MAP_FIXED);
  if (mapped < 0) return out();
  if (!mlockFutureOk(mm, (mm.defFlags & VM_LOCKED) !== 0, newbrk - oldbrk)) return out();
  // only check whether the next VMA is within the stack guard gap of the expansion
  const vmi = new VmaIterator(mm, oldbrk);
  const next = vmaFind(vmi, newbrk + ctx.pageSize + ctx.stackGuardGap);
  if (next !== null && newbrk + ctx.pageSize > vmStartGap(next)) return out();
  const brkvma = vmaPrevLimit(vmi, mm.startBrk);
  if (doBrkFlags(mm, vmi, brkvma, oldbrk, newbrk - oldbrk, 0) < 0) return out();
  mm.brk = brk;
  const populate = (mm.defFlags & VM_LOCKED) !== 0;
  mmapWriteUnlock(mm);
  if (populate) mmPopulate(mm, oldbrk, newbrk - oldbrk);
  return brk;
}

// ---------------------------------------------------------------------------
// Stack expansion

/**
 * Whether growing a stack VMA to `size` bytes (by `grow` pages) fits the
 * limits and the commit.
 * @returns 0 or -ENOMEM.
 * @kernel acct_stack_growth (mm/vma.c)
 */
function acctStackGrowth(vma: VmAreaStruct, size: number, grow: number): number {
  const mm = vma.vmMm;
  if (!mayExpandVm(mm, vma.vmFlags, grow)) return -ENOMEM;
  if (size > mm.rlim.stack.cur) return -ENOMEM;
  if (!mlockFutureOk(mm, (vma.vmFlags & VM_LOCKED) !== 0, grow * mm.ctx.pageSize)) return -ENOMEM;
  // overcommit: the last test, it charges
  if (securityVmEnoughMemoryMm(mm, grow) !== 0) return -ENOMEM;
  return 0;
}

/**
 * Grow a GROWSDOWN VMA down to `address` (a fault below the stack).
 * @returns 0, -EFAULT (not a stack), -EPERM (below mmap_min_addr) or -ENOMEM.
 * @remarks Context: mmap lock held for writing.
 * @kernel expand_downwards (mm/vma.c)
 */
export function expandDownwards(vma: VmAreaStruct, addressIn: number): number {
  const mm = vma.vmMm;
  const ctx = mm.ctx;
  if (!(vma.vmFlags & VM_GROWSDOWN)) return -EFAULT;
  const address = addressIn - (addressIn % ctx.pageSize);
  if (address < ctx.mmapMinAddr) return -EPERM;
  const vmi = new VmaIterator(mm, vma.vmStart);
  // enforce stack_guard_gap
  const prev = vmaPrev(vmi);
  if (
    prev !== null &&
    !(prev.vmFlags & VM_GROWSDOWN) &&
    vmaIsAccessible(prev) &&
    address - prev.vmEnd < ctx.stackGuardGap
  )
    return -ENOMEM;
  if (prev !== null) vmaIterNextRangeLimit(vmi, vma.vmStart);
  vmaIterConfig(vmi, address, vma.vmEnd);
  if (vmaIterPrealloc(vmi, vma) !== 0) return -ENOMEM;
  if (vma.anonVma === null && ctx.anon.anonVmaPrepare(vma) !== 0) {
    vmaIterFree(vmi);
    return -ENOMEM;
  }
  vmaStartWrite(vma);
  let error = 0;
  if (address < vma.vmStart) {
    const size = vma.vmEnd - address;
    const grow = (vma.vmStart - address) / ctx.pageSize;
    error = -ENOMEM;
    if (grow <= vma.vmPgoff) {
      error = acctStackGrowth(vma, size, grow);
      if (error === 0) {
        if (vma.vmFlags & VM_LOCKED) mm.lockedVm += grow;
        vmStatAccount(mm, vma.vmFlags, grow);
        ctx.anon.preUpdateVma(vma);
        vma.vmStart = address;
        vma.vmPgoff -= grow;
        vmaIterStoreOverwrite(vmi, vma);
        ctx.anon.postUpdateVma(vma);
      }
    }
  }
  vmaIterFree(vmi);
  return error;
}

/**
 * The VMA containing `addr`, growing the stack VMA above it down if needed.
 * @returns the VMA, or null (no VMA above, or the stack cannot grow).
 * @remarks Context: mmap lock held for writing.
 * @kernel find_extend_vma_locked (mm/mmap.c)
 */
export function findExtendVmaLocked(mm: MmStruct, addrIn: number): VmAreaStruct | null {
  const addr = addrIn - (addrIn % mm.ctx.pageSize);
  const vma = findVma(mm, addr);
  if (vma === null) return null;
  if (vma.vmStart <= addr) return vma;
  const start = vma.vmStart;
  if (expandDownwards(vma, addr) !== 0) return null;
  if (vma.vmFlags & VM_LOCKED) mm.ctx.pt.populateVmaPageRange(vma, addr, start);
  return vma;
}
