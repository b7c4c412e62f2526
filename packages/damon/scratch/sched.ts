import { createMachine } from '@mm/machine';

const machine = createMachine({ seed: 1 });
machine.lockdep.enabled = false;
const t0 = performance.now();
let n = 0;
machine.sched.kthreadRun('x', 0, (t) => {
  n++;
  return machine.sched.scheduleTimeout(t, 5e6);
});
machine.sched.runUntil(60e9);
console.log(
  'sched only 60s:',
  (performance.now() - t0).toFixed(1),
  'ms',
  n,
  'fired',
  machine.clock.nrFired,
  machine.topology.nrCpus,
);
const m2 = createMachine({ seed: 1 });
const t1 = performance.now();
m2.sched.runUntil(60e9);
console.log('idle 60s:', (performance.now() - t1).toFixed(1), 'ms fired', m2.clock.nrFired);
