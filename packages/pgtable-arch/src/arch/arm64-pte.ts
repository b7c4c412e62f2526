/**
 * DOC: arm64 stage-1 page-table entries, bit for bit as
 * `arch/arm64/include/asm/pgtable-hwdef.h`, `pgtable-prot.h` and `pgtable.h`
 * define them, for the 4K, 16K and 64K granules with 48-bit physical
 * addresses (output address in bits PAGE_SHIFT..49).
 *
 * VALID(0) TYPE(1: table/page; 0 = block at PMD/PUD) AttrIndx(2..4)
 * AP[1]=USER(6) AP[2]=RDONLY(7) SH(8..9) AF(10) nG(11, PRESENT_INVALID when
 * VALID=0) GP(50) DBM=WRITE(51) CONT(52) PXN(53) UXN(54) and the software bits
 * DIRTY(55) SPECIAL(56) UFFD_WP(58) POIndex(60..62). Dirtiness has two
 * halves: hardware-dirty is WRITE && !RDONLY (with DBM the CPU clears RDONLY
 * on the first write), software-dirty is PTE_DIRTY. PROT_NONE is
 * present-invalid with neither USER nor user-exec. No soft-dirty bit.
 * Swap entries: type in bits 6..10, offset in 12..61, exclusive in bit 2,
 * uffd-wp in bit 3.
 */
import type { PgProt, PteVal } from '../entry/pteval.js';
import {
  ArchPte,
  PGD_LEVEL,
  type PgLevel,
  PMD_LEVEL,
  type PteFeatures,
  PUD_LEVEL,
  VM_EXEC,
  VM_SHARED,
  VM_WRITE,
} from './pte-ops.js';

export const PTE_VALID = 1 << 0;
export const PTE_TYPE_MASK = 3;
export const PTE_TYPE_PAGE = 3;
export const PMD_TYPE_TABLE = 3;
export const PMD_TYPE_SECT = 1;
export const PTE_ATTRINDX_MASK = 7 << 2;
export const PTE_USER = 1 << 6;
export const PTE_RDONLY = 1 << 7;
export const PTE_SHARED = 3 << 8;
export const PTE_AF = 1 << 10;
export const PTE_NG = 1 << 11;
/** PTE_PRESENT_INVALID aliases nG: only meaningful when VALID is clear. */
export const PTE_PRESENT_INVALID = PTE_NG;
export const PTE_SWP_EXCLUSIVE = 1 << 2;
export const PTE_SWP_UFFD_WP = 1 << 3;
// High word.
export const PTE_GP_HI = 1 << (50 - 32);
export const PTE_WRITE_HI = 1 << (51 - 32);
export const PTE_DBM_HI = PTE_WRITE_HI;
export const PTE_CONT_HI = 1 << (52 - 32);
export const PTE_PXN_HI = 1 << (53 - 32);
export const PTE_UXN_HI = 1 << (54 - 32);
export const PTE_DIRTY_HI = 1 << (55 - 32);
export const PTE_SPECIAL_HI = 1 << (56 - 32);
export const PTE_UFFD_WP_HI = 1 << (58 - 32);
export const PMD_TABLE_PXN_HI = 1 << (59 - 32);
export const PMD_TABLE_UXN_HI = 1 << (60 - 32);
export const PTE_PO_IDX_MASK_HI = 7 << (60 - 32);
/** Output address bits 32..49 in the high word (48-bit PA: PTE_ADDR_LOW). */
const ADDR_HI = 0x3ffff;

/** MAIR indices (arch/arm64/include/asm/memory.h). */
export const MT_NORMAL = 0;
export const MT_NORMAL_TAGGED = 1;
export const MT_NORMAL_NC = 2;
export const MT_DEVICE_nGnRnE = 3;
export const MT_DEVICE_nGnRE = 4;

/** `_PAGE_DEFAULT`: TYPE_PAGE | AF | SHARED | ATTRINDX(MT_NORMAL). */
export const _PAGE_DEFAULT = PTE_TYPE_PAGE | PTE_AF | PTE_SHARED;

/** The arm64 entry codec for one granule. */
export class Arm64Pte extends ArchPte {
  readonly name = 'arm64';
  readonly features: PteFeatures;
  readonly pageShift: number;
  private readonly pmdShift: number;
  private readonly pudShift: number;
  /** Output-address mask of the low word (bits PAGE_SHIFT..31). */
  private readonly addrLo: number;
  /**
   * `pud_table()` is constant true with 64K pages or fewer than 3 levels
   * (no PUD block mappings), so `pud_leaf()` is false there.
   */
  private readonly pudTableAlways: boolean;

