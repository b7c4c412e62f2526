/**
 * DOC: the vma-mix workload (issue 5), language-neutral and exact, run on the
 * maple tree, sorted-btree (range start as key), js-sdsl OrderedMap and a
 * sorted array with binary search, all in the same process. Prints ops/s per
 * phase with ratios, the four checksums, bytes per stored range after the
 * build phase, tree shape, and the nodes requested during churn with the
 * vacant/sufficient-height preallocation against the old full-height worst case.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrderedMap } from 'js-sdsl';
import BTreeModule from 'sorted-btree';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  MapleNodeStore,
  MaplePoolAllocator,
  MaState,
  MT_FLAGS_ALLOC_RANGE,
  type Mtree,
  mtForEach,
  mtreeErase,
  mtreeInit,
  mtreeLoad,
  mtreeStoreRange,
} from '../src/index.js';
import { mtValidate } from '../src/validate.js';

// sorted-btree is CommonJS with `exports.default`: under Node's ESM interop the
// default import is the exports object.
const BTree = ((BTreeModule as unknown as { default?: typeof BTreeModule }).default ??
  BTreeModule) as typeof BTreeModule;

const N = 100_000;
const PAGE = 4096;
const BASE = 0x10000000;
const LOOKUPS = 1_000_000;
const GAPS = 100_000;
const CHURN = 200_000;
const GAP_LARGE = 200;
const EXPECTED = { checksum1: 3916516830, checksum2: 15384993, checksum3: 759248112, checksum4: 637560877 };

/** xorshift32; the state is kept as an int32 so V8 never boxes it. */
class Xorshift32 {
  x = 2463534242 | 0;
  next(): number {
    let x = this.x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.x = x;
    return x >>> 0;
  }
}

interface RangeMap {
  readonly name: string;
  store(first: number, last: number, value: number): void;
  load(addr: number): number;
  eraseAt(first: number): void;
  /** Lowest a >= min with [a, a + size - 1] empty and <= max; -1 if none. */
  gap(min: number, max: number, size: number): number;
  sum(): number;
}

class MapleMap implements RangeMap {
  readonly name = 'maple tree';
  readonly mt: Mtree;
  private readonly mas: MaState;
  constructor(fullHeight = false) {
    this.mt = mtreeInit(MT_FLAGS_ALLOC_RANGE, {
      allocator: new MaplePoolAllocator(new MapleNodeStore(64)),
      fullHeightPrealloc: fullHeight,
    });
    this.mas = new MaState(this.mt);
  }
  store(first: number, last: number, value: number): void {
    mtreeStoreRange(this.mt, first, last, value);
  }
  load(addr: number): number {
    const v = mtreeLoad(this.mt, addr);
    return v === undefined ? 0 : (v as number);
  }
  eraseAt(first: number): void {
    mtreeErase(this.mt, first);
  }
  gap(min: number, max: number, size: number): number {
    // From the start, as the C driver (a fresh MA_STATE per search) and the
    // kernel's unmapped_area(): a search on an active state continues from it.
    this.mas.reset();
    return this.mas.emptyArea(min, max, size) === 0 ? this.mas.index : -1;
  }
  sum(): number {
    let s = 0;
    mtForEach(this.mt, (e) => {
      s = (s + (e as number)) >>> 0;
    });
    return s;
  }
}

interface Rng {
  last: number;
  value: number;
}

class BTreeMap implements RangeMap {
  readonly name = 'sorted-btree';
  private readonly t = new BTree<number, Rng>();
  private readonly pair: [number, Rng] = [0, { last: 0, value: 0 }];
  store(first: number, last: number, value: number): void {
    this.t.set(first, { last, value });
  }
  load(addr: number): number {
    const p = this.t.getPairOrNextLower(addr, this.pair);
    return p !== undefined && p[1].last >= addr ? p[1].value : 0;
  }
  eraseAt(first: number): void {
    this.t.delete(first);
  }
  gap(min: number, max: number, size: number): number {
    let prev = min;
    const reuse: (number | Rng)[] = [];
    for (const [k, v] of this.t.entries(min, reuse)) {
      if (k - prev >= size) break;
      prev = v.last + 1;
    }
    return prev + size - 1 <= max ? prev : -1;
  }
  sum(): number {
    let s = 0;
    this.t.forEachPair((_k, v) => {
      s = (s + v.value) >>> 0;
    });
    return s;
  }
}

