/**
 * DOC: mmu_gather: batching the TLB flush and the freeing of pages and page
 * tables that a zap unhooks (`mm/mmu_gather.c`, `include/asm-generic/tlb.h`).
 *
 * The ordering every path keeps: unhook the page (clear the entry), flush
 * the TLBs that may cache it, and only then free it. A gather remembers the
 * range and the levels cleared (`start`/`end`, `cleared_*`, `freed_tables`),
 * the pages whose references it holds, and the tables to free.
 *
 * - Pages go into batches of encoded entries: PFN * 4 plus two flag bits,
 *   ENCODED_PAGE_BIT_DELAY_RMAP (1) and ENCODED_PAGE_BIT_NR_PAGES_NEXT (2,
 *   the next slot then holds `nr_pages * 4`). The first batch is the
 *   on-stack `local` one of MMU_GATHER_BUNDLE (8) slots; more come from
 *   single pages allocated with GFP_NOWAIT, MAX_GATHER_BATCH slots each,
 *   at most MAX_GATHER_BATCH_COUNT of them; a batch is full at `max - 1`
 *   so a two-slot entry always fits. When no batch is left the caller
 *   flushes (`__tlb_remove_folio_pages()` returns true).
 * - Delayed rmap ("mm: delay page_remove_rmap() until after the TLB has
 *   been flushed", v6.2): a dirty file folio's rmap is removed only after
 *   the TLB flush, while the PTE lock is still held (`tlb_flush_rmaps()`),
 *   so that `folio_mkclean()` cannot miss a writable TLB entry. Only the
 *   `local` and the active batch may hold delayed entries: no new batch is
 *   started while any is pending.
 * - Tables go through `tlb_remove_table()` / `tlb_remove_ptdesc()`. With
 *   MMU_GATHER_TABLE_FREE they are batched (MAX_TABLE_BATCH per batch page)
 *   and freed after the flush; with MMU_GATHER_RCU_TABLE_FREE (x86 since
 *   6.15, arm64, riscv, powerpc, sparc) the batch is handed to `call_rcu()`
 *   so that lockless walkers (GUP-fast, `pte_offset_map()`) never see a
 *   freed table. If no batch page can be had, one table is freed after an
 *   IPI round (or, with CONFIG_PT_RECLAIM, after RCU).
 * - The flush itself is the architecture's `tlb_flush()`: the whole mm for
 *   fullmm / need_flush_all, else `flush_tlb_mm_range(start, end,
 *   stride = tlb_get_unmap_shift(), freed_tables)` on `@mm/machine`'s MMU,
 *   which shoots down by IPI or broadcast as the machine is configured.
 *
 * Pages are the consumer's (folios and their reference counts belong to the
 * kernel model): after the flush the gather calls `ops.freePages(pfn, nr)`
 * for each entry (`free_pages_and_swap_cache()`), and `ops.removeRmap()` for
 * delayed entries. Tables are this package's and it frees them itself.
 */
import { __GFP_NOWARN, GFP_NOWAIT, MmBugError, smpCallFunctionMany, TLB_FLUSH_ALL } from '@mm/machine';
import { LEVEL_NAMES, P4D_LEVEL, PMD_LEVEL, PTE_LEVEL, PUD_LEVEL } from '../arch/pte-ops.js';
import type { MmPgtables, PageTables } from '../table/page-tables.js';
import { PgtableError } from '../table/page-tables.js';
import { PT_FREEING } from '../table/ptdesc.js';

/** Slots of the on-stack batch. @kernel MMU_GATHER_BUNDLE (include/asm-generic/tlb.h) */
export const MMU_GATHER_BUNDLE = 8;
/** Delay the rmap removal of this entry until after the flush. */
export const ENCODED_PAGE_BIT_DELAY_RMAP = 1;
/** The next slot holds the number of pages (times 4). */
export const ENCODED_PAGE_BIT_NR_PAGES_NEXT = 2;
/** Pages per `free_pages_and_swap_cache()` chunk between `cond_resched()`s. */
export const FREE_PAGES_CHUNK = 512;

/** `MAX_GATHER_BATCH` for a page size: (PAGE_SIZE - sizeof(struct mmu_gather_batch)) / sizeof(void *). */
export function maxGatherBatch(pageSize: number): number {
  return Math.floor((pageSize - 16) / 8);
}

/** `MAX_GATHER_BATCH_COUNT`: 10000 / MAX_GATHER_BATCH (bounds soft lockups). */
export function maxGatherBatchCount(pageSize: number): number {
  return Math.floor(10000 / maxGatherBatch(pageSize));
}

