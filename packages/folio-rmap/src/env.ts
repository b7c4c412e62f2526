/**
 * DOC: the folio/rmap environment: one per machine.
 *
 * Holds what the kernel keeps in globals for this subsystem: the machine and
 * its memmap, the mapcount configuration (CONFIG_PAGE_MAPCOUNT or
 * CONFIG_NO_PAGE_MAPCOUNT, chosen at run time here), the MM id allocator
 * (`mm_ida`), the handle tables behind `folio->mapping` (anon_vmas and
 * address_spaces are objects, the memmap word holds a handle), the node pools
 * of the two interval trees, the deferred-split queues, the mTHP statistics
 * and the hooks through which the composer (`@mm/kernel`) wires in the LRU
 * (mlock), memcg statistics, the slab caches of `anon_vma` and
 * `anon_vma_chain`, and the cost of an atomic in virtual time.
 */
import type { Machine, Memmap, MemSection, PageAllocator } from '@mm/machine';
import { MmError } from '@mm/machine';
import type { AddressSpace } from './address-space.js';
import type { AnonVma, AnonVmaChain } from './anon-vma.js';
import { IntervalTreePool } from './interval-tree.js';
import { MmIdAllocator } from './mm-id.js';
import type { PgtableView } from './pgtable-view.js';
import type { RmapMm, RmapVma } from './vma.js';

/**
 * The swap side of `try_to_unmap` (the composer wires `@mm/swap-alloc`).
 * A folio in the swap cache has its first swap entry in `folio->swap`
 * (the memmap `private` word of the head); page k uses entry + k.
 */
export interface SwapOps {
  /** Take one more swap count on the slot of `page` (`folio_dup_swap`): 0, or a negative errno. */
  folioDupSwap(folio: number, page: number): number;
  /** Drop a swap count taken by `folioDupSwap` (`folio_put_swap`). */
  folioPutSwap(folio: number, page: number): void;
}

/** Slab caches whose objects the rmap allocates (`anon_vma_cachep`, `anon_vma_chain_cachep`). */
export type RmapCache = 'anon_vma' | 'anon_vma_chain';

/**
 * Services the composer provides. Every hook is optional; the defaults keep
 * the package usable alone.
 */
export interface FolioRmapHooks {
  /**
   * Allocate an object of `cache` (the kernel's `kmem_cache_alloc`): a handle
   * ≥ 0, or a negative errno (`-ENOMEM`) to make the caller fail as the kernel
   * does. Default: always succeeds (handle 0).
   */
  allocObject?(cache: RmapCache): number;
  /** Free an object `allocObject` returned. */
  freeObject?(cache: RmapCache, handle: number): void;
  /**
   * `mlock_folio()`: the folio is mapped into a VM_LOCKED VMA. The default
   * sets PG_mlocked and adds the pages to NR_MLOCK (the LRU side, moving the
   * folio to the unevictable list, belongs to the composer).
   */
  mlockFolio?(folio: number): void;
  /** `munlock_folio()`: the reverse; the default clears PG_mlocked and NR_MLOCK. */
  munlockFolio?(folio: number): void;
  /** Memcg side of `lruvec_stat_mod_folio()` (NR_ANON_MAPPED, NR_FILE_MAPPED, NR_ANON_THPS). */
  memcgStatMod?(folio: number, item: number, delta: number): void;
  /**
   * `folio_mark_dirty()` beyond setting PG_dirty (the file system's
   * `dirty_folio`, NR_FILE_DIRTY); called when a dirty PTE is cleared.
   */
  folioMarkDirty?(folio: number): void;
  /** `folio_free_swap()`: drop the swap cache entry of a folio whose swap slots are all unused; true when freed. */
  folioFreeSwap?(folio: number): boolean;
}

/** Options of {@link createFolioRmap}. */
export interface FolioRmapOptions {
  /**
   * CONFIG_PAGE_MAPCOUNT (default true): keep per-page mapcounts and
   * `_nr_pages_mapped` in large folios. false is CONFIG_NO_PAGE_MAPCOUNT.
   */
  pageMapcount?: boolean;
  /** Services of the composer. */
  hooks?: FolioRmapHooks;
  /** The page tables, for the rmap walks (`tryToUnmap`, `folioReferenced`, ...). */
  pgtable?: PgtableView;
  /** The swap allocator, for `tryToUnmap` of anon folios. */
  swap?: SwapOps;
  /** Take the view's page-table locks in walks (default: when the view has `ptLock`). */
  pgtableLocks?: boolean;
  /**
   * Virtual ns charged per atomic read-modify-write on a folio or page word
   * (`atomic_inc_and_test(&page->_mapcount)`, the large mapcount); default 5.
   * The MM-id bit lock is charged by the machine as a lock acquisition.
   */
  atomicNs?: number;
}

