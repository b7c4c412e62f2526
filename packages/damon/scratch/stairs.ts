import { createMachine } from '@mm/machine';
import {
  createDamon,
  damonAddTarget,
  damonNewCtx,
  damonNewTarget,
  damonRegions,
  damonStart,
  damonVaddrOps,
} from '../src/index.js';
import { SyntheticAddressSpace, syntheticVaddrEnv } from '../src/synthetic/address-space.js';
import { MASIM_STAIRS_CFG, MasimWorkload, parseMasimConfig } from '../src/synthetic/masim.js';

const machine = createMachine({ seed: 1 });
machine.lockdep.enabled = false;
const damon = createDamon(machine);
const space = new SyntheticAddressSpace({ machine });
const wl = new MasimWorkload(parseMasimConfig(MASIM_STAIRS_CFG), space);
const ctx = damonNewCtx(machine.prng.stream('damon'));
ctx.ops = damonVaddrOps(syntheticVaddrEnv([space], machine));
damonAddTarget(ctx, damonNewTarget(space.pid));
let nAgg = 0;
ctx.trace.damonAggregated = (c, ti, t, r, nr, now) => {
  if (r === t.first) nAgg++;
};
console.log(damonStart(damon, [ctx], false));
const t0 = performance.now();
for (let s = 1; s <= 70; s += 3) {
  machine.sched.runUntil(s * 1e9);
  const regs = damonRegions(ctx.adaptiveTargets[0]!);
  const hot = regs
    .filter((r) => r.lastNrAccesses > 5)
    .map(
      (r) =>
        `${((r.start - wl.regions[9]!.start) / 1e6).toFixed(1)}-${((r.end - wl.regions[9]!.start) / 1e6).toFixed(1)}:${r.lastNrAccesses}`,
    );
  console.log(s, regs.length, wl.phaseLog.at(-1)?.name, hot.slice(0, 8).join(' '));
}
console.log(
  'host ms',
  performance.now() - t0,
  'aggs',
  nAgg,
  'busy',
  ctx.kdamondBusyNs / 1e6,
  'ms',
  'running',
  ctx.kdamond !== null,
);