/** `MAX_TABLE_BATCH`: (PAGE_SIZE - sizeof(struct mmu_table_batch)) / sizeof(void *). */
export function maxTableBatch(pageSize: number): number {
  return Math.floor((pageSize - 24) / 8);
}

/** What a gather hands back to the owner of the pages. */
export interface MmuGatherOps {
  /**
   * After the TLB flush: drop the references the gather held on the `nr`
   * pages from `pfn` (one folio's run).
   * @kernel free_pages_and_swap_cache (mm/swap_state.c)
   */
  freePages(pfn: number, nr: number): void;
  /**
   * After the TLB flush, under the PTE lock: remove the rmap of `nr` pages
   * from `pfn` whose removal was delayed.
   * @kernel folio_remove_rmap_ptes (mm/rmap.c)
   */
  removeRmap(pfn: number, nr: number, vma: unknown): void;
}

/** The parts of a VMA the gather reads (`tlb_start_vma()`, `tlb_update_vma_flags()`). */
export interface GatherVma {
  /** The VMA is executable (VM_EXEC); sets `tlb->vma_exec` so the flush covers instruction TLBs too. */
  readonly exec?: boolean;
  /** The VMA maps hugetlb folios (`is_vm_hugetlb_page()`); sets `tlb->vma_huge`. */
  readonly hugetlb?: boolean;
  /** VM_PFNMAP | VM_MIXEDMAP. */
  readonly pfnmap?: boolean;
}

/** Counters of all gathers of a context. */
export interface MmuGatherStats {
  /** Gathers started. */
  readonly gathers: number;
  /** TLB flushes issued. */
  readonly tlbFlushes: number;
  /** Pages freed after their flush. */
  readonly pagesFreed: number;
  /** Page tables freed after their flush. */
  readonly tablesFreed: number;
  /** Pages whose rmap removal waited for the flush. */
  readonly delayedRmaps: number;
  /** Extra batch pages allocated. */
  readonly batchPagesAllocated: number;
  /** Flushes forced by full batches. */
  readonly forcedFlushes: number;
}

/** Per-context counters (kept on the PageTables via a WeakMap). */
class GatherCounters {
  gathers = 0;
  tlbFlushes = 0;
  pagesFreed = 0;
  tablesFreed = 0;
  delayedRmaps = 0;
  batchPagesAllocated = 0;
  forcedFlushes = 0;
}
const counters = new WeakMap<PageTables, GatherCounters>();
function countersOf(pt: PageTables): GatherCounters {
  let c = counters.get(pt);
  if (c === undefined) {
    c = new GatherCounters();
    counters.set(pt, c);
  }
  return c;
}

/** Counters of every gather made on `pt`. */
export function mmuGatherStats(pt: PageTables): MmuGatherStats {
  const c = countersOf(pt);
  return { ...c };
}

/** A table queued for freeing: its level and index. */
interface TableBatch {
  levels: Int8Array;
  tables: Int32Array;
  nr: number;
  /** The page holding the batch (a GFP_NOWAIT page), -1 for none. */
  pfn: number;
}

/**
 * `struct mmu_gather`. Reuse one per caller: `tlbGatherMmu()` resets it.
 */
export class MmuGather {
  /** The page tables gathered from. */
  readonly pt: PageTables;
  /** Callbacks that free pages and tables. */
  readonly ops: MmuGatherOps;
  /** The address space being gathered, or null between uses. @kernel mmu_gather.mm */
  mm: MmPgtables | null;
  /** Tearing down the whole address space. */
  fullmm: boolean;
  /** The architecture asked for a full flush. */
  needFlushAll: boolean;
  /** Page tables were unhooked (walk caches must go too). */
  freedTables: boolean;
  /** Some entry of the local or active batch has a delayed rmap. */
  delayedRmap: boolean;
  /** PTE entries were cleared. @kernel mmu_gather.cleared_ptes */
  clearedPtes: boolean;
  /** PMD entries were cleared. @kernel mmu_gather.cleared_pmds */
  clearedPmds: boolean;
  /** PUD entries were cleared. @kernel mmu_gather.cleared_puds */
  clearedPuds: boolean;
  /** P4D entries were cleared. @kernel mmu_gather.cleared_p4ds */
  clearedP4ds: boolean;
  /** Sticky VMA flags seen (`vma_exec`, `vma_huge`, `vma_pfn`). */
  vmaExec: boolean;
  /** A hugetlb VMA was seen. @kernel mmu_gather.vma_huge */
  vmaHuge: boolean;
  /** A PFN-mapped VMA was seen. @kernel mmu_gather.vma_pfn */
  vmaPfn: boolean;
  /** Range to flush: [start, end). */
  start: number;
  /** End of the range to flush (exclusive). @kernel mmu_gather.end */
  end: number;
  /** Extra batches in use. */
  batchCount: number;
  /** Page batches: slot arrays; [0] is the local bundle. */
  private readonly slots: Float64Array[];
  private readonly nr: Int32Array;
  private readonly batchPfn: number[];
  /** Index of the active batch. */
  active: number;
  private tableBatch: TableBatch | null;
  private readonly maxBatch: number;
  private readonly maxBatchCount: number;
  private readonly maxTables: number;
  /** Pages held now (all batches). */
  nrPagesHeld: number;
  /** Set between tlbGatherMmu and tlbFinishMmu. */
  inUse: boolean;

