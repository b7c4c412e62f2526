/**
 * DOC: finding an unmapped range (mm/vma.c `unmapped_area()` /
 * `unmapped_area_topdown()`, mm/mmap.c `__get_unmapped_area()` and the
 * generic finders, arch/x86/kernel/sys_x86_64.c for x86-64, mm/huge_memory.c
 * for the THP alignment of large anonymous mappings).
 *
 * The search is the maple tree's gap search (`mas_empty_area[_rev]`) over
 * the VMA tree, for `length + align_mask + start_gap` bytes, retried past a
 * neighbour whose guard gap (`stack_guard_gap` below a GROWSDOWN stack) the
 * candidate would break. Top-down takes the highest fit below `mmap_base`
 * and falls back to bottom-up from `TASK_UNMAPPED_BASE`; never below
 * `mmap_min_addr`. A hint is honoured if it fits between the neighbours'
 * gaps; MAP_FIXED is returned as is. Anonymous private mappings without a
 * hint whose length is a multiple of PMD_SIZE are placed PMD-aligned (the
 * search asks one PMD more). Files here are tmpfs-like, whose
 * `shmem_get_unmapped_area()` gives the mm's answer while `shmem_huge` is
 * "never" (the default).
 */
import { EINVAL, ENOMEM, EPERM } from '@mm/machine';
import type { File } from './file.js';
import type { MmStruct, VmAreaStruct } from './mm-types.js';
import { MAP_32BIT, MAP_FIXED, MAP_SHARED } from './mman.js';
import { VM_GROWSDOWN, VM_SHADOW_STACK, VM_STARTGAP_FLAGS, vmFlagsAny } from './vm-flags.js';
import { findVma, findVmaPrev } from './vma.js';
import {
  VmaIterator,
  vmaIterAddr,
  vmaIterAreaHighest,
  vmaIterAreaLowest,
  vmaIterEnd,
  vmaIterReset,
  vmaNext,
  vmaPrev,
} from './vma-iter.js';

/** `info.flags`: search from the top. */
export const VM_UNMAPPED_AREA_TOPDOWN = 1;

/** What a free-range search wants: length, bounds, alignment and direction. @kernel struct vm_unmapped_area_info (include/linux/mm.h) */
export interface VmUnmappedAreaInfo {
  /** Search options: VM_UNMAPPED_AREA_TOPDOWN or 0 for bottom-up; mirrors `vm_unmapped_area_info::flags`. */
  flags: number;
  /** Size of the gap wanted, in bytes; mirrors `vm_unmapped_area_info::length`. */
  length: number;
  /** Lowest address the result may start at; mirrors `vm_unmapped_area_info::low_limit`. */
  lowLimit: number;
  /** Highest address the result may end at; mirrors `vm_unmapped_area_info::high_limit`. */
  highLimit: number;
  /** Address bits the result must match with `alignOffset` (0 for page alignment only); mirrors `vm_unmapped_area_info::align_mask`. */
  alignMask: number;
  /** The value the `alignMask` bits of the result must take; mirrors `vm_unmapped_area_info::align_offset`. */
  alignOffset: number;
  /** Bytes to keep free below the result (a shadow-stack guard); mirrors `vm_unmapped_area_info::start_gap`. */
  startGap: number;
}

/** A new search request. */
export function unmappedAreaInfo(length: number, lowLimit: number, highLimit: number, flags = 0): VmUnmappedAreaInfo {
  return { flags, length, lowLimit, highLimit, alignMask: 0, alignOffset: 0, startGap: 0 };
}

/** The gap to keep below a VMA: the stack guard gap below GROWSDOWN, a page below a shadow stack. @kernel stack_guard_start_gap (include/linux/mm.h) */
function stackGuardStartGap(vma: VmAreaStruct): number {
  if (vma.vmFlags & VM_GROWSDOWN) return vma.vmMm.ctx.stackGuardGap;
  if (vmFlagsAny(vma.vmFlags, VM_SHADOW_STACK)) return vma.vmMm.ctx.pageSize;
  return 0;
}

/** The lowest address a new mapping below `vma` may end at. @kernel vm_start_gap (include/linux/mm.h) */
export function vmStartGap(vma: VmAreaStruct): number {
  const start = vma.vmStart - stackGuardStartGap(vma);
  return start > vma.vmStart || start < 0 ? 0 : start;
}

