/**
 * DOC: swap entries and the non-present PTE kinds carved out of the swap
 * type space (`include/linux/swap.h`, `include/linux/swapops.h`,
 * `include/linux/leafops.h`).
 *
 * A `swp_entry_t` is a (type, offset) pair in an architecture-independent
 * format; the architecture converts it to and from a non-present PTE
 * (`__swp_entry`, `__swp_type`, `__swp_offset`), and keeps the exclusive,
 * soft-dirty and uffd-wp flags beside it in the PTE, never in the entry
 * (`pte_to_swp_entry()` strips them). The top of the 32 swap types is
 * reserved, counting down: one PTE-marker type, three device types
 * (DEVICE_PRIVATE), three migration types (MIGRATION), one hwpoison type
 * (MEMORY_FAILURE); `MAX_SWAPFILES` is what is left (24 with everything
 * on). Entries of the PFN-carrying kinds hold the PFN in the low
 * `SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT` bits of the offset;
 * migration entries may keep the old young and dirty bits just above.
 *
 * In JavaScript a `swp_entry_t` is a {@link SwpEntry} box with `type` and
 * `offset` (offsets reach 2^50 and more, past 32 bits but within 2^53).
 */
import { MmError } from '@mm/machine';
import type { ArchDescriptor } from '../arch/descriptor.js';
import type { ArchPte } from '../arch/pte-ops.js';
import { PteVal } from './pteval.js';

/** Bits of the swap type field: 2^5 = 32 types, the top few reserved for special entries; mirrors `MAX_SWAPFILES_SHIFT`. */
export const MAX_SWAPFILES_SHIFT = 5;

/** PTE marker bits (the offset of a SWP_PTE_MARKER entry). */
export const PTE_MARKER_UFFD_WP = 1 << 0;
/** Formerly the swapin-error marker; also UFFDIO_POISON. A fault on it is VM_FAULT_HWPOISON. */
export const PTE_MARKER_POISONED = 1 << 1;
/** MADV_GUARD_INSTALL: a fault delivers SIGSEGV. */
export const PTE_MARKER_GUARD = 1 << 2;
/** Every PTE marker bit defined above; mirrors `PTE_MARKER_MASK`. */
export const PTE_MARKER_MASK = (1 << 3) - 1;

/** Kernel options that reserve swap types. */
export interface SwapTypeConfig {
  /** CONFIG_MEMORY_FAILURE: one hwpoison type. */
  readonly memoryFailure?: boolean;
  /** CONFIG_MIGRATION: three migration types. */
  readonly migration?: boolean;
  /** CONFIG_DEVICE_PRIVATE: three device types. */
  readonly devicePrivate?: boolean;
}

/**
 * The swap type numbers of a configuration (`include/linux/swap.h`).
 * A type the configuration lacks is -1.
 */
export class SwapTypes {
  /** Hwpoison types (1 with CONFIG_MEMORY_FAILURE, else 0). @kernel SWP_HWPOISON_NUM */
  readonly SWP_HWPOISON_NUM: number;
  /** Migration types (3 with CONFIG_MIGRATION, else 0). @kernel SWP_MIGRATION_NUM */
  readonly SWP_MIGRATION_NUM: number;
  /** Device-private/exclusive types (3 with CONFIG_DEVICE_PRIVATE, else 0). @kernel SWP_DEVICE_NUM */
  readonly SWP_DEVICE_NUM: number;
  /** PTE marker types (always 1). @kernel SWP_PTE_MARKER_NUM */
  readonly SWP_PTE_MARKER_NUM = 1;
  /** Real swap devices: types 0 .. MAX_SWAPFILES-1. */
  readonly MAX_SWAPFILES: number;
  /** Type of hwpoison entries (-1 when absent). @kernel SWP_HWPOISON */
  readonly SWP_HWPOISON: number;
  /** Type of read migration entries (-1 when absent). @kernel SWP_MIGRATION_READ */
  readonly SWP_MIGRATION_READ: number;
  /** Type of exclusive read migration entries (-1 when absent). @kernel SWP_MIGRATION_READ_EXCLUSIVE */
  readonly SWP_MIGRATION_READ_EXCLUSIVE: number;
  /** Type of write migration entries (-1 when absent). @kernel SWP_MIGRATION_WRITE */
  readonly SWP_MIGRATION_WRITE: number;
  /** Type of writable device-private entries (-1 when absent). @kernel SWP_DEVICE_WRITE */
  readonly SWP_DEVICE_WRITE: number;
  /** Type of read-only device-private entries (-1 when absent). @kernel SWP_DEVICE_READ */
  readonly SWP_DEVICE_READ: number;
  /** Type of device-exclusive entries (-1 when absent). @kernel SWP_DEVICE_EXCLUSIVE */
  readonly SWP_DEVICE_EXCLUSIVE: number;
  /** Type of PTE marker entries. @kernel SWP_PTE_MARKER */
  readonly SWP_PTE_MARKER: number;