  constructor(pt: PageTables, ops: MmuGatherOps) {
    this.pt = pt;
    this.ops = ops;
    this.mm = null;
    this.fullmm = false;
    this.needFlushAll = false;
    this.freedTables = false;
    this.delayedRmap = false;
    this.clearedPtes = false;
    this.clearedPmds = false;
    this.clearedPuds = false;
    this.clearedP4ds = false;
    this.vmaExec = false;
    this.vmaHuge = false;
    this.vmaPfn = false;
    this.start = 0;
    this.end = 0;
    this.batchCount = 0;
    this.maxBatch = maxGatherBatch(pt.pageSize);
    this.maxBatchCount = maxGatherBatchCount(pt.pageSize);
    this.maxTables = maxTableBatch(pt.pageSize);
    this.slots = [new Float64Array(MMU_GATHER_BUNDLE)];
    this.nr = new Int32Array(this.maxBatchCount + 1);
    this.batchPfn = [-1];
    this.active = 0;
    this.tableBatch = null;
    this.nrPagesHeld = 0;
    this.inUse = false;
  }

  /** Slots of batch `b`. */
  private max(b: number): number {
    return b === 0 ? MMU_GATHER_BUNDLE : this.maxBatch;
  }

  /** Start an empty range with no levels touched (the whole address space for a full-mm teardown) @kernel __tlb_reset_range (include/asm-generic/tlb.h) */
  resetRange(): void {
    if (this.fullmm) {
      this.start = 0;
      this.end = Number.MAX_SAFE_INTEGER;
    } else {
      this.start = this.pt.addrLimit;
      this.end = 0;
    }
    this.freedTables = false;
    this.clearedPtes = false;
    this.clearedPmds = false;
    this.clearedPuds = false;
    this.clearedP4ds = false;
  }

  /** Widen the flush range. @kernel __tlb_adjust_range (include/asm-generic/tlb.h) */
  adjustRange(addr: number, size: number): void {
    if (addr < this.start) this.start = addr;
    if (addr + size > this.end) this.end = addr + size;
  }

  /**
   * Start a new batch when the active one is full: the next existing one,
   * or a new page (GFP_NOWAIT). Refused while delayed rmaps are pending in a
   * batch that is not the local one, and past MAX_GATHER_BATCH_COUNT.
   * @kernel tlb_next_batch (mm/mmu_gather.c)
   */
  nextBatch(): boolean {
    if (this.delayedRmap && this.active !== 0) return false;
    if (this.active + 1 < this.slots.length) {
      this.active++;
      return true;
    }
    if (this.batchCount === this.maxBatchCount) return false;
    const m = this.pt.machine;
    const pfn = m.mem.allocPages(GFP_NOWAIT | __GFP_NOWARN, 0);
    if (pfn < 0) return false;
    countersOf(this.pt).batchPagesAllocated++;
    this.batchCount++;
    this.slots.push(new Float64Array(this.maxBatch));
    this.batchPfn.push(pfn);
    this.active = this.slots.length - 1;
    this.nr[this.active] = 0;
    return true;
  }