/** The lowest address a new mapping above `vma` may start at (no GROWSUP stacks here). @kernel vm_end_gap (include/linux/mm.h) */
export function vmEndGap(vma: VmAreaStruct): number {
  return vma.vmEnd;
}

/**
 * The lowest fit in `[low_limit, high_limit)`.
 * @returns the address, or -ENOMEM.
 * @kernel unmapped_area (mm/vma.c)
 */
export function unmappedArea(mm: MmStruct, info: VmUnmappedAreaInfo): number {
  const vmi = new VmaIterator(mm, 0);
  const length = info.length + info.alignMask + info.startGap;
  let lowLimit = Math.max(info.lowLimit, mm.ctx.mmapMinAddr);
  const highLimit = info.highLimit;
  for (;;) {
    if (vmaIterAreaLowest(vmi, lowLimit, highLimit, length) !== 0) return -ENOMEM;
    // the start gap first, then the alignment
    let gap = vmaIterAddr(vmi) + info.startGap;
    gap += mod(info.alignOffset - gap, info.alignMask + 1);
    let tmp = vmaNext(vmi);
    if (tmp !== null && vmFlagsAny(tmp.vmFlags, VM_STARTGAP_FLAGS)) {
      if (vmStartGap(tmp) < gap + length - 1) {
        lowLimit = tmp.vmEnd;
        vmaIterReset(vmi);
        continue;
      }
    } else {
      tmp = vmaPrev(vmi);
      if (tmp !== null && vmEndGap(tmp) > gap) {
        lowLimit = vmEndGap(tmp);
        vmaIterReset(vmi);
        continue;
      }
    }
    return gap;
  }
}

/**
 * The highest fit in `[low_limit, high_limit)`.
 * @returns the address, or -ENOMEM.
 * @kernel unmapped_area_topdown (mm/vma.c)
 */
export function unmappedAreaTopdown(mm: MmStruct, info: VmUnmappedAreaInfo): number {
  const vmi = new VmaIterator(mm, 0);
  const length = info.length + info.alignMask + info.startGap;
  const lowLimit = Math.max(info.lowLimit, mm.ctx.mmapMinAddr);
  let highLimit = info.highLimit;
  for (;;) {
    if (vmaIterAreaHighest(vmi, lowLimit, highLimit, length) !== 0) return -ENOMEM;
    let gap = vmaIterEnd(vmi) - info.length;
    gap -= mod(gap - info.alignOffset, info.alignMask + 1);
    const gapEnd = vmaIterEnd(vmi);
    let tmp = vmaNext(vmi);
    if (tmp !== null && vmFlagsAny(tmp.vmFlags, VM_STARTGAP_FLAGS)) {
      if (vmStartGap(tmp) < gapEnd) {
        highLimit = vmStartGap(tmp);
        vmaIterReset(vmi);
        continue;
      }
    } else {
      tmp = vmaPrev(vmi);
      if (tmp !== null && vmEndGap(tmp) > gap) {
        highLimit = tmp.vmStart;
        vmaIterReset(vmi);
        continue;
      }
    }
    return gap;
  }
}

/** `x & mask` for a power-of-two `mask + 1`, on values that may be negative (unsigned wrap). */
function mod(x: number, m: number): number {
  const r = x % m;
  return r < 0 ? r + m : r;
}

/** Find a free range as `info` asks; its start, or -ENOMEM. @kernel vm_unmapped_area (mm/mmap.c) */
export function vmUnmappedArea(mm: MmStruct, info: VmUnmappedAreaInfo): number {
  return info.flags & VM_UNMAPPED_AREA_TOPDOWN ? unmappedAreaTopdown(mm, info) : unmappedArea(mm, info);
}

/** A shadow stack needs a page below it. @kernel stack_guard_placement (mm/mmap.c) */
function stackGuardPlacement(mm: MmStruct, vmFlags: number): number {
  return vmFlagsAny(vmFlags, VM_SHADOW_STACK) ? mm.ctx.pageSize : 0;
}

function pageAlign(mm: MmStruct, x: number): number {
  const p = mm.ctx.pageSize;
  return Math.ceil(x / p) * p;
}

/** Whether a hint fits between its neighbours' gaps. */
function hintFits(mm: MmStruct, addr: number, len: number, mmapEnd: number): boolean {
  const pp: { prev: VmAreaStruct | null } = { prev: null };
  const vma = findVmaPrev(mm, addr, pp);
  return (
    mmapEnd - len >= addr &&
    addr >= mm.ctx.mmapMinAddr &&
    (vma === null || addr + len <= vmStartGap(vma)) &&
    (pp.prev === null || addr >= vmEndGap(pp.prev))
  );
}

