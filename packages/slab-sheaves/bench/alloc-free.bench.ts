/**
 * DOC: alloc+free pairs on one CPU: a cache with percpu sheaves against the
 * same cache without sheaves (per-CPU slab freelist and slow paths), and
 * against a bare Int32Array handle stack (the floor: push/pop of a handle).
 * Two patterns: strict pairs (alloc then free at once) and batches (64
 * allocations, then 64 frees in shuffled order), which push the no-sheaf
 * cache through its slow paths.
 */
import { createMachine, GFP_KERNEL, Prng } from '@mm/machine';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import { createSlabEnv, createSlubAllocator, kmemCacheAlloc, kmemCacheCreate, kmemCacheFree } from '../src/index.js';

const suite = new BenchSuite('@mm/slab-sheaves: alloc+free');
const machine = createMachine({});
// a production kernel: no CONFIG_LOCKDEP
machine.lockdep.enabled = false;
const slab = createSlubAllocator(createSlabEnv(machine));
const withSheaves = kmemCacheCreate(slab, 'sheaves-64', 64, { sheafCapacity: 32 });
const without = kmemCacheCreate(slab, 'plain-64', 64);
const N = 1000;
let sink = 0;

function pairs(s: typeof without): () => void {
  return () => {
    let x = 0;
    for (let i = 0; i < N; i++) {
      const o = kmemCacheAlloc(s, GFP_KERNEL);
      x ^= o;
      kmemCacheFree(s, o);
    }
    sink ^= x;
  };
}

const stack = new Int32Array(4096);
let top = 0;
for (let i = 0; i < 4096; i++) stack[top++] = i;
const bare = await suite.time(
  'bare Int32Array handle stack pop+push',
  () => {
    let x = 0;
    for (let i = 0; i < N; i++) {
      const o = stack[--top]!;
      x ^= o;
      stack[top++] = o;
    }
    sink ^= x;
  },
  { opsPerCall: N },
);
const sh = await suite.time('pairs: sheaves (capacity 32)', pairs(withSheaves), { opsPerCall: N });
const pl = await suite.time('pairs: no sheaves', pairs(without), { opsPerCall: N });
suite.record({
  name: 'pairs: sheaves alloc+free',
  value: sh.nsPerOp,
  unit: 'ns/pair',
  reference: 'bare handle stack (same run)',
  ratio: sh.nsPerOp / bare.nsPerOp,
});
suite.record({
  name: 'pairs: no sheaves alloc+free',
  value: pl.nsPerOp,
  unit: 'ns/pair',
  reference: 'bare handle stack (same run)',
  ratio: pl.nsPerOp / bare.nsPerOp,
});
/** Virtual ns (the machine's cost model) charged to the CPU per alloc+free pair. */
function virtualNsPerPair(s: typeof without): number {
  const cpu = machine.currentCpu;
  const n = 10_000;
  const before = machine.account.busyNs[cpu] ?? 0;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    x ^= o;
    kmemCacheFree(s, o);
  }
  sink ^= x;
  return ((machine.account.busyNs[cpu] ?? 0) - before) / n;
}
const vSh = virtualNsPerPair(withSheaves);
const vPl = virtualNsPerPair(without);
suite.record({
  name: 'pairs: sheaves alloc+free (virtual)',
  value: vSh,
  unit: 'virtual ns/pair',
  reference: 'no sheaves (same run)',
  ratio: vPl > 0 ? vSh / vPl : 0,
});
suite.record({ name: 'pairs: no sheaves alloc+free (virtual)', value: vPl, unit: 'virtual ns/pair' });
suite.record({
  name: 'pairs: speed-up of sheaves',
  value: pl.nsPerOp / sh.nsPerOp,
  unit: 'x',
  reference: 'target >= 2x',
});

const B = 64;
const prng = new Prng(42);
const order = new Int32Array(B);
const objs = new Float64Array(B);
function batches(s: typeof without): () => void {
  return () => {
    for (let r = 0; r < N / B; r++) {
      for (let i = 0; i < B; i++) objs[i] = kmemCacheAlloc(s, GFP_KERNEL);
      for (let i = 0; i < B; i++) order[i] = i;
      for (let i = B - 1; i > 0; i--) {
        const j = prng.below(i + 1);
        const t = order[i]!;
        order[i] = order[j]!;
        order[j] = t;
      }
      for (let i = 0; i < B; i++) kmemCacheFree(s, objs[order[i]!]!);
    }
  };
}
const opsB = Math.floor(N / B) * B;
const sb = await suite.time('batches of 64: sheaves', batches(withSheaves), { opsPerCall: opsB });
const pb = await suite.time('batches of 64: no sheaves', batches(without), { opsPerCall: opsB });
suite.record({
  name: 'batches: sheaves alloc+free',
  value: sb.nsPerOp,
  unit: 'ns/pair',
  reference: 'bare handle stack (same run)',
  ratio: sb.nsPerOp / bare.nsPerOp,
});
suite.record({
  name: 'batches: no sheaves alloc+free',
  value: pb.nsPerOp,
  unit: 'ns/pair',
  reference: 'bare handle stack (same run)',
  ratio: pb.nsPerOp / bare.nsPerOp,
});
suite.record({
  name: 'batches: speed-up of sheaves',
  value: pb.nsPerOp / sb.nsPerOp,
  unit: 'x',
  reference: 'target >= 2x',
});
if (sink === 0.5) console.log(sink);
suite.finish();
