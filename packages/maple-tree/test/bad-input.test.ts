/**
 * DOC: a probe of every public entry point with bad arguments (issue 9):
 * indices that are negative, NaN, fractional, infinite, above MAPLE_MAX or
 * not numbers; bad sizes, counts, GFP masks and flags; objects that are not
 * trees; the pool allocator's double and bogus frees. Each bad call must be
 * rejected (a `MapleTreeError` whose message names the argument, or a
 * negative errno from a kernel-style call) and must leave the tree, the
 * allocator's accounting and the node memory exactly as they were.
 */
import { describe, expect, it } from 'vitest';
import {
  __mtDestroy,
  __mtDup,
  GFP_KERNEL,
  MAPLE_MAX,
  MapleNodeStore,
  MaplePoolAllocator,
  MapleRcuQueue,
  MapleTree,
  MapleTreeError,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  Mtree,
  mapleErrnoName,
  masErase,
  masStore,
  masWalk,
  mtAttr,
  mtClearInRcu,
  mtDump,
  mtExternalLock,
  mtFind,
  mtFindAfter,
  mtForEach,
  mtHeight,
  mtInitFlags,
  mtInRcu,
  mtIsAlloc,
  mtNext,
  mtPrev,
  mtreeAllocCyclic,
  mtreeAllocRange,
  mtreeAllocRrange,
  mtreeDestroy,
  mtreeDup,
  mtreeEmpty,
  mtreeErase,
  mtreeInit,
  mtreeInsert,
  mtreeInsertRange,
  mtreeLoad,
  mtreeLock,
  mtreeStore,
  mtreeStoreRange,
  mtreeUnlock,
  mtSetExternalLock,
  mtSetInRcu,
  mtStats,
  mtToJSON,
  mtValidate,
  mtWriteLocked,
} from '../src/index.js';

/** Values that are not indices (a non-negative safe integer up to MAPLE_MAX). */
const BAD_INDEX: readonly unknown[] = [-1, Number.NaN, 1.5, Number.POSITIVE_INFINITY, -0.5, 2 ** 53, '7', null, {}, 5n];
/** Values that are not GFP masks. */
const BAD_GFP: readonly unknown[] = [-1, Number.NaN, 1.5, 2 ** 32, 'GFP_KERNEL', null];
/** Values that are not tree flags. */
const BAD_FLAGS: readonly unknown[] = [-1, Number.NaN, 0.5, 1 << 20, 'x'];

interface Fixture {
  mt: Mtree;
  pool: MaplePoolAllocator;
  mas: MaState;
}

function fixture(): Fixture {
  const pool = new MaplePoolAllocator(new MapleNodeStore(64));
  const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE, { allocator: pool });
  for (let i = 0; i < 200; i++) mtreeStoreRange(mt, i * 100 + 10, i * 100 + 60, i + 1);
  return { mt, pool, mas: new MaState(mt, 0) };
}

