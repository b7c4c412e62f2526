/**
 * DOC: the kernel's integer arithmetic as DAMON uses it (include/linux/math.h
 * `mult_frac()`, include/linux/math64.h `mul_u64_u64_shr()`, and C's
 * `unsigned int` / `unsigned long` wrap-around), exact on float64 numbers.
 *
 * The model keeps addresses, sizes and counters in float64 numbers, which
 * are exact up to 2^53. Products in the kernel's formulas can pass that
 * (size × nr_accesses, age × aggr_interval, the feedback loop's inputs up
 * to ULONG_MAX), so the helpers here answer with the kernel's result for
 * every input: exact float arithmetic while it stays below 2^53, BigInt
 * with 64-bit wrap-around (as C's `unsigned long`) only past that, which
 * happens on cold paths or not at all in practice. The per-sample helpers
 * ({@link mulHi32}, {@link mulShr64}) never allocate.
 */

/** 2^32 */
const TWO32 = 0x1_0000_0000;
/** 2^53: below it float64 integer arithmetic is exact. */
export const EXACT = 2 ** 53;
/** `ULONG_MAX` as a bigint. */
export const ULONG_MAX_N = (1n << 64n) - 1n;

/** `(a * b) mod 2^32`, as C `unsigned int` multiplication. */
export function u32mul(a: number, b: number): number {
  return Math.imul(a, b) >>> 0;
}

/**
 * `floor(a * b / 2^32)` for `a`, `b` in [0, 2^32): the high half of a
 * 32 × 32-bit product, exact (split into 16-bit halves so every partial
 * product stays below 2^53).
 */
export function mulHi32(a: number, b: number): number {
  const aHi = Math.floor(a / 65536);
  const aLo = a - aHi * 65536;
  // a*b / 2^32 = (aHi*b + aLo*b / 2^16) / 2^16; dropping the fraction of
  // aLo*b / 2^16 cannot change the floor as aHi*b is an integer.
  return Math.floor((aHi * b + Math.floor((aLo * b) / 65536)) / 65536);
}

/**
 * `(u64)(hi:lo) * span >> 64` for a 64-bit value given as two u32 halves and
 * `span` < 2^53, exact.
 * @kernel mul_u64_u64_shr (include/linux/math64.h), with shift 64
 */
export function mulShr64(hi: number, lo: number, span: number): number {
  const s1 = Math.floor(span / TWO32);
  const s0 = span - s1 * TWO32;
  // (hi*2^32 + lo) * (s1*2^32 + s0) >> 64
  //   = hi*s1 + ((hi*s0 + lo*s1) * 2^32 + lo*s0) >> 64
  const p1h = mulHi32(hi, s0);
  const p1l = u32mul(hi, s0);
  const p2 = lo * s1; // < 2^53
  const p2h = Math.floor(p2 / TWO32);
  const p2l = p2 - p2h * TWO32;
  const p3h = mulHi32(lo, s0);
  return hi * s1 + p1h + p2h + Math.floor((p1l + p2l + p3h) / TWO32);
}

/**
 * `mult_frac(x, n, d)` in `unsigned int`: `x / d * n + x % d * n / d`, each
 * product wrapping at 2^32.
 * @kernel mult_frac (include/linux/math.h)
 */
export function multFracU32(x: number, n: number, d: number): number {
  const q = Math.floor(x / d);
  const r = x - q * d;
  return (u32mul(q, n) + Math.floor(u32mul(r, n) / d)) >>> 0;
}

/**
 * `mult_frac(x, n, d)` in `unsigned long` (64-bit, wrapping), for x, n,
 * d < 2^64 given as numbers (exact below 2^53) or bigints.
 * @kernel mult_frac (include/linux/math.h)
 */
export function multFracU64(x: number | bigint, n: number | bigint, d: number | bigint): bigint {
  const X = BigInt(x);
  const N = BigInt(n);
  const D = BigInt(d);
  const q = X / D;
  const r = X % D;
  return BigInt.asUintN(64, BigInt.asUintN(64, q * N) + BigInt.asUintN(64, r * N) / D);
}

/** `a * b` in `unsigned long` (wrapping at 2^64), as a number when exact. */
export function mulU64(a: number, b: number): number {
  const p = a * b;
  if (p < EXACT) return p;
  return Number(BigInt.asUintN(64, BigInt(a) * BigInt(b)));
}

/** A u64 bigint as a number (rounded past 2^53; every caller documents where that can happen). */
export function toNumber(x: bigint): number {
  return Number(x);
}

/** `abs((int)(a - b))` on two `unsigned int`s, as the kernel's abs() sees the wrapped difference. */
export function absDiffU32(a: number, b: number): number {
  return Math.abs((a - b) | 0);
}

/**
 * `(a * szA + b * szB) / (szA + szB)` in `unsigned long` (the size-weighted
 * average damon_merge_two_regions() takes), for `unsigned int` a, b.
 */
export function weightedAvgU64(a: number, szA: number, b: number, szB: number): number {
  const sum = a * szA + b * szB;
  if (sum < EXACT) return Math.floor(sum / (szA + szB));
  const n = BigInt.asUintN(64, BigInt(a) * BigInt(szA) + BigInt(b) * BigInt(szB));
  return Number(n / BigInt.asUintN(64, BigInt(szA + szB)));
}

/** `a * b / d` in `unsigned long` (the product wrapping at 2^64), exact. */
export function mulDivU64(a: number, b: number, d: number): number {
  const p = a * b;
  if (p < EXACT) return Math.floor(p / d);
  return Number(BigInt.asUintN(64, BigInt(a) * BigInt(b)) / BigInt(d));
}
