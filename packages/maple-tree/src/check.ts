/**
 * DOC: argument checks of the public entry points.
 *
 * Every exported function validates what it is given before it touches a
 * tree or an allocator: indices are safe integers in [0, MAPLE_MAX] (the
 * kernel's `unsigned long` cannot be negative, fractional or NaN), GFP masks
 * are 32-bit unsigned integers (`gfp_t`), flags use only the bits of
 * `ma_flags`, trees are live `Mtree` objects. A bad argument throws a
 * {@link MapleTreeError} with code `EINVAL` whose message names the function
 * and the argument; nothing has changed when it is thrown. Semantic errors of
 * well-formed arguments (first > last, a zero size) keep the kernel's
 * negative errno returns.
 */
import { MapleTreeError } from './errors.js';

/** `MAPLE_MAX` (tree.ts), copied: this module imports nothing of the tree's. */
const MAX = Number.MAX_SAFE_INTEGER;

/** A short, never-throwing description of a bad value for an error message. */
export function describeValue(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return `${String(v)}n`;
    case 'string':
      return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
    case 'undefined':
      return 'undefined';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return v === null ? 'null' : 'an object';
  }
}

/** True for an index: a safe integer in [0, MAPLE_MAX] (NaN, strings and BigInts fail; Math.floor inlines where Number.isInteger is a call). */
export function isIndex(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v <= MAX && Math.floor(v) === v;
}

/** Throw the EINVAL of a bad argument. */
export function badArg(fn: string, what: string, v: unknown, expected: string): never {
  throw new MapleTreeError('EINVAL', `maple_tree: ${fn}: ${what} (${describeValue(v)}) is not ${expected}`);
}

/** Check an index argument (`unsigned long`). */
export function checkIndex(fn: string, what: string, v: unknown): asserts v is number {
  if (!isIndex(v)) badArg(fn, what, v, 'an index (a non-negative safe integer)');
}

/** Check a count or size argument (a safe integer >= 0). */
export function checkCount(fn: string, what: string, v: unknown): asserts v is number {
  if (!isIndex(v)) badArg(fn, what, v, 'a count (a safe integer >= 0)');
}

/** Check a GFP mask (`gfp_t`: an unsigned 32-bit integer). */
export function checkGfp(fn: string, gfp: unknown): asserts gfp is number {
  if (typeof gfp !== 'number' || gfp >>> 0 !== gfp) badArg(fn, 'gfp', gfp, 'a GFP mask (an unsigned 32-bit integer)');
}

/** Check that `o` is a non-null object (an out-parameter cell or cursor). */
export function checkObject(fn: string, what: string, o: unknown): asserts o is object {
  if (typeof o !== 'object' || o === null) badArg(fn, what, o, 'an object');
}

/** Check that `f` is a function (a callback). */
export function checkFunction(fn: string, what: string, f: unknown): asserts f is (...args: never[]) => unknown {
  if (typeof f !== 'function') badArg(fn, what, f, 'a function');
}
