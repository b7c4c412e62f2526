/**
 * DOC: the page-table context of a machine, and the page-table side of an
 * `mm_struct`.
 *
 * `createPageTables(machine, options)` binds an architecture descriptor to a
 * `@mm/machine` machine: it builds the entry codec, the swap-entry helpers,
 * the table pools (one per table size), the split-lock pool, the lazy-MMU
 * state and the hardware walker, which it registers with the machine's MMU.
 * `pt.mmAlloc()` (`mm_alloc()` + `pgd_alloc()`) creates an address space:
 * an {@link MmPgtables} with a PGD table, `mm->page_table_lock`, the
 * page-table counters (`pgtables_bytes`, `nr_ptes`, ...), `tlb_flush_pending`,
 * and the machine `AddressSpace` whose `root` is the PGD's PFN.
 *
 * Table pages come from the machine's page allocator (GFP_PGTABLE_USER:
 * GFP_KERNEL | __GFP_ZERO | __GFP_ACCOUNT), get page type PGTY_table and
 * count in NR_PAGETABLE (`pagetable_pte_ctor()` and friends), and go back
 * through `pagetable_dtor_free()`. An entry is addressed by its slot in the
 * pool of its level (see `ptdesc.ts`); on a folded level the entry *is* the
 * entry of the level above, as in the kernel.
 */
import {
  __GFP_ZERO,
  type AddressSpace,
  ENOMEM,
  GFP_KERNEL_ACCOUNT,
  type Machine,
  MmBugError,
  MmError,
  NODE_STAT,
  PGTY_table,
  SpinLock,
  spinLock,
  spinLockNested,
  spinTrylock,
  spinUnlock,
} from '@mm/machine';
import type { ArchDescriptor, LazyMmuStyle } from '../arch/descriptor.js';
import { defaultDescriptorFor } from '../arch/descriptors.js';
import {
  type ArchPte,
  LEVEL_NAMES,
  PGD_LEVEL,
  type PgLevel,
  PMD_LEVEL,
  PTE_LEVEL,
  PUD_LEVEL,
} from '../arch/pte-ops.js';
import { EntryCodec } from '../entry/pte-view.js';
import { PteVal } from '../entry/pteval.js';
import { Swapops, type SwapTypeConfig } from '../entry/swapops.js';
import type { ContpteFolioInfo } from './contpte.js';
import { createWalker, type PgtableWalker } from './hw-walker.js';
import { LazyMmu } from './lazy-mmu.js';
import { CHUNK_SLOTS_MASK, CHUNK_SLOTS_SHIFT, PT_LIVE, TablePool } from './ptdesc.js';
import { PtlockPool, SINGLE_DEPTH_NESTING } from './ptlock.js';

/** GFP mask of user page-table pages. @kernel GFP_PGTABLE_USER (include/asm-generic/pgalloc.h) */
export const GFP_PGTABLE_USER = GFP_KERNEL_ACCOUNT | __GFP_ZERO;

/** Which empty-PTE-table reclaim runs after zaps. */
export type PtReclaimMode = 'off' | 'upstream' | 'refcount';

/** Options of {@link createPageTables}. */
export interface PageTablesOptions {
  /** The configuration (default: the machine architecture's usual one). */
  readonly arch?: ArchDescriptor;
  /** Swap-type options (MEMORY_FAILURE, MIGRATION, DEVICE_PRIVATE; all on by default). */
  readonly swapTypes?: SwapTypeConfig;
  /** SPLIT_PTE_PTLOCKS (default true: NR_CPUS >= 4, SMP). */
  readonly splitPtlocks?: boolean;
  /**
   * Empty PTE-table reclaim: `upstream` (CONFIG_PT_RECLAIM: after MADV_DONTNEED
   * of a whole table; the default where the descriptor supports it), `refcount`
   * (the pte_refcount design of the "Free user PTE page table pages" series) or `off`.
   */
  readonly ptReclaim?: PtReclaimMode;
  /** ARM64_CONTPTE: fold contiguous runs transparently (arm64 only; default true). */
  readonly contpte?: boolean;
  /**
   * Folio geometry for arm64's fold-on-single-set (`__contpte_try_fold()`
   * checks the block lies in one folio); without it only `set_ptes()` batches
   * create contiguous blocks.
   */
  readonly contpteFolio?: ContpteFolioInfo;
  /** Override the lazy-MMU implementation (e.g. `xen-pv` for x86 paravirt). */
  readonly lazyMmu?: LazyMmuStyle;
  /** Override MMU_GATHER_RCU_TABLE_FREE (x86 before 6.15 freed tables after IPIs on bare metal). */
  readonly rcuTableFree?: boolean;
  /** CONFIG_DEBUG_VM-style checks (PTL held, lazy-MMU rules): default true. */
  readonly debugVm?: boolean;
  /** Register the hardware walker with the machine's MMU (default true). */
  readonly registerWalker?: boolean;
}

