import { createMachine } from '@mm/machine';
import { createDamon, damonAddTarget, damonNewCtx, damonNewTarget, damonStart, damonVaddrOps } from '../src/index.js';
import { SyntheticAddressSpace, syntheticVaddrEnv } from '../src/synthetic/address-space.js';

const machine = createMachine({ seed: 1 });
machine.lockdep.enabled = false;
const damon = createDamon(machine);
const space = new SyntheticAddressSpace({ machine });
space.map(0x7f0000000000, 0x7f0000000000 + 99999744, 'a');
space.map(0x1000, 0x2000, 'x');
space.map(0x7fff00000000, 0x7fff00001000, 's');
const ctx = damonNewCtx(machine.prng.stream('damon'));
ctx.ops = damonVaddrOps(syntheticVaddrEnv([space], machine));
damonAddTarget(ctx, damonNewTarget(space.pid));
damonStart(damon, [ctx], false);
for (let s = 10; s <= 80; s += 10) {
  const t0 = performance.now();
  const p0 = ctx.passedSampleIntervals;
  machine.sched.runUntil(s * 1e9);
  const dt = performance.now() - t0;
  console.log(
    s,
    'us/sample',
    ((dt * 1000) / (ctx.passedSampleIntervals - p0)).toFixed(2),
    ctx.adaptiveTargets[0]!.nrRegions,
    machine.clock.nrFired,
  );
}