  /**
   * Queue `nr` pages from `pfn` (one folio) to be freed after the flush.
   * @returns true when no room is left: the caller must flush.
   */
  queuePages(pfn: number, nr: number, delayRmap: boolean): boolean {
    let b = this.active;
    const enc = pfn * 4 + (delayRmap ? ENCODED_PAGE_BIT_DELAY_RMAP : 0) + (nr > 1 ? ENCODED_PAGE_BIT_NR_PAGES_NEXT : 0);
    const slots = this.slots[b]!;
    let n = this.nr[b]!;
    slots[n++] = enc;
    if (nr > 1) slots[n++] = nr * 4;
    this.nr[b] = n;
    this.nrPagesHeld += nr;
    if (delayRmap) this.delayedRmap = true;
    // Full at max - 1 so that a two-slot entry always fits.
    if (n >= this.max(b) - 1) {
      if (!this.nextBatch()) return true;
      b = this.active;
      if (this.nr[b]! >= this.max(b) - 1) return true;
    }
    return false;
  }

  /** Queue a table for freeing after the flush. */
  queueTable(level: number, t: number): void {
    const pt = this.pt;
    const pool = pt.pools[level]!;
    pool.state[t] = PT_FREEING;
    if (!pt.desc.tableFree) {
      // tlb_remove_table() without MMU_GATHER_TABLE_FREE: dtor + tlb_remove_page();
      // the table waits with the pages (freed by us after the flush).
      this.tableBatchFor(true).levels[this.tableBatch!.nr] = level;
      this.tableBatch!.tables[this.tableBatch!.nr++] = t;
      return;
    }
    let batch = this.tableBatch;
    if (batch === null) {
      batch = this.tableBatchFor(false);
      if (batch.pfn < 0) {
        // No page for a batch: invalidate, then free this one table alone.
        this.tableInvalidate();
        this.removeTableOne(level, t);
        return;
      }
    }
    batch.levels[batch.nr] = level;
    batch.tables[batch.nr++] = t;
    if (batch.nr === this.maxTables) tlbTableFlush(this);
  }

  private tableBatchFor(noPage: boolean): TableBatch {
    if (this.tableBatch !== null) return this.tableBatch;
    let pfn = -1;
    if (!noPage) pfn = this.pt.machine.mem.allocPages(GFP_NOWAIT | __GFP_NOWARN, 0);
    const b: TableBatch = {
      levels: new Int8Array(this.maxTables),
      tables: new Int32Array(this.maxTables),
      nr: 0,
      pfn,
    };
    if (pfn >= 0 || noPage) this.tableBatch = b;
    return b;
  }

  /** Flush the TLB before freeing tables when hardware walk caches may hold them. @kernel tlb_table_invalidate */
  tableInvalidate(): void {
    if (this.pt.desc.tableInvalidate) tlbFlushMmuTlbonly(this);
  }

  /**
   * Free one table without a batch page: after RCU with CONFIG_PT_RECLAIM,
   * else after an IPI round to every CPU (`tlb_remove_table_sync_one()`).
   * @kernel tlb_remove_table_one (mm/mmu_gather.c)
   */
  private removeTableOne(level: number, t: number): void {
    const pt = this.pt;
    if (pt.rcuTableFree && pt.ptReclaim !== 'off') {
      pt.machine.rcu.callRcu((arg: { l: number; t: number }) => freeTable(pt, arg.l, arg.t), { l: level, t });
      return;
    }
    const m = pt.machine;
    smpCallFunctionMany(m, m.cpus.onlineCpus(), () => {});
    freeTable(pt, level, t);
  }

  /** @internal Hand the table batch to its freeing path and forget it. */
  takeTableBatch(): TableBatch | null {
    const b = this.tableBatch;
    this.tableBatch = null;
    return b;
  }

  /** @internal Free every page batch (after the flush): `tlb_batch_pages_flush()`. */
  freePageBatches(): void {
    const ops = this.ops;
    let freed = 0;
    for (let b = 0; b <= this.active; b++) {
      const slots = this.slots[b]!;
      const n = this.nr[b]!;
      for (let i = 0; i < n; i++) {
        const enc = slots[i]!;
        // The pfn and the two flag bits (a float modulo would cost more).
        const pfn = Math.floor(enc / 4);
        const flags = enc - pfn * 4;
        let nr = 1;
        if ((flags & ENCODED_PAGE_BIT_NR_PAGES_NEXT) !== 0) nr = slots[++i]! / 4;
        ops.freePages(pfn, nr);
        freed += nr;
        // cond_resched() every FREE_PAGES_CHUNK pages: no preemption point needed in this model.
      }
      this.nr[b] = 0;
    }
    this.nrPagesHeld = 0;
    this.active = 0;
    countersOf(this.pt).pagesFreed += freed;
  }

