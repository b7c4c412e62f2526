/**
 * DOC: page-table entry values (`pte_t`, `pmd_t`, `pud_t`, `p4d_t`, `pgd_t`,
 * `pgprot_t`) as two 32-bit words.
 *
 * Entries are 64 bits wide on every architecture modelled here except x86
 * 32-bit (whose 32-bit entries use `lo` only). JavaScript numbers hold 53
 * bits and `BigInt` is too slow for hot paths, so a value is a pair of
 * signed 32-bit words: `lo` holds bits 0..31, `hi` bits 32..63, both kept as
 * int32 (what an `Int32Array` load gives, so V8 keeps them as small integers).
 * The kernel passes `pte_t` by value; here a {@link PteVal} is a small mutable
 * box the caller owns and the `pte_mk*` style helpers update in place
 * (`codec.pteMkdirty(v)` is `pte = pte_mkdirty(pte)`). Nothing on a hot path
 * allocates one: callers keep a few and reuse them.
 *
 * Raw bits are for the architecture codecs, the kernel-diff fixtures and
 * tests. Other packages read entries through the typed view
 * (`PteView`, see `pte-view.ts`).
 */

/** A 64-bit page-table entry or protection value (`pte_t`, `pgprot_t`, ...). */
export class PteVal {
  /** Bits 0..31 (int32). */
  lo: number;
  /** Bits 32..63 (int32). */
  hi: number;

  constructor(lo = 0, hi = 0) {
    this.lo = lo | 0;
    this.hi = hi | 0;
  }

  /** Copy `o` into this value. */
  set(o: PteVal): this {
    this.lo = o.lo;
    this.hi = o.hi;
    return this;
  }

  /** Set both words. */
  setWords(lo: number, hi: number): this {
    this.lo = lo | 0;
    this.hi = hi | 0;
    return this;
  }

  /** A new value with the same bits. */
  clone(): PteVal {
    return new PteVal(this.lo, this.hi);
  }

  /**
   * Whether two values are identical.
   * @kernel pte_same (include/linux/pgtable.h)
   */
  same(o: PteVal): boolean {
    return this.lo === o.lo && this.hi === o.hi;
  }

  /** True when every bit is clear (the raw value 0). */
  isZero(): boolean {
    return this.lo === 0 && this.hi === 0;
  }

  /** The value as 16 hexadecimal digits (`0x8000000012345067`). */
  toHex(): string {
    return `0x${(this.hi >>> 0).toString(16).padStart(8, '0')}${(this.lo >>> 0).toString(16).padStart(8, '0')}`;
  }

  /** The value as an unsigned BigInt (tests and tools only: never on a hot path). */
  toBigInt(): bigint {
    return (BigInt(this.hi >>> 0) << 32n) | BigInt(this.lo >>> 0);
  }

  /** Set from an unsigned 64-bit BigInt (tests and tools only). */
  fromBigInt(x: bigint): this {
    const v = BigInt.asUintN(64, x);
    this.lo = Number(v & 0xffffffffn) | 0;
    this.hi = Number(v >> 32n) | 0;
    return this;
  }
}

/** `pgprot_t`: protection bits are entry bits (the kernel's `pgprot_val()`). */
export type PgProt = PteVal;

/** A new zero value. */
export function pteVal(lo = 0, hi = 0): PteVal {
  return new PteVal(lo, hi);
}

/** Parse `0x...` (up to 64 bits) into a new value (tests and tools). */
export function pteValFromHex(hex: string): PteVal {
  return new PteVal().fromBigInt(BigInt(hex));
}

/** Bit `n` (0..63) as a `[lo, hi]` mask pair. */
export function bit64(n: number): readonly [number, number] {
  return n < 32 ? [(1 << n) | 0, 0] : [0, (1 << (n - 32)) | 0];
}

/** 2^32, for joining words into numbers. */
export const TWO_32 = 4294967296;
