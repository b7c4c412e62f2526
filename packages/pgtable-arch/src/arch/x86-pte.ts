/**
 * DOC: x86 page-table entries: the 64-bit format (4- and 5-level paging) and
 * the 32-bit non-PAE two-level format, bit for bit as
 * `arch/x86/include/asm/pgtable_types.h`, `pgtable.h`, `pgtable_64.h`,
 * `pgtable-2level.h` and `pgtable-invert.h` define them.
 *
 * Present entries: P(0) RW(1) U/S(2) PWT(3) PCD(4) A(5) D(6) PSE/PAT(7)
 * G(8, PROTNONE when P=0) SPECIAL(9) UFFD_WP(10) SOFT_DIRTY(11) PAT_LARGE(12)
 * PFN(12..51) SOFTW4(57) SAVED_DIRTY(58) PKEY(59..62) NX(63). A write-protect
 * moves D into SAVED_DIRTY (Write=0,Dirty=1 is a shadow-stack page);
 * PROT_NONE entries store their PFN inverted (L1TF). Swap entries hold the
 * type in bits 59..63 and the offset inverted in bits 9..58; bits 1..3 carry
 * the soft-dirty, uffd-wp and exclusive flags.
 *
 * The 32-bit format keeps the low word only: no NX, SAVED_DIRTY in bit 10,
 * no uffd-wp nor soft-dirty, no PFN inversion, swap type in bits 1..5 and
 * offset from bit 9, the exclusive flag in bit 7.
 *
 * `__supported_pte_mask` is all ones (an NX-capable CPU) and shadow stacks
 * (X86_FEATURE_SHSTK) are off, so `pte_write()` is the RW bit.
 */
import { type PgProt, type PteVal, TWO_32 } from '../entry/pteval.js';
import {
  ArchPte,
  type PgLevel,
  PMD_LEVEL,
  type PteFeatures,
  PUD_LEVEL,
  VM_EXEC,
  VM_SHARED,
  VM_WRITE,
} from './pte-ops.js';

// Low word (bits 0..31).
export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_USER = 1 << 2;
export const _PAGE_PWT = 1 << 3;
export const _PAGE_PCD = 1 << 4;
export const _PAGE_ACCESSED = 1 << 5;
export const _PAGE_DIRTY = 1 << 6;
export const _PAGE_PSE = 1 << 7;
export const _PAGE_PAT = 1 << 7;
export const _PAGE_GLOBAL = 1 << 8;
export const _PAGE_PROTNONE = 1 << 8;
export const _PAGE_SPECIAL = 1 << 9;
export const _PAGE_SOFTW2 = 1 << 10;
export const _PAGE_SOFTW3 = 1 << 11;
export const _PAGE_PAT_LARGE = 1 << 12;
/** Userfaultfd write-protect bit, software bit 10; x86-64 only (`_PAGE_UFFD_WP`). */
export const _PAGE_UFFD_WP = _PAGE_SOFTW2;
/** Soft-dirty bit, software bit 11: set on write, cleared through /proc/pid/clear_refs (`_PAGE_SOFT_DIRTY`). */
export const _PAGE_SOFT_DIRTY = _PAGE_SOFTW3;
// High word (bits 32..63), x86-64 only.
export const _PAGE_SOFTW4_HI = 1 << (57 - 32);
export const _PAGE_SAVED_DIRTY_HI = 1 << (58 - 32);
export const _PAGE_PKEY_MASK_HI = 0xf << (59 - 32);
export const _PAGE_NX_HI = 1 << (63 - 32);
/** Stray A/D bits some CPUs set on non-present entries (`_PAGE_KNL_ERRATUM_MASK`, 64-bit and PAE only). */
const KNL_ERRATUM = _PAGE_DIRTY | _PAGE_ACCESSED;

/** `_PAGE_TABLE`: what a table entry pointing to a user table carries. */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;
/** `_KERNPG_TABLE`: the bits of a table entry pointing to a kernel-only table (`_PAGE_TABLE` without `_PAGE_USER`). */
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;