/** Page-table counters of a {@link PageTables} context. */
export interface PgtableStats {
  /** Table pages allocated, per level (PTE..PGD). */
  readonly tablesAllocated: readonly number[];
  /** Table pages freed, per level. */
  readonly tablesFreed: readonly number[];
  /** Table pages in use now, per level. */
  readonly tablesLive: readonly number[];
  /** Table allocations that lost the populate race and were freed at once. */
  readonly populateRaces: number;
  /** Empty PTE tables reclaimed (upstream or refcount mode). */
  readonly ptesReclaimed: number;
}

/**
 * The page-table side of an `mm_struct`: its PGD, `page_table_lock`,
 * counters and the MMU address space.
 */
export class MmPgtables {
  /** The context the tables belong to. */
  readonly pt: PageTables;
  /** Small integer naming the address space (the machine AddressSpace id). */
  readonly id: number;
  /** `mm->pgd`: the PGD table (index in the PGD pool). */
  readonly pgd: number;
  /** PFN of the PGD page (CR3 / TTBR0 contents). */
  readonly pgdPfn: number;
  /** The machine address space (ASID, cpumask, tlb_gen). */
  readonly as: AddressSpace;
  /** Lock for the PUD, P4D and PGD entries, and for the lower levels too where split locks are off; mirrors `mm->page_table_lock`. */
  readonly pageTableLock: SpinLock;
  /** Bytes of page-table pages the mm holds at every level below the PGD, shown as VmPTE; mirrors `mm->pgtables_bytes`. */
  pgtablesBytes: number;
  /** PTE tables (`mm_nr_ptes()` analogue). */
  nrPtes: number;
  /** PMD tables the mm holds. */
  nrPmds: number;
  /** PUD tables the mm holds. */
  nrPuds: number;
  /** P4D tables the mm holds (0 where the level is folded). */
  nrP4ds: number;
  /** `mm->tlb_flush_pending`: mmu_gathers in progress. */
  tlbFlushPending: number;
  /** This is `init_mm` (kernel mappings: no split-lock constructor, no PT reclaim). */
  readonly isInitMm: boolean;
  /** Set by `mmFree`. */
  dead: boolean;

  /** @internal Use `pt.mmAlloc()`. */
  constructor(pt: PageTables, as: AddressSpace, pgd: number, pgdPfn: number, isInitMm: boolean) {
    this.pt = pt;
    this.id = as.id;
    this.as = as;
    this.pgd = pgd;
    this.pgdPfn = pgdPfn;
    this.pageTableLock = new SpinLock(pt.machine, '&mm->page_table_lock');
    this.pgtablesBytes = 0;
    this.nrPtes = 0;
    this.nrPmds = 0;
    this.nrPuds = 0;
    this.nrP4ds = 0;
    this.tlbFlushPending = 0;
    this.isInitMm = isInitMm;
    this.dead = false;
  }
}

/** A misuse of the page-table API. */
export class PgtableError extends MmError {
  constructor(code: string, message: string) {
    super(code, `pgtable: ${message}`);
  }
}

/**
 * A machine's page tables for one architecture configuration. See the file
 * comment; create it with {@link createPageTables}.
 */
