/**
 * DOC: the kernel-wide state the mm code reads as globals.
 *
 * In the kernel these are file-scope variables and sysctls:
 * `sysctl_max_map_count`, `mmap_min_addr`, `stack_guard_gap`, the
 * overcommit sysctls and the `vm_committed_as` per-CPU counter, the slab
 * caches (`vm_area_cachep`, `anon_vma_cachep`, `anon_vma_chain_cachep`,
 * `maple_node_cache`), the architecture's address-space geometry
 * (`TASK_SIZE`, `PMD_SIZE`), and here also the seams through which the VMA
 * code reaches page tables and rmap. One `MmContext` is one kernel; every
 * `MmStruct` belongs to one.
 */

import { createFolioRmap, type FolioRmap } from '@mm/folio-rmap';
import {
  type ArchName,
  ConfigError,
  type Machine,
  PercpuCounter,
  type Prng,
  percpuCounterAddBatch,
  percpuCounterSum,
} from '@mm/machine';
import type { MapleRcu } from '@mm/maple-tree';
import type { PteVal } from '@mm/pgtable-arch';
import { SlabMapleNodeAllocator } from '../maple-node-alloc.js';
import type { MmCaches } from '../slab-caches.js';
import { type AnonVmaOps, ChainAnonVmaOps } from './anon-vma.js';
import type { File, InodeNumbers } from './file.js';
import { OVERCOMMIT_GUESS, OVERCOMMIT_NEVER } from './mman.js';
import { type PageTableOps, RecordingPageTableOps } from './pgtable-ops.js';
import { findMergeableAnonVma } from './vma.js';

/** The default `vm.max_map_count`: USHRT_MAX - 5. @kernel DEFAULT_MAX_MAP_COUNT (include/linux/mm.h) */
export const DEFAULT_MAX_MAP_COUNT = 65530;

/** The address-space geometry of each architecture the model runs (64-bit, default VA size). */
const TASK_SIZE: Readonly<Record<ArchName, (pageSize: number) => number>> = {
  // (1 << 47) - PAGE_SIZE: 4-level paging, the page below the canonical hole left out
  x86_64: (page) => 2 ** 47 - page,
  // VA_BITS = 48
  arm64: () => 2 ** 48,
  // Sv48
  riscv64: () => 2 ** 47,
  // the default 128 TiB window
  ppc64le: () => 2 ** 47,
  // 4-level (region-second) tables: 8 PiB would exceed the index type; 4 TiB is the 3-level default
  s390x: () => 2 ** 42,
};

/** Options of {@link createMmContext}; every field has the kernel's default. */
export interface MmContextOptions {
  /** The page-table seam (default: {@link RecordingPageTableOps}). */
  pageTableOps?: PageTableOps;
  /** The anon_vma seam (default: {@link ChainAnonVmaOps} on the context's caches). */
  anonVmaOps?: AnonVmaOps;
  /** `vm.overcommit_memory`: 0 heuristic, 1 always, 2 never. */
  overcommitMemory?: number;
  /** `vm.overcommit_ratio` (percent of RAM in mode 2). */
  overcommitRatio?: number;
  /** `vm.overcommit_kbytes` (replaces the ratio when non-zero). */
  overcommitKbytes?: number;
  /** Most VMAs one mm may have (`vm.max_map_count`, default 65530). */
  maxMapCount?: number;
  /** Lowest address a mapping may start at without CAP_SYS_RAWIO, bytes (`vm.mmap_min_addr`, default 65536 as on Debian x86). */
  mmapMinAddr?: number;
  /** The stack guard gap in pages (`stack_guard_gap=` boot option, default 256). */
  stackGuardGapPages?: number;
  /** `kernel.randomize_va_space`: 0 off, 2 full (default). */
  randomizeVaSpace?: number;
  /** Swap pages available (`total_swap_pages`; swap lands in a later issue). */
  totalSwapPages?: () => number;
  /**
   * The folio/rmap environment whose interval trees hold the files' i_mmap
   * (default: a new one on the machine, for the VMA layer alone).
   */
  folioRmap?: FolioRmap;
}