/** Swap-PTE flags (not part of `swp_entry_t`). */
export const _PAGE_SWP_SOFT_DIRTY = _PAGE_RW;
export const _PAGE_SWP_UFFD_WP = _PAGE_USER;
/** x86-64 (`_PAGE_PWT`); the 2-level format uses `_PAGE_PSE`. */
export const _PAGE_SWP_EXCLUSIVE_64 = _PAGE_PWT;
export const _PAGE_SWP_EXCLUSIVE_32 = _PAGE_PSE;

/**
 * The x86 entry codec. `is64` picks the 64-bit format (4/5-level paging)
 * or the 32-bit two-level one.
 */
export class X86Pte extends ArchPte {
  readonly name: string;
  readonly features: PteFeatures;
  readonly pageShift = 12;
  /** 64-bit format (true) or the 32-bit two-level one. */
  readonly is64: boolean;
  /** PTE_PFN_MASK, low and high words. */
  private readonly pfnLo: number;
  private readonly pfnHi: number;
  /** SAVED_DIRTY: bit 58 on 64-bit, bit 10 (SOFTW2) on 32-bit. */
  private readonly sdLo: number;
  private readonly sdHi: number;
  private readonly nxHi: number;
  private readonly uffdLo: number;
  private readonly softDirtyLo: number;
  private readonly swpExclusive: number;
  /** `~_PAGE_KNL_ERRATUM_MASK` (all ones on 2-level 32-bit). */
  private readonly noneMask: number;
  /** PMD_SHIFT (21 or 22), PUD_SHIFT (30; unused on 32-bit). */
  private readonly pmdShift: number;

  constructor(is64: boolean) {
    super();
    this.is64 = is64;
    this.name = is64 ? 'x86_64' : 'x86';
    this.features = {
      softDirty: is64,
      uffdWp: is64,
      special: true,
      protnone: true,
      swpTypeBits: 5,
      swpOffsetBits: is64 ? 50 : 23,
      entryBytes: is64 ? 8 : 4,
    };
    this.pfnLo = 0xfffff000 | 0;
    this.pfnHi = is64 ? 0x000fffff : 0;
    this.sdLo = is64 ? 0 : _PAGE_SOFTW2;
    this.sdHi = is64 ? _PAGE_SAVED_DIRTY_HI : 0;
    this.nxHi = is64 ? _PAGE_NX_HI : 0;
    this.uffdLo = is64 ? _PAGE_UFFD_WP : 0;
    this.softDirtyLo = is64 ? _PAGE_SOFT_DIRTY : 0;
    this.swpExclusive = is64 ? _PAGE_SWP_EXCLUSIVE_64 : _PAGE_SWP_EXCLUSIVE_32;
    this.pmdShift = is64 ? 21 : 22;
    this.noneMask = is64 ? ~KNL_ERRATUM : -1;
  }

  // ---- helpers ----

  /** `__pte_needs_invert()`: non-zero and not present (64-bit only). */
  private needsInvert(lo: number, hi: number): boolean {
    return this.is64 && (lo !== 0 || hi !== 0) && (lo & _PAGE_PRESENT) === 0;
  }

  /** PFN bits `[lo, hi]` of `pfn << 12` masked by `mask` (PTE/PMD/PUD page mask), or-ed into out. */
  private pfnBits(out: PteVal, pfn: number, prot: PgProt, maskLo: number): void {
    let lo = (pfn << 12) | 0;
    let hi = Math.floor(pfn / 1048576) | 0;
    if (this.needsInvert(prot.lo, prot.hi)) {
      lo = ~lo;
      hi = ~hi;
    }
    out.lo = (lo & maskLo) | prot.lo;
    out.hi = (hi & this.pfnHi) | prot.hi;
  }

  /** `mksaveddirty_shift()`: when Write=0, move D into SAVED_DIRTY. */
  private mksaveddirty(v: PteVal): void {
    if ((v.lo & _PAGE_RW) === 0) {
      if ((v.lo & _PAGE_DIRTY) !== 0) {
        v.lo |= this.sdLo;
        v.hi |= this.sdHi;
      }
      v.lo &= ~_PAGE_DIRTY;
    }
  }