class SdslMap implements RangeMap {
  readonly name = 'js-sdsl OrderedMap';
  private readonly t = new OrderedMap<number, Rng>();
  store(first: number, last: number, value: number): void {
    this.t.setElement(first, { last, value });
  }
  load(addr: number): number {
    const it = this.t.reverseLowerBound(addr);
    if (it.equals(this.t.rEnd())) return 0;
    const v = it.pointer[1];
    return v.last >= addr ? v.value : 0;
  }
  eraseAt(first: number): void {
    this.t.eraseElementByKey(first);
  }
  gap(min: number, max: number, size: number): number {
    let prev = min;
    const end = this.t.end();
    for (let it = this.t.lowerBound(min); !it.equals(end); it.next()) {
      const [k, v] = it.pointer;
      if (k - prev >= size) break;
      prev = v.last + 1;
    }
    return prev + size - 1 <= max ? prev : -1;
  }
  sum(): number {
    let s = 0;
    this.t.forEach(([, v]) => {
      s = (s + v.value) >>> 0;
    });
    return s;
  }
}

/** A sorted array of ranges (three typed arrays) with binary search; one lazily closed hole. */
class SortedArrayMap implements RangeMap {
  readonly name = 'sorted array';
  private firsts = new Float64Array(N + 1);
  private lasts = new Float64Array(N + 1);
  private values = new Int32Array(N + 1);
  private n = 0;
  /** Position of a removed element not yet closed up (-1: none). */
  private hole = -1;
  private close(): void {
    const h = this.hole;
    if (h < 0) return;
    this.firsts.copyWithin(h, h + 1, this.n);
    this.lasts.copyWithin(h, h + 1, this.n);
    this.values.copyWithin(h, h + 1, this.n);
    this.n--;
    this.hole = -1;
  }
  /** First position with firsts[pos] > key (ignores nothing: call close() first). */
  private upper(key: number): number {
    const f = this.firsts;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const m = (lo + hi) >>> 1;
      if (f[m]! <= key) lo = m + 1;
      else hi = m;
    }
    return lo;
  }
  store(first: number, last: number, value: number): void {
    const h = this.hole;
    if (h >= 0 && (h === 0 || this.lasts[h - 1]! < first) && (h + 1 >= this.n || this.firsts[h + 1]! > last)) {
      this.firsts[h] = first;
      this.lasts[h] = last;
      this.values[h] = value;
      this.hole = -1;
      return;
    }
    this.close();
    const p = this.upper(first);
    this.firsts.copyWithin(p + 1, p, this.n);
    this.lasts.copyWithin(p + 1, p, this.n);
    this.values.copyWithin(p + 1, p, this.n);
    this.firsts[p] = first;
    this.lasts[p] = last;
    this.values[p] = value;
    this.n++;
  }
  load(addr: number): number {
    this.close();
    const p = this.upper(addr) - 1;
    return p >= 0 && this.lasts[p]! >= addr ? this.values[p]! : 0;
  }
  eraseAt(first: number): void {
    this.close();
    const p = this.upper(first) - 1;
    if (p >= 0 && this.firsts[p] === first) this.hole = p;
  }
  gap(min: number, max: number, size: number): number {
    this.close();
    let prev = min;
    for (let i = this.upper(min - 1); i < this.n; i++) {
      if (this.firsts[i]! - prev >= size) break;
      prev = this.lasts[i]! + 1;
    }
    return prev + size - 1 <= max ? prev : -1;
  }
  sum(): number {
    this.close();
    let s = 0;
    for (let i = 0; i < this.n; i++) s = (s + this.values[i]!) >>> 0;
    return s;
  }
}

interface PhaseTimes {
  build: number;
  lookup: number;
  gap: number;
  churn: number;
  gapLarge: number;
  iterate: number;
}

