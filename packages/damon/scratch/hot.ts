import { createMachine } from '@mm/machine';
import {
  createDamon,
  damonAddTarget,
  damonNewCtx,
  damonNewTarget,
  damonStart,
  damonVaddrOps,
  kdamondMergeRegions,
  kdamondResetAggregated,
  kdamondSplitRegions,
} from '../src/index.js';
import { SyntheticAddressSpace, syntheticVaddrEnv } from '../src/synthetic/address-space.js';

const machine = createMachine({ seed: 1 });
const space = new SyntheticAddressSpace({ machine });
space.map(0x7f0000000000, 0x7f0000000000 + 99999744, 'a');
space.map(0x1000, 0x2000, 'x');
space.map(0x7fff00000000, 0x7fff00001000, 's');
const ctx = damonNewCtx(machine.prng.stream('damon'));
ctx.ops = damonVaddrOps(syntheticVaddrEnv([space], machine));
const t = damonNewTarget(space.pid);
damonAddTarget(ctx, t);
ctx.ops.init!(ctx);
console.log('regions', t.nrRegions);
const N = 20000;
let t0 = performance.now();
for (let i = 0; i < N; i++) {
  ctx.ops.prepareAccessChecks!(ctx);
  ctx.ops.checkAccesses!(ctx);
}
console.log('prepare+check per sample us', (((performance.now() - t0) * 1000) / N).toFixed(2));
const damon = { splitLastNrRegions: 0 };
t0 = performance.now();
for (let i = 0; i < N; i++) {
  kdamondMergeRegions(ctx, 0, 1e12);
  kdamondResetAggregated(ctx);
  kdamondSplitRegions(ctx, damon);
}
console.log('merge+reset+split per aggregation us', (((performance.now() - t0) * 1000) / N).toFixed(2), t.nrRegions);
for (let rep = 0; rep < 3; rep++) {
  t0 = performance.now();
  for (let i = 0; i < N; i++) ctx.ops.prepareAccessChecks!(ctx);
  const a = performance.now() - t0;
  t0 = performance.now();
  for (let i = 0; i < N; i++) ctx.ops.checkAccesses!(ctx);
  const b = performance.now() - t0;
  console.log('prepare us', ((a * 1000) / N).toFixed(2), 'check us', ((b * 1000) / N).toFixed(2), t.nrRegions);
}
