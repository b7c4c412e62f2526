/**
 * DOC: `swp_entry_t` as a value: a swap type (device index) and an offset.
 *
 * The kernel's arch-independent form packs the type into the top
 * MAX_SWAPFILES_SHIFT (5) bits of an XArray value and the offset below it
 * (`SWP_TYPE_SHIFT = BITS_PER_XA_VALUE - MAX_SWAPFILES_SHIFT`, 58 on
 * 64-bit). A JavaScript number holds 53 integer bits, so this model puts the
 * type at bit {@link SWP_OFFSET_BITS} (48): `val = type * 2^48 + offset`.
 * Offsets up to 2^48 − 1 pages (1 EiB of 4 KiB pages) fit, far above any
 * device; types up to 31 fit, which covers every type number the kernel
 * encodes (swap devices below MAX_SWAPFILES, then the non-swap entry types up
 * to 31). How a value is laid out in a page-table entry is the architecture's
 * business (`@mm/pgtable-arch`), not this package's.
 *
 * MAX_SWAPFILES is a parameter (`createSwap(machine, { maxSwapfiles })`)
 * because it depends on kernel configuration: the kernel derives it as
 * `(1 << MAX_SWAPFILES_SHIFT) - SWP_DEVICE_NUM - SWP_MIGRATION_NUM -
 * SWP_HWPOISON_NUM - SWP_PTE_MARKER_NUM`, where each term is the number of
 * type values reserved for non-swap entries: 3 device-private/exclusive
 * types with CONFIG_DEVICE_PRIVATE, 3 migration types with
 * CONFIG_MIGRATION, 1 hwpoison type with CONFIG_MEMORY_FAILURE and 1 PTE
 * marker type (always). With everything on that is 32 − 8 = 24,
 * {@link MAX_SWAPFILES_DEFAULT}; {@link maxSwapfilesFor} computes other
 * configurations.
 */
import { MmError } from '@mm/machine';

/** Bits of the type field. @kernel MAX_SWAPFILES_SHIFT (include/linux/swap.h) */
export const MAX_SWAPFILES_SHIFT = 5;
/** Offset bits of this model's packed value (the kernel's are 58 on 64-bit). */
export const SWP_OFFSET_BITS = 48;
const TYPE_MUL = 2 ** SWP_OFFSET_BITS;
/** Largest encodable offset. */
export const SWP_OFFSET_MASK = TYPE_MUL - 1;

/** Type values reserved for non-swap entries per kernel option. */
export interface SwapTypeConfig {
  /** CONFIG_DEVICE_PRIVATE: SWP_DEVICE_NUM = 3 (read, write, exclusive). */
  readonly devicePrivate?: boolean;
  /** CONFIG_MIGRATION: SWP_MIGRATION_NUM = 3 (read, read-exclusive, write). */
  readonly migration?: boolean;
  /** CONFIG_MEMORY_FAILURE: SWP_HWPOISON_NUM = 1. */
  readonly memoryFailure?: boolean;
}

/**
 * MAX_SWAPFILES for a configuration (every option defaults to on).
 * @kernel MAX_SWAPFILES (include/linux/swap.h)
 */
export function maxSwapfilesFor(cfg: SwapTypeConfig = {}): number {
  const device = cfg.devicePrivate === false ? 0 : 3;
  const migration = cfg.migration === false ? 0 : 3;
  const hwpoison = cfg.memoryFailure === false ? 0 : 1;
  const pteMarker = 1;
  return (1 << MAX_SWAPFILES_SHIFT) - device - migration - hwpoison - pteMarker;
}

/** MAX_SWAPFILES with DEVICE_PRIVATE, MIGRATION and MEMORY_FAILURE on: 24. */
export const MAX_SWAPFILES_DEFAULT = maxSwapfilesFor();

/**
 * Build an entry from a type and an offset.
 * @throws MmError EINVAL when either is out of range.
 * @kernel swp_entry (include/linux/swapops.h)
 */
export function swpEntry(type: number, offset: number): number {
  if (!(type >= 0 && type < 1 << MAX_SWAPFILES_SHIFT) || !Number.isInteger(type)) {
    throw new MmError('EINVAL', `swap: swp_entry type ${type} out of range 0..31`);
  }
  if (!(offset >= 0 && offset <= SWP_OFFSET_MASK) || !Number.isInteger(offset)) {
    throw new MmError('EINVAL', `swap: swp_entry offset ${offset} out of range`);
  }
  return type * TYPE_MUL + offset;
}

/** Unchecked {@link swpEntry} for hot paths (caller guarantees the ranges). */
export function mkSwpEntry(type: number, offset: number): number {
  return type * TYPE_MUL + offset;
}

/** Swap device index (type) of `entry`. @kernel swp_type (include/linux/swapops.h) */
export function swpType(entry: number): number {
  // the quotient is below 32: a truncating conversion is exact and cheap
  return (entry / TYPE_MUL) | 0;
}

/** Slot offset of `entry` within its device. @kernel swp_offset (include/linux/swapops.h) */
export function swpOffset(entry: number): number {
  return entry - ((entry / TYPE_MUL) | 0) * TYPE_MUL;
}

/** `type:offset` in hex, as a debugging aid. */
export function swpEntryString(entry: number): string {
  return `${swpType(entry)}:0x${swpOffset(entry).toString(16)}`;
}
