/**
 * DOC: the kernel's string-to-number and string compare helpers that sysfs
 * stores use (lib/kstrtox.c, lib/string.c), so a value that the kernel
 * rejects is rejected here with the same errno.
 */

/** Invalid argument. */
export const EINVAL = 22;
/** Result out of range. */
export const ERANGE = 34;
/** Permission denied (writing a read-only attribute). */
export const EACCES = 13;

/** A parse result: the value, or a negative errno. */
export interface KstrtoResult {
  /** 0, or a negative errno (`-EINVAL`, `-ERANGE`). */
  readonly err: number;
  /** The parsed value (0 on error). */
  readonly value: number;
}

const ok = (value: number): KstrtoResult => ({ err: 0, value });
const fail = (err: number): KstrtoResult => ({ err: -err, value: 0 });

/** Strip one trailing newline, as kstrto*() accept. */
function chomp(s: string): string {
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}

/**
 * Parse an unsigned integer with base 0 (0x hex, leading-0 octal, decimal),
 * an optional leading `+` and one trailing newline; limit `max`.
 * @kernel kstrtoull (lib/kstrtox.c)
 */
export function kstrtoull(buf: string, max = 2 ** 64 - 1): KstrtoResult {
  let s = chomp(buf);
  if (s.startsWith('+')) s = s.slice(1);
  let base = 10;
  if (/^0[xX]/.test(s)) {
    base = 16;
    s = s.slice(2);
  } else if (s.length > 1 && s.startsWith('0')) {
    base = 8;
    s = s.slice(1);
  }
  if (s.length === 0) return fail(EINVAL);
  const digits = base === 16 ? /^[0-9a-fA-F]+$/ : base === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!digits.test(s)) return fail(EINVAL);
  const big = BigInt(base === 16 ? `0x${s}` : base === 8 ? `0o${s}` : s);
  if (big > BigInt(max === 2 ** 64 - 1 ? '18446744073709551615' : String(max))) return fail(ERANGE);
  return ok(Number(big));
}

/** Parse an unsigned long as {@link kstrtoull} does. @kernel kstrtoul (include/linux/kstrtox.h) */
export function kstrtoul(buf: string): KstrtoResult {
  return kstrtoull(buf);
}

/** Parse an unsigned int (at most 2^32 - 1) as {@link kstrtoull} does. @kernel kstrtouint (lib/kstrtox.c) */
export function kstrtouint(buf: string): KstrtoResult {
  return kstrtoull(buf, 0xffff_ffff);
}

/**
 * Parse a signed int (base 0), range [-2^31, 2^31 - 1].
 * @kernel kstrtoint (lib/kstrtox.c)
 */
export function kstrtoint(buf: string): KstrtoResult {
  const s = chomp(buf);
  if (s.startsWith('-')) {
    const r = kstrtoull(s.slice(1));
    if (r.err) return r;
    if (r.value > 2 ** 31) return fail(ERANGE);
    return ok(-r.value);
  }
  const r = kstrtoull(s);
  if (r.err) return r;
  if (r.value > 2 ** 31 - 1) return fail(ERANGE);
  return ok(r.value);
}

/**
 * y/Y/t/T/1 → true, n/N/f/F/0 → false, on/off; anything else -EINVAL.
 * @kernel kstrtobool (lib/kstrtox.c)
 */
export function kstrtobool(buf: string): KstrtoResult {
  const c0 = buf[0];
  switch (c0) {
    case 'y':
    case 'Y':
    case 't':
    case 'T':
    case '1':
      return ok(1);
    case 'n':
    case 'N':
    case 'f':
    case 'F':
    case '0':
      return ok(0);
    case 'o':
    case 'O': {
      const c1 = buf[1];
      if (c1 === 'n' || c1 === 'N') return ok(1);
      if (c1 === 'f' || c1 === 'F') return ok(0);
      return fail(EINVAL);
    }
    default:
      return fail(EINVAL);
  }
}

/**
 * String equality ignoring one trailing newline on either side.
 * @kernel sysfs_streq (lib/string.c)
 */
export function sysfsStreq(a: string, b: string): boolean {
  return chomp(a) === chomp(b);
}

/** Format an unsigned long as `%lu` does (values ≥ 2^64 − 1 print as ULONG_MAX). */
export function fmtUl(v: number): string {
  if (v >= 2 ** 64 - 1) return '18446744073709551615';
  return BigInt(Math.trunc(v)).toString();
}