/** The mm globals of one kernel. */
export class MmContext implements InodeNumbers {
  /** The simulated machine: physical memory, CPUs, locks and the event log. */
  readonly machine: Machine;
  /** The slab caches mm/ allocates its objects from (VMAs, maple nodes, anon_vmas). */
  readonly caches: MmCaches;
  /** Maple nodes of every VMA tree (`maple_node_cache`). */
  readonly nodes: SlabMapleNodeAllocator;
  /** The RCU domain maple nodes are freed through, shared by every VMA tree. */
  readonly nodesRcu: MapleRcu;
  /** The page-table seam. */
  pt: PageTableOps;
  /** The anon_vma seam. */
  anon: AnonVmaOps;
  /** The folio/rmap environment: address_spaces and their i_mmap interval trees. */
  readonly rm: FolioRmap;
  /** The architecture whose page-table format and address-space geometry are modelled. */
  readonly arch: ArchName;
  /** Base page size in bytes; mirrors `PAGE_SIZE`. */
  readonly pageSize: number;
  /** log2 of `pageSize`; mirrors `PAGE_SHIFT`. */
  readonly pageShift: number;
  /** Bytes one PMD entry maps (the PMD-sized THP size); mirrors `PMD_SIZE`. */
  readonly pmdSize: number;
  /** Bytes one PUD entry maps; mirrors `PUD_SIZE`. */
  readonly pudSize: number;
  /** Whether the page tables have a soft-dirty bit (`pgtable_supports_soft_dirty()`). */
  readonly softDirty: boolean;
  /** Size of the user address space in bytes, also where the stack tops out (`TASK_SIZE`, `STACK_TOP`). */
  readonly taskSize: number;
  /** `TASK_UNMAPPED_BASE`: bottom-up allocation starts here (PAGE_ALIGN(TASK_SIZE / 3)). */
  readonly taskUnmappedBase: number;
  /** Most VMAs one mm may have (`vm.max_map_count`); mirrors `sysctl_max_map_count`. */
  sysctlMaxMapCount: number;
  /** Lowest address a user mapping may start at without CAP_SYS_RAWIO, bytes (`vm.mmap_min_addr`); mirrors `mmap_min_addr`. */
  mmapMinAddr: number;
  /** Gap in bytes kept between a stack and the mapping it grows towards; mirrors `stack_guard_gap`. */
  stackGuardGap: number;
  /** Overcommit policy (`vm.overcommit_memory`): OVERCOMMIT_GUESS, OVERCOMMIT_ALWAYS or OVERCOMMIT_NEVER; mirrors `sysctl_overcommit_memory`. */
  sysctlOvercommitMemory: number;
  /** Percent of RAM counted toward the commit limit under OVERCOMMIT_NEVER (`vm.overcommit_ratio`); mirrors `sysctl_overcommit_ratio`. */
  sysctlOvercommitRatio: number;
  /** Fixed commit allowance in KiB; when nonzero it replaces the ratio (`vm.overcommit_kbytes`); mirrors `sysctl_overcommit_kbytes`. */
  sysctlOvercommitKbytes: number;
  /** KiB held back from a single process under OVERCOMMIT_NEVER (`vm.user_reserve_kbytes`); mirrors `sysctl_user_reserve_kbytes`. */
  sysctlUserReserveKbytes: number;
  /** KiB kept for processes with CAP_SYS_ADMIN (`vm.admin_reserve_kbytes`); mirrors `sysctl_admin_reserve_kbytes`. */
  sysctlAdminReserveKbytes: number;
  /** `vm_committed_as`: pages committed by accounted mappings. */
  readonly vmCommittedAs: PercpuCounter;
  /** Per-CPU batch for `vmCommittedAs` updates, in pages; recomputed with the overcommit policy; mirrors `vm_committed_as_batch`. */
  vmCommittedAsBatch: number;
  /** Swap pages currently available, counted as commit headroom; mirrors `total_swap_pages`. */
  totalSwapPages: () => number;
  /** ASLR level (`kernel.randomize_va_space`): 0 off, 1 stack/mmap/vdso, 2 also brk; mirrors `randomize_va_space`. */
  randomizeVaSpace: number;
  /** Nonzero forces the bottom-up mmap layout (`vm.legacy_va_layout`); mirrors `sysctl_legacy_va_layout`. */
  sysctlLegacyVaLayout: number;
  /** Bits of randomness in the mmap base (pages shifted by a random number below 2^bits); mirrors `mmap_rnd_bits`. */
  mmapRndBits: number;
  /**
   * Fault injection at `vma_iter_prealloc()`: every preallocation fails while
   * set (the `fail_prealloc` switch of the kernel's tools/testing/vma).
   */
  failPrealloc: boolean;
  /** The random stream of address-space layout randomisation. */
  readonly aslr: Prng;
  private nextIno: number;
  /**
   * `vfs_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)` on a file
   * (MADV_REMOVE); null without a page cache: MADV_REMOVE then only zaps
   * the VMA's range.
   */
  punchHole: ((file: File, offset: number, len: number) => number) | null = null;
  /** `vm_get_page_prot()` as an architecture entry (set by the composed kernel; the VMA layer alone has none). */
  pageProtOf: (vmFlags: number) => PteVal;

