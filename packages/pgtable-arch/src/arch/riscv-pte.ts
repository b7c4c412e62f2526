/**
 * DOC: riscv64 page-table entries (Sv39, Sv48, Sv57), bit for bit as
 * `arch/riscv/include/asm/pgtable-bits.h`, `pgtable-64.h` and `pgtable.h`
 * define them.
 *
 * V(0) R(1) W(2) X(3) U(4) G(5, PROT_NONE when V=0) A(6) D(7) RSW: SPECIAL(8),
 * PPN in bits 10..53. An entry with R=W=X=0 points to the next level; any of
 * them set makes a leaf at any level. There is no NX bit: execute is the
 * positive X bit. Swap entries: type in bits 7..11, offset from bit 12, the
 * exclusive flag in bit 6 (A).
 *
 * Options (all off by default, the common hardware of the 6.15-6.18 era):
 * `svrsw60t59b` adds soft-dirty (bit 59; bit 3 in swap entries) and uffd-wp
 * (bit 60; bit 4 in swap entries), as Linux 7.2 does when the CPU has the
 * extension. Svpbmt memory types and Svnapot are not modelled
 * (`_PAGE_MTMASK` is 0), which leaves `pte_modify()` free to change
 * everything but the permission bits.
 */
import type { PgProt, PteVal } from '../entry/pteval.js';
import { ArchPte, type PgLevel, type PteFeatures, VM_EXEC, VM_READ, VM_SHARED, VM_WRITE } from './pte-ops.js';

export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_READ = 1 << 1;
export const _PAGE_WRITE = 1 << 2;
export const _PAGE_EXEC = 1 << 3;
export const _PAGE_USER = 1 << 4;
export const _PAGE_GLOBAL = 1 << 5;
export const _PAGE_ACCESSED = 1 << 6;
export const _PAGE_DIRTY = 1 << 7;
export const _PAGE_SPECIAL = 1 << 8;
export const _PAGE_PROT_NONE = _PAGE_GLOBAL;
export const _PAGE_TABLE = _PAGE_PRESENT;
export const _PAGE_LEAF = _PAGE_READ | _PAGE_WRITE | _PAGE_EXEC;
export const _PAGE_SWP_EXCLUSIVE = _PAGE_ACCESSED;
export const _PAGE_PFN_SHIFT = 10;
/** Soft-dirty (bit 59) and uffd-wp (bit 60) with Svrsw60t59b. */
export const _PAGE_SOFT_DIRTY_HI = 1 << (59 - 32);
export const _PAGE_UFFD_WP_HI = 1 << (60 - 32);
/** PPN bits 32..53 in the high word. */
const PFN_HI = 0x3fffff;
const _PAGE_BASE = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_USER;

/** The riscv64 entry codec. */
export class RiscvPte extends ArchPte {
  readonly name = 'riscv64';
  readonly features: PteFeatures;
  readonly pageShift = 12;
  /** Svrsw60t59b: soft-dirty and uffd-wp bits. */
  readonly svrsw60t59b: boolean;
  private readonly sdHi: number;
  private readonly uffdHi: number;
  private readonly swpSd: number;
  private readonly swpUffd: number;

  constructor(svrsw60t59b = false) {
    super();
    this.svrsw60t59b = svrsw60t59b;
    this.sdHi = svrsw60t59b ? _PAGE_SOFT_DIRTY_HI : 0;
    this.uffdHi = svrsw60t59b ? _PAGE_UFFD_WP_HI : 0;
    this.swpSd = svrsw60t59b ? _PAGE_EXEC : 0;
    this.swpUffd = svrsw60t59b ? _PAGE_USER : 0;
    this.features = {
      softDirty: svrsw60t59b,
      uffdWp: svrsw60t59b,
      special: true,
      protnone: true,
      swpTypeBits: 5,
      swpOffsetBits: 52,
      entryBytes: 8,
    };
  }

  /** PFN field of an entry (bits 10 up), joined from the two 32-bit halves; mirrors `__page_val_to_pfn()`. */
  private pfnOf(v: PteVal): number {
    return (v.lo >>> _PAGE_PFN_SHIFT) + (v.hi & PFN_HI) * 4194304;
  }