export class PageTables {
  /** The machine the tables live on. */
  readonly machine: Machine;
  /** The architecture configuration. */
  readonly desc: ArchDescriptor;
  /** The configuration's entry codec. */
  readonly codec: ArchPte;
  /** The configuration's swap-entry operations. */
  readonly swap: Swapops;
  /** The typed entry view of this configuration (what sibling packages read entries through). */
  readonly entries: EntryCodec;
  /** log2 of `pageSize`. */
  readonly pageShift: number;
  /** Base page size in bytes. */
  readonly pageSize: number;
  /** Per level (0 = PTE .. 4 = PGD): log2 bytes per entry. */
  readonly shift: Int32Array;
  /** Per level: entries per table (1 when folded). */
  readonly ptrs: Int32Array;
  /** Per level: 1 when folded. */
  readonly folded: Uint8Array;
  /** Per level: 2^-shift, to index without divisions. */
  readonly inv: Float64Array;
  /** Per level: the level whose tables hold this level's entries (itself unless folded). */
  readonly host: Int8Array;
  /** Per level: the next unfolded level below (-1 under PTE). */
  readonly below: Int8Array;
  /** Per level: the table pool (`null` for folded levels); levels of one size share a pool. */
  readonly pools: (TablePool | null)[];
  /** Split page-table locks. */
  readonly ptlocks: PtlockPool;
  /** Each PTE table has its own lock (SPLIT_PTE_PTLOCKS) instead of sharing `mm->page_table_lock`. */
  readonly splitPtlocks: boolean;
  /** Split PMD locks (ARCH_ENABLE_SPLIT_PMD_PTLOCK with an unfolded PMD level). */
  readonly splitPmdPtlocks: boolean;
  /** The reclaim mode in force. */
  readonly ptReclaim: PtReclaimMode;
  /** arm64 contpte folding is on. */
  readonly contpte: boolean;
  /** MMU_GATHER_RCU_TABLE_FREE in force. */
  readonly rcuTableFree: boolean;
  /** The lazy-MMU implementation in force. */
  readonly lazyMmuStyle: LazyMmuStyle;
  /** Lazy MMU mode state and counters. */
  readonly lazy: LazyMmu;
  /** The hardware walker of this architecture (registered with the machine's MMU by `createPageTables`). */
  readonly walker: PgtableWalker;
  /** Folio geometry for arm64 folding (see {@link PageTablesOptions.contpteFolio}). */
  readonly contpteFolio: ContpteFolioInfo | null;
  /** @internal arm64 block folds and unfolds (`contpte_convert()` calls). */
  nrContpteConverts: number;
  /** THP deposits: PMD slot -> PTE table kept for a later split (`pmd_huge_pte`). */
  readonly deposited: Map<number, number>;
  /** Refcount mode: PTE table -> references held by visitors (`pte_try_get()` and friends). */
  readonly refVisitors: Map<number, number>;
  /** CONFIG_DEBUG_VM-style checks. */
  readonly debugVm: boolean;
  /** Address spaces by id. */
  readonly mms: Map<number, MmPgtables>;
  /** Addresses must be below this (the user VA size, capped at 2^53). */
  readonly addrLimit: number;

  private readonly sections: readonly ({ private: Float64Array } | undefined)[];
  private readonly secShift: number;
  private readonly secMask: number;
  private readonly nrAlloc: Float64Array;
  private readonly nrFreed: Float64Array;
  /** @internal */
  nrPopulateRaces: number;
  /** @internal */
  nrPtesReclaimed: number;
  /** @internal Scratch values for internal helpers (never held across calls). */
  readonly tmp: PteVal;