/**
 * The environment every function of this package takes first.
 * @kernel (globals of mm/rmap.c, kernel/fork.c's mm_ida, mm/huge_memory.c's deferred split queue)
 */
export class FolioRmap {
  /** The machine the environment belongs to. */
  readonly machine: Machine;
  /** The machine's page allocator. */
  readonly mem: PageAllocator;
  /** The memmap holding the folio words. */
  readonly memmap: Memmap;
  /** `memmap.sections`, cached. */
  readonly sections: (MemSection | undefined)[];
  /** log2 pages per section. */
  readonly shift: number;
  /** pages per section - 1. */
  readonly mask: number;
  /** Base page size in bytes. */
  readonly pageSize: number;
  /** log2 of the base page size. */
  readonly pageShift: number;
  /** Pages per PMD leaf (`HPAGE_PMD_NR`). */
  readonly hpagePmdNr: number;
  /** Order of a PMD-mapped folio, log2 of `hpagePmdNr`; mirrors `HPAGE_PMD_ORDER`. */
  readonly hpagePmdOrder: number;
  /** Pages per PUD leaf (`HPAGE_PUD_NR`). */
  readonly hpagePudNr: number;
  /** CONFIG_PAGE_MAPCOUNT (true) or CONFIG_NO_PAGE_MAPCOUNT (false). */
  readonly pageMapcount: boolean;
  /** Hands out the mm ids the rmap tracks folio owners by; mirrors `mm_ida`. */
  readonly mmIds: MmIdAllocator;
  /** anon_vma by handle (`folio->mapping` holds `handle << 2 | FOLIO_MAPPING_ANON`). */
  readonly anonVmas: (AnonVma | undefined)[];
  /** Free anon_vma handles. */
  readonly freeAnonVmaHandles: number[];
  /** address_space by handle (`folio->mapping` holds `handle << 2`). */
  readonly mappings: (AddressSpace | undefined)[];
  /** Nodes of every anon_vma's interval tree of anon_vma_chains. */
  readonly avcTree: IntervalTreePool<AnonVmaChain>;
  /** Nodes of every address_space's i_mmap interval tree of VMAs. */
  readonly vmaTree: IntervalTreePool<RmapVma>;
  /** Deferred split queue per node: first folio, -1 when empty. */
  readonly splitQueueHead: Int32Array;
  /** Deferred split queue per node: last folio. */
  readonly splitQueueTail: Int32Array;
  /** Deferred split queue length per node. */
  readonly splitQueueLen: Int32Array;
  /** mTHP statistics per order: see {@link MTHP_STAT}. */
  readonly mthpStats: Float64Array;
  /** THP_DEFERRED_SPLIT_PAGE vm event. */
  thpDeferredSplitPage: number;
  /** Live anon_vma and anon_vma_chain objects (leak counters). */
  nrAnonVmas: number;
  /** Live anon_vma_chain objects (leak counter). */
  nrAnonVmaChains: number;
  /** Services of the composer (no-ops by default). */
  readonly hooks: FolioRmapHooks;
  /** Virtual ns per atomic on a folio word. */
  readonly atomicNs: number;
  /** The page-table view the walks use (null: walks throw). */
  pgtable: PgtableView | null;
  /** The swap operations try_to_unmap uses (null: anon folios cannot be unmapped to swap). */
  swap: SwapOps | null;
  /** Whether the view hands out page-table locks (`ptLock` defined); false skips the calls. */
  pgtableLocks: boolean;
  /**
   * `current->tlb_ubc`: TLB flushes deferred by TTU_BATCH_FLUSH, as
   * (mm, start, end) triples, until {@link tryToUnmapFlush}.
   */
  readonly tlbUbc: {
    /** The mm whose TLB entries are stale. */
    mm: RmapMm;
    /** First address of the range to flush. */
    start: number;
    /** End of the range (exclusive). */
    end: number;
  }[];

