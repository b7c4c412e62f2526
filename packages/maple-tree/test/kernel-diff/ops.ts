/**
 * DOC: the operation scripts of the kernel differential test.
 *
 * A script is one operation per line; `kernel-diff/kdiff.c` runs it against
 * the kernel's own lib/maple_tree.c and {@link runScript} runs it against this
 * package; both print one answer line per operation and the answers must be
 * identical. Numbers are decimal; `M` is ULONG_MAX (here MAPLE_MAX) and `M-k`
 * is k below it, so ranges at the top of the index space compare too. Values
 * are positive integers (the kernel stores them as `xa_mk_value(v)`); value 0
 * means NULL. An answer after ` | ` describes the tree's shape (height, node
 * count, store type, nodes requested) rather than an API result; the checker
 * reports those separately.
 *
 * | op | arguments | kernel call | answer |
 * | --- | --- | --- | --- |
 * | `init` | flags (1 alloc range, 2 RCU) | mtree_destroy + mt_init_flags | ok |
 * | `st` / `in` | first last value | mtree_store_range / mtree_insert_range | ret |
 * | `er` | index | mtree_erase | entry |
 * | `ld` | index | mtree_load | entry |
 * | `mf` / `mfa` | index max | mt_find / mt_find_after | entry, index after |
 * | `dup` | | mtree_dup into a new tree, which replaces the old one | ret |
 * | `ws` | value | mas_store_gfp over the script state's range (`skip` on a state in ma_error) | ret, index, last, status |
 * | `we` | | mas_erase at the script state's index | entry, index, last, status |
 * | `mn` / `mp` | index limit | mt_next / mt_prev | entry |
 * | `ps` / `rs` | | mas_pause / mas_reset on the script's state | index, last, status |
 * | `ar` / `arr` | size min max value | mtree_alloc_range / mtree_alloc_rrange | ret, start |
 * | `ac` | lo hi next value | mtree_alloc_cyclic | ret, start, next |
 * | `ea` / `ear` | min max size | mas_empty_area / _rev on a new state | ret, index, last |
 * | `es` / `esr` | min max size | mas_empty_area / _rev on the script's state (continues from an active one; `skip` unless start or active) | ret, index, last, status |
 * | `ms` | first last | mas_set_range on the script's state | ok |
 * | `fn` `fr` `nx` `nr` | max | mas_find / _range, mas_next / _range | entry, index, last, status |
 * | `fv` `fvr` `pv` `pr` | min | mas_find_rev / _range_rev, mas_prev / _range | entry, index, last, status |
 * | `wk` | | mas_walk | entry, index, last, status |
 * | `pa` | first last value | mas_preallocate + mas_store_prealloc | ret `|` store type, node request |
 * | `me` | index | mas_erase | entry, index, last |
 * | `hs` | | height and node count | `|` height, nodes |
 * | `vd` | | mt_validate | ok |
 */
import {
  EBUSY,
  EEXIST,
  EINVAL,
  ENOMEM,
  GFP_KERNEL,
  MAPLE_MAX,
  MapleTreeError,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  MT_FLAGS_HEIGHT_MASK,
  MT_FLAGS_USE_RCU,
  type Mtree,
  ma_active,
  ma_error,
  ma_overflow,
  ma_start,
  ma_underflow,
  maple_leaf_64,
  masEmptyArea,
  masEmptyAreaRev,
  masSetRange,
  mtFind,
  mtFindAfter,
  mtHeight,
  mtNext,
  mtPrev,
  mtreeAllocCyclic,
  mtreeAllocRange,
  mtreeAllocRrange,
  mtreeDestroy,
  mtreeDup,
  mtreeErase,
  mtreeInit,
  mtreeInsertRange,
  mtreeLoad,
  mtreeLock,
  mtreeStoreRange,
  mtreeUnlock,
  mtStats,
  mtValidate,
  XA_ZERO_ENTRY,
} from '../../src/index.js';

const ERRNO: Readonly<Record<string, number>> = { EBUSY, EEXIST, EINVAL, ENOMEM };

/** Numbers at or above this print relative to MAPLE_MAX (the C side uses ULONG_MAX - 2^52). */
const NEAR_TOP = MAPLE_MAX - 2 ** 52;

