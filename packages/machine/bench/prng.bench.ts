/**
 * DOC: the seeded PRNG against V8's Math.random (a reference only: the model
 * itself never calls Math.random). Figures: ns per 32-bit draw and per
 * below(n) draw.
 */
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import { Prng } from '../src/index.js';

const suite = new BenchSuite('@mm/machine: prng');
const N = 10_000;
const p = new Prng(1);
let sink = 0;

const ours = await suite.time(
  'prng nextU32',
  () => {
    let s = 0;
    for (let i = 0; i < N; i++) s ^= p.nextU32();
    sink ^= s;
  },
  { opsPerCall: N },
);
const ref = await suite.time(
  'Math.random',
  () => {
    let s = 0;
    for (let i = 0; i < N; i++) s ^= (Math.random() * 0x1_0000_0000) >>> 0;
    sink ^= s;
  },
  { opsPerCall: N },
);
suite.record({
  name: 'prng nextU32',
  value: ours.nsPerOp,
  unit: 'ns/op',
  reference: 'Math.random (same run)',
  ratio: ours.nsPerOp / ref.nsPerOp,
});
const below = await suite.time(
  'prng below(1000)',
  () => {
    let s = 0;
    for (let i = 0; i < N; i++) s += p.below(1000);
    sink ^= s;
  },
  { opsPerCall: N },
);
suite.record({ name: 'prng below(1000)', value: below.nsPerOp, unit: 'ns/op' });
if (sink === 0.5) console.log(sink);
suite.finish();
