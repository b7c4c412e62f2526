import { damonRegions, damonStart } from '../src/index.js';
import { stairsCfg, standalone } from '../test/helpers/standalone.js';

const s = standalone(stairsCfg(5, 8 << 20, 2000));
damonStart(s.damon, [s.ctx], false);
for (const t of [1.5e9, 1.6e9, 3.5e9]) {
  s.machine.sched.runUntil(t);
  const hot = s.workload.regions[t < 2e9 ? 0 : 1]!;
  console.log(s.workload.phaseLog, hot.start.toString(16));
  for (const r of damonRegions(s.ctx.adaptiveTargets[0]!))
    if (r.end > hot.start - (1 << 22) && r.start < hot.start + hot.sizeBytes + (1 << 22))
      console.log(
        r.start.toString(16),
        r.end.toString(16),
        (r.end - r.start) >> 12,
        r.lastNrAccesses,
        r.nrAccesses,
        r.age,
      );
}
