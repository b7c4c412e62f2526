/**
 * DOC: overcommit accounting (mm/util.c).
 *
 * Every accountable mapping (private writable, not MAP_NORESERVE, not
 * hugetlb: `VM_ACCOUNT`) charges its pages to `vm_committed_as` when it is
 * created or grows, and returns them when it is unmapped or shrinks. The
 * charge happens first; `__vm_enough_memory()` then decides by
 * `vm.overcommit_memory`:
 * - 0 (heuristic, the default): refuse only a single request larger than
 *   RAM plus swap;
 * - 1 (always): never refuse;
 * - 2 (never): refuse when the commit would reach `vm_commit_limit()`
 *   (`overcommit_kbytes`, or `overcommit_ratio`% of RAM, plus swap), less
 *   `admin_reserve_kbytes` for non-admins and a user reserve of
 *   min(total_vm / 32, `user_reserve_kbytes`). The check reads the per-CPU
 *   counter's approximate value, as the kernel does; switching to mode 2
 *   folds every CPU's delta and shrinks the batch.
 * A refusal un-charges and returns -ENOMEM.
 */
import { ENOMEM, percpuCounterReadPositive } from '@mm/machine';
import type { MmContext } from './mm-context.js';
import type { MmStruct } from './mm-types.js';
import { OVERCOMMIT_ALWAYS, OVERCOMMIT_GUESS } from './mman.js';

/**
 * The commit limit in pages of mode 2.
 * @kernel vm_commit_limit (mm/util.c)
 */
export function vmCommitLimit(ctx: MmContext): number {
  let allowed: number;
  if (ctx.sysctlOvercommitKbytes !== 0) allowed = Math.floor(ctx.sysctlOvercommitKbytes / (ctx.pageSize / 1024));
  else allowed = Math.floor((ctx.totalramPages() * ctx.sysctlOvercommitRatio) / 100);
  return allowed + ctx.totalSwapPages();
}

/**
 * Charge `pages` and decide whether the commit may stand.
 * @returns 0, or -ENOMEM (the charge undone).
 * @kernel __vm_enough_memory (mm/util.c)
 */
export function __vmEnoughMemory(ctx: MmContext, mm: MmStruct | null, pages: number, capSysAdmin: boolean): number {
  ctx.vmAcctMemory(pages);
  if (ctx.sysctlOvercommitMemory === OVERCOMMIT_ALWAYS) return 0;
  if (ctx.sysctlOvercommitMemory === OVERCOMMIT_GUESS) {
    if (pages > ctx.totalramPages() + ctx.totalSwapPages()) {
      ctx.vmUnacctMemory(pages);
      return -ENOMEM;
    }
    return 0;
  }
  const kbPerPage = ctx.pageSize / 1024;
  let allowed = vmCommitLimit(ctx);
  // reserve some for root
  if (!capSysAdmin) allowed -= Math.floor(ctx.sysctlAdminReserveKbytes / kbPerPage);
  // do not let a single process grow so big a user cannot recover
  if (mm !== null) {
    const reserve = Math.floor(ctx.sysctlUserReserveKbytes / kbPerPage);
    allowed -= Math.min(Math.floor(mm.totalVm / 32), reserve);
  }
  if (percpuCounterReadPositive(ctx.vmCommittedAs) < allowed) return 0;
  ctx.vmUnacctMemory(pages);
  return -ENOMEM;
}

/**
 * The LSM entry point mm/ calls: the commoncap check with CAP_SYS_ADMIN.
 * @kernel security_vm_enough_memory_mm (security/security.c)
 */
export function securityVmEnoughMemoryMm(mm: MmStruct, pages: number): number {
  return __vmEnoughMemory(mm.ctx, mm, pages, mm.capSysAdmin);
}