  /**
   * The arm64 entry codec for one granule (`pageShift`) and level layout.
   * @param levels CONFIG_PGTABLE_LEVELS of the configuration (2..5).
   */
  constructor(pageShift: number, pmdShift: number, pudShift: number, levels = 4) {
    super();
    this.pageShift = pageShift;
    this.pmdShift = pmdShift;
    this.pudShift = pudShift;
    this.pudTableAlways = pageShift === 16 || levels < 3;
    this.addrLo = -(1 << pageShift) | 0;
    this.features = {
      softDirty: false,
      uffdWp: true,
      special: true,
      protnone: true,
      swpTypeBits: 5,
      swpOffsetBits: 50,
      entryBytes: 8,
    };
  }

  /** `__pte_to_phys(pte) >> PAGE_SHIFT` with the address masked to `shift` alignment. */
  private pfnAt(v: PteVal, shift: number): number {
    const ps = this.pageShift;
    let lo = v.lo & this.addrLo;
    let hi = v.hi & ADDR_HI;
    if (shift < 32) lo &= -(1 << shift);
    else {
      lo = 0;
      hi &= -(1 << (shift - 32));
    }
    return (lo >>> ps) + hi * 2 ** (32 - ps);
  }

  /** `__phys_to_pte_val(pfn << PAGE_SHIFT) | pgprot_val(prot)` (no masking, as the kernel). */
  private mk(out: PteVal, pfn: number, prot: PgProt): void {
    const ps = this.pageShift;
    out.lo = (pfn << ps) | prot.lo;
    out.hi = Math.floor(pfn / 2 ** (32 - ps)) | prot.hi;
  }

  private hwDirty(v: PteVal): boolean {
    return (v.hi & PTE_WRITE_HI) !== 0 && (v.lo & PTE_RDONLY) === 0;
  }

  private valid(v: PteVal): boolean {
    return (v.lo & PTE_VALID) !== 0;
  }

  private presentInvalid(v: PteVal): boolean {
    return (v.lo & (PTE_VALID | PTE_PRESENT_INVALID)) === PTE_PRESENT_INVALID;
  }

  // ---- present PTEs ----