  /** @internal Run `removeRmap` for the delayed entries of the local and active batches. */
  flushRmapBatches(vma: unknown): void {
    const batches = this.active === 0 ? [0] : [0, this.active];
    for (const b of batches) {
      const slots = this.slots[b]!;
      const n = this.nr[b]!;
      for (let i = 0; i < n; i++) {
        const enc = slots[i]!;
        // The pfn and the two flag bits (a float modulo would cost more).
        const pfn = Math.floor(enc / 4);
        const flags = enc - pfn * 4;
        let nr = 1;
        if ((flags & ENCODED_PAGE_BIT_NR_PAGES_NEXT) !== 0) nr = slots[++i]! / 4;
        if ((flags & ENCODED_PAGE_BIT_DELAY_RMAP) !== 0) {
          this.ops.removeRmap(pfn, nr, vma);
          countersOf(this.pt).delayedRmaps++;
          slots[i - (nr > 1 ? 1 : 0)] = enc - ENCODED_PAGE_BIT_DELAY_RMAP;
        }
      }
    }
  }

  /** @internal Release the batch pages (end of the gather). */
  releaseBatchPages(): void {
    const m = this.pt.machine;
    for (let b = 1; b < this.batchPfn.length; b++) m.mem.freePages(this.batchPfn[b]!, 0);
    this.slots.length = 1;
    this.batchPfn.length = 1;
    this.batchCount = 0;
    this.active = 0;
  }
}

/** Free a table page now (the dtor and the page). */
function freeTable(pt: PageTables, level: number, t: number): void {
  pt.pagetableDtorFree(level, t);
  countersOf(pt).tablesFreed++;
}

// ---- lifecycle ----

function gatherInit(tlb: MmuGather, mm: MmPgtables, fullmm: boolean): void {
  if (tlb.inUse) throw new PgtableError('EBUSY', 'tlb_gather_mmu on a gather already in use');
  if (mm.pt !== tlb.pt) throw new PgtableError('EINVAL', 'the gather belongs to another page-table context');
  tlb.mm = mm;
  tlb.fullmm = fullmm;
  tlb.needFlushAll = false;
  tlb.delayedRmap = false;
  tlb.vmaExec = false;
  tlb.vmaHuge = false;
  tlb.vmaPfn = false;
  tlb.batchCount = 0;
  tlb.active = 0;
  tlb.nrPagesHeld = 0;
  tlb.resetRange();
  tlb.inUse = true;
  // inc_tlb_flush_pending(): PTE changers in parallel see a flush in flight.
  mm.tlbFlushPending++;
  countersOf(tlb.pt).gathers++;
}

/**
 * Start gathering for a zap of part of `mm`.
 * @kernel tlb_gather_mmu (mm/mmu_gather.c)
 */
export function tlbGatherMmu(tlb: MmuGather, mm: MmPgtables): void {
  gatherInit(tlb, mm, false);
}

/**
 * Start gathering for tearing down all of `mm` (exit).
 * @kernel tlb_gather_mmu_fullmm (mm/mmu_gather.c)
 */
export function tlbGatherMmuFullmm(tlb: MmuGather, mm: MmPgtables): void {
  gatherInit(tlb, mm, true);
}

/**
 * Finish: when other batched PTE changers run in parallel
 * (`mm_tlb_flush_nested()`), flush everything; then flush, free what is
 * left, give the batch pages back and end the pending flush.
 * @kernel tlb_finish_mmu (mm/mmu_gather.c)
 */
export function tlbFinishMmu(tlb: MmuGather): void {
  const mm = tlb.mm;
  if (mm === null || !tlb.inUse) throw new PgtableError('EINVAL', 'tlb_finish_mmu without tlb_gather_mmu');
  if (mm.tlbFlushPending > 1) {
    // mm_tlb_flush_nested(): someone else may have cleared entries we did not see.
    tlb.fullmm = true;
    tlb.resetRange();
    tlb.freedTables = true;
  }
  tlbFlushMmu(tlb);
  tlb.releaseBatchPages();
  mm.tlbFlushPending--;
  tlb.inUse = false;
  tlb.mm = null;
}

// ---- flushing ----

/**
 * The smallest level cleared, as the flush stride.
 * @kernel tlb_get_unmap_shift (include/asm-generic/tlb.h)
 */
