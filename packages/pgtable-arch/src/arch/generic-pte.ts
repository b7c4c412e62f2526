/**
 * DOC: a documented generic entry layout, used by the architectures whose
 * exact bits the model does not reproduce (powerpc64 radix/hash, sparc64).
 *
 * Their geometry, feature set, flush style and lazy-MMU behaviour are
 * modelled from the kernel; only the bit positions are this package's own:
 *
 * | bits | present entry | swap entry (present = protnone = 0) |
 * | --- | --- | --- |
 * | 0 | PRESENT | 0 |
 * | 1 | WRITE | type bit 0 |
 * | 2 | USER | type bit 1 |
 * | 3 | ACCESSED | type bit 2 |
 * | 4 | DIRTY | type bit 3 |
 * | 5 | EXEC | type bit 4 |
 * | 6 | GLOBAL | exclusive |
 * | 7 | LEAF (PMD/PUD block) | 0 (a PMD swap entry must not look present) |
 * | 8 | SPECIAL | 0 |
 * | 9 | SOFT_DIRTY | soft-dirty |
 * | 10 | UFFD_WP | uffd-wp |
 * | 11 | PROTNONE (when PRESENT = 0) | 0 |
 * | 12..51 | PFN (a frame number, whatever PAGE_SIZE is) | offset (up to 52 bits) |
 *
 * A table entry is PRESENT with the table's PFN and LEAF clear. PROT_NONE
 * entries (NUMA hinting) are PROTNONE with PRESENT clear and stay
 * `pte_present()`.
 */
import type { PgProt, PteVal } from '../entry/pteval.js';
import { ArchPte, type PgLevel, type PteFeatures, VM_EXEC, VM_SHARED, VM_WRITE } from './pte-ops.js';

export const GEN_PRESENT = 1 << 0;
export const GEN_WRITE = 1 << 1;
export const GEN_USER = 1 << 2;
export const GEN_ACCESSED = 1 << 3;
export const GEN_DIRTY = 1 << 4;
export const GEN_EXEC = 1 << 5;
export const GEN_GLOBAL = 1 << 6;
export const GEN_LEAF = 1 << 7;
export const GEN_SPECIAL = 1 << 8;
export const GEN_SOFT_DIRTY = 1 << 9;
export const GEN_UFFD_WP = 1 << 10;
export const GEN_PROTNONE = 1 << 11;
export const GEN_SWP_EXCLUSIVE = 1 << 6;
export const GEN_SWP_SOFT_DIRTY = 1 << 9;
export const GEN_SWP_UFFD_WP = 1 << 10;
const PFN_LO = 0xfffff000 | 0;
const PFN_HI = 0xfffff;

/** Options of the generic layout. */
export interface GenericPteOptions {
  /** Name of the layout. */
  readonly name: string;
  /** log2 of the page size. */
  readonly pageShift: number;
  /** The layout has a soft-dirty bit (`CONFIG_HAVE_ARCH_SOFT_DIRTY`). */
  readonly softDirty: boolean;
  /** The layout has a uffd-wp bit (`CONFIG_HAVE_ARCH_USERFAULTFD_WP`). */
  readonly uffdWp: boolean;
  /** log2 of a PMD leaf's bytes (for `pmd_pfn()` alignment). */
  readonly pmdShift: number;
  /** log2 of a PUD leaf's bytes. */
  readonly pudShift: number;
}

/** The generic-layout codec. */
export class GenericPte extends ArchPte {
  readonly name: string;
  readonly features: PteFeatures;
  readonly pageShift: number;
  private readonly sd: number;
  private readonly uffd: number;
  private readonly pmdPages: number;
  private readonly pudPages: number;

  constructor(o: GenericPteOptions) {
    super();
    this.name = o.name;
    this.pageShift = o.pageShift;
    this.sd = o.softDirty ? GEN_SOFT_DIRTY : 0;
    this.uffd = o.uffdWp ? GEN_UFFD_WP : 0;
    this.pmdPages = 2 ** (o.pmdShift - o.pageShift);
    this.pudPages = 2 ** (o.pudShift - o.pageShift);
    this.features = {
      softDirty: o.softDirty,
      uffdWp: o.uffdWp,
      special: true,
      protnone: true,
      swpTypeBits: 5,
      swpOffsetBits: 52,
      entryBytes: 8,
    };
  }