  ptePresent(v: PteVal): boolean {
    return this.valid(v) || this.presentInvalid(v);
  }
  pteProtnone(v: PteVal): boolean {
    return this.presentInvalid(v) && (v.lo & PTE_USER) === 0 && (v.hi & PTE_UXN_HI) !== 0;
  }
  ptePfn(v: PteVal): number {
    return this.pfnAt(v, this.pageShift);
  }
  pfnPte(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pteWrite(v: PteVal): boolean {
    return (v.hi & PTE_WRITE_HI) !== 0;
  }
  pteDirty(v: PteVal): boolean {
    return (v.hi & PTE_DIRTY_HI) !== 0 || this.hwDirty(v);
  }
  pteYoung(v: PteVal): boolean {
    return (v.lo & PTE_AF) !== 0;
  }
  pteSpecial(v: PteVal): boolean {
    return (v.hi & PTE_SPECIAL_HI) !== 0;
  }
  pteSoftDirty(_v: PteVal): boolean {
    return false;
  }
  pteUffdWp(v: PteVal): boolean {
    return (v.hi & PTE_UFFD_WP_HI) !== 0;
  }
  pteUser(v: PteVal): boolean {
    return (v.lo & PTE_USER) !== 0;
  }
  /** `pte_user_exec()`: user-executable (UXN clear). */
  pteExec(v: PteVal): boolean {
    return (v.hi & PTE_UXN_HI) === 0;
  }
  /** Not nG (a valid entry shared by every ASID). */
  pteGlobal(v: PteVal): boolean {
    return this.valid(v) && (v.lo & PTE_NG) === 0;
  }
  /** The contiguous hint. @kernel pte_cont */
  pteCont(v: PteVal): boolean {
    return (v.hi & PTE_CONT_HI) !== 0;
  }
  /** Set the contiguous hint: the entry is one of an aligned run mapping contiguous memory. @kernel pte_mkcont */
  pteMkcont(v: PteVal): void {
    v.hi |= PTE_CONT_HI;
  }
  /** Clear the contiguous hint. @kernel pte_mknoncont */
  pteMknoncont(v: PteVal): void {
    v.hi &= ~PTE_CONT_HI;
  }
  pteMkwrite(v: PteVal): void {
    v.hi |= PTE_WRITE_HI;
    if ((v.hi & PTE_DIRTY_HI) !== 0) v.lo &= ~PTE_RDONLY;
  }
  pteWrprotect(v: PteVal): void {
    if (this.hwDirty(v)) v.hi |= PTE_DIRTY_HI;
    v.hi &= ~PTE_WRITE_HI;
    v.lo |= PTE_RDONLY;
  }
  pteMkdirty(v: PteVal): void {
    v.hi |= PTE_DIRTY_HI;
    if ((v.hi & PTE_WRITE_HI) !== 0) v.lo &= ~PTE_RDONLY;
  }
  pteMkclean(v: PteVal): void {
    v.hi &= ~PTE_DIRTY_HI;
    v.lo |= PTE_RDONLY;
  }
  pteMkyoung(v: PteVal): void {
    v.lo |= PTE_AF;
  }
  pteMkold(v: PteVal): void {
    v.lo &= ~PTE_AF;
  }
  pteMkspecial(v: PteVal): void {
    v.hi |= PTE_SPECIAL_HI;
  }
  pteMksoftDirty(_v: PteVal): void {}
  pteClearSoftDirty(_v: PteVal): void {}
  pteMkuffdWp(v: PteVal): void {
    v.hi |= PTE_UFFD_WP_HI;
    this.pteWrprotect(v);
  }
  pteClearUffdWp(v: PteVal): void {
    v.hi &= ~PTE_UFFD_WP_HI;
  }
  pteModify(v: PteVal, prot: PgProt): void {
    // mask = USER | PXN | UXN | RDONLY | PRESENT_INVALID | VALID | WRITE | GP | ATTRINDX | PO_IDX
    const mLo = PTE_USER | PTE_RDONLY | PTE_PRESENT_INVALID | PTE_VALID | PTE_ATTRINDX_MASK;
    const mHi = PTE_PXN_HI | PTE_UXN_HI | PTE_WRITE_HI | PTE_GP_HI | PTE_PO_IDX_MASK_HI;
    if (this.hwDirty(v)) v.hi |= PTE_DIRTY_HI;
    v.lo = (v.lo & ~mLo) | (prot.lo & mLo);
    v.hi = (v.hi & ~mHi) | (prot.hi & mHi);
    if ((v.hi & PTE_DIRTY_HI) !== 0) this.pteMkdirty(v);
  }
  pteAdvancePfn(v: PteVal, nr: number): void {
    // pfn_pte(pte_pfn(pte) + nr, pte_pgprot(pte))
    const pfn = this.ptePfn(v);
    const lo = v.lo;
    const hi = v.hi;
    const protLo = lo ^ ((pfn << this.pageShift) | 0);
    const protHi = hi ^ (Math.floor(pfn / 2 ** (32 - this.pageShift)) | 0);
    const np = pfn + nr;
    v.lo = (np << this.pageShift) | protLo;
    v.hi = Math.floor(np / 2 ** (32 - this.pageShift)) | protHi;
  }
  ptePgprot(out: PgProt, v: PteVal): void {
    const pfn = this.ptePfn(v);
    out.lo = v.lo ^ ((pfn << this.pageShift) | 0);
    out.hi = v.hi ^ (Math.floor(pfn / 2 ** (32 - this.pageShift)) | 0);
  }

  // ---- PMD / PUD ----

  pmdNone(v: PteVal): boolean {
    return v.lo === 0 && v.hi === 0;
  }
  pmdPresent(v: PteVal): boolean {
    return this.ptePresent(v);
  }
  pmdLeaf(v: PteVal): boolean {
    return this.ptePresent(v) && (v.lo & PTE_TYPE_MASK) !== PMD_TYPE_TABLE;
  }
  pmdBad(v: PteVal): boolean {
    return (v.lo & PTE_TYPE_MASK) !== PMD_TYPE_TABLE;
  }
  pmdPfn(v: PteVal): number {
    return this.pfnAt(v, this.pmdShift);
  }
  pfnPmd(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pmdMkhuge(v: PteVal): void {
    // Clear the TYPE bit (block), keeping VALID as it is.
    v.lo &= ~2;
  }
  pmdModify(v: PteVal, prot: PgProt): void {
    this.pteModify(v, prot);
  }
  pmdProtnone(v: PteVal): boolean {
    return this.pteProtnone(v);
  }
  pudNone(v: PteVal): boolean {
    return v.lo === 0 && v.hi === 0;
  }
  pudPresent(v: PteVal): boolean {
    return this.ptePresent(v);
  }
  pudLeaf(v: PteVal): boolean {
    return !this.pudTableAlways && this.ptePresent(v) && (v.lo & PTE_TYPE_MASK) !== PMD_TYPE_TABLE;
  }
  pudPfn(v: PteVal): number {
    return this.pfnAt(v, this.pudShift);
  }
  pfnPud(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pudMkhuge(v: PteVal): void {
    v.lo &= ~2;
  }
  mkTableEntry(out: PteVal, _level: PgLevel, tablePfn: number): void {
    // __pmd_populate(pmdp, phys, PMD_TYPE_TABLE | PMD_TABLE_AF | PMD_TABLE_PXN), alike above.
    const ps = this.pageShift;
    out.lo = (tablePfn << ps) | PMD_TYPE_TABLE | PTE_AF;
    out.hi = Math.floor(tablePfn / 2 ** (32 - ps)) | PMD_TABLE_PXN_HI;
  }
  tableEntryPfn(v: PteVal, _level: PgLevel): number {
    return this.pfnAt(v, this.pageShift);
  }
  tableEntryOk(v: PteVal, level: PgLevel): boolean {
    if (level === PMD_LEVEL || level === PUD_LEVEL || level === PGD_LEVEL || level === 3) {
      return (v.lo & PTE_TYPE_MASK) === PMD_TYPE_TABLE;
    }
    return false;
  }

  // ---- swap ----

  archSwpEntry(out: PteVal, type: number, offset: number): void {
    // (type << 6) | (offset << 12), 64-bit.
    const off = offset % 2 ** 52;
    out.lo = (type << 6) | ((off % 1048576) << 12) | 0;
    out.hi = Math.floor(off / 1048576) | 0;
  }
  archSwpType(v: PteVal): number {
    return (v.lo >>> 6) & 31;
  }
  archSwpOffset(v: PteVal): number {
    // (val >> 12) & (2^50 - 1)
    return (v.lo >>> 12) + (v.hi & 0x3fffffff) * 1048576;
  }
  pteSwpMkexclusive(v: PteVal): void {
    v.lo |= PTE_SWP_EXCLUSIVE;
  }
  pteSwpExclusive(v: PteVal): boolean {
    return (v.lo & PTE_SWP_EXCLUSIVE) !== 0;
  }
  pteSwpClearExclusive(v: PteVal): void {
    v.lo &= ~PTE_SWP_EXCLUSIVE;
  }
  pteSwpMksoftDirty(_v: PteVal): void {}
  pteSwpSoftDirty(_v: PteVal): boolean {
    return false;
  }
  pteSwpClearSoftDirty(_v: PteVal): void {}
  pteSwpMkuffdWp(v: PteVal): void {
    v.lo |= PTE_SWP_UFFD_WP;
  }
  pteSwpUffdWp(v: PteVal): boolean {
    return (v.lo & PTE_SWP_UFFD_WP) !== 0;
  }
  pteSwpClearUffdWp(v: PteVal): void {
    v.lo &= ~PTE_SWP_UFFD_WP;
  }

  // ---- protections (arch/arm64/mm/mmap.c protection_map) ----

  vmGetPageProt(out: PgProt, vmFlags: number): void {
    const f = vmFlags & 0xf;
    if ((f & 0x7) === 0) {
      // PAGE_NONE: (_PAGE_DEFAULT & ~VALID) | PRESENT_INVALID | RDONLY | NG | PXN | UXN
      out.lo = (_PAGE_DEFAULT & ~PTE_VALID) | PTE_PRESENT_INVALID | PTE_RDONLY | PTE_NG;
      out.hi = PTE_PXN_HI | PTE_UXN_HI;
      return;
    }
    const exec = (f & VM_EXEC) !== 0;
    const write = (f & VM_SHARED) !== 0 && (f & VM_WRITE) !== 0;
    // _PAGE_READONLY[_EXEC] / _PAGE_SHARED[_EXEC]: _PAGE_DEFAULT | USER | RDONLY | NG | PXN [| UXN] [| WRITE]
    out.lo = _PAGE_DEFAULT | PTE_USER | PTE_RDONLY | PTE_NG;
    out.hi = PTE_PXN_HI | (exec ? 0 : PTE_UXN_HI) | (write ? PTE_WRITE_HI : 0);
  }
}