export function tlbGetUnmapShift(tlb: MmuGather): number {
  const pt = tlb.pt;
  if (tlb.clearedPtes) return pt.pageShift;
  if (tlb.clearedPmds) return pt.shift[PMD_LEVEL]!;
  if (tlb.clearedPuds) return pt.shift[PUD_LEVEL]!;
  if (tlb.clearedP4ds) return pt.shift[P4D_LEVEL]!;
  return pt.pageShift;
}

/**
 * The architecture's flush of the gathered range.
 * @kernel tlb_flush (arch/x86/include/asm/tlb.h, arch/arm64/include/asm/tlb.h, include/asm-generic/tlb.h)
 */
function tlbFlush(tlb: MmuGather): void {
  const mm = tlb.mm!;
  const pt = tlb.pt;
  const mmu = pt.machine.mmu;
  countersOf(pt).tlbFlushes++;
  const family = pt.desc.family;
  if (tlb.fullmm || tlb.needFlushAll) {
    // arm64: the ASID allocator invalidates at rollover, so a fullmm gather only
    // flushes when tables were freed (walk caches).
    if (family === 'arm64' && tlb.fullmm && !tlb.freedTables) return;
    mmu.flushTlbMmRange(mm.as, 0, TLB_FLUSH_ALL, pt.pageShift, tlb.freedTables);
    return;
  }
  const stride = Math.min(tlbGetUnmapShift(tlb), 52);
  const start = tlb.start - (tlb.start % 2 ** stride);
  const end = Math.min(Math.ceil(tlb.end / 2 ** stride) * 2 ** stride, Number.MAX_SAFE_INTEGER);
  mmu.flushTlbMmRange(mm.as, start, end, stride, tlb.freedTables);
}

/**
 * Flush the TLBs for what was gathered (if anything was cleared), and reset
 * the range.
 * @kernel tlb_flush_mmu_tlbonly (include/asm-generic/tlb.h)
 */
export function tlbFlushMmuTlbonly(tlb: MmuGather): void {
  if (!(tlb.freedTables || tlb.clearedPtes || tlb.clearedPmds || tlb.clearedPuds || tlb.clearedP4ds)) return;
  tlbFlush(tlb);
  tlb.resetRange();
}

/**
 * Free the gathered tables (RCU or at once, after invalidating) and pages.
 * @kernel tlb_flush_mmu_free (mm/mmu_gather.c)
 */
export function tlbFlushMmuFree(tlb: MmuGather): void {
  tlbTableFlush(tlb);
  tlb.freePageBatches();
}

/**
 * Flush the TLBs, then free everything gathered so far.
 * @kernel tlb_flush_mmu (mm/mmu_gather.c)
 */
export function tlbFlushMmu(tlb: MmuGather): void {
  tlbFlushMmuTlbonly(tlb);
  tlbFlushMmuFree(tlb);
}

/**
 * Free the batched tables: without MMU_GATHER_TABLE_FREE together with the
 * pages; with it after `tlb_table_invalidate()`, at once (IPI-synchronised
 * flushes) or after an RCU grace period (MMU_GATHER_RCU_TABLE_FREE).
 * @kernel tlb_table_flush (mm/mmu_gather.c)
 */
export function tlbTableFlush(tlb: MmuGather): void {
  const pt = tlb.pt;
  const batch = tlb.takeTableBatch();
  if (batch === null || batch.nr === 0) {
    if (batch !== null && batch.pfn >= 0) pt.machine.mem.freePages(batch.pfn, 0);
    return;
  }
  if (!pt.desc.tableFree) {
    // Freed like the pages: this runs after the flush.
    for (let i = 0; i < batch.nr; i++) freeTable(pt, batch.levels[i]!, batch.tables[i]!);
    return;
  }
  tlb.tableInvalidate();
  if (pt.rcuTableFree) {
    pt.machine.rcu.callRcu((b: TableBatch) => {
      for (let i = 0; i < b.nr; i++) freeTable(pt, b.levels[i]!, b.tables[i]!);
      if (b.pfn >= 0) pt.machine.mem.freePages(b.pfn, 0);
    }, batch);
    return;
  }
  for (let i = 0; i < batch.nr; i++) freeTable(pt, batch.levels[i]!, batch.tables[i]!);
  if (batch.pfn >= 0) pt.machine.mem.freePages(batch.pfn, 0);
}

// ---- pages ----

/**
 * Queue `nr` pages from `pfn` (one folio's run) to be freed after the flush.
 * @returns true when the batches are full and the caller must flush.
 * @kernel __tlb_remove_folio_pages (mm/mmu_gather.c)
 */
