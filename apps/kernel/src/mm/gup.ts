/**
 * DOC: populating ranges after mmap, mlock, brk and mremap: the VMA walk of
 * `__mm_populate()` (mm/gup.c). Each VMA of the range that is not VM_IO or
 * VM_PFNMAP is faulted in through the page-table seam's
 * `populate_vma_page_range()`; `mm_populate()` ignores errors and goes on
 * with the next VMA.
 */

import type { MmStruct, VmAreaStruct } from './mm-types.js';
import { mmapReadLock, mmapReadUnlock } from './mmap-lock.js';
import { VM_IO, VM_PFNMAP } from './vm-flags.js';
import { findVmaIntersection } from './vma.js';

/**
 * Fault in the VMAs of `[start, start + len)` under the mmap read lock.
 * @returns 0, or the first negative errno when errors are not ignored.
 * @kernel __mm_populate (mm/gup.c)
 */
export function __mmPopulate(mm: MmStruct, start: number, len: number, ignoreErrors: boolean): number {
  const end = start + len;
  let vma: VmAreaStruct | null = null;
  let locked = false;
  let ret = 0;
  for (let nstart = start, nend = start; nstart < end; nstart = nend) {
    if (!locked) {
      locked = true;
      mmapReadLock(mm);
      vma = findVmaIntersection(mm, nstart, end);
    } else if (vma !== null && nstart >= vma.vmEnd) {
      vma = findVmaIntersection(mm, vma.vmEnd, end);
    }
    if (vma === null) break;
    nend = Math.min(end, vma.vmEnd);
    if (vma.vmFlags & (VM_IO | VM_PFNMAP)) continue;
    if (nstart < vma.vmStart) nstart = vma.vmStart;
    ret = mm.ctx.pt.populateVmaPageRange(vma, nstart, nend);
    if (ret < 0) {
      if (ignoreErrors) {
        ret = 0;
        continue;
      }
      break;
    }
    nend = nstart + ret * mm.ctx.pageSize;
    ret = 0;
  }
  if (locked) mmapReadUnlock(mm);
  return ret;
}

/** Populate, ignoring errors. @kernel mm_populate (include/linux/mm.h) */
export function mmPopulate(mm: MmStruct, addr: number, len: number): void {
  __mmPopulate(mm, addr, len, true);
}
