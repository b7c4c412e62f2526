/**
 * DOC: the architecture entry codec: every `pte_*`, `pmd_*`, `pud_*` and
 * swap-PTE helper the generic code needs, on {@link PteVal} boxes.
 *
 * One subclass per architecture mirrors its `asm/pgtable*.h`: x86 (64-bit and
 * 32-bit non-PAE), arm64, riscv, and a documented generic layout for powerpc64
 * and sparc64 (see `generic-pte.ts`). Generic code (`pgtable.ts`,
 * `memory.ts`, the walkers) only calls these methods, so adding an
 * architecture is adding a descriptor and a codec. Methods that transform an
 * entry update the box in place (`pteMkdirty(v)` is `pte = pte_mkdirty(pte)`);
 * constructors write into an `out` box the caller owns. The "only valid if
 * pte_present()" rules of the kernel apply unchanged.
 *
 * PMD and PUD leaves share the PTE helpers for the flag bits (on the modelled
 * architectures `pmd_mkdirty(pmd)` is `pte_pmd(pte_mkdirty(pmd_pte(pmd)))`
 * or the same bit operation); the level-specific ones (`pmd_pfn`,
 * `pmd_modify`, `pmd_leaf`, `pmd_present`, table entries) are separate.
 */
import { type PgProt, PteVal } from '../entry/pteval.js';

/** `folio_pte_batch_flags()`: compare PTEs respecting the dirty bit. */
export const FPB_RESPECT_DIRTY = 1;
/** Compare PTEs respecting the soft-dirty bit. */
export const FPB_RESPECT_SOFT_DIRTY = 2;
/** Compare PTEs respecting the writable bit. */
export const FPB_RESPECT_WRITE = 4;
/** Make the first entry writable if any entry of the batch is. */
export const FPB_MERGE_WRITE = 8;
/** Make the first entry young / dirty if any entry of the batch is. */
export const FPB_MERGE_YOUNG_DIRTY = 16;

/** Page-table levels, numbered from the leaf (the kernel's `pgtable_level` order reversed). */
export const PTE_LEVEL = 0;
/** The PMD level. */
export const PMD_LEVEL = 1;
/** The PUD level. */
export const PUD_LEVEL = 2;
/** The P4D level. */
export const P4D_LEVEL = 3;
/** The PGD level. */
export const PGD_LEVEL = 4;
/** Names of the levels, indexed by level number. */
export const LEVEL_NAMES = ['pte', 'pmd', 'pud', 'p4d', 'pgd'] as const;
/** A level number (0 = PTE ... 4 = PGD). */
export type PgLevel = 0 | 1 | 2 | 3 | 4;

/** `vm_flags` bits `vm_get_page_prot()` looks at. */
export const VM_NONE = 0x0;
/** Readable mapping. */
export const VM_READ = 0x1;
/** Writable mapping. */
export const VM_WRITE = 0x2;
/** Executable mapping. */
export const VM_EXEC = 0x4;
/** Shared mapping. */
export const VM_SHARED = 0x8;

/** Software features an architecture's entries can carry. */
export interface PteFeatures {
  /** HAVE_ARCH_SOFT_DIRTY: a soft-dirty bit in present and swap entries. */
  readonly softDirty: boolean;
  /** HAVE_ARCH_USERFAULTFD_WP: a uffd-wp bit in present and swap entries. */
  readonly uffdWp: boolean;
  /** A special bit (ARCH_HAS_PTE_SPECIAL). */
  readonly special: boolean;
  /** NUMA-hinting PROT_NONE entries that stay `pte_present()`. */
  readonly protnone: boolean;
  /** Bits of the arch swap type field (`__SWP_TYPE_BITS`, 5 everywhere). */
  readonly swpTypeBits: number;
  /** Bits of the arch swap offset field (`__SWP_OFFSET_BITS` or what is left). */
  readonly swpOffsetBits: number;
  /** Width of an entry in bytes (8, or 4 for 32-bit x86). */
  readonly entryBytes: number;
}

/**
 * The entry codec of one architecture configuration. Every method models
 * the kernel helper named in its `@kernel` tag.
 */
export abstract class ArchPte {
  /** Name of the codec (`x86_64`, `arm64`, ...). */
  abstract readonly name: string;
  /** Features of this encoding. */
  abstract readonly features: PteFeatures;
  /** PAGE_SHIFT of the configuration. */
  abstract readonly pageShift: number;

  // ---- present PTEs ----

