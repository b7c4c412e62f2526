// Tasks, sleeping and spinning locks, RCU, timers and interrupts together:
// random programs must keep mutual exclusion, finish, pass every validator
// before each event/step, and be deterministic.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMachine,
  downRead,
  downWrite,
  LOCAL_LOCK_FAILED,
  LocalTryLock,
  localtryTrylock,
  localtryTrylockIrqsave,
  localtryUnlock,
  localtryUnlockIrqrestore,
  Mutex,
  mutexLock,
  mutexUnlock,
  RwSemaphore,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_SLEEP,
  SpinLock,
  spinLockIrqsave,
  spinTrylock,
  spinUnlock,
  spinUnlockIrqrestore,
  TimerList,
  upRead,
  upWrite,
} from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

type Op = 'mutex' | 'spin' | 'rcu' | 'sleep' | 'read' | 'write' | 'local';
const OPS: readonly Op[] = ['mutex', 'spin', 'rcu', 'sleep', 'read', 'write', 'local'];

function run(programs: { cpu: number; ops: number[] }[], irqEveryUs: number): string {
  const m = createMachine({ seed: 3 });
  const mu = new Mutex(m, 'mu');
  const sl = new SpinLock(m, 'sl');
  const rw = new RwSemaphore(m, 'rw');
  const lt = new LocalTryLock(m, 'lt');
  const trace: string[] = [];
  let inMutex = 0;
  let writers = 0;
  let readers = 0;
  let queued = 0;
  let invoked = 0;
  let finished = 0;
  programs.forEach((p, i) => {
    let pc = 0;
    let holding = 0; // steps left holding a sleeping lock
    let held: Op | null = null;
    m.sched.kthreadRun(`p${i}`, p.cpu, (t) => {
      if (held !== null) {
        if (holding-- > 0) return SCHED_AGAIN;
        if (held === 'mutex') {
          inMutex--;
          mutexUnlock(mu);
        } else if (held === 'read') {
          readers--;
          upRead(rw);
        } else {
          writers--;
          upWrite(rw);
        }
        held = null;
        pc++;
        return SCHED_AGAIN;
      }
      if (pc >= p.ops.length) {
        finished++;
        return SCHED_EXIT;
      }
      const op = OPS[p.ops[pc]! % OPS.length]!;
      trace.push(`${t.name}:${op}@${m.clock.now}`);
      switch (op) {
        case 'mutex':
          if (!mutexLock(mu)) return SCHED_SLEEP;
          expect(++inMutex).toBe(1);
          held = 'mutex';
          holding = p.ops[pc]! % 3;
          return SCHED_AGAIN;
        case 'read':
          if (!downRead(rw)) return SCHED_SLEEP;
          readers++;
          expect(writers).toBe(0);
          held = 'read';
          holding = p.ops[pc]! % 2;
          return SCHED_AGAIN;
        case 'write':
          if (!downWrite(rw)) return SCHED_SLEEP;
          expect(++writers).toBe(1);
          expect(readers).toBe(0);
          held = 'write';
          holding = p.ops[pc]! % 2;
          return SCHED_AGAIN;
        case 'spin': {
          const f = spinLockIrqsave(sl);
          m.account.charge(m.currentCpu, 300);
          spinUnlockIrqrestore(sl, f);
          break;
        }
        case 'rcu':
          m.rcu.rcuReadLock();
          m.rcu.callRcu(() => invoked++, null);
          queued++;
          m.rcu.rcuReadUnlock();
          break;
        case 'local':
          if (localtryTrylock(lt)) localtryUnlock(lt);
          break;
        case 'sleep':
          pc++;
          return m.sched.scheduleTimeout(t, 10_000 + 1000 * (p.ops[pc - 1]! % 7));
      }
      pc++;
      return SCHED_AGAIN;
    });
  });
  // A device interrupt on a rotating CPU: trylocks only, as interrupt code must.
  let irqCpu = 0;
  let irqs = 0;
  const irq = new TimerList(() => {
    m.cpus.inHardirq(irqCpu, () => {
      if (spinTrylock(sl)) spinUnlock(sl);
      const f = localtryTrylockIrqsave(lt);
      if (f !== LOCAL_LOCK_FAILED) localtryUnlockIrqrestore(lt, f);
      irqs++;
    });
    irqCpu = (irqCpu + 1) % 4;
    if (irqs < 200) m.timers.modTimer(irq, m.clock.now + irqEveryUs * 1000);
  });
  m.timers.modTimer(irq, irqEveryUs * 1000);
  m.sched.runWhile(() => {
    expect(m.sched.validate()).toBe(null);
    expect(m.rcu.validate()).toBe(null);
    expect(m.clock.validate()).toBe(null);
    return finished < programs.length;
  }, 10_000_000_000);
  expect(finished).toBe(programs.length);
  m.rcu.rcuBarrier();
  expect(invoked).toBe(queued);
  expect(m.warnings).toEqual([]);
  trace.push(`end@${m.clock.now}:${Array.from(m.account.busyNs).join('/')}`);
  return trace.join('\n');
}

describe('integration: tasks, locks, RCU, timers and interrupts', () => {
  it('random programs stay correct and deterministic', async () => {
    await fuzzAssert(
      fc.property(
        fc.array(fc.record({ cpu: fc.integer({ min: 0, max: 3 }), ops: fc.array(fc.nat(20), { maxLength: 12 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 1, max: 50 }),
        (programs, irqEveryUs) => {
          const a = run(programs, irqEveryUs);
          const b = run(programs, irqEveryUs);
          expect(a).toBe(b);
        },
      ),
      fuzzRuns(60),
    );
  });
});