  private mk(out: PteVal, pfn: number, prot: PgProt): void {
    out.lo = (pfn << _PAGE_PFN_SHIFT) | prot.lo;
    out.hi = Math.floor(pfn / 4194304) | prot.hi;
  }

  ptePresent(v: PteVal): boolean {
    return (v.lo & (_PAGE_PRESENT | _PAGE_PROT_NONE)) !== 0;
  }
  pteProtnone(v: PteVal): boolean {
    return (v.lo & (_PAGE_PRESENT | _PAGE_PROT_NONE)) === _PAGE_PROT_NONE;
  }
  ptePfn(v: PteVal): number {
    return this.pfnOf(v);
  }
  pfnPte(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pteWrite(v: PteVal): boolean {
    return (v.lo & _PAGE_WRITE) !== 0;
  }
  pteDirty(v: PteVal): boolean {
    return (v.lo & _PAGE_DIRTY) !== 0;
  }
  pteYoung(v: PteVal): boolean {
    return (v.lo & _PAGE_ACCESSED) !== 0;
  }
  pteSpecial(v: PteVal): boolean {
    return (v.lo & _PAGE_SPECIAL) !== 0;
  }
  pteSoftDirty(v: PteVal): boolean {
    return (v.hi & this.sdHi) !== 0;
  }
  pteUffdWp(v: PteVal): boolean {
    return (v.hi & this.uffdHi) !== 0;
  }
  pteUser(v: PteVal): boolean {
    return (v.lo & _PAGE_USER) !== 0;
  }
  pteExec(v: PteVal): boolean {
    return (v.lo & _PAGE_EXEC) !== 0;
  }
  pteGlobal(v: PteVal): boolean {
    return (v.lo & _PAGE_GLOBAL) !== 0;
  }
  pteMkwrite(v: PteVal): void {
    v.lo |= _PAGE_WRITE;
  }
  pteWrprotect(v: PteVal): void {
    v.lo = (v.lo & ~_PAGE_WRITE) | _PAGE_READ;
  }
  pteMkdirty(v: PteVal): void {
    v.lo |= _PAGE_DIRTY;
    v.hi |= this.sdHi;
  }
  pteMkclean(v: PteVal): void {
    v.lo &= ~_PAGE_DIRTY;
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
    v.hi |= this.sdHi;
  }
  pteClearSoftDirty(v: PteVal): void {
    v.hi &= ~this.sdHi;
  }
  pteMkuffdWp(v: PteVal): void {
    if (!this.svrsw60t59b) return;
    v.hi |= this.uffdHi;
    this.pteWrprotect(v);
  }
  pteClearUffdWp(v: PteVal): void {
    v.hi &= ~this.uffdHi;
  }
  pteModify(v: PteVal, prot: PgProt): void {
    // _PAGE_CHG_MASK = ~(PRESENT | READ | WRITE | EXEC | USER | GLOBAL | MTMASK)
    const perm = _PAGE_PRESENT | _PAGE_READ | _PAGE_WRITE | _PAGE_EXEC | _PAGE_USER | _PAGE_GLOBAL;
    v.lo = (v.lo & ~perm) | prot.lo;
    v.hi = v.hi | prot.hi;
  }
  pteAdvancePfn(v: PteVal, nr: number): void {
    const pfn = this.pfnOf(v);
    const protLo = v.lo ^ ((pfn << _PAGE_PFN_SHIFT) | 0);
    const protHi = v.hi ^ (Math.floor(pfn / 4194304) | 0);
    const np = pfn + nr;
    v.lo = (np << _PAGE_PFN_SHIFT) | protLo;
    v.hi = Math.floor(np / 4194304) | protHi;
  }
  /** PFN_PTE_SHIFT is `_PAGE_PFN_SHIFT` (10). */
  override pfnStep(_v: PteVal): number {
    return 1 << _PAGE_PFN_SHIFT;
  }
  ptePgprot(out: PgProt, v: PteVal): void {
    const pfn = this.pfnOf(v);
    out.lo = v.lo ^ ((pfn << _PAGE_PFN_SHIFT) | 0);
    out.hi = v.hi ^ (Math.floor(pfn / 4194304) | 0);
  }

  pmdNone(v: PteVal): boolean {
    return v.lo === 0 && v.hi === 0;
  }
  pmdPresent(v: PteVal): boolean {
    return (v.lo & (_PAGE_PRESENT | _PAGE_PROT_NONE | _PAGE_LEAF)) !== 0;
  }
  pmdLeaf(v: PteVal): boolean {
    return this.pmdPresent(v) && (v.lo & _PAGE_LEAF) !== 0;
  }
  pmdBad(v: PteVal): boolean {
    return !this.pmdPresent(v) || (v.lo & _PAGE_LEAF) !== 0;
  }
  pmdPfn(v: PteVal): number {
    const pfn = this.pfnOf(v);
    return pfn - (pfn % 512);
  }
  pfnPmd(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pmdMkhuge(_v: PteVal): void {}
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
    return (v.lo & _PAGE_PRESENT) !== 0;
  }
  pudLeaf(v: PteVal): boolean {
    return this.pudPresent(v) && (v.lo & _PAGE_LEAF) !== 0;
  }
  pudPfn(v: PteVal): number {
    const pfn = this.pfnOf(v);
    return pfn - (pfn % 262144);
  }
  pfnPud(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pudMkhuge(_v: PteVal): void {}
  mkTableEntry(out: PteVal, _level: PgLevel, tablePfn: number): void {
    out.lo = (tablePfn << _PAGE_PFN_SHIFT) | _PAGE_TABLE;
    out.hi = Math.floor(tablePfn / 4194304);
  }
  tableEntryPfn(v: PteVal, _level: PgLevel): number {
    return this.pfnOf(v);
  }
  tableEntryOk(v: PteVal, _level: PgLevel): boolean {
    return (v.lo & _PAGE_PRESENT) !== 0 && (v.lo & _PAGE_LEAF) === 0;
  }

  archSwpEntry(out: PteVal, type: number, offset: number): void {
    // ((type & 31) << 7) | (offset << 12)
    const off = offset % 2 ** 52;
    out.lo = ((type & 31) << 7) | ((off % 1048576) << 12) | 0;
    out.hi = Math.floor(off / 1048576) | 0;
  }
  archSwpType(v: PteVal): number {
    return (v.lo >>> 7) & 31;
  }
  archSwpOffset(v: PteVal): number {
    return (v.lo >>> 12) + (v.hi >>> 0) * 1048576;
  }
  pteSwpMkexclusive(v: PteVal): void {
    v.lo |= _PAGE_SWP_EXCLUSIVE;
  }
  pteSwpExclusive(v: PteVal): boolean {
    return (v.lo & _PAGE_SWP_EXCLUSIVE) !== 0;
  }
  pteSwpClearExclusive(v: PteVal): void {
    v.lo &= ~_PAGE_SWP_EXCLUSIVE;
  }
  pteSwpMksoftDirty(v: PteVal): void {
    v.lo |= this.swpSd;
  }
  pteSwpSoftDirty(v: PteVal): boolean {
    return (v.lo & this.swpSd) !== 0;
  }
  pteSwpClearSoftDirty(v: PteVal): void {
    v.lo &= ~this.swpSd;
  }
  pteSwpMkuffdWp(v: PteVal): void {
    v.lo |= this.swpUffd;
  }
  pteSwpUffdWp(v: PteVal): boolean {
    return (v.lo & this.swpUffd) !== 0;
  }
  pteSwpClearUffdWp(v: PteVal): void {
    v.lo &= ~this.swpUffd;
  }

  /** arch/riscv/mm/init.c protection_map (Linux 7.2: VM_WRITE alone is PAGE_SHADOWSTACK). */
  vmGetPageProt(out: PgProt, vmFlags: number): void {
    const f = vmFlags & 0xf;
    out.hi = 0;
    if ((f & 0x7) === 0) {
      out.lo = _PAGE_PROT_NONE | _PAGE_READ;
      return;
    }
    const shared = (f & VM_SHARED) !== 0;
    const r = (f & VM_READ) !== 0;
    const w = (f & VM_WRITE) !== 0;
    const x = (f & VM_EXEC) !== 0;
    if (!shared && w && !r && !x) {
      out.lo = _PAGE_BASE | _PAGE_WRITE;
      return;
    }
    let lo = _PAGE_BASE;
    if (r || w || !x) lo |= _PAGE_READ;
    if (x) lo |= _PAGE_EXEC;
    if (shared && w) lo |= _PAGE_WRITE | _PAGE_READ;
    out.lo = lo;
  }
}