  /** `clear_saveddirty_shift()`: when Write=1, move SAVED_DIRTY back into D. */
  private clearSaveddirty(v: PteVal): void {
    if ((v.lo & _PAGE_RW) !== 0) {
      if ((v.lo & this.sdLo) !== 0 || (v.hi & this.sdHi) !== 0) v.lo |= _PAGE_DIRTY;
      v.lo &= ~this.sdLo;
      v.hi &= ~this.sdHi;
    }
  }

  /** `pfn` of a value with PFN field mask `maskLo` (and the high PFN bits), undoing the PROT_NONE inversion. */
  private pfnOf(v: PteVal, maskLo: number): number {
    let lo = v.lo;
    let hi = v.hi;
    if (this.needsInvert(lo, hi)) {
      lo = ~lo;
      hi = ~hi;
    }
    return ((lo & maskLo) >>> 12) + (hi & this.pfnHi) * 1048576;
  }

  /** `pte_modify` / `pmd_modify` with change mask `chgLo` (low word; the high word keeps PFN and SAVED_DIRTY). */
  private modify(v: PteVal, prot: PgProt, chgLo: number, pfnMaskLo: number): void {
    const oldLo = v.lo;
    const oldHi = v.hi;
    const chgHi = this.pfnHi | this.sdHi;
    let lo = (oldLo & chgLo) | (prot.lo & ~chgLo);
    let hi = (oldHi & chgHi) | (prot.hi & ~chgHi);
    // flip_protnone_guard(): invert the PFN when entering or leaving PROT_NONE.
    if (this.needsInvert(oldLo, oldHi) !== this.needsInvert(lo, hi)) {
      lo = (lo & ~pfnMaskLo) | (~lo & pfnMaskLo);
      hi = (hi & ~this.pfnHi) | (~hi & this.pfnHi);
    }
    v.lo = lo;
    v.hi = hi;
    if ((oldLo & _PAGE_RW) !== 0) this.mksaveddirty(v);
    else this.clearSaveddirty(v);
  }

  // ---- present PTEs ----