  constructor(c: SwapTypeConfig = {}) {
    this.SWP_HWPOISON_NUM = (c.memoryFailure ?? true) ? 1 : 0;
    this.SWP_MIGRATION_NUM = (c.migration ?? true) ? 3 : 0;
    this.SWP_DEVICE_NUM = (c.devicePrivate ?? true) ? 3 : 0;
    const max = (1 << MAX_SWAPFILES_SHIFT) - this.SWP_DEVICE_NUM - this.SWP_MIGRATION_NUM - this.SWP_HWPOISON_NUM - 1;
    this.MAX_SWAPFILES = max;
    this.SWP_HWPOISON = this.SWP_HWPOISON_NUM > 0 ? max : -1;
    const mig = max + this.SWP_HWPOISON_NUM;
    this.SWP_MIGRATION_READ = this.SWP_MIGRATION_NUM > 0 ? mig : -1;
    this.SWP_MIGRATION_READ_EXCLUSIVE = this.SWP_MIGRATION_NUM > 0 ? mig + 1 : -1;
    this.SWP_MIGRATION_WRITE = this.SWP_MIGRATION_NUM > 0 ? mig + 2 : -1;
    const dev = mig + this.SWP_MIGRATION_NUM;
    this.SWP_DEVICE_WRITE = this.SWP_DEVICE_NUM > 0 ? dev : -1;
    this.SWP_DEVICE_READ = this.SWP_DEVICE_NUM > 0 ? dev + 1 : -1;
    this.SWP_DEVICE_EXCLUSIVE = this.SWP_DEVICE_NUM > 0 ? dev + 2 : -1;
    this.SWP_PTE_MARKER = dev + this.SWP_DEVICE_NUM;
  }
}

/** The swap types with every option on (MAX_SWAPFILES = 24). */
export const SWAP_TYPES = new SwapTypes();
/** `MAX_SWAPFILES` with MEMORY_FAILURE, MIGRATION and DEVICE_PRIVATE on. */
export const MAX_SWAPFILES = SWAP_TYPES.MAX_SWAPFILES;

/** A `swp_entry_t`: swap type and offset. */
export class SwpEntry {
  /** Swap type (a device, or one of the {@link SwapTypes} special types). */
  type: number;
  /** Offset within the type (a slot, a PFN or marker bits). */
  offset: number;
  constructor(type = 0, offset = 0) {
    this.type = type;
    this.offset = offset;
  }
  /** Copy another entry. */
  set(o: SwpEntry): this {
    this.type = o.type;
    this.offset = o.offset;
    return this;
  }
}

/**
 * The kinds of leaf entries: none, present, and the software ("soft leaf")
 * kinds of non-present entries.
 * @kernel enum softleaf_type (include/linux/leafops.h), plus PRESENT
 */
export const LEAF_KIND = {
  /** An empty entry. @kernel SOFTLEAF_NONE */
  NONE: 0,
  /** A present mapping (not a software leaf). */
  PRESENT: 1,
  /** A swap entry. @kernel SOFTLEAF_SWAP */
  SWAP: 2,
  /** Migration entry of a read-only mapping. @kernel SOFTLEAF_MIGRATION_READ */
  MIGRATION_READ: 3,
  /** Migration entry of an exclusive anon read-only mapping. @kernel SOFTLEAF_MIGRATION_READ_EXCLUSIVE */
  MIGRATION_READ_EXCLUSIVE: 4,
  /** Migration entry of a writable mapping. @kernel SOFTLEAF_MIGRATION_WRITE */
  MIGRATION_WRITE: 5,
  /** Read-only device-private entry. @kernel SOFTLEAF_DEVICE_PRIVATE_READ */
  DEVICE_PRIVATE_READ: 6,
  /** Writable device-private entry. @kernel SOFTLEAF_DEVICE_PRIVATE_WRITE */
  DEVICE_PRIVATE_WRITE: 7,
  /** Device-exclusive entry. @kernel SOFTLEAF_DEVICE_EXCLUSIVE */
  DEVICE_EXCLUSIVE: 8,
  /** Hardware-poisoned page. @kernel SOFTLEAF_HWPOISON */
  HWPOISON: 9,
  /** A PTE marker. @kernel SOFTLEAF_MARKER */
  MARKER: 10,
} as const;
/** A {@link LEAF_KIND} value. */
export type LeafKind = (typeof LEAF_KIND)[keyof typeof LEAF_KIND];
/** Names of the kinds, indexed by kind. */
export const LEAF_KIND_NAMES = [
  'none',
  'present',
  'swap',
  'migration-read',
  'migration-read-exclusive',
  'migration-write',
  'device-private-read',
  'device-private-write',
  'device-exclusive',
  'hwpoison',
  'marker',
] as const;