/**
 * Bottom-up: the lowest fit above `mmap_base`.
 * @kernel generic_get_unmapped_area (mm/mmap.c)
 */
export function genericGetUnmappedArea(
  mm: MmStruct,
  addrIn: number,
  len: number,
  flags: number,
  vmFlags: number,
): number {
  const mmapEnd = mm.taskSize;
  if (len > mmapEnd - mm.ctx.mmapMinAddr) return -ENOMEM;
  if (flags & MAP_FIXED) return addrIn;
  if (addrIn !== 0) {
    const addr = pageAlign(mm, addrIn);
    if (hintFits(mm, addr, len, mmapEnd)) return addr;
  }
  const info = unmappedAreaInfo(len, mm.mmapBase, mmapEnd);
  info.startGap = stackGuardPlacement(mm, vmFlags);
  return vmUnmappedArea(mm, info);
}

/**
 * Top-down: the highest fit below `mmap_base`, falling back to bottom-up.
 * @kernel generic_get_unmapped_area_topdown (mm/mmap.c)
 */
export function genericGetUnmappedAreaTopdown(
  mm: MmStruct,
  addrIn: number,
  len: number,
  flags: number,
  vmFlags: number,
): number {
  const mmapEnd = mm.taskSize;
  if (len > mmapEnd - mm.ctx.mmapMinAddr) return -ENOMEM;
  if (flags & MAP_FIXED) return addrIn;
  if (addrIn !== 0) {
    const addr = pageAlign(mm, addrIn);
    if (hintFits(mm, addr, len, mmapEnd)) return addr;
  }
  const info = unmappedAreaInfo(len, mm.ctx.pageSize, mm.mmapBase, VM_UNMAPPED_AREA_TOPDOWN);
  info.startGap = stackGuardPlacement(mm, vmFlags);
  let addr = vmUnmappedArea(mm, info);
  // a failed mmap() very likely kills the application: try bottom-up
  if (addr < 0) {
    info.flags = 0;
    info.lowLimit = mm.ctx.taskUnmappedBase;
    info.highLimit = mmapEnd;
    addr = vmUnmappedArea(mm, info);
  }
  return addr;
}

/**
 * x86-64 bottom-up: from `mmap_legacy_base` (MAP_32BIT: in [1 GiB, 2 GiB)).
 * @kernel arch_get_unmapped_area (arch/x86/kernel/sys_x86_64.c)
 */
export function x86GetUnmappedArea(
  mm: MmStruct,
  addrIn: number,
  len: number,
  pgoff: number,
  flags: number,
  vmFlags: number,
): number {
  if (flags & MAP_FIXED) return addrIn;
  let begin: number;
  let end: number;
  if (flags & MAP_32BIT) {
    begin = 0x40000000;
    end = 0x80000000;
  } else {
    begin = mm.mmapLegacyBase;
    end = mm.taskSize;
  }
  if (len > end) return -ENOMEM;
  if (addrIn !== 0) {
    const addr = pageAlign(mm, addrIn);
    const vma = findVma(mm, addr);
    if (end - len >= addr && (vma === null || addr + len <= vmStartGap(vma))) return addr;
  }
  const info = unmappedAreaInfo(len, begin, end);
  info.alignOffset = pgoff * mm.ctx.pageSize;
  info.startGap = stackGuardPlacement(mm, vmFlags);
  return vmUnmappedArea(mm, info);
}

/**
 * x86-64 top-down: below `mmap_base` down to a page (MAP_32BIT: bottom-up),
 * falling back to bottom-up. The hint check ignores the previous VMA's gap.
 * @kernel arch_get_unmapped_area_topdown (arch/x86/kernel/sys_x86_64.c)
 */
export function x86GetUnmappedAreaTopdown(
  mm: MmStruct,
  addr0: number,
  len: number,
  pgoff: number,
  flags: number,
  vmFlags: number,
): number {
  if (len > mm.taskSize) return -ENOMEM;
  if (flags & MAP_FIXED) return addr0;
  if (!(flags & MAP_32BIT)) {
    if (addr0 !== 0) {
      const addr = addr0 - (addr0 % mm.ctx.pageSize);
      // mmap_address_hint_valid() (4-level paging: one window)
      if (mm.taskSize - len >= addr) {
        const vma = findVma(mm, addr);
        if (vma === null || addr + len <= vmStartGap(vma)) return addr;
      }
    }
    const info = unmappedAreaInfo(len, mm.ctx.pageSize, mm.mmapBase, VM_UNMAPPED_AREA_TOPDOWN);
    info.startGap = stackGuardPlacement(mm, vmFlags);
    info.alignOffset = pgoff * mm.ctx.pageSize;
    const addr = vmUnmappedArea(mm, info);
    if (addr >= 0) return addr;
  }
  return x86GetUnmappedArea(mm, addr0, len, pgoff, flags, 0);
}