function num(t: string | undefined, line: number): number {
  if (t === undefined) throw new Error(`script line ${line}: missing number`);
  if (t === 'M') return MAPLE_MAX;
  if (t.startsWith('M-')) return MAPLE_MAX - Number(t.slice(2));
  const v = Number(t);
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`script line ${line}: bad number '${t}'`);
  return v;
}

function putNum(v: number): string {
  if (v >= NEAR_TOP) return v === MAPLE_MAX ? 'M' : `M-${MAPLE_MAX - v}`;
  return String(v);
}

function putEntry(e: unknown): string {
  if (e === undefined) return '0';
  if (e === XA_ZERO_ENTRY) return 'Z';
  if (typeof e === 'number') return String(e);
  return '?';
}

function mk(v: number): unknown {
  return v === 0 ? undefined : v;
}

/** A typed error from this package becomes the kernel's negative errno return. */
function errno(fn: () => number): number {
  try {
    return fn();
  } catch (err) {
    if (MapleTreeError.isInstance(err)) {
      const n = ERRNO[err.code];
      if (n !== undefined) return -n;
    }
    throw err;
  }
}

/** Run a script through @mm/maple-tree; one answer per operation line. */
export function runScript(lines: readonly string[]): string[] {
  const out: string[] = [];
  let mt: Mtree = mtreeInit(MT_FLAGS_ALLOC_RANGE);
  let mas = new MaState(mt, 0, 0);
  const state = (e: unknown): string => `${putEntry(e)} ${putNum(mas.index)} ${putNum(mas.last)} s${mas.status}`;
  lines.forEach((line, i) => {
    const lineno = i + 1;
    const t = line.trim().split(/\s+/);
    const op = t[0];
    if (op === undefined || op === '' || op.startsWith('#')) return;
    const a = (k: number): number => num(t[k], lineno);
    if (
      ['fn', 'fr', 'nx', 'nr', 'fv', 'fvr', 'pv', 'pr'].includes(op) &&
      mas.status === ma_active &&
      mt.store.type[mas.node] !== maple_leaf_64
    ) {
      // kdiff.c does not call the kernel on a state left active on an
      // internal node (a failed reverse gap search that ascended).
      out.push('skip');
      return;
    }
    if (
      ['fn', 'fr', 'nx', 'nr', 'fv', 'fvr', 'pv', 'pr'].includes(op) &&
      (mas.status === ma_error ||
        ((mas.status === ma_underflow || mas.status === ma_overflow) && (mas.node === 0 || mt.root === 0)))
    ) {
      // kdiff.c does not call the kernel here (it would dereference a NULL
      // node, or the error a failed es/esr left in the state).
      out.push('skip');
      return;
    }
    switch (op) {
      case 'init': {
        const f = a(1);
        mtreeDestroy(mt);
        mt = mtreeInit((f & 1 ? MT_FLAGS_ALLOC_RANGE : 0) | (f & 2 ? MT_FLAGS_USE_RCU : 0));
        mas = new MaState(mt, 0, 0);
        out.push('ok');
        break;
      }
      case 'st':
      case 'in': {
        const first = a(1);
        const last = a(2);
        const e = mk(a(3));
        const ret = errno(() =>
          op === 'st'
            ? mtreeStoreRange(mt, first, last, e, GFP_KERNEL)
            : mtreeInsertRange(mt, first, last, e, GFP_KERNEL),
        );
        mas.reset();
        out.push(String(ret));
        break;
      }
      case 'er': {
        const e = mtreeErase(mt, a(1));
        mas.reset();
        out.push(putEntry(e));
        break;
      }
      case 'ld':
        out.push(putEntry(mtreeLoad(mt, a(1))));
        break;
      case 'mf': {
        const cursor = { index: a(1) };
        const e = mtFind(mt, cursor, a(2));
        out.push(`${putEntry(e)} ${putNum(cursor.index)}`);
        break;
      }
      case 'mfa': {
        const cursor = { index: a(1) };
        const e = mtFindAfter(mt, cursor, a(2));
        out.push(`${putEntry(e)} ${putNum(cursor.index)}`);
        break;
      }
      case 'dup': {
        const copy = mtreeInit(mt.flags & ~MT_FLAGS_HEIGHT_MASK);
        const ret = mtreeDup(mt, copy, GFP_KERNEL);
        if (ret === 0) {
          mtreeDestroy(mt);
          mt = copy;
        } else {
          mtreeDestroy(copy);
        }
        mas = new MaState(mt, 0, 0);
        out.push(String(ret));
        break;
      }
      case 'ws': {
        const e = mk(a(1));
        if (mas.status === ma_error) {
          out.push('skip');
          break;
        }
        mtreeLock(mt);
        let ret: number;
        try {
          ret = errno(() => mas.storeGfp(e, GFP_KERNEL));
        } finally {
          mtreeUnlock(mt);
        }
        out.push(`${ret} ${putNum(mas.index)} ${putNum(mas.last)} s${mas.status}`);
        break;
      }
      case 'mn':
        out.push(putEntry(mtNext(mt, a(1), a(2))));
        break;
      case 'mp':
        out.push(putEntry(mtPrev(mt, a(1), a(2))));
        break;
      case 'ps':
      case 'rs':
        if (op === 'ps') mas.pause();
        else mas.reset();
        out.push(`${putNum(mas.index)} ${putNum(mas.last)} s${mas.status}`);
        break;
      case 'we': {
        if (mas.status === ma_error) {
          out.push('skip');
          break;
        }
        mtreeLock(mt);
        let e: unknown;
        try {
          e = mas.erase();
        } finally {
          mtreeUnlock(mt);
        }
        out.push(`${putEntry(e)} ${putNum(mas.index)} ${putNum(mas.last)} s${mas.status}`);
        break;
      }
      case 'ar':
      case 'arr': {
        const startp = { start: 0 };
        const size = a(1);
        const min = a(2);
        const max = a(3);
        const e = mk(a(4));
        const ret = errno(() =>
          op === 'ar'
            ? mtreeAllocRange(mt, startp, e, size, min, max, GFP_KERNEL)
            : mtreeAllocRrange(mt, startp, e, size, min, max, GFP_KERNEL),
        );
        mas.reset();
        out.push(`${ret} ${putNum(ret === 0 ? startp.start : 0)}`);
        break;
      }
      case 'ac': {
        const startp = { value: 0 };
        const lo = a(1);
        const hi = a(2);
        const next = { value: a(3) };
        const e = mk(a(4));
        const ret = errno(() => mtreeAllocCyclic(mt, startp, e, lo, hi, next, GFP_KERNEL));
        mas.reset();
        out.push(`${ret} ${putNum(ret < 0 ? 0 : startp.value)} ${putNum(next.value)}`);
        break;
      }
      case 'ea':
      case 'ear': {
        const gas = new MaState(mt, 0, 0);
        const min = a(1);
        const max = a(2);
        const size = a(3);
        const ret = errno(() =>
          op === 'ea' ? masEmptyArea(gas, min, max, size) : masEmptyAreaRev(gas, min, max, size),
        );
        out.push(ret === 0 ? `0 ${putNum(gas.index)} ${putNum(gas.last)}` : String(ret));
        break;
      }
      case 'es':
      case 'esr': {
        const min = a(1);
        const max = a(2);
        const size = a(3);
        if (
          (mas.status !== ma_start && mas.status !== ma_active) ||
          (op === 'esr' && mas.status === ma_active && mas.min > max)
        ) {
          // As kdiff.c: no node to continue from, or (reverse) a node above
          // the window, where the kernel reads out of bounds.
          out.push('skip');
          break;
        }
        const ret = errno(() =>
          op === 'es' ? masEmptyArea(mas, min, max, size) : masEmptyAreaRev(mas, min, max, size),
        );
        out.push(`${ret} ${putNum(mas.index)} ${putNum(mas.last)} s${mas.status}`);
        break;
      }
      case 'ms':
        masSetRange(mas, a(1), a(2));
        out.push('ok');
        break;
      case 'fn':
        out.push(state(mas.find(a(1))));
        break;
      case 'fr':
        out.push(state(mas.findRange(a(1))));
        break;
      case 'nx':
        out.push(state(mas.next(a(1))));
        break;
      case 'nr':
        out.push(state(mas.nextRange(a(1))));
        break;
      case 'fv':
        out.push(state(mas.findRev(a(1))));
        break;
      case 'fvr':
        out.push(state(mas.findRangeRev(a(1))));
        break;
      case 'pv':
        out.push(state(mas.prev(a(1))));
        break;
      case 'pr':
        out.push(state(mas.prevRange(a(1))));
        break;
      case 'wk':
        out.push(state(mas.walk()));
        break;
      case 'pa': {
        const was = new MaState(mt, a(1), a(2));
        const e = mk(a(3));
        mtreeLock(mt);
        let ret: number;
        let type = 0;
        let req = 0;
        try {
          ret = errno(() => was.preallocate(e, GFP_KERNEL));
          type = was.storeType;
          req = was.nodeRequest;
          if (ret === 0) was.storePrealloc(e);
        } finally {
          mtreeUnlock(mt);
        }
        mas.reset();
        out.push(`${ret} | t${type} r${req}`);
        break;
      }
      case 'me': {
        const was = new MaState(mt, a(1), a(1));
        mtreeLock(mt);
        let e: unknown;
        try {
          e = was.erase();
        } finally {
          mtreeUnlock(mt);
        }
        mas.reset();
        out.push(`${putEntry(e)} ${putNum(was.index)} ${putNum(was.last)}`);
        break;
      }
      case 'hs':
        out.push(`| h${mtHeight(mt)} n${mtStats(mt).nodes}`);
        break;
      case 'vd': {
        try {
          mtValidate(mt, { occupancy: false });
          out.push('ok');
        } catch (err) {
          out.push(`invalid: ${(err as Error).message}`);
        }
        break;
      }
      default:
        throw new Error(`script line ${lineno}: unknown operation '${op}'`);
    }
  });
  mtreeDestroy(mt);
  return out;
}