/**
 * Swap-entry operations for one architecture configuration: the generic
 * half of `swapops.h`/`leafops.h` on top of the codec's `__swp_*` helpers.
 */
export class Swapops {
  /** The architecture's entry codec (`__swp_*` helpers). */
  readonly codec: ArchPte;
  /** The configuration's swap type numbers. */
  readonly types: SwapTypes;
  /** Offset bits a PFN takes in a migration or hwpoison entry (`MAX_PHYSMEM_BITS - PAGE_SHIFT`); mirrors `SWP_PFN_BITS`. */
  readonly SWP_PFN_BITS: number;
  /** First PFN too large to fit in such an entry (`BIT(SWP_PFN_BITS)`). */
  private readonly pfnLimit: number;
  /** `SWP_MIG_YOUNG` (an offset bit, as a number). */
  readonly SWP_MIG_YOUNG: number;
  /** `SWP_MIG_DIRTY`: the offset bit (as a number, the one above `SWP_MIG_YOUNG`) by which a migration entry keeps the page's dirty bit. */
  readonly SWP_MIG_DIRTY: number;
  /** `swap_migration_ad_supported`: the arch offset can hold PFN + A + D. */
  readonly migrationAdSupported: boolean;
  private readonly scratch: PteVal;

  constructor(desc: ArchDescriptor, codec: ArchPte, config: SwapTypeConfig = {}) {
    this.codec = codec;
    this.types = new SwapTypes(config);
    this.SWP_PFN_BITS = desc.physBits - desc.pageShift;
    this.pfnLimit = 2 ** this.SWP_PFN_BITS;
    this.SWP_MIG_YOUNG = 2 ** this.SWP_PFN_BITS;
    this.SWP_MIG_DIRTY = 2 ** (this.SWP_PFN_BITS + 1);
    this.migrationAdSupported = codec.features.swpOffsetBits >= this.SWP_PFN_BITS + 2;
    this.scratch = new PteVal();
  }

  /**
   * A non-present, non-none entry.
   * @kernel is_swap_pte (include/linux/swapops.h)
   */
  isSwapPte(pte: PteVal): boolean {
    return !this.codec.pteNone(pte) && !this.codec.ptePresent(pte);
  }

  /**
   * The swap entry of a non-present PTE, its flags stripped.
   * @kernel pte_to_swp_entry (include/linux/swapops.h)
   */
  pteToSwpEntry(pte: PteVal, out: SwpEntry): SwpEntry {
    const s = this.scratch.set(pte);
    this.codec.pteSwpClearFlags(s);
    out.type = this.codec.archSwpType(s);
    out.offset = this.codec.archSwpOffset(s);
    return out;
  }

  /**
   * The non-present PTE of a swap entry (no flags).
   * @kernel swp_entry_to_pte (include/linux/swapops.h)
   */
  swpEntryToPte(entry: SwpEntry, out: PteVal): PteVal {
    this.codec.archSwpEntry(out, entry.type, entry.offset);
    return out;
  }

  /**
   * A PTE marker entry.
   * @kernel make_pte_marker (include/linux/swapops.h)
   */
  makePteMarker(out: PteVal, marker: number): PteVal {
    if ((marker & ~PTE_MARKER_MASK) !== 0 || marker === 0) {
      throw new MmError('EINVAL', `pgtable: bad PTE marker 0x${marker.toString(16)}`);
    }
    this.codec.archSwpEntry(out, this.types.SWP_PTE_MARKER, marker);
    return out;
  }

