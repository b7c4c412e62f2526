/**
 * DOC: architecture descriptors: the page-table geometry and the features of
 * each supported configuration, as data.
 *
 * A descriptor says how many levels there are and which are folded, the
 * shift and `PTRS_PER_*` of each, which levels may hold leaves, the
 * contiguous-hint sizes, whether the hardware sets accessed/dirty bits,
 * which software bits exist, how TLBs are flushed, how page tables are freed
 * (MMU_GATHER_TABLE_FREE / MMU_GATHER_RCU_TABLE_FREE), whether empty PTE
 * tables may be reclaimed, which lazy-MMU implementation runs, and how to
 * build its entry codec. Generic code reads nothing else, so adding an
 * architecture is adding a descriptor (see `descriptors.ts`) and a codec.
 *
 * Levels are numbered from the leaf: 0 = PTE, 1 = PMD, 2 = PUD, 3 = P4D,
 * 4 = PGD. A folded level has `ptrs === 1` and the shift of the level above
 * it (`pgtable-nopmd.h` style); its entries are the entries of the next
 * unfolded level up, exactly as `pmd_offset(pud, addr)` returns the PUD entry
 * on a folded configuration.
 */
import type { ArchName } from '@mm/machine';
import type { ArchPte } from './pte-ops.js';

/** One level of a configuration. */
export interface LevelGeometry {
  /** log2 of the bytes one entry of this level maps (`PMD_SHIFT`, ...). */
  readonly shift: number;
  /** Entries per table (`PTRS_PER_PMD`, ...); 1 when folded. */
  readonly ptrs: number;
  /** The level has no tables of its own (its entries are those of the level above). */
  readonly folded: boolean;
}

/** How TLB invalidations reach other CPUs. */
export type TlbFlushStyle = 'ipi' | 'broadcast';

/** Which `arch_enter/leave/flush_lazy_mmu_mode()` implementation runs. */
export type LazyMmuStyle = 'none' | 'xen-pv' | 'ppc-hash' | 'sparc' | 'arm64';

/** A page-table configuration of an architecture. */
export interface ArchDescriptor {
  /** Unique name (`x86_64`, `x86_64-la57`, `arm64-4k-48`, `riscv64-sv39`, ...). */
  readonly name: string;
  /** The architecture family. */
  readonly family: 'x86_64' | 'x86' | 'arm64' | 'riscv64' | 'powerpc64' | 'sparc64';
  /** The `@mm/machine` architecture that can run it (`null`: none has its page size). */
  readonly machineArch: ArchName | null;
  /** One line for tables and reports. */
  readonly description: string;
  /** log2 of the base page size (PAGE_SHIFT). */
  readonly pageShift: number;
  /** Virtual address bits of a user address space (VA_BITS, `__VIRTUAL_MASK_SHIFT + 1`). */
  readonly vaBits: number;
  /** Physical address bits the architecture supports (MAX_PHYSMEM_BITS); bounds the PFNs entries must hold. */
  readonly physBits: number;
  /** Levels PTE..PGD (index = level number). */
  readonly levels: readonly [LevelGeometry, LevelGeometry, LevelGeometry, LevelGeometry, LevelGeometry];
  /** Levels that may hold a leaf (bit n for level n: bit 0 always, PMD and PUD where supported). */
  readonly leafLevels: number;
  /** CONT_PTES (arm64) / smallest NAPOT run (riscv); 0 without a contiguous hint. */
  readonly contPtes: number;
  /** CONT_PMDS (arm64); 0 without. */
  readonly contPmds: number;
  /** The hardware sets the accessed bit on a walk (ARCH_HAS_HW_PTE_YOUNG). */
  readonly hwYoung: boolean;
  /** The hardware sets the dirty bit on a write (x86 D, arm64 DBM, riscv Svadu). */
  readonly hwDirty: boolean;
  /** The hardware sets accessed bits in non-leaf PMDs (ARCH_HAS_NONLEAF_PMD_YOUNG). */
  readonly hwNonleafYoung: boolean;
  /** Entries have a soft-dirty bit for tracking writes from userspace (HAVE_ARCH_SOFT_DIRTY). */
  readonly softDirty: boolean;
  /** Entries have a userfaultfd write-protect bit (HAVE_ARCH_USERFAULTFD_WP). */
  readonly uffdWp: boolean;
  /** How remote TLBs are invalidated. */
  readonly tlbFlush: TlbFlushStyle;
  /** Ranges of more pages than this are flushed whole (x86 33, riscv 64, arm64 MAX_DVM_OPS). */
  readonly tlbFlushCeilingPages: number;
  /** MMU_GATHER_TABLE_FREE: tables are batched and freed after the flush. */
  readonly tableFree: boolean;
  /** MMU_GATHER_RCU_TABLE_FREE: freed tables wait for an RCU grace period. */
  readonly rcuTableFree: boolean;
  /** `tlb_needs_table_invalidate()`: flush the TLB (walk caches) before freeing tables. */
  readonly tableInvalidate: boolean;
  /** MMU_GATHER_MERGE_VMAS: no flush at `tlb_end_vma()`. */
  readonly mergeVmas: boolean;
  /**
   * PT_RECLAIM: empty PTE tables freed after MADV_DONTNEED. In 7.2 it is
   * `MMU_GATHER_RCU_TABLE_FREE && !HAVE_ARCH_TLB_REMOVE_TABLE` (x86, arm64,
   * riscv; not powerpc or sparc); 6.18 had ARCH_SUPPORTS_PT_RECLAIM, x86-64 only.
   */
  readonly ptReclaim: boolean;
  /** The lazy-MMU implementation. */
  readonly lazyMmu: LazyMmuStyle;
  /** Per-CPU batch size of the lazy-MMU implementation (ppc64 hash / sparc64: 192). */
  readonly lazyMmuBatch: number;
  /** ARCH_ENABLE_SPLIT_PMD_PTLOCK: PMD tables have their own lock. */
  readonly splitPmdPtlock: boolean;
  /** The architecture can dump its page tables (ARCH_HAS_PTDUMP). */
  readonly hasPtdump: boolean;
  /** The architecture can check for mappings both writable and executable (ARCH_HAS_DEBUG_WX). */
  readonly hasDebugWx: boolean;
  /** HAVE_MOVE_PMD: mremap moves whole PTE tables by moving the PMD entry. */
  readonly haveMovePmd: boolean;
  /** HAVE_MOVE_PUD: mremap moves whole PMD tables by moving the PUD entry. */
  readonly haveMovePud: boolean;
  /** `__SWP_TYPE_BITS` of the swap-PTE layout (5 everywhere). */
  readonly swpTypeBits: number;
  /** The swap-PTE layout in one line, for documentation. */
  readonly swapLayout: string;
  /** Build the entry codec. */
  readonly codec: () => ArchPte;
}

