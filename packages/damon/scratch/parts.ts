import { createMachine } from '@mm/machine';
import { createDamon, damonAddTarget, damonNewCtx, damonNewTarget, damonStart, damonVaddrOps } from '../src/index.js';
import { SyntheticAddressSpace, syntheticVaddrEnv } from '../src/synthetic/address-space.js';
import { MASIM_STAIRS_CFG, MasimWorkload, parseMasimConfig } from '../src/synthetic/masim.js';

{
  const space = new SyntheticAddressSpace({});
  new MasimWorkload(parseMasimConfig(MASIM_STAIRS_CFG), space);
  const t0 = performance.now();
  for (let t = 0; t < 60e9; t += 5e6) space.advanceTo(t);
  console.log('workload only 60s:', (performance.now() - t0).toFixed(1), 'ms');
}
{
  const machine = createMachine({ seed: 1 });
  machine.lockdep.enabled = false;
  const t0 = performance.now();
  let n = 0;
  machine.sched.kthreadRun('x', 0, (t) => {
    n++;
    return machine.sched.scheduleTimeout(t, 5e6);
  });
  machine.sched.runUntil(60e9);
  console.log('sched only 60s:', (performance.now() - t0).toFixed(1), 'ms', n);
}
for (const wl of [false, true]) {
  const machine = createMachine({ seed: 1 });
  machine.lockdep.enabled = false;
  const damon = createDamon(machine);
  const space = new SyntheticAddressSpace({ machine });
  if (wl) new MasimWorkload(parseMasimConfig(MASIM_STAIRS_CFG), space);
  else {
    space.map(0x7f0000000000, 0x7f0000000000 + 100e6 - (100e6 % 4096), 'a');
    space.map(0x1000, 0x2000, 'x');
    space.map(0x7fff00000000, 0x7fff00001000, 's');
  }
  const ctx = damonNewCtx(machine.prng.stream('damon'));
  ctx.ops = damonVaddrOps(syntheticVaddrEnv([space], machine));
  damonAddTarget(ctx, damonNewTarget(space.pid));
  damonStart(damon, [ctx], false);
  const t0 = performance.now();
  machine.sched.runUntil(50e9);
  console.log(
    'damon',
    wl ? 'with' : 'without',
    'workload 50s:',
    (performance.now() - t0).toFixed(1),
    'ms',
    ctx.passedSampleIntervals,
    ctx.adaptiveTargets[0]!.nrRegions,
  );
}
