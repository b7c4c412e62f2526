/**
 * DOC: the typed entry view: what other packages read instead of raw bits.
 *
 * A {@link PteView} is a reusable record filled by {@link EntryCodec.decodePte}
 * (or `decodePmd` for a PMD leaf or a PMD migration entry): the kind of the
 * entry (none, present, swap, migration read / read-exclusive / write,
 * device-private read / write, device-exclusive, hwpoison, marker), the PFN
 * (present and PFN-carrying entries), the protections and state bits of a
 * present entry, and the swap type, offset and flags of a non-present one.
 * {@link EntryCodec.encodePte} builds an entry from a view, so a consumer that
 * replaces an entry by a swap or migration entry never touches bits either.
 */

import { MmError } from '@mm/machine';
import type { ArchDescriptor } from '../arch/descriptor.js';
import { type ArchPte, VM_EXEC, VM_READ, VM_SHARED, VM_WRITE } from '../arch/pte-ops.js';
import { PteVal } from './pteval.js';
import { LEAF_KIND, type LeafKind, PTE_MARKER_MASK, Swapops, type SwapTypeConfig, SwpEntry } from './swapops.js';

/** A decoded page-table entry. Fields that do not apply to the kind are false / -1 / 0. */
export class PteView {
  /** What the entry is ({@link LEAF_KIND}). */
  kind: LeafKind;
  /** PFN: of the page (present) or the page it stands for (migration, device, hwpoison); -1 otherwise. */
  pfn: number;
  /** log2 of the bytes the entry maps (PAGE_SHIFT for a PTE, PMD_SHIFT for a PMD leaf). */
  shift: number;
  /** Present: writable (`pte_write`). */
  write: boolean;
  /** Present: accessed (`pte_young`); migration: the young bit kept in the entry. */
  young: boolean;
  /** Present: dirty (`pte_dirty`); migration: the dirty bit kept in the entry. */
  dirty: boolean;
  /** Present: user-accessible. */
  user: boolean;
  /** Present: executable (in user mode). */
  exec: boolean;
  /** Present: a special mapping (no `struct page` to reference: `pte_special`). */
  special: boolean;
  /** Present: a global translation. */
  global: boolean;
  /** Present: PROT_NONE for NUMA hinting (`pte_protnone`): present, but the hardware faults. */
  protnone: boolean;
  /** Present or swap: soft-dirty. */
  softDirty: boolean;
  /** Present or swap: uffd write-protected. */
  uffdWp: boolean;
  /** Non-present: the exclusive flag (`pte_swp_exclusive`, PG_anon_exclusive remembered). */
  exclusive: boolean;
  /** Non-present: swap type (device number for SWAP), -1 otherwise. */
  swapType: number;
  /** Non-present: swap offset (slot for SWAP), -1 otherwise. */
  swapOffset: number;
  /** MARKER: PTE_MARKER_* bits. */
  marker: number;

  constructor() {
    this.kind = LEAF_KIND.NONE;
    this.pfn = -1;
    this.shift = 12;
    this.write = false;
    this.young = false;
    this.dirty = false;
    this.user = false;
    this.exec = false;
    this.special = false;
    this.global = false;
    this.protnone = false;
    this.softDirty = false;
    this.uffdWp = false;
    this.exclusive = false;
    this.swapType = -1;
    this.swapOffset = -1;
    this.marker = 0;
  }

  /** Reset to the empty (none) entry. */
  clear(): this {
    this.kind = LEAF_KIND.NONE;
    this.pfn = -1;
    this.write = false;
    this.young = false;
    this.dirty = false;
    this.user = false;
    this.exec = false;
    this.special = false;
    this.global = false;
    this.protnone = false;
    this.softDirty = false;
    this.uffdWp = false;
    this.exclusive = false;
    this.swapType = -1;
    this.swapOffset = -1;
    this.marker = 0;
    return this;
  }