  /**
   * The entry is empty (the "none" value, ignoring stray bits the hardware may set).
   * @kernel pte_none (arch/x86/include/asm/pgtable.h)
   */
  pteNone(v: PteVal): boolean {
    return v.lo === 0 && v.hi === 0;
  }
  /** Whether the entry maps a page the MMU may use (PROT_NONE entries count as present) @kernel pte_present */
  abstract ptePresent(v: PteVal): boolean;
  /** Present but inaccessible to the hardware (NUMA hinting). @kernel pte_protnone */
  abstract pteProtnone(v: PteVal): boolean;
  /** PFN the entry maps. @kernel pte_pfn */
  abstract ptePfn(v: PteVal): number;
  /** Build a present entry mapping `pfn` with protections `prot`. @kernel pfn_pte */
  abstract pfnPte(out: PteVal, pfn: number, prot: PgProt): void;
  /** Whether the entry allows writes. @kernel pte_write */
  abstract pteWrite(v: PteVal): boolean;
  /** Whether the page was written through the entry. @kernel pte_dirty */
  abstract pteDirty(v: PteVal): boolean;
  /** Whether the page was accessed through the entry. @kernel pte_young */
  abstract pteYoung(v: PteVal): boolean;
  /** Whether the entry maps a special page (no refcounted struct page behind it) @kernel pte_special */
  abstract pteSpecial(v: PteVal): boolean;
  /** Whether the entry's soft-dirty bit is set. @kernel pte_soft_dirty (false where the arch has none) */
  abstract pteSoftDirty(v: PteVal): boolean;
  /** Whether the entry is uffd-write-protected. @kernel pte_uffd_wp (false where the arch has none) */
  abstract pteUffdWp(v: PteVal): boolean;
  /** User-accessible entry (x86 U/S, arm64 AP[1], riscv U). */
  abstract pteUser(v: PteVal): boolean;
  /** Whether the entry allows instruction fetches. @kernel pte_exec */
  abstract pteExec(v: PteVal): boolean;
  /** Whether the entry is global (kept in the TLB across address-space switches) @kernel pte_global */
  abstract pteGlobal(v: PteVal): boolean;
  /** Allow writes. @kernel pte_mkwrite_novma */
  abstract pteMkwrite(v: PteVal): void;
  /** Remove write permission. @kernel pte_wrprotect */
  abstract pteWrprotect(v: PteVal): void;
  /** Set the dirty bit. @kernel pte_mkdirty */
  abstract pteMkdirty(v: PteVal): void;
  /** Clear the dirty bit. @kernel pte_mkclean */
  abstract pteMkclean(v: PteVal): void;
  /** Set the accessed bit. @kernel pte_mkyoung */
  abstract pteMkyoung(v: PteVal): void;
  /** Clear the accessed bit. @kernel pte_mkold */
  abstract pteMkold(v: PteVal): void;
  /** Mark the entry special. @kernel pte_mkspecial */
  abstract pteMkspecial(v: PteVal): void;
  /** Set the soft-dirty bit. @kernel pte_mksoft_dirty (no-op without soft-dirty) */
  abstract pteMksoftDirty(v: PteVal): void;
  /** Clear the soft-dirty bit. @kernel pte_clear_soft_dirty */
  abstract pteClearSoftDirty(v: PteVal): void;
  /**
   * Mark the entry uffd-write-protected; always removes write permission too
   * (the kernel commit "mm/uffd: always wr-protect pte in
   * pte|pmd_mkuffd_wp()"). A no-op
   * without HAVE_ARCH_USERFAULTFD_WP.
   * @kernel pte_mkuffd_wp
   */
  abstract pteMkuffdWp(v: PteVal): void;
  /** Clear the uffd write-protect bit (write permission stays as it is) @kernel pte_clear_uffd_wp */
  abstract pteClearUffdWp(v: PteVal): void;
  /** Replace the protection bits, keeping PFN, A/D and software state. @kernel pte_modify */
  abstract pteModify(v: PteVal, prot: PgProt): void;
  /** Advance the PFN of a present entry by `nr`. @kernel pte_advance_pfn */
  abstract pteAdvancePfn(v: PteVal, nr: number): void;
  /**
   * What `pte_next_pfn()` adds to the raw value of `v`:
   * `1 << PFN_PTE_SHIFT` (negated where the PFN of `v` is stored inverted).
   */
  pfnStep(_v: PteVal): number {
    return 2 ** this.pageShift;
  }
  /**
   * `__pte_batch_clear_ignored()`: the entry with the bits a batch comparison
   * ignores cleared (dirty, soft-dirty, write unless `flags` respect them;
   * always accessed).
   * @kernel __pte_batch_clear_ignored (mm/internal.h)
   */
  pteBatchClearIgnored(v: PteVal, flags: number): void {
    if ((flags & FPB_RESPECT_DIRTY) === 0) this.pteMkclean(v);
    if ((flags & FPB_RESPECT_SOFT_DIRTY) === 0) this.pteClearSoftDirty(v);
    if ((flags & FPB_RESPECT_WRITE) === 0) this.pteWrprotect(v);
    this.pteMkold(v);
  }