/** PTRS_PER_{PTE,PMD,PUD,P4D,PGD} and the shifts, as one record (for reports). */
export interface GeometrySummary {
  /** Name of the configuration. */
  readonly name: string;
  /** Levels that have tables (`CONFIG_PGTABLE_LEVELS`). */
  readonly levels: number;
  /** log2 of the page size. @kernel PAGE_SHIFT */
  readonly PAGE_SHIFT: number;
  /** log2 of the bytes a PMD entry maps. @kernel PMD_SHIFT */
  readonly PMD_SHIFT: number;
  /** log2 of the bytes a PUD entry maps. @kernel PUD_SHIFT */
  readonly PUD_SHIFT: number;
  /** log2 of the bytes a P4D entry maps. @kernel P4D_SHIFT */
  readonly P4D_SHIFT: number;
  /** log2 of the bytes a PGD entry maps. @kernel PGDIR_SHIFT */
  readonly PGDIR_SHIFT: number;
  /** Entries per PTE table. @kernel PTRS_PER_PTE */
  readonly PTRS_PER_PTE: number;
  /** Entries per PMD table (1 when folded). @kernel PTRS_PER_PMD */
  readonly PTRS_PER_PMD: number;
  /** Entries per PUD table (1 when folded). @kernel PTRS_PER_PUD */
  readonly PTRS_PER_PUD: number;
  /** Entries per P4D table (1 when folded). @kernel PTRS_PER_P4D */
  readonly PTRS_PER_P4D: number;
  /** Entries per PGD. @kernel PTRS_PER_PGD */
  readonly PTRS_PER_PGD: number;
}

/** Number of levels that have tables (`CONFIG_PGTABLE_LEVELS` as booted). */
export function nrTableLevels(d: ArchDescriptor): number {
  let n = 0;
  for (let l = 0; l < 5; l++) if (!d.levels[l]!.folded) n++;
  return n;
}

/** The geometry as the kernel's constants. */
export function geometrySummary(d: ArchDescriptor): GeometrySummary {
  const L = d.levels;
  return {
    name: d.name,
    levels: nrTableLevels(d),
    PAGE_SHIFT: L[0].shift,
    PMD_SHIFT: L[1].shift,
    PUD_SHIFT: L[2].shift,
    P4D_SHIFT: L[3].shift,
    PGDIR_SHIFT: L[4].shift,
    PTRS_PER_PTE: L[0].ptrs,
    PTRS_PER_PMD: L[1].ptrs,
    PTRS_PER_PUD: L[2].ptrs,
    PTRS_PER_P4D: L[3].ptrs,
    PTRS_PER_PGD: L[4].ptrs,
  };
}

/**
 * Build the five levels from the unfolded ones: `spec` lists, from the leaf
 * up, `[shift, ptrs]` for PTE, PMD, PUD, P4D and PGD, with `ptrs` 1 for a
 * folded level (its shift is then taken from the next unfolded level up).
 */
export function makeLevels(
  spec: readonly (readonly [number, number])[],
): [LevelGeometry, LevelGeometry, LevelGeometry, LevelGeometry, LevelGeometry] {
  const out: LevelGeometry[] = [];
  for (let l = 0; l < 5; l++) {
    const [shift, ptrs] = spec[l]!;
    out.push({ shift, ptrs, folded: ptrs === 1 && l !== 4 });
  }
  for (let l = 3; l >= 1; l--) {
    if (out[l]!.folded) out[l] = { shift: out[l + 1]!.shift, ptrs: 1, folded: true };
  }
  return out as [LevelGeometry, LevelGeometry, LevelGeometry, LevelGeometry, LevelGeometry];
}