interface RunResult {
  opsPerSec: PhaseTimes;
  checksums: typeof EXPECTED;
  churnRequested: number;
  churnBulk: number;
  buildRequested: number;
  bytesPerRange: number;
}

function heapBytes(): number {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function runWorkload(make: () => RangeMap, measureMemory: boolean): RunResult {
  const rng = new Xorshift32();
  const firsts = new Float64Array(N);
  const lasts = new Float64Array(N);
  let cursor = BASE;
  for (let i = 0; i < N; i++) {
    const gapPages = rng.next() % 16;
    const lenPages = 1 + (rng.next() % 64);
    const first = cursor + gapPages * PAGE;
    const last = first + lenPages * PAGE - 1;
    cursor = last + 1;
    firsts[i] = first;
    lasts[i] = last;
  }
  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  for (let i = N - 1; i >= 1; i--) {
    const j = rng.next() % (i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const before = measureMemory ? heapBytes() : 0;
  const map = make();
  const maple = map instanceof MapleMap ? map : null;
  let t0 = performance.now();
  for (let k = 0; k < N; k++) {
    const idx = order[k]!;
    map.store(firsts[idx]!, lasts[idx]!, idx + 1);
  }
  const tBuild = performance.now() - t0;
  const buildRequested = maple ? maple.mt.stats.requested : 0;
  const bytesPerRange = measureMemory ? (heapBytes() - before) / N : 0;

  let checksum1 = 0;
  t0 = performance.now();
  for (let k = 0; k < LOOKUPS; k++) {
    const idx = rng.next() % N;
    const first = firsts[idx]!;
    const addr = k % 4 === 3 ? first - 1 : first + (rng.next() % (lasts[idx]! - first + 1));
    checksum1 = (checksum1 + map.load(addr)) >>> 0;
  }
  const tLookup = performance.now() - t0;

  let checksum2 = 0;
  t0 = performance.now();
  for (let k = 0; k < GAPS; k++) {
    const size = (1 + (rng.next() % 8)) * PAGE;
    const a = map.gap(BASE, cursor - 1, size);
    checksum2 = (checksum2 + (a - BASE) / PAGE) >>> 0;
  }
  const tGap = performance.now() - t0;

  const req0 = maple ? maple.mt.stats.requested : 0;
  const bulk0 = maple ? maple.mt.stats.bulkRequests : 0;
  t0 = performance.now();
  for (let k = 0; k < CHURN; k++) {
    const idx = rng.next() % N;
    const first = firsts[idx]!;
    map.eraseAt(first);
    const newPages = 1 + (rng.next() % ((lasts[idx]! - first + 1) / PAGE));
    const last = first + newPages * PAGE - 1;
    map.store(first, last, idx + 1 + N);
    lasts[idx] = last;
  }
  const tChurn = performance.now() - t0;
  const churnRequested = maple ? maple.mt.stats.requested - req0 : 0;
  const churnBulk = maple ? maple.mt.stats.bulkRequests - bulk0 : 0;

  let checksum4 = 0;
  t0 = performance.now();
  for (let k = 0; k < GAP_LARGE; k++) {
    const size = (64 + (rng.next() % 64)) * PAGE;
    const a = map.gap(BASE, cursor + 2 ** 32 - 1, size);
    checksum4 = (checksum4 + (a - BASE) / PAGE) >>> 0;
  }
  const tGapLarge = performance.now() - t0;

  t0 = performance.now();
  const checksum3 = map.sum();
  const tIter = performance.now() - t0;
  if (maple) mtValidate(maple.mt);
  const ops = (n: number, ms: number) => (n / ms) * 1000;
  return {
    opsPerSec: {
      build: ops(N, tBuild),
      lookup: ops(LOOKUPS, tLookup),
      gap: ops(GAPS, tGap),
      churn: ops(CHURN, tChurn),
      gapLarge: ops(GAP_LARGE, tGapLarge),
      iterate: ops(N, tIter),
    },
    checksums: { checksum1, checksum2, checksum3, checksum4 },
    churnRequested,
    churnBulk,
    buildRequested,
    bytesPerRange,
  };
}

const impls: Array<[string, () => RangeMap]> = [
  ['maple tree', () => new MapleMap()],
  ['sorted-btree', () => new BTreeMap()],
  ['js-sdsl OrderedMap', () => new SdslMap()],
  ['sorted array', () => new SortedArrayMap()],
];
// Round 0 warms the JIT for every implementation and is not timed (its
// checksums are checked and its memory figures kept); the medians come from
// the rounds after it. The slow references run once, in round 0, and are timed there.
const ROUNDS = Number(process.env.MM_VMA_ROUNDS ?? 5);
// The slow references (js-sdsl, the sorted array) run in the first round only.
const SLOW = new Set(['js-sdsl OrderedMap', 'sorted array']);
const ONLY = process.env.MM_VMA_ONLY?.split(',');
const PHASES: Array<keyof PhaseTimes> = ['build', 'lookup', 'gap', 'churn', 'gapLarge', 'iterate'];
const samples = new Map<string, Record<keyof PhaseTimes, number[]>>();
const memory = new Map<string, number>();
for (const [name] of impls) samples.set(name, { build: [], lookup: [], gap: [], churn: [], gapLarge: [], iterate: [] });

for (let round = 0; round < ROUNDS; round++) {
  for (const [name, make] of impls) {
    if (round > 0 && SLOW.has(name)) continue;
    if (ONLY !== undefined && !ONLY.some((o) => name.includes(o))) continue;
    const t0 = performance.now();
    const r = runWorkload(make, round === 0);
    console.error(`vma-mix round ${round}: ${name} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const [k, v] of Object.entries(EXPECTED)) {
      const got = r.checksums[k as keyof typeof EXPECTED];
      if (got !== v) throw new Error(`vma-mix: ${name} ${k} = ${got}, expected ${v}`);
    }
    if (round > 0 || SLOW.has(name) || ROUNDS === 1) for (const p of PHASES) samples.get(name)![p].push(r.opsPerSec[p]);
    if (round === 0) memory.set(name, r.bytesPerRange);
  }
}
const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s[s.length >> 1]!;
};

const suite = new BenchSuite('@mm/maple-tree: vma-mix (checksums match the issue for all four)');
const btree = samples.get('sorted-btree')!;
for (const [name] of impls) {
  const s = samples.get(name)!;
  if (s.build.length === 0) continue;
  for (const p of PHASES) {
    const v = median(s[p]);
    const rec: { name: string; value: number; unit: string; reference?: string; ratio?: number } = {
      name: `vma-mix ${p}: ${name}`,
      value: v,
      unit: p === 'iterate' ? 'entries/s' : 'ops/s',
    };
    if (name !== 'sorted-btree') {
      rec.reference = 'sorted-btree (same run)';
      rec.ratio = v / median(btree[p]);
    }
    suite.record(rec);
  }
  const bytes = memory.get(name) ?? 0;
  const rec: { name: string; value: number; unit: string; reference?: string; ratio?: number } = {
    name: `vma-mix bytes per range after build: ${name}`,
    value: bytes,
    unit: 'B',
  };
  if (name !== 'sorted-btree') {
    rec.reference = 'sorted-btree (same run)';
    rec.ratio = bytes / memory.get('sorted-btree')!;
  }
  suite.record(rec);
}

// Tree shape and the preallocation figures (one more run each way).
const shape = new MapleMap();
{
  const rng = new Xorshift32();
  let cursor = BASE;
  const f = new Float64Array(N);
  const l = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const gp = rng.next() % 16;
    const lp = 1 + (rng.next() % 64);
    f[i] = cursor + gp * PAGE;
    l[i] = f[i]! + lp * PAGE - 1;
    cursor = l[i]! + 1;
  }
  const order = new Int32Array(N);
  for (let i = 0; i < N; i++) order[i] = i;
  for (let i = N - 1; i >= 1; i--) {
    const j = rng.next() % (i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  for (let k = 0; k < N; k++) shape.store(f[order[k]!]!, l[order[k]!]!, order[k]! + 1);
}
const rep = mtValidate(shape.mt);
suite.record({ name: 'vma-mix maple nodes after build', value: rep.nodes, unit: 'nodes', reference: 'kernel: 17184' });
suite.record({ name: 'vma-mix maple height after build', value: rep.height, unit: 'levels', reference: 'kernel: 6' });
const vac = runWorkload(() => new MapleMap(false), false);
const full = runWorkload(() => new MapleMap(true), false);
suite.record({
  name: 'vma-mix churn nodes requested: vacant+sufficient height',
  value: vac.churnRequested,
  unit: 'nodes',
});
suite.record({ name: 'vma-mix churn nodes requested: full height', value: full.churnRequested, unit: 'nodes' });
suite.record({
  name: 'vma-mix churn preallocation reduction',
  value: (1 - vac.churnRequested / full.churnRequested) * 100,
  unit: '%',
  reference: 'seed 000: ~19% (stress-ng mmap)',
});
suite.record({ name: 'vma-mix churn bulk requests (vacant+sufficient)', value: vac.churnBulk, unit: 'requests' });
suite.record({
  name: 'vma-mix build nodes requested: vacant+sufficient / full height',
  value: vac.buildRequested / full.buildRequested,
  unit: 'ratio',
});

// The kernel's own lib/maple_tree.c on the same workload, when its userspace
// build exists (kernel-diff/build.sh; not part of a normal install): the
// "within 3x of the kernel's C maple tree" figures, from the same machine and
// run. Its userspace kmem_cache is the kernel's test shim (malloc per node).
const kernelBin =
  process.env.MM_KERNEL_VMA_MIX ?? join(dirname(fileURLToPath(import.meta.url)), '../kernel-diff/.build/vma-mix');
if (existsSync(kernelBin)) {
  const kernelPhase: Record<string, keyof PhaseTimes> = {
    build: 'build',
    lookup: 'lookup',
    gap: 'gap',
    churn: 'churn',
    'gap-large': 'gapLarge',
    iterate: 'iterate',
  };
  const runs: Array<Partial<Record<keyof PhaseTimes, number>>> = [];
  let nodes = 0;
  for (let i = 0; i < 3; i++) {
    const out = execFileSync(kernelBin, { encoding: 'utf8' });
    const r: Partial<Record<keyof PhaseTimes, number>> = {};
    for (const line of out.split('\n')) {
      const m = /^(\S+)\s+\d+ ops\s+[\d.]+ s\s+(\d+) ops\/s/.exec(line);
      const phase = m === null ? undefined : kernelPhase[m[1]!];
      if (m !== null && phase !== undefined) r[phase] = Number(m[2]);
      const n = /^nodes (\d+)/.exec(line);
      if (n !== null) nodes = Number(n[1]);
      const c = /^checksum1 (\d+) checksum2 (\d+) checksum3 (\d+) checksum4 (\d+)/.exec(line);
      if (c !== null) {
        const got = [c[1], c[2], c[3], c[4]].map(Number);
        const want = [EXPECTED.checksum1, EXPECTED.checksum2, EXPECTED.checksum3, EXPECTED.checksum4];
        if (got.some((g, k) => g !== want[k])) throw new Error(`vma-mix: kernel C checksums ${got.join(' ')}`);
      }
    }
    runs.push(r);
  }
  const maple = samples.get('maple tree')!;
  for (const p of PHASES) {
    const vals = runs.map((r) => r[p] ?? 0);
    const k = median(vals);
    suite.record({ name: `vma-mix ${p}: kernel C (lib/maple_tree.c, userspace -O2)`, value: k, unit: 'ops/s' });
    if (maple.build.length > 0)
      suite.record({
        name: `vma-mix ${p}: maple tree / kernel C`,
        value: median(maple[p]) / k,
        unit: 'ratio',
        reference: 'target >= 0.33 (within 3x)',
      });
  }
  suite.record({ name: 'vma-mix kernel C nodes after build', value: nodes, unit: 'nodes' });
} else {
  console.error(`vma-mix: no kernel C build at ${kernelBin} (kernel-diff/build.sh makes one); kernel ratios skipped`);
}
suite.finish();