  private batchKeep: Int32Array | null = null;

  /**
   * The bits `pteBatchClearIgnored(v, flags)` keeps from `v`, as words
   * `[lo, hi]` at index `3 * (flags & 7)` of the returned array, followed by
   * 1 when that clearing is a fixed set/clear of bits (then two entries
   * compare equal after clearing exactly when they agree on the kept bits)
   * and 0 when it is not (x86 `pte_wrprotect()` moves D to SavedDirty and
   * arm64's sets PTE_DIRTY for hardware-dirty entries, so keeping the dirty
   * bit while write-protecting depends on two bits). The masks are found by
   * clearing zero, all-ones and every value with one or two bits set.
   */
  batchKeepMasks(): Int32Array {
    if (this.batchKeep !== null) return this.batchKeep;
    const m = new Int32Array(24);
    const z = new PteVal();
    const o = new PteVal();
    const t = new PteVal();
    for (let f = 0; f < 8; f++) {
      z.setWords(0, 0);
      o.setWords(-1, -1);
      this.pteBatchClearIgnored(z, f);
      this.pteBatchClearIgnored(o, f);
      const kLo = o.lo & ~z.lo;
      const kHi = o.hi & ~z.hi;
      let fixed = (o.lo | ~kLo) === -1 && (o.hi | ~kHi) === -1 ? 1 : 0;
      for (let a = 0; a < 64 && fixed === 1; a++) {
        for (let b = a; b < 64; b++) {
          const lo = (a < 32 ? 1 << a : 0) | (b < 32 ? 1 << b : 0);
          const hi = (a >= 32 ? 1 << (a - 32) : 0) | (b >= 32 ? 1 << (b - 32) : 0);
          t.setWords(lo, hi);
          this.pteBatchClearIgnored(t, f);
          if (t.lo !== ((lo & kLo) | (z.lo & ~kLo)) || t.hi !== ((hi & kHi) | (z.hi & ~kHi))) {
            fixed = 0;
            break;
          }
        }
      }
      m[3 * f] = kLo;
      m[3 * f + 1] = kHi;
      m[3 * f + 2] = fixed;
    }
    this.batchKeep = m;
    return m;
  }

  /**
   * Whether changing a user entry from `oldPte` to `newPte` needs a TLB
   * flush (permissions taken away, the frame changed, ...). Architectures
   * without their own say always (the generic `pte_needs_flush()`).
   * @kernel pte_needs_flush (arch/x86/include/asm/tlbflush.h)
   */
  pteNeedsFlush(_oldPte: PteVal, _newPte: PteVal): boolean {
    return true;
  }
  /** The PMD-leaf version (on x86 the accessed bit counts). @kernel huge_pmd_needs_flush */
  hugePmdNeedsFlush(_oldPmd: PteVal, _newPmd: PteVal): boolean {
    return true;
  }

  /** The protection bits of a present entry (everything but the PFN). @kernel pte_pgprot */
  abstract ptePgprot(out: PgProt, v: PteVal): void;

  // ---- PMD / PUD leaves and table entries ----