  constructor(machine: Machine, caches: MmCaches, opts: MmContextOptions = {}) {
    this.machine = machine;
    this.caches = caches;
    this.nodes = new SlabMapleNodeAllocator(caches.mapleNode);
    this.nodesRcu = this.nodes.rcuFor(machine);
    this.pt = opts.pageTableOps ?? new RecordingPageTableOps();
    this.anon = opts.anonVmaOps ?? new ChainAnonVmaOps(caches.anonVma, caches.anonVmaChain, findMergeableAnonVma);
    this.rm = opts.folioRmap ?? createFolioRmap(machine);
    this.arch = machine.config.arch;
    this.pageSize = machine.topology.pageSize;
    this.pageShift = Math.log2(this.pageSize);
    // one page of 8-byte entries per table level
    const entries = this.pageSize / 8;
    this.pmdSize = this.pageSize * entries;
    this.pudSize = this.pmdSize * entries;
    this.taskSize = TASK_SIZE[this.arch](this.pageSize);
    // HAVE_ARCH_SOFT_DIRTY with CONFIG_MEM_SOFT_DIRTY (not arm64; riscv only with Svrsw60t59b)
    this.softDirty = this.arch === 'x86_64' || this.arch === 's390x' || this.arch === 'ppc64le';
    this.taskUnmappedBase = Math.ceil(this.taskSize / 3 / this.pageSize) * this.pageSize;
    this.sysctlMaxMapCount = intOpt('maxMapCount', opts.maxMapCount, DEFAULT_MAX_MAP_COUNT, 0);
    this.mmapMinAddr = intOpt('mmapMinAddr', opts.mmapMinAddr, 65536, 0);
    this.stackGuardGap = intOpt('stackGuardGapPages', opts.stackGuardGapPages, 256, 0) * this.pageSize;
    this.sysctlOvercommitMemory = intOpt('overcommitMemory', opts.overcommitMemory, OVERCOMMIT_GUESS, 0);
    if (this.sysctlOvercommitMemory > 2)
      throw new ConfigError('overcommitMemory', `overcommit_memory must be 0, 1 or 2, got ${opts.overcommitMemory}`);
    this.sysctlOvercommitRatio = intOpt('overcommitRatio', opts.overcommitRatio, 50, 0);
    this.sysctlOvercommitKbytes = intOpt('overcommitKbytes', opts.overcommitKbytes, 0, 0);
    // init_user_reserve() / init_admin_reserve(): 1/32 of free memory, capped at 128 MiB / 8 MiB
    const freeKbytes = (machine.mem.nrFreePages() * this.pageSize) / 1024;
    this.sysctlUserReserveKbytes = Math.min(Math.floor(freeKbytes / 32), 128 * 1024);
    this.sysctlAdminReserveKbytes = Math.min(Math.floor(freeKbytes / 32), 8 * 1024);
    this.vmCommittedAs = new PercpuCounter(machine, 0);
    this.vmCommittedAsBatch = 32;
    this.mmComputeBatch();
    this.totalSwapPages = opts.totalSwapPages ?? (() => 0);
    this.randomizeVaSpace = intOpt('randomizeVaSpace', opts.randomizeVaSpace, 2, 0);
    this.sysctlLegacyVaLayout = 0;
    this.mmapRndBits = this.arch === 'x86_64' ? 28 : 18;
    this.failPrealloc = false;
    this.aslr = machine.prng.stream('mm-aslr');
    this.nextIno = 1000;
    this.pageProtOf = () => {
      throw new ConfigError('pageTableOps', 'no architecture page tables: use createKernel()');
    };
  }