  constructor(machine: Machine, options: PageTablesOptions = {}) {
    const topo = machine.topology;
    const desc = options.arch ?? defaultDescriptorFor(machine.config.arch, topo.pageSize);
    if (desc.pageShift !== topo.pageShift) {
      throw new PgtableError(
        'EINVAL',
        `${desc.name} uses ${2 ** desc.pageShift}-byte pages, the machine has ${topo.pageSize}-byte pages`,
      );
    }
    this.machine = machine;
    this.desc = desc;
    this.codec = desc.codec();
    this.swap = new Swapops(desc, this.codec, options.swapTypes);
    this.entries = new EntryCodec(desc, this.codec, this.swap);
    this.pageShift = desc.pageShift;
    this.pageSize = 2 ** desc.pageShift;
    this.shift = new Int32Array(5);
    this.ptrs = new Int32Array(5);
    this.folded = new Uint8Array(5);
    this.inv = new Float64Array(5);
    this.host = new Int8Array(5);
    this.below = new Int8Array(5);
    this.pools = [null, null, null, null, null];
    const bySize = new Map<number, TablePool>();
    for (let l = 0; l < 5; l++) {
      const g = desc.levels[l]!;
      this.shift[l] = g.shift;
      this.ptrs[l] = g.ptrs;
      this.folded[l] = g.folded ? 1 : 0;
      this.inv[l] = 2 ** -g.shift;
      if (!g.folded) {
        let pool = bySize.get(g.ptrs);
        if (pool === undefined) {
          pool = new TablePool(g.ptrs);
          bySize.set(g.ptrs, pool);
        }
        this.pools[l] = pool;
      }
    }
    for (let l = 0; l < 5; l++) {
      let h = l;
      while (this.folded[h] === 1) h++;
      this.host[l] = h;
      let b = l - 1;
      while (b >= 0 && this.folded[b] === 1) b--;
      this.below[l] = b;
    }
    this.ptlocks = new PtlockPool(machine);
    this.splitPtlocks = options.splitPtlocks ?? true;
    this.splitPmdPtlocks = this.splitPtlocks && desc.splitPmdPtlock && this.folded[PMD_LEVEL] === 0;
    this.ptReclaim = options.ptReclaim ?? (desc.ptReclaim ? 'upstream' : 'off');
    if (this.ptReclaim === 'upstream' && !desc.ptReclaim) {
      throw new PgtableError(
        'EOPNOTSUPP',
        `${desc.name} has no PT_RECLAIM (HAVE_ARCH_TLB_REMOVE_TABLE or no MMU_GATHER_RCU_TABLE_FREE)`,
      );
    }
    this.contpte = desc.family === 'arm64' && desc.contPtes > 0 && (options.contpte ?? true);
    this.rcuTableFree = options.rcuTableFree ?? desc.rcuTableFree;
    this.lazyMmuStyle = options.lazyMmu ?? desc.lazyMmu;
    this.lazy = new LazyMmu(this, this.lazyMmuStyle);
    this.contpteFolio = options.contpteFolio ?? null;
    this.nrContpteConverts = 0;
    this.deposited = new Map();
    this.refVisitors = new Map();
    this.debugVm = options.debugVm ?? true;
    this.mms = new Map();
    this.addrLimit = Math.min(2 ** desc.vaBits, 2 ** 53);
    const memmap = machine.mem.memmap;
    this.sections = memmap.sections;
    this.secShift = memmap.sectionShift;
    this.secMask = memmap.sectionMask;
    this.nrAlloc = new Float64Array(5);
    this.nrFreed = new Float64Array(5);
    this.nrPopulateRaces = 0;
    this.nrPtesReclaimed = 0;
    this.tmp = new PteVal();
    this.walker = createWalker(this);
  }

  // ---- geometry ----

  /** Index of `addr` in a table of level `level` (`pte_index()`, `pmd_index()`, ...). */
  index(level: number, addr: number): number {
    return (addr * this.inv[level]!) & (this.ptrs[level]! - 1);
  }

  /** Bytes one entry of `level` maps (`PMD_SIZE`, ...). */
  levelSize(level: number): number {
    return 2 ** this.shift[level]!;
  }

  /** The end of the `level` entry holding `addr`, capped at `end` (`pmd_addr_end()`, ...). */
  addrEnd(level: number, addr: number, end: number): number {
    const size = 2 ** this.shift[level]!;
    const boundary = (Math.floor(addr / size) + 1) * size;
    return Math.min(boundary, end);
  }