export function __tlbRemoveFolioPages(tlb: MmuGather, pfn: number, nr: number, delayRmap: boolean): boolean {
  return tlb.queuePages(pfn, nr, delayRmap);
}

/**
 * Queue one page of `pageSize` bytes (a compound page as one entry).
 * @returns true when the caller must flush.
 * @kernel __tlb_remove_page_size (mm/mmu_gather.c)
 */
export function __tlbRemovePageSize(tlb: MmuGather, pfn: number, delayRmap: boolean, pageSize: number): boolean {
  void pageSize;
  return tlb.queuePages(pfn, 1, delayRmap);
}

/**
 * Queue one page, flushing at once if the batches are full.
 * @kernel tlb_remove_page (include/asm-generic/tlb.h)
 */
export function tlbRemovePage(tlb: MmuGather, pfn: number): void {
  if (tlb.queuePages(pfn, 1, false)) {
    countersOf(tlb.pt).forcedFlushes++;
    tlbFlushMmu(tlb);
  }
}

/**
 * Whether rmap removal of dirty file pages is delayed until after the flush
 * (SMP only: a UP machine has no remote TLB to fear).
 * @kernel tlb_delay_rmap (include/asm-generic/tlb.h)
 */
export function tlbDelayRmap(tlb: MmuGather): boolean {
  return tlb.pt.machine.topology.nrCpus > 1;
}

/**
 * Remove the delayed rmaps of the local and active batches, after the TLB
 * flush and before the PTE lock is dropped.
 * @kernel tlb_flush_rmaps (mm/mmu_gather.c)
 */
export function tlbFlushRmaps(tlb: MmuGather, vma: unknown): void {
  if (!tlb.delayedRmap) return;
  if (tlb.freedTables || tlb.clearedPtes || tlb.clearedPmds) {
    throw new MmBugError(
      'pgtable: tlb_flush_rmaps before the TLB flush (delayed rmap must follow tlb_flush_mmu_tlbonly)',
    );
  }
  tlb.flushRmapBatches(vma);
  tlb.delayedRmap = false;
}

// ---- range tracking ----

/** Widen the range to flush by [addr, addr + size) and note that PTEs changed. @kernel tlb_flush_pte_range (include/asm-generic/tlb.h) */
export function tlbFlushPteRange(tlb: MmuGather, addr: number, size: number): void {
  tlb.adjustRange(addr, size);
  tlb.clearedPtes = true;
}

/** Widen the range to flush by [addr, addr + size) and note that PMDs changed. @kernel tlb_flush_pmd_range (include/asm-generic/tlb.h) */
export function tlbFlushPmdRange(tlb: MmuGather, addr: number, size: number): void {
  tlb.adjustRange(addr, size);
  tlb.clearedPmds = true;
}

/** Widen the range to flush by [addr, addr + size) and note that PUDs changed. @kernel tlb_flush_pud_range (include/asm-generic/tlb.h) */
export function tlbFlushPudRange(tlb: MmuGather, addr: number, size: number): void {
  tlb.adjustRange(addr, size);
  tlb.clearedPuds = true;
}

/** Widen the range to flush by [addr, addr + size) and note that P4Ds changed. @kernel tlb_flush_p4d_range (include/asm-generic/tlb.h) */
export function tlbFlushP4dRange(tlb: MmuGather, addr: number, size: number): void {
  tlb.adjustRange(addr, size);
  tlb.clearedP4ds = true;
}

/**
 * Record that the PTE at `addr` was cleared.
 * @kernel tlb_remove_tlb_entry (include/asm-generic/tlb.h)
 */
export function tlbRemoveTlbEntry(tlb: MmuGather, addr: number): void {
  tlbFlushPteRange(tlb, addr, tlb.pt.pageSize);
}

/**
 * Record that `nr` PTEs from `addr` were cleared.
 * @kernel tlb_remove_tlb_entries (include/asm-generic/tlb.h)
 */
export function tlbRemoveTlbEntries(tlb: MmuGather, addr: number, nr: number): void {
  tlbFlushPteRange(tlb, addr, nr * tlb.pt.pageSize);
}

/**
 * Record that the PMD leaf at `addr` was cleared.
 * @kernel tlb_remove_pmd_tlb_entry (include/asm-generic/tlb.h)
 */
export function tlbRemovePmdTlbEntry(tlb: MmuGather, addr: number): void {
  tlbFlushPmdRange(tlb, addr, tlb.pt.levelSize(PMD_LEVEL));
}