interface Probe {
  /** What is called, with which argument bad. */
  name: string;
  /** The argument the error message must name (thrown errors). */
  arg: string;
  call: (f: Fixture) => unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: the probes pass values of the wrong type on purpose
type Any = any;

const probes: Probe[] = [];
function forBad(values: readonly unknown[], name: string, arg: string, call: (f: Fixture, v: Any) => unknown): void {
  for (const v of values) probes.push({ name: `${name} [${arg} = ${describeValue(v)}]`, arg, call: (f) => call(f, v) });
}
function describeValue(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return '{}';
  return String(v);
}

// Normal API.
forBad(BAD_INDEX, 'mtreeLoad', 'index', (f, v) => mtreeLoad(f.mt, v));
forBad(BAD_INDEX, 'mtreeStoreRange', 'first', (f, v) => mtreeStoreRange(f.mt, v, 10_000, 'x'));
forBad(BAD_INDEX, 'mtreeStoreRange', 'last', (f, v) => mtreeStoreRange(f.mt, 5, v, 'x'));
forBad(BAD_GFP, 'mtreeStoreRange', 'gfp', (f, v) => mtreeStoreRange(f.mt, 5, 7, 'x', v));
forBad(BAD_INDEX, 'mtreeStore', 'index', (f, v) => mtreeStore(f.mt, v, 'x'));
forBad(BAD_INDEX, 'mtreeInsertRange', 'first', (f, v) => mtreeInsertRange(f.mt, v, 5, 'x'));
forBad(BAD_INDEX, 'mtreeInsertRange', 'last', (f, v) => mtreeInsertRange(f.mt, 0, v, 'x'));
forBad(BAD_GFP, 'mtreeInsertRange', 'gfp', (f, v) => mtreeInsertRange(f.mt, 0, 5, 'x', v));
forBad(BAD_INDEX, 'mtreeInsert', 'index', (f, v) => mtreeInsert(f.mt, v, 'x'));
forBad(BAD_INDEX, 'mtreeErase', 'index', (f, v) => mtreeErase(f.mt, v));
for (const [name, fn] of [
  ['mtreeAllocRange', mtreeAllocRange],
  ['mtreeAllocRrange', mtreeAllocRrange],
] as const) {
  forBad(BAD_INDEX, name, 'size', (f, v) => fn(f.mt, { start: 0 }, 'x', v, 0, 100_000));
  forBad(BAD_INDEX, name, 'min', (f, v) => fn(f.mt, { start: 0 }, 'x', 5, v, 100_000));
  forBad(BAD_INDEX, name, 'max', (f, v) => fn(f.mt, { start: 0 }, 'x', 5, 0, v));
  forBad(BAD_GFP, name, 'gfp', (f, v) => fn(f.mt, { start: 0 }, 'x', 5, 0, 100_000, v));
  forBad([null, 5], name, 'startp', (f, v) => fn(f.mt, v, 'x', 5, 0, 100_000));
}
forBad(BAD_INDEX, 'mtreeAllocCyclic', 'rangeLo', (f, v) =>
  mtreeAllocCyclic(f.mt, { value: 0 }, 'x', v, 100, { value: 0 }),
);
forBad(BAD_INDEX, 'mtreeAllocCyclic', 'rangeHi', (f, v) =>
  mtreeAllocCyclic(f.mt, { value: 0 }, 'x', 0, v, { value: 0 }),
);
forBad(BAD_INDEX, 'mtreeAllocCyclic', 'next', (f, v) =>
  mtreeAllocCyclic(f.mt, { value: 0 }, 'x', 0, 100, { value: v }),
);
forBad(BAD_GFP, 'mtreeAllocCyclic', 'gfp', (f, v) =>
  mtreeAllocCyclic(f.mt, { value: 0 }, 'x', 0, 100, { value: 0 }, v),
);
forBad([null, 7], 'mtreeAllocCyclic', 'startp', (f, v) => mtreeAllocCyclic(f.mt, v, 'x', 0, 100, { value: 0 }));
forBad(BAD_INDEX, 'mtFind', 'cursor.index', (f, v) => mtFind(f.mt, { index: v }, 1000));
forBad(BAD_INDEX, 'mtFind', 'max', (f, v) => mtFind(f.mt, { index: 0 }, v));
forBad([null, 3], 'mtFind', 'cursor', (f, v) => mtFind(f.mt, v, 1000));
forBad(BAD_INDEX, 'mtFindAfter', 'cursor.index', (f, v) => mtFindAfter(f.mt, { index: v }, 1000));
forBad(BAD_INDEX, 'mtFindAfter', 'max', (f, v) => mtFindAfter(f.mt, { index: 5 }, v));
forBad(BAD_INDEX, 'mtForEach', 'index', (f, v) => mtForEach(f.mt, () => {}, v, 1000));
forBad(BAD_INDEX, 'mtForEach', 'max', (f, v) => mtForEach(f.mt, () => {}, 0, v));
forBad([null, 'f'], 'mtForEach', 'fn', (f, v) => mtForEach(f.mt, v));
forBad(BAD_INDEX, 'mtNext', 'index', (f, v) => mtNext(f.mt, v, 1000));
forBad(BAD_INDEX, 'mtNext', 'max', (f, v) => mtNext(f.mt, 5, v));
forBad(BAD_INDEX, 'mtPrev', 'index', (f, v) => mtPrev(f.mt, v, 0));
forBad(BAD_INDEX, 'mtPrev', 'min', (f, v) => mtPrev(f.mt, 500, v));
forBad([null, {}, 7], 'mtreeDup', 'dst', (f, v) => mtreeDup(f.mt, v));
forBad(BAD_GFP, 'mtreeDup', 'gfp', (f, v) => mtreeDup(f.mt, mtreeInit(MT_FLAGS_ALLOC_RANGE), v));
forBad(BAD_FLAGS, 'mtInitFlags', 'flags', (f, v) => mtInitFlags(f.mt, v));
forBad(BAD_FLAGS, 'mtreeInit', 'flags', (_f, v) => mtreeInit(v));
for (const [name, call] of [
  ['mtreeLoad', (t: Any) => mtreeLoad(t, 0)],
  ['mtreeStoreRange', (t: Any) => mtreeStoreRange(t, 0, 1, 'x')],
  ['mtreeErase', (t: Any) => mtreeErase(t, 0)],
  ['mtForEach', (t: Any) => mtForEach(t, () => {})],
  ['mtValidate', (t: Any) => mtValidate(t)],
  ['MaState', (t: Any) => new MaState(t, 0)],
  // The attribute and lock helpers (include/linux/maple_tree.h).
  ['mtHeight', (t: Any) => mtHeight(t)],
  ['mtAttr', (t: Any) => mtAttr(t)],
  ['mtIsAlloc', (t: Any) => mtIsAlloc(t)],
  ['mtInRcu', (t: Any) => mtInRcu(t)],
  ['mtSetInRcu', (t: Any) => mtSetInRcu(t)],
  ['mtClearInRcu', (t: Any) => mtClearInRcu(t)],
  ['mtExternalLock', (t: Any) => mtExternalLock(t)],
  ['mtSetExternalLock', (t: Any) => mtSetExternalLock(t, { isHeld: () => true })],
  ['mtreeLock', (t: Any) => mtreeLock(t)],
  ['mtreeUnlock', (t: Any) => mtreeUnlock(t)],
  ['mtWriteLocked', (t: Any) => mtWriteLocked(t)],
  ['mtreeEmpty', (t: Any) => mtreeEmpty(t)],
  ['mtreeDestroy', (t: Any) => mtreeDestroy(t)],
  ['__mtDestroy', (t: Any) => __mtDestroy(t)],
  ['mtDump', (t: Any) => mtDump(t)],
  ['mtStats', (t: Any) => mtStats(t)],
  ['mtToJSON', (t: Any) => mtToJSON(t)],
] as const)
  forBad([null, {}, 3, 'mt'], name, 'mt', (_f, v) => call(v));
forBad(
  [null, 3, {}, { isHeld: 1 }, { isHeld: () => true, isWriteHeld: 'yes' }],
  'mtSetExternalLock',
  'checker',
  (f, v) => mtSetExternalLock(f.mt, v),
);
forBad([3, 'x'], 'mtreeInit', 'opts', (_f, v) => mtreeInit(0, v));
forBad([3, 'x', {}, { store: new MapleNodeStore(4) }], 'mtreeInit', 'opts.allocator', (_f, v) =>
  mtreeInit(0, { allocator: v }),
);
forBad([3, {}, { callRcu: 1 }], 'mtreeInit', 'opts.rcu', (_f, v) => mtreeInit(0, { rcu: v }));
forBad([1, 'yes'], 'mtreeInit', 'opts.lockdep', (_f, v) => mtreeInit(0, { lockdep: v }));
forBad(BAD_FLAGS, 'new Mtree', 'flags', (_f, v) => new Mtree(v));
forBad([3, {}], 'new Mtree', 'opts.allocator', (_f, v) => new Mtree(0, { allocator: v }));
forBad([-1, Number.NaN, 1.5, 'x', 2 ** 40], 'new MapleNodeStore', 'capacity', (_f, v) => new MapleNodeStore(v));
forBad([3, 'x', {}], 'new MaplePoolAllocator', 'store', (_f, v) => new MaplePoolAllocator(v));
forBad([3, 'x'], 'new MapleTree', 'opts', (_f, v) => new MapleTree(v));
forBad([null, 3], 'MapleRcuQueue.callRcu', 'cb', (_f, v) => new MapleRcuQueue().callRcu(v));
forBad([Number.NaN, 1.5, 'x'], 'mapleErrnoName', 'errno', (_f, v) => mapleErrnoName(v));
forBad([3, 'x', {}], 'mtDump', 'format', (f, v) => mtDump(f.mt, v));
forBad([null, {}, 3], 'masStore', 'mas', (_f, v) => masStore(v, 'x'));
forBad([null, {}, 3], 'masErase', 'mas', (_f, v) => masErase(v));
forBad([null, {}, 3], 'masWalk', 'mas', (_f, v) => masWalk(v));
forBad([null, {}, 3], '__mtDup', 'dst', (f, v) => __mtDup(f.mt, v));

// Advanced API: the constructor, the setters, the limits of each step, and a
// state whose public index/last fields were set to bad values directly.
forBad(BAD_INDEX, 'new MaState', 'first', (f, v) => new MaState(f.mt, v));
forBad(BAD_INDEX, 'new MaState', 'last', (f, v) => new MaState(f.mt, 0, v));
forBad(BAD_INDEX, 'MaState.set', 'index', (f, v) => f.mas.set(v));
forBad(BAD_INDEX, 'MaState.setRange', 'first', (f, v) => f.mas.setRange(v, 5));
forBad(BAD_INDEX, 'MaState.setRange', 'last', (f, v) => f.mas.setRange(5, v));
for (const step of ['find', 'findRange', 'next', 'nextRange'] as const)
  forBad(BAD_INDEX, `MaState.${step}`, 'max', (f, v) => f.mas[step](v));
for (const step of ['findRev', 'findRangeRev', 'prev', 'prevRange'] as const)
  forBad(BAD_INDEX, `MaState.${step}`, 'min', (f, v) => {
    f.mas.set(5000);
    return f.mas[step](v);
  });
const fieldOps: Array<[string, (m: MaState) => unknown]> = [
  ['walk', (m) => m.walk()],
  ['find', (m) => m.find(MAPLE_MAX)],
  ['findRev', (m) => m.findRev(0)],
  ['next', (m) => m.next(MAPLE_MAX)],
  ['prev', (m) => m.prev(0)],
  ['store', (m) => m.store('x')],
  ['storeGfp', (m) => m.storeGfp('x')],
  ['preallocate', (m) => m.preallocate('x')],
  ['erase', (m) => m.erase()],
];
for (const [op, call] of fieldOps) {
  forBad(BAD_INDEX, `MaState.${op} after mas.index = v`, 'index', (f, v) => {
    const m = new MaState(f.mt, 30);
    m.index = v;
    try {
      return call(m);
    } finally {
      m.destroy();
    }
  });
  forBad(BAD_INDEX, `MaState.${op} after mas.last = v`, 'last', (f, v) => {
    const m = new MaState(f.mt, 30);
    m.last = v;
    try {
      return call(m);
    } finally {
      m.destroy();
    }
  });
}
forBad(BAD_GFP, 'MaState.storeGfp', 'gfp', (f, v) => {
  f.mas.setRange(5, 7);
  return f.mas.storeGfp('x', v);
});
forBad(BAD_GFP, 'MaState.preallocate', 'gfp', (f, v) => {
  f.mas.setRange(5, 7);
  try {
    return f.mas.preallocate('x', v);
  } finally {
    f.mas.destroy();
  }
});
forBad(BAD_GFP, 'MaState.nomem', 'gfp', (f, v) => f.mas.nomem(v));
for (const op of ['emptyArea', 'emptyAreaRev'] as const) {
  forBad(BAD_INDEX, `MaState.${op}`, 'min', (f, v) => f.mas[op](v, 100_000, 5));
  forBad(BAD_INDEX, `MaState.${op}`, 'max', (f, v) => f.mas[op](0, v, 5));
  forBad(BAD_INDEX, `MaState.${op}`, 'size', (f, v) => f.mas[op](0, 100_000, v));
}
forBad([...BAD_INDEX, 2 ** 31 + 0.5], 'MaState.expectedEntries', 'nrEntries', (f, v) => {
  try {
    return f.mas.expectedEntries(v);
  } finally {
    f.mas.destroy();
  }
});

// The pool allocator: frees of handles it does not hold, sheaf misuse.
forBad([-1, 0, Number.NaN, 1.5, 1e6, 'x'], 'MaplePoolAllocator.free', 'node', (f, v) => f.pool.free(v));
forBad([0], 'MaplePoolAllocator.free (double free)', 'node', (f) => {
  const n = f.pool.alloc(GFP_KERNEL);
  f.pool.free(n);
  f.pool.free(n);
});
forBad([-1, Number.NaN, 1.5, 'x'], 'MaplePoolAllocator.prefillSheaf', 'count', (f, v) =>
  f.pool.prefillSheaf(v, GFP_KERNEL),
);
forBad(BAD_GFP, 'MaplePoolAllocator.prefillSheaf', 'gfp', (f, v) => f.pool.prefillSheaf(2, v));
forBad([0], 'MaplePoolAllocator.returnSheaf (twice)', 'sheaf', (f) => {
  const s = f.pool.prefillSheaf(2, GFP_KERNEL)!;
  f.pool.returnSheaf(s);
  f.pool.returnSheaf(s);
});
forBad([null, { size: 3 }], 'MaplePoolAllocator.allocFromSheaf', 'sheaf', (f, v) => f.pool.allocFromSheaf(v));
forBad([null, { size: 3 }], 'MaplePoolAllocator.returnSheaf', 'sheaf', (f, v) => f.pool.returnSheaf(v));
forBad(BAD_GFP, 'MaplePoolAllocator.alloc', 'gfp', (f, v) => f.pool.alloc(v));

// The idiomatic MapleTree<T> (its tree shares the fixture's allocator).
function mapleOf(f: Fixture): MapleTree<number> {
  const t = new MapleTree<number>({ allocator: f.pool });
  t.setRange(10, 20, 1).setRange(40, 50, 2);
  return t;
}
forBad(BAD_INDEX, 'MapleTree.get', 'index', (f, v) => mapleOf(f).get(v));
forBad(BAD_INDEX, 'MapleTree.set', 'index', (f, v) => mapleOf(f).set(v, 1));
forBad(BAD_INDEX, 'MapleTree.setRange', 'first', (f, v) => mapleOf(f).setRange(v, 3, 1));
forBad(BAD_INDEX, 'MapleTree.deleteRange', 'last', (f, v) => mapleOf(f).deleteRange(0, v));
forBad(BAD_INDEX, 'MapleTree.findGap', 'size', (f, v) => mapleOf(f).findGap(v));
forBad(BAD_INDEX, 'MapleTree.findGap', 'min', (f, v) => mapleOf(f).findGap(5, { min: v }));
forBad(BAD_INDEX, 'MapleTree.allocCyclic', 'max', (f, v) => mapleOf(f).allocCyclic(1, { max: v }));
forBad(BAD_INDEX, 'MapleTree.forEach', 'min', (f, v) => mapleOf(f).forEach(() => {}, v));

/** What one probe did: rejected cleanly, or how it failed to. */
function runProbe(p: Probe): string | null {
  const f = fixture();
  const before = JSON.stringify(mtToJSON(f.mt));
  const inUse = f.pool.inUse;
  let outcome: string | null = null;
  try {
    const r = p.call(f);
    if (typeof r === 'number' && r < 0) outcome = null;
    else if (p.name.startsWith('MaState.') && p.name.includes(' after ') && f.mas.isErr()) outcome = null;
    else outcome = `accepted (returned ${typeof r === 'object' ? 'an object' : String(r)})`;
  } catch (e) {
    if (!MapleTreeError.isInstance(e)) outcome = `threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
    else if (!e.message.startsWith('maple_tree:')) outcome = `message without the subsystem: ${e.message}`;
    else if (!e.message.includes(p.arg)) outcome = `message does not name ${p.arg}: ${e.message}`;
  }
  f.mas.destroy();
  try {
    mtValidate(f.mt);
  } catch (e) {
    return `${outcome ?? 'rejected'}, and broke the tree: ${(e as Error).message}`;
  }
  if (JSON.stringify(mtToJSON(f.mt)) !== before) return `${outcome ?? 'rejected'}, and changed the tree`;
  if (f.pool.inUse !== inUse && !p.name.startsWith('MapleTree.'))
    return `${outcome ?? 'rejected'}, and changed the allocator (${inUse} -> ${f.pool.inUse} nodes in use)`;
  return outcome;
}

describe('bad input (issue 9 probe)', () => {
  it(`rejects every one of ${probes.length} bad calls with a typed error or errno, state unchanged`, () => {
    const failures: string[] = [];
    for (const p of probes) {
      const r = runProbe(p);
      if (r !== null) failures.push(`${p.name}: ${r}`);
    }
    if (failures.length > 0) console.log(`${failures.length} of ${probes.length} bad calls not rejected cleanly`);
    if (process.env.MM_PROBE_LIST) console.log(failures.join('\n'));
    expect(failures).toEqual([]);
  });

  it('mas_expected_entries(2^31) answers -ENOMEM at once and allocates nothing', () => {
    const f = fixture();
    const inUse = f.pool.inUse;
    const t0 = performance.now();
    expect(f.mas.expectedEntries(2 ** 31)).toBe(-12);
    f.mas.destroy();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(f.pool.inUse).toBe(inUse);
    expect(f.pool.store.capacity).toBeLessThan(1 << 16);
  });

  it('after rejected bad frees the pool hands out no node twice', () => {
    const f = fixture();
    const n = f.pool.alloc(GFP_KERNEL);
    f.pool.free(n);
    expect(() => f.pool.free(n)).toThrow(MapleTreeError);
    expect(() => f.pool.free(-1)).toThrow(MapleTreeError);
    const a = f.pool.alloc(GFP_KERNEL);
    const b = f.pool.alloc(GFP_KERNEL);
    expect(a).not.toBe(b);
    // A second tree on the same pool keeps its own entries.
    const other = mtreeInit(MT_FLAGS_ALLOC_RANGE, { allocator: f.pool });
    for (let i = 0; i < 100; i++) mtreeStoreRange(other, i * 10, i * 10 + 5, -i - 1);
    for (let i = 0; i < 200; i++) expect(mtreeLoad(f.mt, i * 100 + 30)).toBe(i + 1);
    for (let i = 0; i < 100; i++) expect(mtreeLoad(other, i * 10 + 2)).toBe(-i - 1);
    mtValidate(f.mt);
    mtValidate(other);
  });

  it('new MaState(mt, NaN, NaN).storeGfp(x) is rejected and mtreeLoad(mt, -1) does not read index 0', () => {
    const mt = mtreeInit(MT_FLAGS_ALLOC_RANGE);
    mtreeStore(mt, 0, 'zero');
    mtreeStoreRange(mt, 10, 20, 'a');
    expect(() => new MaState(mt, Number.NaN, Number.NaN).storeGfp('x')).toThrow(/first/);
    const m = new MaState(mt, 0);
    m.index = Number.NaN;
    m.last = Number.NaN;
    expect(() => m.storeGfp('x')).toThrow(MapleTreeError);
    mtValidate(mt);
    expect(() => mtreeLoad(mt, -1)).toThrow(/index/);
    expect(mtreeLoad(mt, 0)).toBe('zero');
  });
});
