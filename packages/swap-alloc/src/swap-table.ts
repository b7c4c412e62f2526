/**
 * DOC: the per-cluster swap table (Linux 6.18, "swap table phase I").
 *
 * Each cluster that is off the free list owns a table of SWAPFILE_CLUSTER
 * entries, one per slot; a slot's entry is NULL (unused), a folio (the slot
 * is in the swap cache) or a shadow (workingset information of a page that
 * was swapped out). The kernel keeps `atomic_long_t` values (a folio
 * pointer, or an XArray value for a shadow); this model keeps one
 * `Float64Array` per table with:
 *
 * ```
 *   0        NULL
 *   pfn + 1  the folio whose head PFN is pfn          (> 0)
 *   -(s + 1) the shadow s (a non-negative integer)    (< 0)
 * ```
 *
 * A table is allocated when its cluster is isolated from the free list
 * (`swap_cluster_alloc_table`) and freed when the cluster becomes free again
 * (`swap_cluster_free_table`). With 4 KiB pages and THP_SWAP a table is
 * 512 × 8 B = one page (`SWP_TABLE_USE_PAGE`), so the kernel takes a page
 * from the buddy allocator and frees it through RCU; the model does the
 * same: the page comes from the machine's allocator (`tableMemory: 'pages'`,
 * the default, so fail_page_alloc reaches it), is given back after an RCU
 * grace period, and the host array goes back to a pool at that point.
 * Tables of other sizes come from the kernel's `swap_table` slab cache; the
 * model then only keeps the host array (no slab dependency).
 */
import type { SwapInfo } from './swap-info.js';
import type { Swap } from './swapfile.js';

/** Swap table value of a folio. */
export function folioToSwpTb(folio: number): number {
  return folio + 1;
}

/** Swap table value of a shadow. */
export function shadowToSwpTb(shadow: number): number {
  return -(shadow + 1);
}

/** Whether a swap-table value holds a folio. @kernel swp_tb_is_folio (mm/swap_table.h) */
export function swpTbIsFolio(tb: number): boolean {
  return tb > 0;
}

/** Whether a swap-table value holds a shadow (the eviction record of a folio no longer cached) @kernel swp_tb_is_shadow (mm/swap_table.h) */
export function swpTbIsShadow(tb: number): boolean {
  return tb < 0;
}

/** Folio (head PFN) in a swap-table value holding one. @kernel swp_tb_to_folio (mm/swap_table.h) */
export function swpTbToFolio(tb: number): number {
  return tb - 1;
}

/** Shadow in a swap-table value holding one. @kernel swp_tb_to_shadow (mm/swap_table.h) */
export function swpTbToShadow(tb: number): number {
  return -tb - 1;
}

/**
 * Read a slot's table entry; 0 when the cluster has no table (a free cluster).
 * @kernel swap_table_get (mm/swap_table.h)
 */
export function swapTableGet(si: SwapInfo, ci: number, ciOff: number): number {
  const t = si.ciTable[ci];
  return t === null || t === undefined ? 0 : t[ciOff]!;
}

/** The table of a cluster that has one (allocation-side callers hold ci->lock). */
export function clusterTable(si: SwapInfo, ci: number): Float64Array {
  return si.ciTable[ci] as Float64Array;
}

/** A zeroed host array for a table, from the pool when one is there. */
export function swapTableArray(swap: Swap): Float64Array {
  const p = swap.tablePool;
  const t = p.pop();
  return t !== undefined ? t : new Float64Array(swap.clusterSize);
}

/**
 * Free a cluster's table: the page (if any) and the host array go back after
 * an RCU grace period, as lockless readers may still look at it.
 * @kernel swap_cluster_free_table (mm/swapfile.c)
 */
export function swapClusterFreeTable(swap: Swap, si: SwapInfo, ci: number): void {
  const t = si.ciTable[ci];
  if (t === null || t === undefined) return;
  si.ciTable[ci] = null;
  const pfn = si.ciTablePfn[ci]!;
  si.ciTablePfn[ci] = -1;
  swap.nrTables--;
  swap.machine.rcu.callRcu(swapTableFreeRcu, { swap, table: t, pfn });
}

function swapTableFreeRcu(arg: { swap: Swap; table: Float64Array; pfn: number }): void {
  arg.table.fill(0);
  if (arg.swap.tablePool.length < 64) arg.swap.tablePool.push(arg.table);
  if (arg.pfn >= 0) {
    arg.swap.machine.mem.freePages(arg.pfn, 0);
    arg.swap.nrTablePages--;
  }
}