  /**
   * The kind of a swap entry.
   * @kernel softleaf_type (include/linux/leafops.h)
   */
  entryKind(e: SwpEntry): LeafKind {
    const t = this.types;
    const type = e.type;
    if (type === 0 && e.offset === 0) return LEAF_KIND.NONE;
    if (type < t.MAX_SWAPFILES) return LEAF_KIND.SWAP;
    if (type === t.SWP_MIGRATION_READ) return LEAF_KIND.MIGRATION_READ;
    if (type === t.SWP_MIGRATION_READ_EXCLUSIVE) return LEAF_KIND.MIGRATION_READ_EXCLUSIVE;
    if (type === t.SWP_MIGRATION_WRITE) return LEAF_KIND.MIGRATION_WRITE;
    if (type === t.SWP_DEVICE_WRITE) return LEAF_KIND.DEVICE_PRIVATE_WRITE;
    if (type === t.SWP_DEVICE_READ) return LEAF_KIND.DEVICE_PRIVATE_READ;
    if (type === t.SWP_DEVICE_EXCLUSIVE) return LEAF_KIND.DEVICE_EXCLUSIVE;
    if (type === t.SWP_HWPOISON) return LEAF_KIND.HWPOISON;
    if (type === t.SWP_PTE_MARKER) return LEAF_KIND.MARKER;
    return LEAF_KIND.NONE;
  }

  /** `type >= MAX_SWAPFILES`. @kernel non_swap_entry */
  nonSwapEntry(e: SwpEntry): boolean {
    return e.type >= this.types.MAX_SWAPFILES;
  }
  /** Whether the entry is a migration entry (readable, exclusive or writable) @kernel is_migration_entry */
  isMigrationEntry(e: SwpEntry): boolean {
    const t = this.types;
    return (
      e.type === t.SWP_MIGRATION_READ || e.type === t.SWP_MIGRATION_READ_EXCLUSIVE || e.type === t.SWP_MIGRATION_WRITE
    );
  }
  /** Whether the entry is a writable migration entry. @kernel is_writable_migration_entry */
  isWritableMigrationEntry(e: SwpEntry): boolean {
    return e.type === this.types.SWP_MIGRATION_WRITE;
  }
  /** Whether the entry is a readable migration entry for an exclusive anon page. @kernel is_readable_exclusive_migration_entry */
  isReadableExclusiveMigrationEntry(e: SwpEntry): boolean {
    return e.type === this.types.SWP_MIGRATION_READ_EXCLUSIVE;
  }
  /** Whether the entry points to device-private memory. @kernel is_device_private_entry */
  isDevicePrivateEntry(e: SwpEntry): boolean {
    return e.type === this.types.SWP_DEVICE_READ || e.type === this.types.SWP_DEVICE_WRITE;
  }
  /** Whether the entry marks a page a device holds exclusively. @kernel is_device_exclusive_entry */
  isDeviceExclusiveEntry(e: SwpEntry): boolean {
    return e.type === this.types.SWP_DEVICE_EXCLUSIVE;
  }
  /** Whether the entry marks a hardware-poisoned page. @kernel is_hwpoison_entry */
  isHwpoisonEntry(e: SwpEntry): boolean {
    return e.type === this.types.SWP_HWPOISON;
  }
  /** Whether the entry is a PTE marker (uffd-wp, guard or poison marker) @kernel is_pte_marker_entry */
  isPteMarkerEntry(e: SwpEntry): boolean {
    return e.type === this.types.SWP_PTE_MARKER;
  }
  /** The marker bits of a marker entry. @kernel pte_marker_get */
  pteMarkerGet(e: SwpEntry): number {
    return e.offset % (PTE_MARKER_MASK + 1);
  }
  /** Whether the entry's offset holds a PFN (migration, device or hwpoison entries) @kernel is_pfn_swap_entry */
  isPfnSwapEntry(e: SwpEntry): boolean {
    return (
      this.isMigrationEntry(e) ||
      this.isDevicePrivateEntry(e) ||
      this.isDeviceExclusiveEntry(e) ||
      this.isHwpoisonEntry(e)
    );
  }
  /** PFN held in a PFN swap entry. @kernel swp_offset_pfn */
  swpOffsetPfn(e: SwpEntry): number {
    return e.offset % this.pfnLimit;
  }