/** xorshift32, for generating scripts. */
class Rng {
  private x: number;
  constructor(seed: number) {
    this.x = seed | 0 || 1;
  }
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x;
    return x >>> 0;
  }
  /** Uniform in [0, n). */
  below(n0: number): number {
    const n = Math.max(1, Math.floor(n0));
    return n <= 2 ** 32 ? this.next() % n : (this.next() * 2 ** 21 + (this.next() >>> 11)) % n;
  }
  chance(p: number): boolean {
    return this.next() < p * 2 ** 32;
  }
}

/** What a generated script exercises. */
export interface ScriptProfile {
  /** Seed of the generator. */
  seed: number;
  /** Operations after the initial fill. */
  ops: number;
  /** Tree flags (1 alloc range, 2 RCU). */
  flags: number;
  /** Indices are drawn mostly from [0, space). */
  space: number;
  /** Ranges stored in ascending order first, to grow the tree. */
  fill: number;
  /** Include `mtree_alloc_cyclic`. */
  cyclic?: boolean;
}

/** Generate a script: a fill phase, then a random mix of every operation. */
export function generateScript(p: ScriptProfile): string[] {
  const r = new Rng(p.seed);
  const out: string[] = [`init ${p.flags}`];
  const space = p.space;
  const alloc = (p.flags & 1) !== 0;
  let value = 1;
  const v = (): number => (r.chance(0.1) ? 0 : value++);
  const idx = (): string => {
    if (r.chance(0.02)) return r.chance(0.5) ? 'M' : `M-${r.below(40)}`;
    if (r.chance(0.01)) return String(space + r.below(space * 16));
    return String(r.below(space));
  };
  const range = (): [string, string] => {
    if (r.chance(0.03)) {
      const k = r.below(60);
      return [`M-${k + r.below(30)}`, k === 0 ? 'M' : `M-${k}`];
    }
    const first = r.below(space);
    const len = r.chance(0.85) ? r.below(12) : r.chance(0.8) ? r.below(space / 8) : r.below(space);
    return [String(first), String(first + len)];
  };
  const gapSize = (): number => (r.chance(0.03) ? 0 : 1 + (r.chance(0.8) ? r.below(8) : r.below(space / 4)));
  for (let i = 0; i < p.fill; i++) {
    const first = i * 10 + r.below(4);
    out.push(`st ${first} ${first + r.below(6)} ${value++}`);
  }
  out.push('vd', 'hs');
  for (let k = 0; k < p.ops; k++) {
    const x = r.below(1000);
    if (x < 260) {
      const [f, l] = range();
      out.push(`st ${f} ${l} ${v()}`);
    } else if (x < 330) {
      const [f, l] = range();
      out.push(`in ${f} ${l} ${value++}`);
    } else if (x < 400) {
      out.push(`er ${idx()}`);
    } else if (x < 480) {
      out.push(`ld ${idx()}`);
    } else if (x < 520) {
      const w = r.below(10);
      if (w < 6) out.push(`${w < 4 ? 'mf' : 'mfa'} ${idx()} ${r.chance(0.2) ? 'M' : idx()}`);
      else if (w < 8) out.push(`mn ${idx()} ${r.chance(0.2) ? 'M' : idx()}`);
      else out.push(`mp ${idx()} ${r.chance(0.2) ? '0' : idx()}`);
      if (r.chance(0.05)) out.push('dup');
    } else if (x < 570) {
      const [lo, hi] = r.chance(0.3) ? ['0', 'M'] : range();
      const op = r.chance(0.5) ? 'ar' : 'arr';
      if (alloc || r.chance(0.1)) out.push(`${op} ${gapSize()} ${lo} ${hi} ${value++}`);
    } else if (x < 590) {
      if (p.cyclic === true && (alloc || r.chance(0.1))) {
        const lo = r.below(space);
        out.push(`ac ${lo} ${lo + r.below(64)} ${r.below(space)} ${value++}`);
      }
    } else if (x < 670) {
      const [lo, hi] = r.chance(0.2) ? ['0', 'M'] : range();
      out.push(`${r.chance(0.5) ? 'ea' : 'ear'} ${lo} ${hi} ${gapSize()}`);
    } else if (x < 820) {
      // The kernel does not guard a state that has not walked yet against a
      // limit on the wrong side: mas_next(max <= last) or mas_prev(min >=
      // index) right after mas_set marks overflow/underflow with no node, and
      // the next mas_next_range / mas_find_range_rev dereferences NULL (7.2).
      // So the first call after `ms` walks with a limit past the range; later
      // calls may run into overflow/underflow freely.
      const f = 1 + r.below(space);
      const l = r.chance(0.7) ? f : f + r.below(12);
      out.push(`ms ${f} ${l}`);
      const n = 1 + r.below(6);
      for (let j = 0; j < n; j++) {
        const ops = ['fn', 'fr', 'nx', 'nr', 'fv', 'fvr', 'pv', 'pr', 'wk'] as const;
        const op = ops[r.below(ops.length)] as string;
        const fwdMax = j === 0 ? l + 1 + r.below(space / 4) : r.chance(0.2) ? l + r.below(space / 4) : r.below(space);
        const revMin = j === 0 ? r.below(f) : r.below(space);
        const u = r.below(100);
        if (op === 'wk') {
          out.push('wk');
          if (r.chance(0.3)) out.push(`ws ${v()}`);
        } else if (u < 8) {
          out.push(r.chance(0.5) ? `ws ${v()}` : 'we');
        } else if (u < 16) {
          out.push(r.chance(0.7) ? 'ps' : 'rs');
        } else if (u < 30) {
          // Successive gap searches on one state (each continues from the last).
          const k = 1 + r.below(4);
          const rev = r.chance(0.5);
          const [lo, hi] = r.chance(0.3) ? ['0', 'M'] : range();
          for (let q = 0; q < k; q++) out.push(`${rev ? 'esr' : 'es'} ${lo} ${hi} ${gapSize()}`);
        } else if (op === 'fn' || op === 'fr' || op === 'nx' || op === 'nr')
          out.push(`${op} ${r.chance(0.2) ? 'M' : String(fwdMax)}`);
        else out.push(`${op} ${r.chance(0.3) ? '0' : String(revMin)}`);
      }
    } else if (x < 920) {
      const [f, l] = range();
      out.push(`pa ${f} ${l} ${v()}`);
    } else if (x < 960) {
      out.push(`me ${idx()}`);
    } else if (x < 990) {
      out.push('hs');
    } else {
      out.push('vd');
    }
  }
  out.push('vd', 'hs');
  return out;
}