/**
 * The mm's finder: top-down or bottom-up by the layout, per architecture.
 * @kernel mm_get_unmapped_area_vmflags (mm/mmap.c)
 */
export function mmGetUnmappedAreaVmflags(
  mm: MmStruct,
  addr: number,
  len: number,
  pgoff: number,
  flags: number,
  vmFlags: number,
): number {
  if (mm.ctx.arch === 'x86_64') {
    return mm.topdown
      ? x86GetUnmappedAreaTopdown(mm, addr, len, pgoff, flags, vmFlags)
      : x86GetUnmappedArea(mm, addr, len, pgoff, flags, vmFlags);
  }
  return mm.topdown
    ? genericGetUnmappedAreaTopdown(mm, addr, len, flags, vmFlags)
    : genericGetUnmappedArea(mm, addr, len, flags, vmFlags);
}

/**
 * A PMD-aligned place for an anonymous mapping of whole PMDs: search one PMD
 * more and align inside it.
 * @returns the address, or 0 when the padded search fails.
 * @kernel __thp_get_unmapped_area (mm/huge_memory.c)
 */
function thpGetUnmappedArea(mm: MmStruct, addr: number, len: number, flags: number, vmFlags: number): number {
  const size = mm.ctx.pmdSize;
  // off = 0: off_end - off_align = len >= size (len is a multiple of PMD_SIZE)
  const ret = mmGetUnmappedAreaVmflags(mm, addr, len + size, 0, flags, vmFlags);
  if (ret < 0) return 0;
  if (ret === addr) return addr;
  const offSub = mod(-ret, size);
  if (mm.topdown && offSub === 0) return ret + size;
  return ret + offSub;
}

/**
 * Where to map `len` bytes: the file's finder (tmpfs: the mm's), the THP
 * finder for large anonymous mappings without a hint, or the mm's finder;
 * then the range is checked against `TASK_SIZE` and page alignment.
 * @returns the address, or -ENOMEM / -EINVAL.
 * @kernel __get_unmapped_area (mm/mmap.c)
 */
export function __getUnmappedArea(
  mm: MmStruct,
  file: File | null,
  addrIn: number,
  len: number,
  pgoffIn: number,
  flags: number,
  vmFlags: number,
): number {
  if (len > mm.taskSize) return -ENOMEM;
  const pgoff = file === null ? 0 : pgoffIn;
  let addr: number;
  if (file !== null || flags & MAP_SHARED) {
    // shmem_get_unmapped_area() with shmem_huge "never": the mm's finder, no vm_flags
    addr = mmGetUnmappedAreaVmflags(mm, addrIn, len, pgoff, flags, 0);
  } else if (addrIn === 0 && len % mm.ctx.pmdSize === 0) {
    addr = thpGetUnmappedArea(mm, addrIn, len, flags, vmFlags);
    if (addr === 0) addr = mmGetUnmappedAreaVmflags(mm, addrIn, len, pgoff, flags, vmFlags);
  } else {
    addr = mmGetUnmappedAreaVmflags(mm, addrIn, len, pgoff, flags, vmFlags);
  }
  if (addr < 0) return addr;
  if (addr > mm.taskSize - len) return -ENOMEM;
  if (addr % mm.ctx.pageSize !== 0) return -EINVAL;
  // security_mmap_addr() -> cap_mmap_addr(): below mmap_min_addr needs CAP_SYS_RAWIO
  if (addr < mm.ctx.mmapMinAddr && !mm.capSysRawio) return -EPERM;
  return addr;
}

/** Choose the address of a new mapping; the address, or a negative errno. @kernel get_unmapped_area (include/linux/mm.h) */
export function getUnmappedArea(
  mm: MmStruct,
  file: File | null,
  addr: number,
  len: number,
  pgoff: number,
  flags: number,
): number {
  return __getUnmappedArea(mm, file, addr, len, pgoff, flags, 0);
}