  /** A plain-object copy (tests, reports). */
  toJSON(): Record<string, number | boolean> {
    return {
      kind: this.kind,
      pfn: this.pfn,
      shift: this.shift,
      write: this.write,
      young: this.young,
      dirty: this.dirty,
      user: this.user,
      exec: this.exec,
      special: this.special,
      global: this.global,
      protnone: this.protnone,
      softDirty: this.softDirty,
      uffdWp: this.uffdWp,
      exclusive: this.exclusive,
      swapType: this.swapType,
      swapOffset: this.swapOffset,
      marker: this.marker,
    };
  }
}

/**
 * Decoding and encoding of whole entries for one architecture configuration
 * (codec + swap types). Available as `pt.entries` on a page-table context,
 * or standalone for a descriptor.
 */
export class EntryCodec {
  /** The architecture configuration. */
  readonly desc: ArchDescriptor;
  /** The configuration's entry codec. */
  readonly codec: ArchPte;
  /** The configuration's swap-entry operations. */
  readonly swap: Swapops;
  private readonly e: SwpEntry;
  private readonly prot: PteVal;
  private readonly pageShift: number;
  private readonly pmdShift: number;

  constructor(desc: ArchDescriptor, codec?: ArchPte, swap?: Swapops, swapTypes?: SwapTypeConfig) {
    this.desc = desc;
    this.codec = codec ?? desc.codec();
    this.swap = swap ?? new Swapops(desc, this.codec, swapTypes);
    this.e = new SwpEntry();
    this.prot = new PteVal();
    this.pageShift = desc.pageShift;
    this.pmdShift = desc.levels[1].shift;
  }

  /**
   * Decode a PTE value.
   * @kernel pte_present / pte_none / softleaf_from_pte / softleaf_type and the pte_* accessors
   */
  decodePte(v: PteVal, out: PteView): PteView {
    return this.decode(v, out, false, this.pageShift);
  }

  /** Decode a PMD value (a leaf, a PMD migration entry, or none). A table entry decodes as none. */
  decodePmd(v: PteVal, out: PteView): PteView {
    return this.decode(v, out, true, this.pmdShift);
  }

  private decode(v: PteVal, out: PteView, pmd: boolean, shift: number): PteView {
    const c = this.codec;
    out.clear();
    out.shift = shift;
    const none = pmd ? c.pmdNone(v) : c.pteNone(v);
    if (none) return out;
    const present = pmd ? c.pmdPresent(v) : c.ptePresent(v);
    if (present) {
      if (pmd && !c.pmdLeaf(v)) return out;
      out.kind = LEAF_KIND.PRESENT;
      out.pfn = pmd ? c.pmdPfn(v) : c.ptePfn(v);
      out.write = c.pteWrite(v);
      out.young = c.pteYoung(v);
      out.dirty = c.pteDirty(v);
      out.user = c.pteUser(v);
      out.exec = c.pteExec(v);
      out.special = c.pteSpecial(v);
      out.protnone = pmd ? c.pmdProtnone(v) : c.pteProtnone(v);
      out.global = !out.protnone && c.pteGlobal(v);
      out.softDirty = c.pteSoftDirty(v);
      out.uffdWp = c.pteUffdWp(v);
      return out;
    }
    const s = this.swap;
    const e = s.pteToSwpEntry(v, this.e);
    out.exclusive = c.pteSwpExclusive(v);
    out.softDirty = c.pteSwpSoftDirty(v);
    out.uffdWp = c.pteSwpUffdWp(v);
    out.swapType = e.type;
    out.swapOffset = e.offset;
    const kind = s.entryKind(e);
    out.kind = kind;
    if (kind === LEAF_KIND.MARKER) {
      out.marker = s.pteMarkerGet(e);
    } else if (s.isPfnSwapEntry(e)) {
      out.pfn = s.swpOffsetPfn(e);
      if (s.isMigrationEntry(e)) {
        out.young = s.isMigrationEntryYoung(e);
        out.dirty = s.isMigrationEntryDirty(e);
      }
    }
    return out;
  }

