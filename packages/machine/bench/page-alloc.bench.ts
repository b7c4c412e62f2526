/**
 * DOC: page allocator figures: order-0 allocPages+freePages pairs (the pcp
 * fast path) against a bare Int32Array free-stack pop/push measured in the
 * same run (the physical limit for handle allocation in JS; target: within
 * 4x), and the same pairs at order 3 and order 9 (THP pcp list), and a
 * buddy-only order-10 pair. Each pair also reports its virtual ns (the
 * busy time the cost model charged per pair: the zone and pcp locks).
 */
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import { createMachine, GFP_HIGHUSER_MOVABLE, GFP_KERNEL } from '../src/index.js';

const suite = new BenchSuite('@mm/machine: page allocator');
const N = 10_000;
const m = createMachine({ seed: 1 });
const pa = m.mem;
let sink = 0;

/** Virtual ns charged per call of `fn` (one pass of `n` pairs, outside the timed runs). */
function virtualNsPerPair(fn: () => void, n: number): number {
  const before = m.account.totalBusyNs();
  fn();
  return (m.account.totalBusyNs() - before) / n;
}

// Warm up: materialize the first sections and fill the pcp lists.
for (let i = 0; i < 1000; i++) pa.freePages(pa.allocPages(GFP_KERNEL, 0), 0);

const order0 = () => {
  let s = 0;
  for (let i = 0; i < N; i++) {
    const pfn = pa.allocPages(GFP_KERNEL, 0);
    pa.freePages(pfn, 0);
    s += pfn;
  }
  sink ^= s;
};
const pair = await suite.time('allocPages+freePages order 0', order0, { opsPerCall: N });
const pairVirtual = virtualNsPerPair(order0, N);

const stack = new Int32Array(262_144);
let top = 0;
for (let i = 0; i < stack.length; i++) stack[top++] = i;
const ref = await suite.time(
  'Int32Array free-stack pop+push',
  () => {
    let s = 0;
    for (let i = 0; i < N; i++) {
      const h = stack[--top] as number;
      stack[top++] = h;
      s += h;
    }
    sink ^= s;
  },
  { opsPerCall: N },
);
suite.record({
  name: 'order-0 allocPages+freePages pair',
  value: pair.nsPerOp,
  unit: 'ns/op',
  reference: 'Int32Array free-stack pop+push (same run)',
  ratio: pair.nsPerOp / ref.nsPerOp,
});
suite.record({ name: 'Int32Array free-stack pop+push', value: ref.nsPerOp, unit: 'ns/op' });
suite.record({ name: 'order-0 allocPages+freePages pair, virtual', value: pairVirtual, unit: 'virtual ns/op' });

for (const [order, gfp] of [
  [3, GFP_KERNEL],
  [9, GFP_HIGHUSER_MOVABLE],
  [10, GFP_HIGHUSER_MOVABLE],
] as const) {
  const pairs = () => {
    let s = 0;
    for (let i = 0; i < 1000; i++) {
      const pfn = pa.allocPages(gfp, order);
      pa.freePages(pfn, order);
      s += pfn;
    }
    sink ^= s;
  };
  const r = await suite.time(`allocPages+freePages order ${order}`, pairs, { opsPerCall: 1000 });
  suite.record({ name: `order-${order} allocPages+freePages pair`, value: r.nsPerOp, unit: 'ns/op' });
  suite.record({
    name: `order-${order} allocPages+freePages pair, virtual`,
    value: virtualNsPerPair(pairs, 1000),
    unit: 'virtual ns/op',
  });
}
m.validate();
if (sink === 0.5) console.log(sink);
suite.finish();