  /** Check a user address range: page aligned, below the VA limit. */
  checkRange(start: number, end: number): void {
    if (
      !(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= this.addrLimit) ||
      start % this.pageSize !== 0 ||
      end % this.pageSize !== 0
    ) {
      throw new PgtableError(
        'EINVAL',
        `bad range [0x${start.toString(16)}, 0x${end.toString(16)}) (page aligned, below 2^${Math.log2(this.addrLimit)})`,
      );
    }
  }

  // ---- table pages ----

  /** The table index a table page records in its memmap `private` field. */
  tableOfPfn(pfn: number): number {
    return this.sections[pfn >>> this.secShift]!.private[pfn & this.secMask]!;
  }

  /** The pool holding the entries of (logical) `level`. */
  poolOf(level: number): TablePool {
    return this.pools[this.host[level]!]!;
  }

  /**
   * Allocate a table page for `level` of `mm` starting at `addr`:
   * the page, its PGTY_table type, NR_PAGETABLE, the ptdesc.
   * @returns the table index, or -ENOMEM.
   * @kernel pagetable_alloc + pagetable_pte_ctor / pagetable_pmd_ctor (include/linux/mm.h)
   */
  pagetableAlloc(mm: MmPgtables | null, level: number): number {
    const pool = this.pools[level];
    if (pool === null || pool === undefined)
      throw new MmBugError(`pgtable: no tables at folded level ${LEVEL_NAMES[level]}`);
    const m = this.machine;
    const pfn = m.mem.allocPages(GFP_PGTABLE_USER, 0);
    if (pfn < 0) return -ENOMEM;
    if (pfn >= 2 ** 31) throw new MmBugError(`pgtable: pfn ${pfn} does not fit the 31-bit ptdesc field`);
    m.mem.memmap.setPageType(pfn, PGTY_table);
    m.mem.vmstat.modNodePageState(m.currentCpu, m.mem.pageToNid(pfn), NODE_STAT.NR_PAGETABLE, 1);
    const t = pool.alloc();
    pool.pfn[t] = pfn;
    pool.level[t] = level;
    pool.mm[t] = mm === null ? -1 : mm.id;
    this.sections[pfn >>> this.secShift]!.private[pfn & this.secMask] = t;
    this.nrAlloc[level]!++;
    return t;
  }

  /**
   * Free a detached table page of `level`: the destructor (page type,
   * NR_PAGETABLE) and the page itself.
   * @kernel pagetable_dtor_free (include/linux/mm.h)
   */
  pagetableDtorFree(level: number, t: number): void {
    const pool = this.pools[level]!;
    if (pool.ptlock[t]! >= 0 && this.ptlocks.isLocked(pool, t)) {
      throw new MmBugError(`pgtable: freeing ${LEVEL_NAMES[level]} table ${t} with its lock held`);
    }
    this.ptlocks.giveBack(pool, t);
    const pfn = pool.pfn[t]!;
    const m = this.machine;
    m.mem.memmap.clearPageType(pfn, PGTY_table);
    m.mem.vmstat.modNodePageState(m.currentCpu, m.mem.pageToNid(pfn), NODE_STAT.NR_PAGETABLE, -1);
    pool.release(t);
    m.mem.freePages(pfn, 0);
    this.nrFreed[level]!++;
  }

  // ---- entries ----

  /** Read the entry at `slot` of (logical) `level` into `out`. */
  readEntry(level: number, slot: number, out: PteVal): PteVal {
    const c = this.pools[this.host[level]!]!.chunks[slot >>> CHUNK_SLOTS_SHIFT]!;
    const o = (slot & CHUNK_SLOTS_MASK) << 1;
    out.lo = c[o]!;
    out.hi = c[o + 1]!;
    return out;
  }

  /** Write `v` to the entry at `slot` of (logical) `level` (`WRITE_ONCE()`; no side effects). */
  writeEntry(level: number, slot: number, v: PteVal): void {
    const c = this.pools[this.host[level]!]!.chunks[slot >>> CHUNK_SLOTS_SHIFT]!;
    const o = (slot & CHUNK_SLOTS_MASK) << 1;
    c[o] = v.lo;
    c[o + 1] = v.hi;
  }

  /** The table holding `slot` at (logical) `level`. */
  tableOfSlot(level: number, slot: number): number {
    return Math.floor(slot / this.ptrs[this.host[level]!]!);
  }