  /** Whether the PMD entry is empty. @kernel pmd_none */
  abstract pmdNone(v: PteVal): boolean;
  /** Whether the PMD entry maps a table or a huge page the MMU may use. @kernel pmd_present */
  abstract pmdPresent(v: PteVal): boolean;
  /** A leaf (block/huge) PMD. @kernel pmd_leaf */
  abstract pmdLeaf(v: PteVal): boolean;
  /** Neither none nor a valid table nor a leaf. @kernel pmd_bad */
  abstract pmdBad(v: PteVal): boolean;
  /** PFN of a PMD leaf, or of the PTE table a table entry points to. @kernel pmd_pfn */
  abstract pmdPfn(v: PteVal): number;
  /** Build a huge PMD entry mapping `pfn` with `prot`. @kernel pfn_pmd */
  abstract pfnPmd(out: PteVal, pfn: number, prot: PgProt): void;
  /** Turn a PMD value into a leaf. @kernel pmd_mkhuge */
  abstract pmdMkhuge(v: PteVal): void;
  /** Replace the PMD entry's protection bits with `prot`. @kernel pmd_modify */
  abstract pmdModify(v: PteVal, prot: PgProt): void;
  /** Whether the PMD entry is PROT_NONE (present for the kernel, inaccessible to the MMU) @kernel pmd_protnone */
  abstract pmdProtnone(v: PteVal): boolean;
  /** Whether the PUD entry is empty. @kernel pud_none */
  abstract pudNone(v: PteVal): boolean;
  /** Whether the PUD entry maps a table or a huge page the MMU may use. @kernel pud_present */
  abstract pudPresent(v: PteVal): boolean;
  /** Whether the PUD entry maps a huge page rather than a table. @kernel pud_leaf */
  abstract pudLeaf(v: PteVal): boolean;
  /** PFN a huge PUD entry maps. @kernel pud_pfn */
  abstract pudPfn(v: PteVal): number;
  /** Build a huge PUD entry mapping `pfn` with `prot`. @kernel pfn_pud */
  abstract pfnPud(out: PteVal, pfn: number, prot: PgProt): void;
  /** Turn the PUD entry into a huge-page leaf. @kernel pud_mkhuge */
  abstract pudMkhuge(v: PteVal): void;
  /**
   * A table entry at `level` (PMD..PGD) pointing to the table page `tablePfn`.
   * @kernel pmd_populate / pud_populate / p4d_populate / pgd_populate
   */
  abstract mkTableEntry(out: PteVal, level: PgLevel, tablePfn: number): void;
  /** The PFN of the table a table entry at `level` points to. @kernel pmd_page / pud_pgtable / p4d_pgtable */
  abstract tableEntryPfn(v: PteVal, level: PgLevel): number;
  /** A table entry is valid (present, not a leaf). @kernel !pmd_bad / !pud_bad (inverted) */
  abstract tableEntryOk(v: PteVal, level: PgLevel): boolean;

  // ---- swap PTEs (the architecture half of swapops.h) ----

  /** The arch swap PTE for (type, offset): `__swp_entry_to_pte(__swp_entry(type, offset))`. @kernel __swp_entry */
  abstract archSwpEntry(out: PteVal, type: number, offset: number): void;
  /** Swap type held in a non-present entry. @kernel __swp_type (of `__pte_to_swp_entry(pte)`) */
  abstract archSwpType(v: PteVal): number;
  /** Swap offset held in a non-present entry. @kernel __swp_offset (of `__pte_to_swp_entry(pte)`) */
  abstract archSwpOffset(v: PteVal): number;
  /** Mark the swap entry's page exclusive to one process. @kernel pte_swp_mkexclusive */
  abstract pteSwpMkexclusive(v: PteVal): void;
  /** Whether the swap entry's page is exclusive to one process. @kernel pte_swp_exclusive */
  abstract pteSwpExclusive(v: PteVal): boolean;
  /** Clear the swap entry's exclusive bit. @kernel pte_swp_clear_exclusive */
  abstract pteSwpClearExclusive(v: PteVal): void;
  /** Set the swap entry's soft-dirty bit. @kernel pte_swp_mksoft_dirty */
  abstract pteSwpMksoftDirty(v: PteVal): void;
  /** Whether the swap entry's soft-dirty bit is set. @kernel pte_swp_soft_dirty */
  abstract pteSwpSoftDirty(v: PteVal): boolean;
  /** Clear the swap entry's soft-dirty bit. @kernel pte_swp_clear_soft_dirty */
  abstract pteSwpClearSoftDirty(v: PteVal): void;
  /** Set the swap entry's uffd write-protect bit. @kernel pte_swp_mkuffd_wp */
  abstract pteSwpMkuffdWp(v: PteVal): void;
  /** Whether the swap entry's uffd write-protect bit is set. @kernel pte_swp_uffd_wp */
  abstract pteSwpUffdWp(v: PteVal): boolean;
  /** Clear the swap entry's uffd write-protect bit. @kernel pte_swp_clear_uffd_wp */
  abstract pteSwpClearUffdWp(v: PteVal): void;

  /**
   * Clear the software flags a swap PTE carries beside (type, offset).
   * @kernel pte_swp_clear_flags (include/linux/swapops.h)
   */
  pteSwpClearFlags(v: PteVal): void {
    this.pteSwpClearExclusive(v);
    if (this.features.softDirty) this.pteSwpClearSoftDirty(v);
    if (this.features.uffdWp) this.pteSwpClearUffdWp(v);
  }

  // ---- protections ----

  /**
   * The page protection for a VMA's `vm_flags` (VM_READ/WRITE/EXEC/SHARED).
   * Private writable mappings get a read-only protection (copy on write).
   * @kernel vm_get_page_prot (protection_map[] of the architecture)
   */
  abstract vmGetPageProt(out: PgProt, vmFlags: number): void;
  /** The protection of a PROT_NONE mapping. @kernel PAGE_NONE */
  pageNone(out: PgProt): void {
    this.vmGetPageProt(out, VM_NONE);
  }
}
