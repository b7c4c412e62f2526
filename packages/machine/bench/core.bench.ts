/**
 * DOC: the core machinery: lock acquire/release pairs (with and without the
 * lockdep checker), the localtry_lock fast path, RCU callback throughput,
 * the clock's event queue and scheduler steps. References measured in the
 * same run: a bare Int32Array flag set/clear (the floor for any lock model
 * in JS) and a plain JS array push/shift (the floor for a callback queue).
 */
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  ClockEvent,
  createMachine,
  LocalTryLock,
  localtryTrylock,
  localtryUnlock,
  Mutex,
  mutexLock,
  mutexUnlock,
  SCHED_AGAIN,
  SCHED_EXIT,
  SpinLock,
  spinLock,
  spinLockIrqsave,
  spinUnlock,
  spinUnlockIrqrestore,
} from '../src/index.js';

const suite = new BenchSuite('@mm/machine: core (locks, RCU, clock, scheduler)');
const N = 10_000;
let sink = 0;

// Reference: a bare flag in a typed array.
const flags = new Int32Array(64);
const ref = await suite.time(
  'reference: Int32Array flag set+clear',
  () => {
    for (let i = 0; i < N; i++) {
      flags[i & 63] = 1;
      sink += flags[i & 63]!;
      flags[i & 63] = 0;
    }
  },
  { opsPerCall: N },
);

for (const checked of [true, false]) {
  const m = createMachine();
  m.lockdep.enabled = checked;
  const l = new SpinLock(m, 'bench_lock');
  const r = await suite.time(
    `spin_lock+spin_unlock (lockdep ${checked ? 'on' : 'off'})`,
    () => {
      for (let i = 0; i < N; i++) {
        spinLock(l);
        spinUnlock(l);
      }
    },
    { opsPerCall: N },
  );
  suite.record({
    name: `spin_lock+unlock pair, lockdep ${checked ? 'on' : 'off'}`,
    value: r.nsPerOp,
    unit: 'ns/op',
    reference: 'Int32Array flag set+clear (same run)',
    ratio: r.nsPerOp / ref.nsPerOp,
  });
}

{
  const m = createMachine();
  const l = new SpinLock(m, 'irq_bench_lock');
  const r = await suite.time(
    'spin_lock_irqsave+unlock_irqrestore (lockdep on)',
    () => {
      for (let i = 0; i < N; i++) {
        const f = spinLockIrqsave(l);
        spinUnlockIrqrestore(l, f);
      }
    },
    { opsPerCall: N },
  );
  suite.record({ name: 'spin_lock_irqsave pair, lockdep on', value: r.nsPerOp, unit: 'ns/op' });
}

{
  const m = createMachine();
  const l = new LocalTryLock(m, 'sheaves.lock');
  const r = await suite.time(
    'localtry_trylock+localtry_unlock (lockdep on)',
    () => {
      for (let i = 0; i < N; i++) {
        if (localtryTrylock(l)) localtryUnlock(l);
      }
    },
    { opsPerCall: N },
  );
  suite.record({
    name: 'localtry_trylock+unlock pair, lockdep on',
    value: r.nsPerOp,
    unit: 'ns/op',
    reference: 'Int32Array flag set+clear (same run)',
    ratio: r.nsPerOp / ref.nsPerOp,
  });
}

{
  const m = createMachine();
  const mu = new Mutex(m, 'bench_mutex');
  const r = await suite.time(
    'mutex_lock+mutex_unlock uncontended (lockdep on)',
    () => {
      for (let i = 0; i < N; i++) {
        mutexLock(mu);
        mutexUnlock(mu);
      }
    },
    { opsPerCall: N },
  );
  suite.record({ name: 'mutex_lock+unlock pair, uncontended, lockdep on', value: r.nsPerOp, unit: 'ns/op' });
}

// RCU: queue N callbacks over 4 CPUs, then rcu_barrier (grace periods + invocation).
{
  const m = createMachine();
  let invoked = 0;
  const cb = (x: number): void => {
    invoked += x;
  };
  const r = await suite.time(
    'call_rcu x N + rcu_barrier',
    () => {
      for (let i = 0; i < N; i++) {
        m.currentCpu = i & 3;
        m.rcu.callRcu(cb, 1);
      }
      m.currentCpu = 0;
      m.rcu.rcuBarrier();
    },
    { opsPerCall: N },
  );
  const q: number[] = [];
  const rq = await suite.time(
    'reference: array push+shift',
    () => {
      for (let i = 0; i < N; i++) q.push(i);
      while (q.length > 0) sink += q.shift()!;
    },
    { opsPerCall: N },
  );
  suite.record({
    name: 'RCU callback queued+invoked (incl. grace periods)',
    value: r.nsPerOp,
    unit: 'ns/op',
    reference: 'JS array push+shift (same run)',
    ratio: r.nsPerOp / rq.nsPerOp,
  });
  suite.record({ name: 'RCU callbacks per second', value: r.opsPerSec, unit: 'cb/s' });
  sink += invoked;
}

// Clock: schedule N events at pseudo-random times and fire them all.
{
  const m = createMachine();
  const rng = m.prng.stream('bench');
  let fired = 0;
  const events = Array.from({ length: N }, () => new ClockEvent(() => fired++));
  const r = await suite.time(
    'clock schedule+fire',
    () => {
      const base = m.clock.now;
      for (let i = 0; i < N; i++) m.clock.schedule(events[i]!, base + rng.below(1_000_000));
      while (m.clock.fireNext()) {}
    },
    { opsPerCall: N },
  );
  suite.record({ name: 'clock event schedule+fire (heap of 10k)', value: r.nsPerOp, unit: 'ns/op' });
  sink += fired;
}

// Scheduler: 64 tasks on 4 CPUs doing N steps in total.
{
  const r = await suite.time(
    'scheduler steps',
    () => {
      const m = createMachine();
      let left = N;
      for (let i = 0; i < 64; i++) m.sched.kthreadRun(`t${i}`, i & 3, () => (--left > 0 ? SCHED_AGAIN : SCHED_EXIT));
      m.sched.runUntil(1e15);
      sink += left;
    },
    { opsPerCall: N },
  );
  suite.record({ name: 'scheduler step (64 tasks, 4 CPUs)', value: r.nsPerOp, unit: 'ns/op' });
}

// Scheduler on the large preset: 512 tasks on 256 CPUs (the CPU heap keeps the pick O(log n)).
{
  const r = await suite.time(
    'scheduler steps, 256 CPUs',
    () => {
      const m = createMachine({ preset: 'large' });
      let left = N;
      for (let i = 0; i < 512; i++) m.sched.kthreadRun(`t${i}`, i & 255, () => (--left > 0 ? SCHED_AGAIN : SCHED_EXIT));
      m.sched.runUntil(1e15);
      sink += left;
    },
    { opsPerCall: N },
  );
  suite.record({
    name: 'scheduler step (512 tasks, 256 CPUs, incl. machine creation)',
    value: r.nsPerOp,
    unit: 'ns/op',
  });
}

if (sink === 0.5) console.log(sink);
suite.finish();