  /**
   * The child table an upper entry of `level` points to, or -1 when the
   * entry is not a valid table entry (none, leaf, bad or non-present).
   */
  childTable(level: number, v: PteVal): number {
    if (!this.codec.tableEntryOk(v, level as PgLevel)) return -1;
    return this.tableOfPfn(this.codec.tableEntryPfn(v, level as PgLevel));
  }

  /**
   * The slot of the entry of (logical) `level` for `addr` in the entry
   * `upperSlot` of the level above: the same slot when `level` is folded,
   * else the slot in the table the upper entry points to; -1 when the upper
   * entry is not a table.
   * @kernel p4d_offset / pud_offset / pmd_offset / pte_offset_kernel
   */
  offset(level: number, upperSlot: number, addr: number): number {
    if (this.folded[level] === 1) return upperSlot;
    const v = this.readEntry(level + 1, upperSlot, this.tmp);
    const child = this.childTable(this.host[level + 1]!, v);
    if (child < 0) return -1;
    return child * this.ptrs[level]! + this.index(level, addr);
  }

  /** The PGD slot of `addr`. @kernel pgd_offset (include/linux/pgtable.h) */
  pgdOffset(mm: MmPgtables, addr: number): number {
    return mm.pgd * this.ptrs[PGD_LEVEL]! + this.index(PGD_LEVEL, addr);
  }

  /**
   * The slot of the `level` entry mapping `addr` without allocating, or -1
   * when a table above is missing or a leaf or bad entry stops the walk.
   */
  lookup(mm: MmPgtables, level: number, addr: number): number {
    let slot = this.pgdOffset(mm, addr);
    for (let l = PGD_LEVEL - 1; l >= level; l--) {
      slot = this.offset(l, slot, addr);
      if (slot < 0) return -1;
    }
    return slot;
  }

  // ---- address spaces ----

  /**
   * A new address space: its PGD (`pgd_alloc()`), counters, lock and MMU
   * address space.
   * @returns the address space, or null when no page is left (-ENOMEM).
   * @kernel mm_alloc / pgd_alloc (kernel/fork.c, arch/x86/mm/pgtable.c)
   */
  mmAlloc(): MmPgtables | null {
    return this.allocMm(false);
  }

  /** `init_mm`: the kernel address space (no split locks, no PT reclaim). */
  initMmAlloc(): MmPgtables | null {
    return this.allocMm(true);
  }

  private allocMm(init: boolean): MmPgtables | null {
    const t = this.pagetableAlloc(null, PGD_LEVEL);
    if (t < 0) return null;
    const pfn = this.pools[PGD_LEVEL]!.pfn[t]!;
    const as = this.machine.mmu.createAddressSpace(pfn);
    const mm = new MmPgtables(this, as, t, pfn, init);
    this.pools[PGD_LEVEL]!.mm[t] = mm.id;
    this.mms.set(mm.id, mm);
    return mm;
  }

  /**
   * Free an address space whose tables below the PGD are gone (after
   * `freePgtables` of everything): the PGD and the MMU address space.
   * @throws PgtableError EBUSY while tables remain.
   * @kernel pgd_free / __mmdrop (arch/x86/mm/pgtable.c, kernel/fork.c)
   */
  mmFree(mm: MmPgtables): void {
    if (mm.dead) throw new PgtableError('EINVAL', `address space ${mm.id} is already freed`);
    if (mm.pgtablesBytes !== 0 || mm.tlbFlushPending !== 0) {
      throw new PgtableError(
        'EBUSY',
        `address space ${mm.id} still has ${mm.pgtablesBytes} bytes of page tables or a flush pending`,
      );
    }
    const pool = this.pools[PGD_LEVEL]!;
    const base = mm.pgd * pool.ptrs;
    for (let i = 0; i < pool.ptrs; i++) {
      if (pool.lo(base + i) !== 0 || pool.hi(base + i) !== 0) {
        throw new PgtableError('EBUSY', `address space ${mm.id} PGD entry ${i} is still populated`);
      }
    }
    this.machine.mmu.destroyAddressSpace(mm.as);
    this.pagetableDtorFree(PGD_LEVEL, mm.pgd);
    mm.dead = true;
    this.mms.delete(mm.id);
  }