  constructor(machine: Machine, options: FolioRmapOptions = {}) {
    this.machine = machine;
    this.mem = machine.mem;
    this.memmap = machine.mem.memmap;
    this.sections = this.memmap.sections;
    this.shift = this.memmap.sectionShift;
    this.mask = this.memmap.sectionMask;
    const t = machine.topology;
    this.pageSize = t.pageSize;
    this.pageShift = t.pageShift;
    // A PMD maps one page table's worth of PTEs (8-byte entries).
    this.hpagePmdOrder = this.pageShift - 3;
    this.hpagePmdNr = 1 << this.hpagePmdOrder;
    this.hpagePudNr = this.hpagePmdNr * this.hpagePmdNr;
    this.pageMapcount = options.pageMapcount ?? true;
    this.mmIds = new MmIdAllocator();
    this.anonVmas = [undefined];
    this.freeAnonVmaHandles = [];
    this.mappings = [undefined];
    this.avcTree = new IntervalTreePool<AnonVmaChain>();
    this.vmaTree = new IntervalTreePool<RmapVma>();
    const nodes = t.nrNodes;
    this.splitQueueHead = new Int32Array(nodes).fill(-1);
    this.splitQueueTail = new Int32Array(nodes).fill(-1);
    this.splitQueueLen = new Int32Array(nodes);
    this.mthpStats = new Float64Array((this.memmap.maxOrder + 1) * MTHP_STAT_NR);
    this.thpDeferredSplitPage = 0;
    this.nrAnonVmas = 0;
    this.nrAnonVmaChains = 0;
    this.hooks = options.hooks ?? {};
    const ns = options.atomicNs ?? 5;
    if (!(ns >= 0)) throw new MmError('EINVAL', `folio_rmap: atomicNs ${ns} must be >= 0`);
    this.atomicNs = ns;
    this.pgtable = options.pgtable ?? null;
    this.swap = options.swap ?? null;
    this.pgtableLocks = options.pgtable?.ptLock !== undefined && options.pgtableLocks !== false;
    this.tlbUbc = [];
  }

  /** The section of a page the caller holds (allocated, so materialized). */
  sec(pfn: number): MemSection {
    return this.sections[pfn >>> this.shift] as MemSection;
  }

  /** Charge `n` atomics to the current CPU in virtual time. */
  chargeAtomics(n: number): void {
    this.machine.account.charge(this.machine.currentCpu, n * this.atomicNs);
  }
}

/** mTHP statistic items (`enum mthp_stat_item`, the ones the rmap moves). */
export const MTHP_STAT = Object.freeze({
  /** `nr_anon`: anon folios of this order allocated and not yet freed. */
  MTHP_STAT_NR_ANON: 0,
  /** `nr_anon_partially_mapped`: anon folios of this order on the deferred split queue as partially mapped. */
  MTHP_STAT_NR_ANON_PARTIALLY_MAPPED: 1,
  /** `split_deferred`: events, folios queued for deferred split. */
  MTHP_STAT_SPLIT_DEFERRED: 2,
});
/** Number of mTHP statistic items kept. */
export const MTHP_STAT_NR = 3;

/**
 * Create the folio/rmap environment of `machine`.
 * @example
 * const rm = createFolioRmap(createMachine(), { pageMapcount: false }); // CONFIG_NO_PAGE_MAPCOUNT
 */
export function createFolioRmap(machine: Machine, options: FolioRmapOptions = {}): FolioRmap {
  return new FolioRmap(machine, options);
}

/**
 * Read an mTHP statistic of `order`.
 * @kernel mthp_stats / sysfs hugepages-<size>kB/stats (mm/huge_memory.c)
 */
export function mthpStat(rm: FolioRmap, order: number, item: number): number {
  return rm.mthpStats[order * MTHP_STAT_NR + item] ?? 0;
}

/** Add `delta` to mTHP statistic `item` of `order`. @kernel mod_mthp_stat (include/linux/huge_mm.h) */
export function modMthpStat(rm: FolioRmap, order: number, item: number, delta: number): void {
  const i = order * MTHP_STAT_NR + item;
  rm.mthpStats[i] = (rm.mthpStats[i] as number) + delta;
}