  private pfnOf(v: PteVal): number {
    return ((v.lo & PFN_LO) >>> 12) + (v.hi & PFN_HI) * 1048576;
  }
  private mk(out: PteVal, pfn: number, prot: PgProt): void {
    out.lo = ((pfn << 12) & PFN_LO) | prot.lo;
    out.hi = (Math.floor(pfn / 1048576) & PFN_HI) | prot.hi;
  }

  ptePresent(v: PteVal): boolean {
    return (v.lo & (GEN_PRESENT | GEN_PROTNONE)) !== 0;
  }
  pteProtnone(v: PteVal): boolean {
    return (v.lo & (GEN_PRESENT | GEN_PROTNONE)) === GEN_PROTNONE;
  }
  ptePfn(v: PteVal): number {
    return this.pfnOf(v);
  }
  pfnPte(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pteWrite(v: PteVal): boolean {
    return (v.lo & GEN_WRITE) !== 0;
  }
  pteDirty(v: PteVal): boolean {
    return (v.lo & GEN_DIRTY) !== 0;
  }
  pteYoung(v: PteVal): boolean {
    return (v.lo & GEN_ACCESSED) !== 0;
  }
  pteSpecial(v: PteVal): boolean {
    return (v.lo & GEN_SPECIAL) !== 0;
  }
  pteSoftDirty(v: PteVal): boolean {
    return (v.lo & this.sd) !== 0;
  }
  pteUffdWp(v: PteVal): boolean {
    return (v.lo & this.uffd) !== 0;
  }
  pteUser(v: PteVal): boolean {
    return (v.lo & GEN_USER) !== 0;
  }
  pteExec(v: PteVal): boolean {
    return (v.lo & GEN_EXEC) !== 0;
  }
  pteGlobal(v: PteVal): boolean {
    return (v.lo & GEN_GLOBAL) !== 0 && (v.lo & GEN_PRESENT) !== 0;
  }
  pteMkwrite(v: PteVal): void {
    v.lo |= GEN_WRITE;
  }
  pteWrprotect(v: PteVal): void {
    v.lo &= ~GEN_WRITE;
  }
  pteMkdirty(v: PteVal): void {
    v.lo |= GEN_DIRTY | this.sd;
  }
  pteMkclean(v: PteVal): void {
    v.lo &= ~GEN_DIRTY;
  }
  pteMkyoung(v: PteVal): void {
    v.lo |= GEN_ACCESSED;
  }
  pteMkold(v: PteVal): void {
    v.lo &= ~GEN_ACCESSED;
  }
  pteMkspecial(v: PteVal): void {
    v.lo |= GEN_SPECIAL;
  }
  pteMksoftDirty(v: PteVal): void {
    v.lo |= this.sd;
  }
  pteClearSoftDirty(v: PteVal): void {
    v.lo &= ~this.sd;
  }
  pteMkuffdWp(v: PteVal): void {
    if (this.uffd === 0) return;
    v.lo |= this.uffd;
    this.pteWrprotect(v);
  }
  pteClearUffdWp(v: PteVal): void {
    v.lo &= ~this.uffd;
  }
  pteModify(v: PteVal, prot: PgProt): void {
    const keep = PFN_LO | GEN_ACCESSED | GEN_DIRTY | GEN_SPECIAL | GEN_SOFT_DIRTY | GEN_UFFD_WP | GEN_LEAF;
    v.lo = (v.lo & keep) | (prot.lo & ~keep);
    v.hi = (v.hi & PFN_HI) | (prot.hi & ~PFN_HI);
  }
  pteAdvancePfn(v: PteVal, nr: number): void {
    const pfn = this.pfnOf(v) + nr;
    v.lo = (v.lo & ~PFN_LO) | ((pfn << 12) & PFN_LO);
    v.hi = (v.hi & ~PFN_HI) | (Math.floor(pfn / 1048576) & PFN_HI);
  }
  /** The PFN field holds `pfn << 12` whatever PAGE_SIZE is. */
  override pfnStep(_v: PteVal): number {
    return 4096;
  }
  ptePgprot(out: PgProt, v: PteVal): void {
    out.lo = v.lo & ~PFN_LO;
    out.hi = v.hi & ~PFN_HI;
  }

  pmdNone(v: PteVal): boolean {
    return v.lo === 0 && v.hi === 0;
  }
  pmdPresent(v: PteVal): boolean {
    return (v.lo & (GEN_PRESENT | GEN_PROTNONE | GEN_LEAF)) !== 0;
  }
  pmdLeaf(v: PteVal): boolean {
    return (v.lo & GEN_LEAF) !== 0 && this.pmdPresent(v);
  }
  pmdBad(v: PteVal): boolean {
    return (v.lo & GEN_PRESENT) === 0 || (v.lo & GEN_LEAF) !== 0;
  }
  pmdPfn(v: PteVal): number {
    const pfn = this.pfnOf(v);
    return (v.lo & GEN_LEAF) !== 0 ? pfn - (pfn % this.pmdPages) : pfn;
  }
  pfnPmd(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pmdMkhuge(v: PteVal): void {
    v.lo |= GEN_LEAF;
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
    return (v.lo & GEN_PRESENT) !== 0;
  }
  pudLeaf(v: PteVal): boolean {
    return (v.lo & (GEN_PRESENT | GEN_LEAF)) === (GEN_PRESENT | GEN_LEAF);
  }
  pudPfn(v: PteVal): number {
    const pfn = this.pfnOf(v);
    return (v.lo & GEN_LEAF) !== 0 ? pfn - (pfn % this.pudPages) : pfn;
  }
  pfnPud(out: PteVal, pfn: number, prot: PgProt): void {
    this.mk(out, pfn, prot);
  }
  pudMkhuge(v: PteVal): void {
    v.lo |= GEN_LEAF;
  }
  mkTableEntry(out: PteVal, _level: PgLevel, tablePfn: number): void {
    out.lo = ((tablePfn << 12) & PFN_LO) | GEN_PRESENT;
    out.hi = Math.floor(tablePfn / 1048576) & PFN_HI;
  }
  tableEntryPfn(v: PteVal, _level: PgLevel): number {
    return this.pfnOf(v);
  }
  tableEntryOk(v: PteVal, _level: PgLevel): boolean {
    return (v.lo & (GEN_PRESENT | GEN_LEAF)) === GEN_PRESENT;
  }

  archSwpEntry(out: PteVal, type: number, offset: number): void {
    const off = offset % 2 ** 52;
    out.lo = ((type & 31) << 1) | ((off % 1048576) << 12) | 0;
    out.hi = Math.floor(off / 1048576) | 0;
  }
  archSwpType(v: PteVal): number {
    return (v.lo >>> 1) & 31;
  }
  archSwpOffset(v: PteVal): number {
    return (v.lo >>> 12) + (v.hi >>> 0) * 1048576;
  }
  pteSwpMkexclusive(v: PteVal): void {
    v.lo |= GEN_SWP_EXCLUSIVE;
  }
  pteSwpExclusive(v: PteVal): boolean {
    return (v.lo & GEN_SWP_EXCLUSIVE) !== 0;
  }
  pteSwpClearExclusive(v: PteVal): void {
    v.lo &= ~GEN_SWP_EXCLUSIVE;
  }
  pteSwpMksoftDirty(v: PteVal): void {
    if (this.sd !== 0) v.lo |= GEN_SWP_SOFT_DIRTY;
  }
  pteSwpSoftDirty(v: PteVal): boolean {
    return this.sd !== 0 && (v.lo & GEN_SWP_SOFT_DIRTY) !== 0;
  }
  pteSwpClearSoftDirty(v: PteVal): void {
    v.lo &= ~GEN_SWP_SOFT_DIRTY;
  }
  pteSwpMkuffdWp(v: PteVal): void {
    if (this.uffd !== 0) v.lo |= GEN_SWP_UFFD_WP;
  }
  pteSwpUffdWp(v: PteVal): boolean {
    return this.uffd !== 0 && (v.lo & GEN_SWP_UFFD_WP) !== 0;
  }
  pteSwpClearUffdWp(v: PteVal): void {
    v.lo &= ~GEN_SWP_UFFD_WP;
  }

  vmGetPageProt(out: PgProt, vmFlags: number): void {
    const f = vmFlags & 0xf;
    out.hi = 0;
    if ((f & 0x7) === 0) {
      out.lo = GEN_PROTNONE;
      return;
    }
    let lo = GEN_PRESENT | GEN_USER | GEN_ACCESSED;
    if ((f & VM_EXEC) !== 0) lo |= GEN_EXEC;
    if ((f & VM_SHARED) !== 0 && (f & VM_WRITE) !== 0) lo |= GEN_WRITE;
    out.lo = lo;
  }
}