  /** Account a new table of `level` to `mm` (`mm_inc_nr_ptes()` and friends). */
  mmIncNr(mm: MmPgtables, level: number, delta: number): void {
    const bytes = this.ptrs[level]! * this.codec.features.entryBytes;
    mm.pgtablesBytes += delta * bytes;
    if (level === PTE_LEVEL) mm.nrPtes += delta;
    else if (level === PMD_LEVEL) mm.nrPmds += delta;
    else if (level === PUD_LEVEL) mm.nrPuds += delta;
    else mm.nrP4ds += delta;
  }

  // ---- locks ----

  /**
   * Take the lock protecting the PTE table `t` of `mm` (its split lock, or
   * `mm->page_table_lock`).
   * @kernel pte_lockptr + spin_lock (include/linux/mm.h)
   */
  pteLock(mm: MmPgtables, t: number, nested = false): void {
    if (this.splitPtlocks && !mm.isInitMm) this.ptlocks.lock(this.pools[PTE_LEVEL]!, t, nested);
    else this.spin(mm.pageTableLock, nested);
  }

  /** Release the lock taken by {@link PageTables.pteLock}. */
  pteUnlock(mm: MmPgtables, t: number): void {
    if (this.splitPtlocks && !mm.isInitMm) this.ptlocks.unlock(this.pools[PTE_LEVEL]!, t);
    else spinUnlock(mm.pageTableLock);
  }

  /** Whether the lock protecting PTE table `t` is held. */
  pteLocked(mm: MmPgtables, t: number): boolean {
    if (this.splitPtlocks && !mm.isInitMm) return this.ptlocks.isLocked(this.pools[PTE_LEVEL]!, t);
    return mm.pageTableLock.ownerCpu >= 0 || mm.pageTableLock.ownerPid >= 0;
  }

  /**
   * Take the lock protecting the PMD entry `pmdp` (the PMD table's split
   * lock, or `mm->page_table_lock`).
   * @kernel pmd_lock (include/linux/mm.h)
   */
  pmdLock(mm: MmPgtables, pmdp: number, nested = false): void {
    if (this.splitPmdPtlocks && !mm.isInitMm)
      this.ptlocks.lock(this.pools[PMD_LEVEL]!, this.tableOfSlot(PMD_LEVEL, pmdp), nested);
    else this.spin(mm.pageTableLock, nested);
  }

  /** Try to take the PMD lock of `pmdp` without waiting. @kernel spin_trylock(pmd_lockptr()) */
  pmdTrylock(mm: MmPgtables, pmdp: number): boolean {
    if (this.splitPmdPtlocks && !mm.isInitMm)
      return this.ptlocks.trylock(this.pools[PMD_LEVEL]!, this.tableOfSlot(PMD_LEVEL, pmdp));
    return spinTrylock(mm.pageTableLock);
  }

  /** Release {@link PageTables.pmdLock}. */
  pmdUnlock(mm: MmPgtables, pmdp: number): void {
    if (this.splitPmdPtlocks && !mm.isInitMm)
      this.ptlocks.unlock(this.pools[PMD_LEVEL]!, this.tableOfSlot(PMD_LEVEL, pmdp));
    else spinUnlock(mm.pageTableLock);
  }

  /** Whether the PMD lock and the PTE lock of table `t` are one lock (no split PTE locks). */
  pmdLockIsPteLock(mm: MmPgtables): boolean {
    return mm.isInitMm || (!this.splitPtlocks && !this.splitPmdPtlocks);
  }

  /** Take `mm->page_table_lock` (PUD/P4D/PGD updates, and everything without split locks). */
  mmLock(mm: MmPgtables): void {
    this.spin(mm.pageTableLock);
  }

  /** Release `mm->page_table_lock`. */
  mmUnlock(mm: MmPgtables): void {
    spinUnlock(mm.pageTableLock);
  }