  /** A fresh inode number. @kernel get_next_ino (fs/inode.c) */
  allocIno(): number {
    return this.nextIno++;
  }

  /** Pages the buddy allocator manages on all nodes (`totalram_pages()`). */
  totalramPages(): number {
    return this.machine.mem.totalramPages();
  }

  /**
   * The batch of `vm_committed_as`: 0.4% of RAM per CPU under
   * OVERCOMMIT_NEVER, 25% otherwise, at least max(2 × CPUs, 32).
   * @kernel mm_compute_batch (mm/mm_init.c)
   */
  mmComputeBatch(): void {
    const nr = this.machine.topology.nrCpus;
    const batch = Math.max(nr * 2, 32);
    const ram = this.totalramPages();
    const memsized =
      this.sysctlOvercommitMemory === OVERCOMMIT_NEVER
        ? Math.min(Math.floor(ram / nr / 256), 0x7fffffff)
        : Math.min(Math.floor(ram / nr / 4), 0x7fffffff);
    this.vmCommittedAsBatch = Math.max(memsized, batch);
  }

  /**
   * Write `vm.overcommit_memory`: switching to OVERCOMMIT_NEVER shrinks the
   * batch and folds every CPU's delta so the strict check reads an exact sum.
   * @kernel overcommit_policy_handler (mm/util.c)
   */
  setOvercommitMemory(mode: number): void {
    if (mode !== 0 && mode !== 1 && mode !== 2)
      throw new ConfigError('overcommitMemory', `overcommit_memory must be 0, 1 or 2, got ${mode}`);
    this.sysctlOvercommitMemory = mode;
    this.mmComputeBatch();
    if (mode === OVERCOMMIT_NEVER) {
      const c = this.vmCommittedAs;
      for (let cpu = 0; cpu < c.deltas.length; cpu++) c.foldCpu(cpu);
    }
  }

  /** Add `pages` to the commit (negative to remove). @kernel vm_acct_memory (include/linux/mman.h) */
  vmAcctMemory(pages: number): void {
    percpuCounterAddBatch(this.vmCommittedAs, pages, this.vmCommittedAsBatch);
  }

  /** Give back `pages` of committed memory. @kernel vm_unacct_memory (include/linux/mman.h) */
  vmUnacctMemory(pages: number): void {
    this.vmAcctMemory(-pages);
  }

  /** Committed pages, exact (`Committed_AS` of /proc/meminfo). @kernel vm_memory_committed (mm/util.c) */
  vmMemoryCommitted(): number {
    return Math.max(percpuCounterSum(this.vmCommittedAs), 0);
  }
}

function intOpt(name: string, v: number | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  if (!Number.isSafeInteger(v) || v < min)
    throw new ConfigError(name, `${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** Create the mm globals of a kernel on `machine` with its mm slab caches. */
export function createMmContext(machine: Machine, caches: MmCaches, opts: MmContextOptions = {}): MmContext {
  return new MmContext(machine, caches, opts);
}