  /**
   * Build an entry from a view: a present PTE from `pfn` and the protection
   * fields (write/exec/user select the `vm_get_page_prot()` protection of a
   * shared or private mapping, then young/dirty/special/soft-dirty/uffd-wp
   * are applied with the `pte_mk*` helpers; `protnone` gives PAGE_NONE), or a
   * non-present entry of the view's kind with its flags.
   * @throws MmError EINVAL for a kind this configuration cannot encode.
   */
  encodePte(out: PteVal, view: PteView): PteVal {
    return this.encode(out, view, false);
  }

  /** Build a PMD leaf (or PMD migration entry) from a view. */
  encodePmd(out: PteVal, view: PteView): PteVal {
    return this.encode(out, view, true);
  }

  private encode(out: PteVal, view: PteView, pmd: boolean): PteVal {
    const c = this.codec;
    const s = this.swap;
    const e = this.e;
    switch (view.kind) {
      case LEAF_KIND.NONE:
        out.setWords(0, 0);
        return out;
      case LEAF_KIND.PRESENT: {
        const prot = this.prot;
        if (view.protnone) c.pageNone(prot);
        else c.vmGetPageProt(prot, VM_READ | (view.exec ? VM_EXEC : 0) | (view.write ? VM_WRITE | VM_SHARED : 0));
        if (pmd) {
          c.pfnPmd(out, view.pfn, prot);
          c.pmdMkhuge(out);
        } else c.pfnPte(out, view.pfn, prot);
        if (view.young) c.pteMkyoung(out);
        else c.pteMkold(out);
        if (view.dirty) c.pteMkdirty(out);
        if (view.special) c.pteMkspecial(out);
        if (view.softDirty) c.pteMksoftDirty(out);
        else c.pteClearSoftDirty(out);
        if (view.uffdWp) c.pteMkuffdWp(out);
        return out;
      }
      case LEAF_KIND.SWAP:
        s.makeSwapEntry(e, view.swapType, view.swapOffset);
        break;
      case LEAF_KIND.MIGRATION_READ:
      case LEAF_KIND.MIGRATION_READ_EXCLUSIVE:
      case LEAF_KIND.MIGRATION_WRITE:
        if (view.kind === LEAF_KIND.MIGRATION_READ) s.makeReadableMigrationEntry(e, view.pfn);
        else if (view.kind === LEAF_KIND.MIGRATION_WRITE) s.makeWritableMigrationEntry(e, view.pfn);
        else s.makeReadableExclusiveMigrationEntry(e, view.pfn);
        if (view.young) s.makeMigrationEntryYoung(e);
        if (view.dirty) s.makeMigrationEntryDirty(e);
        break;
      case LEAF_KIND.DEVICE_PRIVATE_READ:
        s.makeReadableDevicePrivateEntry(e, view.pfn);
        break;
      case LEAF_KIND.DEVICE_PRIVATE_WRITE:
        s.makeWritableDevicePrivateEntry(e, view.pfn);
        break;
      case LEAF_KIND.DEVICE_EXCLUSIVE:
        s.makeDeviceExclusiveEntry(e, view.pfn);
        break;
      case LEAF_KIND.HWPOISON:
        s.makeHwpoisonEntry(e, view.pfn);
        break;
      case LEAF_KIND.MARKER:
        if ((view.marker & ~PTE_MARKER_MASK) !== 0 || view.marker === 0) {
          throw new MmError('EINVAL', `pgtable: bad PTE marker ${view.marker}`);
        }
        e.type = s.types.SWP_PTE_MARKER;
        e.offset = view.marker;
        break;
      default:
        throw new MmError('EINVAL', `pgtable: unknown entry kind ${String(view.kind)}`);
    }
    s.swpEntryToPte(e, out);
    if (view.exclusive) c.pteSwpMkexclusive(out);
    if (view.softDirty) c.pteSwpMksoftDirty(out);
    if (view.uffdWp) c.pteSwpMkuffdWp(out);
    return out;
  }
}