  /** A readable migration entry for `pfn` into `out`. @kernel make_readable_migration_entry */
  makeReadableMigrationEntry(out: SwpEntry, pfn: number): SwpEntry {
    return this.mk(out, this.types.SWP_MIGRATION_READ, pfn);
  }
  /** A readable migration entry for an exclusive anon page at `pfn` into `out`. @kernel make_readable_exclusive_migration_entry */
  makeReadableExclusiveMigrationEntry(out: SwpEntry, pfn: number): SwpEntry {
    return this.mk(out, this.types.SWP_MIGRATION_READ_EXCLUSIVE, pfn);
  }
  /** A writable migration entry for `pfn` into `out`. @kernel make_writable_migration_entry */
  makeWritableMigrationEntry(out: SwpEntry, pfn: number): SwpEntry {
    return this.mk(out, this.types.SWP_MIGRATION_WRITE, pfn);
  }
  /** Keep the young bit in a migration entry (when the offset has room). @kernel make_migration_entry_young */
  makeMigrationEntryYoung(e: SwpEntry): SwpEntry {
    if (this.migrationAdSupported && !this.isMigYoung(e)) e.offset += this.SWP_MIG_YOUNG;
    return e;
  }
  /** Keep the dirty bit in a migration entry (when the offset has room) @kernel make_migration_entry_dirty */
  makeMigrationEntryDirty(e: SwpEntry): SwpEntry {
    if (this.migrationAdSupported && !this.isMigDirty(e)) e.offset += this.SWP_MIG_DIRTY;
    return e;
  }
  /** Whether the migration entry kept the page's accessed bit. @kernel is_migration_entry_young / softleaf_is_migration_young */
  isMigrationEntryYoung(e: SwpEntry): boolean {
    return this.migrationAdSupported && this.isMigYoung(e);
  }
  /** Whether the migration entry kept the page's dirty bit. @kernel is_migration_entry_dirty / softleaf_is_migration_dirty */
  isMigrationEntryDirty(e: SwpEntry): boolean {
    return this.migrationAdSupported && this.isMigDirty(e);
  }
  private isMigYoung(e: SwpEntry): boolean {
    return Math.floor(e.offset / this.SWP_MIG_YOUNG) % 2 === 1;
  }
  private isMigDirty(e: SwpEntry): boolean {
    return Math.floor(e.offset / this.SWP_MIG_DIRTY) % 2 === 1;
  }
  /** A read-only device-private entry for `pfn` into `out`. @kernel make_readable_device_private_entry */
  makeReadableDevicePrivateEntry(out: SwpEntry, pfn: number): SwpEntry {
    return this.mk(out, this.types.SWP_DEVICE_READ, pfn);
  }
  /** A writable device-private entry for `pfn` into `out`. @kernel make_writable_device_private_entry */
  makeWritableDevicePrivateEntry(out: SwpEntry, pfn: number): SwpEntry {
    return this.mk(out, this.types.SWP_DEVICE_WRITE, pfn);
  }
  /** A device-exclusive entry for `pfn` into `out`. @kernel make_device_exclusive_entry */
  makeDeviceExclusiveEntry(out: SwpEntry, pfn: number): SwpEntry {
    return this.mk(out, this.types.SWP_DEVICE_EXCLUSIVE, pfn);
  }
  /** A hardware-poison entry for `pfn` into `out`. @kernel make_hwpoison_entry */
  makeHwpoisonEntry(out: SwpEntry, pfn: number): SwpEntry {
    return this.mk(out, this.types.SWP_HWPOISON, pfn);
  }
  /** A swap entry of a real swap device (`swp_entry(type, offset)` with type < MAX_SWAPFILES). */
  makeSwapEntry(out: SwpEntry, type: number, offset: number): SwpEntry {
    if (!(Number.isInteger(type) && type >= 0 && type < this.types.MAX_SWAPFILES)) {
      throw new MmError(
        'EINVAL',
        `pgtable: swap type ${type} is not in [0, MAX_SWAPFILES=${this.types.MAX_SWAPFILES})`,
      );
    }
    if (!(Number.isInteger(offset) && offset >= 0 && offset < 2 ** this.codec.features.swpOffsetBits)) {
      throw new MmError(
        'EINVAL',
        `pgtable: swap offset ${offset} does not fit ${this.codec.features.swpOffsetBits} bits`,
      );
    }
    out.type = type;
    out.offset = offset;
    return out;
  }

  private mk(out: SwpEntry, type: number, pfn: number): SwpEntry {
    if (type < 0) throw new MmError('EOPNOTSUPP', 'pgtable: this swap entry kind is configured out');
    if (!(Number.isInteger(pfn) && pfn >= 0 && pfn < this.pfnLimit)) {
      throw new MmError('EINVAL', `pgtable: pfn ${pfn} does not fit SWP_PFN_BITS=${this.SWP_PFN_BITS}`);
    }
    out.type = type;
    out.offset = pfn;
    return out;
  }
}