  override pteNone(v: PteVal): boolean {
    return (v.lo & this.noneMask) === 0 && v.hi === 0;
  }
  ptePresent(v: PteVal): boolean {
    return (v.lo & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0;
  }
  pteProtnone(v: PteVal): boolean {
    return (v.lo & (_PAGE_PROTNONE | _PAGE_PRESENT)) === _PAGE_PROTNONE;
  }
  ptePfn(v: PteVal): number {
    return this.pfnOf(v, this.pfnLo);
  }
  pfnPte(out: PteVal, pfn: number, prot: PgProt): void {
    this.pfnBits(out, pfn, prot, this.pfnLo);
  }
  pteWrite(v: PteVal): boolean {
    return (v.lo & _PAGE_RW) !== 0;
  }
  pteDirty(v: PteVal): boolean {
    return (v.lo & (_PAGE_DIRTY | this.sdLo)) !== 0 || (v.hi & this.sdHi) !== 0;
  }
  pteYoung(v: PteVal): boolean {
    return (v.lo & _PAGE_ACCESSED) !== 0;
  }
  pteSpecial(v: PteVal): boolean {
    return (v.lo & _PAGE_SPECIAL) !== 0;
  }
  pteSoftDirty(v: PteVal): boolean {
    return (v.lo & this.softDirtyLo) !== 0;
  }
  pteUffdWp(v: PteVal): boolean {
    return (v.lo & this.uffdLo) !== 0;
  }
  pteUser(v: PteVal): boolean {
    return (v.lo & _PAGE_USER) !== 0;
  }
  pteExec(v: PteVal): boolean {
    return (v.hi & this.nxHi) === 0;
  }
  pteGlobal(v: PteVal): boolean {
    return (v.lo & _PAGE_GLOBAL) !== 0;
  }
  /** `pte_mkwrite(pte, vma)` for a VMA without VM_SHADOW_STACK: RW, and SAVED_DIRTY back to D. */
  pteMkwrite(v: PteVal): void {
    v.lo |= _PAGE_RW;
    this.clearSaveddirty(v);
  }
  pteWrprotect(v: PteVal): void {
    v.lo &= ~_PAGE_RW;
    this.mksaveddirty(v);
  }
  pteMkdirty(v: PteVal): void {
    v.lo |= _PAGE_DIRTY | this.softDirtyLo;
    this.mksaveddirty(v);
  }
  pteMkclean(v: PteVal): void {
    v.lo &= ~(_PAGE_DIRTY | this.sdLo);
    v.hi &= ~this.sdHi;
  }
  pteMkyoung(v: PteVal): void {
    v.lo |= _PAGE_ACCESSED;
  }
  pteMkold(v: PteVal): void {
    v.lo &= ~_PAGE_ACCESSED;
  }
  pteMkspecial(v: PteVal): void {
    v.lo |= _PAGE_SPECIAL;
  }
  pteMksoftDirty(v: PteVal): void {
    v.lo |= this.softDirtyLo;
  }
  pteClearSoftDirty(v: PteVal): void {
    v.lo &= ~this.softDirtyLo;
  }
  pteMkuffdWp(v: PteVal): void {
    if (!this.is64) return;
    v.lo |= _PAGE_UFFD_WP;
    this.pteWrprotect(v);
  }
  pteClearUffdWp(v: PteVal): void {
    v.lo &= ~this.uffdLo;
  }
  pteModify(v: PteVal, prot: PgProt): void {
    // _PAGE_CHG_MASK: PFN, PCD, PWT, SPECIAL, A, D, SAVED_DIRTY, SOFT_DIRTY, UFFD_WP, PAT.
    const chg =
      this.pfnLo |
      _PAGE_PCD |
      _PAGE_PWT |
      _PAGE_SPECIAL |
      _PAGE_ACCESSED |
      _PAGE_DIRTY |
      this.sdLo |
      this.softDirtyLo |
      this.uffdLo |
      _PAGE_PAT;
    this.modify(v, prot, chg, this.pfnLo);
  }
  pteAdvancePfn(v: PteVal, nr: number): void {
    // pte_advance_pfn(): add (or, for an inverted PFN, subtract) nr << PFN_PTE_SHIFT as a 64-bit integer.
    const d = this.needsInvert(v.lo, v.hi) ? -nr : nr;
    const lo = (v.lo >>> 0) + (d % 1048576) * 4096;
    const carry = Math.floor(lo / TWO_32);
    v.lo = lo | 0;
    v.hi = (v.hi + Math.trunc(d / 1048576) + carry) | 0;
  }
  /**
   * `pte_flags_need_flush()`: a flush when the frame changes, when dirty,
   * present (or accessed, unless ignored) are cleared, or when any
   * permission, cache or key bit changes; software bits never count.
   */
  private flagsNeedFlush(o: PteVal, n: PteVal, ignoreAccess: boolean): boolean {
    const onClear = _PAGE_DIRTY | _PAGE_PRESENT | (ignoreAccess ? 0 : _PAGE_ACCESSED);
    const onChangeLo = _PAGE_RW | _PAGE_USER | _PAGE_PWT | _PAGE_PCD | _PAGE_PSE | _PAGE_GLOBAL | _PAGE_PAT_LARGE;
    const onChangeHi = this.is64 ? _PAGE_PKEY_MASK_HI | _PAGE_NX_HI : 0;
    const dLo = (o.lo ^ n.lo) & ~this.pfnLo;
    const dHi = (o.hi ^ n.hi) & ~this.pfnHi;
    if ((dLo & o.lo & onClear) !== 0) return true;
    return (dLo & onChangeLo) !== 0 || (dHi & onChangeHi) !== 0;
  }
  override pteNeedsFlush(o: PteVal, n: PteVal): boolean {
    if ((o.lo & _PAGE_PRESENT) === 0) return false;
    if (this.ptePfn(o) !== this.ptePfn(n)) return true;
    return this.flagsNeedFlush(o, n, true);
  }
  override hugePmdNeedsFlush(o: PteVal, n: PteVal): boolean {
    if ((o.lo & _PAGE_PRESENT) === 0) return false;
    if (this.pmdPfn(o) !== this.pmdPfn(n)) return true;
    return this.flagsNeedFlush(o, n, false);
  }
  override pfnStep(v: PteVal): number {
    return this.needsInvert(v.lo, v.hi) ? -4096 : 4096;
  }
  ptePgprot(out: PgProt, v: PteVal): void {
    // pte_pgprot(x) = __pgprot(pte_flags(x)): everything outside PTE_PFN_MASK.
    out.lo = v.lo & ~this.pfnLo;
    out.hi = v.hi & ~this.pfnHi;
  }

  // ---- PMD / PUD ----

  /** `pmd_pfn_mask()`: PHYSICAL_PMD_PAGE_MASK for a leaf, else PTE_PFN_MASK. */
  private pmdMaskLo(v: PteVal): number {
    return (v.lo & _PAGE_PSE) !== 0 ? -(1 << this.pmdShift) & this.pfnLo : this.pfnLo;
  }
  private pudMaskLo(v: PteVal): number {
    return (v.lo & _PAGE_PSE) !== 0 ? -(1 << 30) & this.pfnLo : this.pfnLo;
  }
  pmdNone(v: PteVal): boolean {
    return (v.lo & this.noneMask) === 0 && v.hi === 0;
  }
  pmdPresent(v: PteVal): boolean {
    return (v.lo & (_PAGE_PRESENT | _PAGE_PROTNONE | _PAGE_PSE)) !== 0;
  }
  pmdLeaf(v: PteVal): boolean {
    return (v.lo & _PAGE_PSE) !== 0;
  }
  pmdBad(v: PteVal): boolean {
    // (pmd_flags(pmd) & ~(_PAGE_USER | _PAGE_ACCESSED)) != (_KERNPG_TABLE & ~_PAGE_ACCESSED)
    const maskLo = this.pmdMaskLo(v);
    const flo = v.lo & ~maskLo & ~(_PAGE_USER | _PAGE_ACCESSED);
    const fhi = v.hi & ~this.pfnHi;
    return flo !== (_KERNPG_TABLE & ~_PAGE_ACCESSED) || fhi !== 0;
  }
  pmdPfn(v: PteVal): number {
    return this.pfnOf(v, this.pmdMaskLo(v));
  }
  pfnPmd(out: PteVal, pfn: number, prot: PgProt): void {
    this.pfnBits(out, pfn, prot, -(1 << this.pmdShift) & this.pfnLo);
  }
  pmdMkhuge(v: PteVal): void {
    v.lo |= _PAGE_PSE;
  }
  pmdModify(v: PteVal, prot: PgProt): void {
    // _HPAGE_CHG_MASK: the common change mask plus PSE and PAT_LARGE (no 4K PAT).
    const chg =
      this.pfnLo |
      _PAGE_PCD |
      _PAGE_PWT |
      _PAGE_SPECIAL |
      _PAGE_ACCESSED |
      _PAGE_DIRTY |
      this.sdLo |
      this.softDirtyLo |
      this.uffdLo |
      _PAGE_PSE |
      _PAGE_PAT_LARGE;
    this.modify(v, prot, chg, -(1 << this.pmdShift) & this.pfnLo);
  }
  pmdProtnone(v: PteVal): boolean {
    return (v.lo & (_PAGE_PROTNONE | _PAGE_PRESENT)) === _PAGE_PROTNONE;
  }
  pudNone(v: PteVal): boolean {
    return (v.lo & this.noneMask) === 0 && v.hi === 0;
  }
  pudPresent(v: PteVal): boolean {
    return (v.lo & _PAGE_PRESENT) !== 0;
  }
  pudLeaf(v: PteVal): boolean {
    return (v.lo & _PAGE_PSE) !== 0;
  }
  pudPfn(v: PteVal): number {
    return this.pfnOf(v, this.pudMaskLo(v));
  }
  pfnPud(out: PteVal, pfn: number, prot: PgProt): void {
    this.pfnBits(out, pfn, prot, -(1 << 30) & this.pfnLo);
  }
  pudMkhuge(v: PteVal): void {
    v.lo |= _PAGE_PSE;
  }
  mkTableEntry(out: PteVal, _level: PgLevel, tablePfn: number): void {
    // pmd_populate(): __pmd(__pa(pte) | _PAGE_TABLE); the same for the upper levels.
    out.lo = ((tablePfn << 12) & this.pfnLo) | _PAGE_TABLE;
    out.hi = Math.floor(tablePfn / 1048576) & this.pfnHi;
  }
  tableEntryPfn(v: PteVal, _level: PgLevel): number {
    return ((v.lo & this.pfnLo) >>> 12) + (v.hi & this.pfnHi) * 1048576;
  }
  tableEntryOk(v: PteVal, level: PgLevel): boolean {
    if ((v.lo & _PAGE_PRESENT) === 0 || (v.lo & _PAGE_PSE) !== 0) return false;
    if (level === PMD_LEVEL) return !this.pmdBad(v);
    if (level === PUD_LEVEL) {
      // pud_bad(): (pud_flags(pud) & ~(_KERNPG_TABLE | _PAGE_USER)) != 0
      return (v.lo & ~this.pfnLo & ~(_KERNPG_TABLE | _PAGE_USER)) === 0 && (v.hi & ~this.pfnHi) === 0;
    }
    // p4d_bad()/pgd_bad() with page-table isolation off.
    return (v.lo & ~this.pfnLo & ~(_KERNPG_TABLE | _PAGE_USER)) === 0 && (v.hi & ~this.pfnHi) === 0;
  }

  // ---- swap ----

  archSwpEntry(out: PteVal, type: number, offset: number): void {
    if (this.is64) {
      // (~offset << SWP_OFFSET_SHIFT >> SWP_TYPE_BITS) | (type << 59): ~offset in bits 9..58.
      const inv = (2 ** 50 - 1 - (offset % 2 ** 50)) % 2 ** 50;
      out.lo = ((inv % 8388608) * 512) | 0;
      out.hi = Math.floor(inv / 8388608) | ((type & 31) << 27) | 0;
    } else {
      out.lo = ((type & 31) << 1) | (offset * 512) | 0;
      out.hi = 0;
    }
  }
  archSwpType(v: PteVal): number {
    return this.is64 ? v.hi >>> 27 : (v.lo >>> 1) & 31;
  }
  archSwpOffset(v: PteVal): number {
    if (this.is64) {
      // ~x << 5 >> 14: bits 9..58 of ~x.
      const lo = ~v.lo >>> 9;
      const hi = ~v.hi & 0x07ffffff;
      return lo + hi * 8388608;
    }
    return v.lo >>> 9;
  }
  pteSwpMkexclusive(v: PteVal): void {
    v.lo |= this.swpExclusive;
  }
  pteSwpExclusive(v: PteVal): boolean {
    return (v.lo & this.swpExclusive) !== 0;
  }
  pteSwpClearExclusive(v: PteVal): void {
    v.lo &= ~this.swpExclusive;
  }
  pteSwpMksoftDirty(v: PteVal): void {
    if (this.is64) v.lo |= _PAGE_SWP_SOFT_DIRTY;
  }
  pteSwpSoftDirty(v: PteVal): boolean {
    return this.is64 && (v.lo & _PAGE_SWP_SOFT_DIRTY) !== 0;
  }
  pteSwpClearSoftDirty(v: PteVal): void {
    if (this.is64) v.lo &= ~_PAGE_SWP_SOFT_DIRTY;
  }
  pteSwpMkuffdWp(v: PteVal): void {
    if (this.is64) v.lo |= _PAGE_SWP_UFFD_WP;
  }
  pteSwpUffdWp(v: PteVal): boolean {
    return this.is64 && (v.lo & _PAGE_SWP_UFFD_WP) !== 0;
  }
  pteSwpClearUffdWp(v: PteVal): void {
    if (this.is64) v.lo &= ~_PAGE_SWP_UFFD_WP;
  }

  // ---- protections (arch/x86/mm/pgprot.c protection_map) ----

  vmGetPageProt(out: PgProt, vmFlags: number): void {
    const nx = this.nxHi;
    const base = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED;
    const f = vmFlags & 0xf;
    if ((f & 0x7) === 0) {
      // PAGE_NONE: PROTNONE | ACCESSED (G aliases PROTNONE).
      out.lo = _PAGE_ACCESSED | _PAGE_GLOBAL;
      out.hi = 0;
      return;
    }
    const exec = (f & VM_EXEC) !== 0;
    const sharedWrite = (f & VM_SHARED) !== 0 && (f & VM_WRITE) !== 0;
    out.lo = base | (sharedWrite ? _PAGE_RW : 0);
    out.hi = exec ? 0 : nx;
  }
}