  private spin(l: SpinLock, nested = false): void {
    if (!(nested ? spinLockNested(l, SINGLE_DEPTH_NESTING) : spinLock(l)))
      throw new MmError('EAGAIN', 'pgtable: page-table lock contended under PREEMPT_RT');
  }

  // ---- THP deposits ----

  /**
   * Keep PTE table `t` with the PMD leaf `pmdp` for a later split (the mm's
   * counters already include it).
   * @kernel pgtable_trans_huge_deposit (mm/pgtable-generic.c)
   */
  deposit(pmdp: number, t: number): void {
    if (this.deposited.has(pmdp)) throw new MmBugError(`pgtable: PMD slot ${pmdp} already has a deposited table`);
    this.deposited.set(pmdp, t);
  }

  /**
   * Take back the table deposited with `pmdp`, or -1.
   * @kernel pgtable_trans_huge_withdraw (mm/pgtable-generic.c)
   */
  withdraw(pmdp: number): number {
    const t = this.deposited.get(pmdp);
    if (t === undefined) return -1;
    this.deposited.delete(pmdp);
    return t;
  }

  // ---- refcount reclaim mode ("Free user PTE page table pages" series) ----

  /**
   * Adjust the `pte_refcount` of the PTE table holding `ptep` for entries
   * that became non-none (`delta` > 0) or none (< 0). A table whose count
   * reaches zero while nobody holds it is a bug: entries are only cleared
   * by a visitor holding a reference.
   */
  pteRefEntries(ptep: number, delta: number): void {
    const pool = this.pools[PTE_LEVEL]!;
    const t = Math.floor(ptep / pool.ptrs);
    const r = pool.refcount[t]! + delta;
    if (r < 0 || (r === 0 && this.debugVm)) {
      throw new MmBugError(
        `pgtable: pte_refcount of table ${t} would drop to ${r} on an entry change (no visitor reference held)`,
      );
    }
    pool.refcount[t] = r;
  }

  /** References visitors hold on PTE table `t` (refcount mode). */
  pteRefVisitors(t: number): number {
    return this.refVisitors.get(t) ?? 0;
  }

  // ---- reports ----

  /** Counters (see {@link PgtableStats}). */
  stats(): PgtableStats {
    const live: number[] = [];
    for (let l = 0; l < 5; l++) live.push(this.nrAlloc[l]! - this.nrFreed[l]!);
    return {
      tablesAllocated: Array.from(this.nrAlloc),
      tablesFreed: Array.from(this.nrFreed),
      tablesLive: live,
      populateRaces: this.nrPopulateRaces,
      ptesReclaimed: this.nrPtesReclaimed,
    };
  }

  /** Host bytes held by page-table storage (entry chunks, ptdesc arrays, the walker's child-table cache). */
  hostBytes(): number {
    let b = this.walker.hostBytes();
    const seen = new Set<TablePool>();
    for (const p of this.pools) {
      if (p === null || seen.has(p)) continue;
      seen.add(p);
      b += p.hostBytes();
    }
    return b;
  }

  /** Whether table `t` of `level` is in use. */
  tableLive(level: number, t: number): boolean {
    const p = this.pools[level];
    return p !== null && p !== undefined && t >= 0 && t < p.nrTables && p.state[t] === PT_LIVE;
  }
}

const contexts = new WeakMap<Machine, PageTables>();

/**
 * Bind an architecture's page tables to `machine` and register the hardware
 * walker with its MMU (a machine has one walker: a second context on the same
 * machine must pass `registerWalker: false`).
 * @throws PgtableError EINVAL when the descriptor's page size is not the machine's,
 *   EBUSY when the machine's MMU already walks another context's tables.
 */
export function createPageTables(machine: Machine, options: PageTablesOptions = {}): PageTables {
  const register = options.registerWalker ?? true;
  if (register && contexts.has(machine)) {
    throw new PgtableError(
      'EBUSY',
      'the machine already has a page-table context with the MMU walker (registerWalker: false for another)',
    );
  }
  const pt = new PageTables(machine, options);
  if (register) {
    machine.mmu.registerWalker(pt.walker);
    contexts.set(machine, pt);
  }
  return pt;
}