/**
 * Record that the PUD leaf at `addr` was cleared.
 * @kernel tlb_remove_pud_tlb_entry (include/asm-generic/tlb.h)
 */
export function tlbRemovePudTlbEntry(tlb: MmuGather, addr: number): void {
  tlbFlushPudRange(tlb, addr, tlb.pt.levelSize(PUD_LEVEL));
}

/**
 * Note the VMA's flags for the flush (`vma_exec`, `vma_huge`, `vma_pfn`).
 * @kernel tlb_start_vma (include/asm-generic/tlb.h)
 */
export function tlbStartVma(tlb: MmuGather, vma: GatherVma): void {
  if (tlb.fullmm) return;
  tlb.vmaExec ||= vma.exec === true;
  tlb.vmaHuge ||= vma.hugetlb === true;
  tlb.vmaPfn ||= vma.pfnmap === true;
}

/**
 * Flush per VMA, unless the architecture merges VMAs (x86, powerpc, sparc)
 * or the whole mm goes; PFN maps always flush (their pages may be freed by
 * the driver at once).
 * @kernel tlb_end_vma (include/asm-generic/tlb.h)
 */
export function tlbEndVma(tlb: MmuGather, _vma: GatherVma): void {
  if (tlb.fullmm) return;
  if (tlb.pt.desc.mergeVmas && !tlb.vmaPfn) return;
  tlbFlushMmuTlbonly(tlb);
}

// ---- tables ----

/**
 * Queue a detached page table for freeing after the flush (and after RCU
 * with MMU_GATHER_RCU_TABLE_FREE).
 * @kernel tlb_remove_table / tlb_remove_ptdesc (mm/mmu_gather.c, include/asm-generic/tlb.h)
 */
export function tlbRemoveTable(tlb: MmuGather, level: number, t: number): void {
  tlb.queueTable(level, t);
}

/** Queue a page-table page to be freed after the TLB flush; the same as {@link tlbRemoveTable}. @kernel tlb_remove_ptdesc (include/asm-generic/tlb.h) */
export const tlbRemovePtdesc = tlbRemoveTable;

/**
 * Free a PTE table unhooked from the PMD mapping `addr`.
 * @kernel pte_free_tlb (include/asm-generic/tlb.h)
 */
export function pteFreeTlb(tlb: MmuGather, t: number, addr: number): void {
  tlbFlushPmdRange(tlb, addr, tlb.pt.pageSize);
  tlb.freedTables = true;
  tlbRemoveTable(tlb, PTE_LEVEL, t);
}

/** Free a PMD table unhooked from the PUD mapping `addr`, after the flush. @kernel pmd_free_tlb (include/asm-generic/tlb.h) */
export function pmdFreeTlb(tlb: MmuGather, t: number, addr: number): void {
  tlbFlushPudRange(tlb, addr, tlb.pt.pageSize);
  tlb.freedTables = true;
  tlbRemoveTable(tlb, PMD_LEVEL, t);
}

/** Free a PUD table unhooked from the P4D mapping `addr`, after the flush. @kernel pud_free_tlb (include/asm-generic/tlb.h) */
export function pudFreeTlb(tlb: MmuGather, t: number, addr: number): void {
  tlbFlushP4dRange(tlb, addr, tlb.pt.pageSize);
  tlb.freedTables = true;
  tlbRemoveTable(tlb, PUD_LEVEL, t);
}

/** Free a P4D table unhooked from the PGD mapping `addr`, after the flush. @kernel p4d_free_tlb (include/asm-generic/tlb.h) */
export function p4dFreeTlb(tlb: MmuGather, t: number, addr: number): void {
  tlb.adjustRange(addr, tlb.pt.pageSize);
  tlb.freedTables = true;
  tlbRemoveTable(tlb, P4D_LEVEL, t);
}

/** Free a table of `level` unhooked from `addr` (dispatch on the level). */
export function freeTableTlb(tlb: MmuGather, level: number, t: number, addr: number): void {
  if (level === PTE_LEVEL) pteFreeTlb(tlb, t, addr);
  else if (level === PMD_LEVEL) pmdFreeTlb(tlb, t, addr);
  else if (level === PUD_LEVEL) pudFreeTlb(tlb, t, addr);
  else if (level === P4D_LEVEL) p4dFreeTlb(tlb, t, addr);
  else throw new MmBugError(`pgtable: no freeing of ${LEVEL_NAMES[level]} tables through mmu_gather`);
}
