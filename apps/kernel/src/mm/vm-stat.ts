/**
 * DOC: the per-mm VM counters and the limits checked against them
 * (mm/mmap.c): `vm_stat_account()` splits every mapped page into exactly
 * one of exec, stack or data (or none) besides `total_vm`;
 * `may_expand_vm()` applies RLIMIT_AS and RLIMIT_DATA; `mlock_future_ok()`
 * applies RLIMIT_MEMLOCK unless the process has CAP_IPC_LOCK.
 */
import type { MmStruct } from './mm-types.js';
import { isDataMapping, isExecMapping, isStackMapping } from './vm-flags.js';

/** Pages of a byte limit (`rlimit >> PAGE_SHIFT`; RLIM_INFINITY stays infinite). */
function limitPages(mm: MmStruct, bytes: number): number {
  return bytes === Infinity ? Infinity : Math.floor(bytes / mm.ctx.pageSize);
}

/**
 * Whether `npages` more pages of a mapping with `flags` fit the address-space
 * and data limits.
 * @kernel may_expand_vm (mm/mmap.c)
 */
export function mayExpandVm(mm: MmStruct, flags: number, npages: number): boolean {
  if (mm.totalVm + npages > limitPages(mm, mm.rlim.as.cur)) return false;
  if (isDataMapping(flags) && mm.dataVm + npages > limitPages(mm, mm.rlim.data.cur)) {
    // Workaround for Valgrind
    if (mm.rlim.data.cur === 0 && mm.dataVm + npages <= limitPages(mm, mm.rlim.data.max)) return true;
    // pr_warn_once() and refuse (no ignore_rlimit_data)
    return false;
  }
  return true;
}

/**
 * Count `npages` (negative to uncount) of a mapping with `flags`.
 * @kernel vm_stat_account (mm/mmap.c)
 */
export function vmStatAccount(mm: MmStruct, flags: number, npages: number): void {
  mm.totalVm += npages;
  if (isExecMapping(flags)) mm.execVm += npages;
  else if (isStackMapping(flags)) mm.stackVm += npages;
  else if (isDataMapping(flags)) mm.dataVm += npages;
}

/**
 * Whether locking `bytes` more fits RLIMIT_MEMLOCK (always, without a lock or with CAP_IPC_LOCK).
 * @kernel mlock_future_ok (mm/mmap.c)
 */
export function mlockFutureOk(mm: MmStruct, isVmaLocked: boolean, bytes: number): boolean {
  if (!isVmaLocked || mm.capIpcLock) return true;
  const lockedPages = Math.floor(bytes / mm.ctx.pageSize) + mm.lockedVm;
  return lockedPages <= limitPages(mm, mm.rlim.memlock.cur);
}

/**
 * Whether the process may mlock at all (a non-zero RLIMIT_MEMLOCK or CAP_IPC_LOCK).
 * @kernel can_do_mlock (mm/mlock.c)
 */
export function canDoMlock(mm: MmStruct): boolean {
  return mm.rlim.memlock.cur !== 0 || mm.capIpcLock;
}
