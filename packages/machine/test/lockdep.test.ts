import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMachine,
  LockdepError,
  type LockdepKind,
  MmError,
  Mutex,
  mightSleep,
  mutexLock,
  mutexUnlock,
  SCHED_EXIT,
  SpinLock,
  spinLock,
  spinLockIrqsave,
  spinLockNested,
  spinTrylock,
  spinUnlock,
  spinUnlockIrqrestore,
} from '../src/index.js';
import { LOCK_ENABLED_HARDIRQ, LOCK_USED_IN_HARDIRQ } from '../src/internal.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

function kindOf(fn: () => unknown): LockdepKind | 'none' {
  try {
    fn();
  } catch (e) {
    if (e instanceof LockdepError) return e.kind;
    throw e;
  }
  return 'none';
}

describe('lockdep violations are typed errors', () => {
  it('recursive acquisition (AA) of a spinlock on one CPU', () => {
    const m = createMachine();
    const a = new SpinLock(m, 'A');
    m.cpus.runOn(0, () => spinLock(a));
    const err = (() => {
      try {
        m.cpus.runOn(0, () => spinLock(a));
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(LockdepError);
    expect(MmError.isInstance(err)).toBe(true);
    expect((err as LockdepError).kind).toBe('recursive-locking');
    expect((err as LockdepError).code).toBe('EDEADLK');
    expect((err as LockdepError).message).toMatch(/^lockdep: recursive-locking: A /);
    // State unchanged: still held once, preempt count 1.
    expect(m.cpus.preemptCount[0]).toBe(1);
    m.cpus.runOn(0, () => spinUnlock(a));
    expect(m.cpus.preemptCount[0]).toBe(0);
  });

  it('two locks of one class nest only with a subclass annotation', () => {
    const m = createMachine();
    const z0 = new SpinLock(m, 'zone->lock');
    const z1 = new SpinLock(m, 'zone->lock');
    m.cpus.runOn(0, () => {
      spinLock(z0);
      expect(kindOf(() => spinLock(z1))).toBe('recursive-locking');
      spinLockNested(z1, 1);
      spinUnlock(z1);
      spinUnlock(z0);
    });
  });

  it('ABBA order inversion is a circular dependency', () => {
    const m = createMachine();
    const a = new SpinLock(m, 'A');
    const b = new SpinLock(m, 'B');
    m.cpus.runOn(0, () => {
      spinLock(a);
      spinLock(b);
      spinUnlock(b);
      spinUnlock(a);
    });
    expect(
      kindOf(() =>
        m.cpus.runOn(1, () => {
          spinLock(b);
          try {
            spinLock(a);
          } finally {
            spinUnlock(b);
          }
        }),
      ),
    ).toBe('circular-dependency');
    // A trylock cannot deadlock and adds no dependency.
    m.cpus.runOn(1, () => {
      spinLock(b);
      expect(spinTrylock(a)).toBe(true);
      spinUnlock(a);
      spinUnlock(b);
    });
  });

  it('a lock taken in hardirq and in process context with irqs enabled', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'irq_lock');
    m.cpus.inHardirq(1, () => {
      spinLock(l);
      spinUnlock(l);
    });
    expect(m.lockdep.classUsage(l.classId) & LOCK_USED_IN_HARDIRQ).toBe(LOCK_USED_IN_HARDIRQ);
    expect(kindOf(() => m.cpus.runOn(0, () => spinLock(l)))).toBe('inconsistent-irq-state');
    expect(l.ownerCpu).toBe(-1);
    expect(m.cpus.preemptCount[0]).toBe(0);
    m.cpus.runOn(0, () => {
      const f = spinLockIrqsave(l);
      spinUnlockIrqrestore(l, f);
    });
    expect(m.lockdep.classUsage(l.classId) & LOCK_ENABLED_HARDIRQ).toBe(0);
  });

  it('the reverse order: process context with irqs on first, then hardirq', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'late_irq_lock');
    m.cpus.runOn(0, () => {
      spinLock(l);
      spinUnlock(l);
    });
    expect(
      kindOf(() =>
        m.cpus.inHardirq(0, () => {
          spinLock(l);
          spinUnlock(l);
        }),
      ),
    ).toBe('inconsistent-irq-state');
  });

  it('irq-safe lock held while taking an irq-unsafe lock', () => {
    const m = createMachine();
    const safe = new SpinLock(m, 'safe');
    const unsafe = new SpinLock(m, 'unsafe');
    m.cpus.inHardirq(0, () => {
      spinLock(safe);
      spinUnlock(safe);
    });
    m.cpus.runOn(0, () => {
      spinLock(unsafe);
      spinUnlock(unsafe);
    });
    expect(
      kindOf(() =>
        m.cpus.runOn(0, () => {
          const f = spinLockIrqsave(safe);
          try {
            spinLock(unsafe);
          } finally {
            spinUnlockIrqrestore(safe, f);
          }
        }),
      ),
    ).toBe('irq-safe-to-unsafe');
  });

  it('irq-safe -> irq-unsafe found when the usage is learned after the dependency', () => {
    const m = createMachine();
    const safe = new SpinLock(m, 'safe2');
    const unsafe = new SpinLock(m, 'unsafe2');
    // safe2 -> unsafe2 with irqs off: no usage conflict yet.
    m.cpus.runOn(0, () => {
      const f = spinLockIrqsave(safe);
      spinLock(unsafe);
      spinUnlock(unsafe);
      spinUnlockIrqrestore(safe, f);
    });
    m.cpus.inHardirq(0, () => {
      spinLock(safe);
      spinUnlock(safe);
    });
    expect(kindOf(() => m.cpus.runOn(1, () => spinLock(unsafe)))).toBe('irq-safe-to-unsafe');
  });

  it('irq-safe -> irq-unsafe through a chain of dependencies', () => {
    const m = createMachine();
    const safe = new SpinLock(m, 'S');
    const mid = new SpinLock(m, 'M');
    const unsafe = new SpinLock(m, 'U');
    m.cpus.inHardirq(0, () => {
      spinLock(safe);
      spinUnlock(safe);
    });
    // S -> M recorded with irqs off: M itself is neither irq-safe nor irq-unsafe.
    m.cpus.runOn(0, () => {
      const f = spinLockIrqsave(safe);
      spinLock(mid);
      spinUnlock(mid);
      spinUnlockIrqrestore(safe, f);
    });
    expect(m.lockdep.classUsage(mid.classId) & (LOCK_USED_IN_HARDIRQ | LOCK_ENABLED_HARDIRQ)).toBe(0);
    m.cpus.runOn(1, () => {
      spinLock(unsafe);
      spinUnlock(unsafe);
    });
    // Taking U under M closes S -> M -> U.
    expect(
      kindOf(() =>
        m.cpus.runOn(0, () => {
          const f = spinLockIrqsave(mid);
          try {
            spinLock(unsafe);
          } finally {
            spinUnlockIrqrestore(mid, f);
          }
        }),
      ),
    ).toBe('irq-safe-to-unsafe');
  });

  it('release by a context that does not hold the lock', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'L');
    m.cpus.runOn(0, () => spinLock(l));
    expect(kindOf(() => m.cpus.runOn(1, () => spinUnlock(l)))).toBe('bad-unlock');
    m.cpus.runOn(0, () => spinUnlock(l));
    const mu = new Mutex(m, 'M');
    m.sched.kthreadRun('owner', 0, () => {
      mutexLock(mu);
      return SCHED_EXIT;
    });
    expect(kindOf(() => m.sched.runUntilIdle())).toBe('held-at-exit');
    expect(kindOf(() => mutexUnlock(mu))).toBe('bad-unlock');
  });

  it('sleeping, or taking a sleeping lock, in atomic context', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'L');
    const mu = new Mutex(m, 'M');
    m.cpus.runOn(0, () => {
      spinLock(l);
      expect(kindOf(() => mutexLock(mu))).toBe('sleep-in-atomic');
      expect(kindOf(() => mightSleep(m))).toBe('sleep-in-atomic');
      spinUnlock(l);
    });
    expect(kindOf(() => m.cpus.inHardirq(1, () => mutexLock(mu)))).toBe('sleep-in-atomic');
    m.rcu.rcuReadLock();
    expect(kindOf(() => mutexLock(mu))).toBe('sleep-in-atomic');
    m.rcu.rcuReadUnlock();
    expect(mutexLock(mu)).toBe(true);
    mutexUnlock(mu);
  });

  it('locks still held when an interrupt handler or a task step ends', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'L');
    expect(kindOf(() => m.cpus.inHardirq(2, () => spinLock(l)))).toBe('held-at-exit');
    // The handler's context was restored on CPU 2.
    expect(m.cpus.preemptCount[2]).toBe(0);
    expect(m.cpus.irqsOff[2]).toBe(0);
    const l2 = new SpinLock(m, 'L2');
    m.sched.kthreadRun('leaky', 1, () => {
      spinLock(l2);
      return SCHED_EXIT;
    });
    expect(kindOf(() => m.sched.runUntilIdle())).toBe('preempt-leak');
  });

  it('a spinlock held by another CPU cannot be spun on in the one-thread model', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'L');
    m.cpus.runOn(1, () => spinLock(l));
    expect(m.cpus.runOn(2, () => spinTrylock(l))).toBe(false);
    expect(kindOf(() => m.cpus.runOn(2, () => spinLock(l)))).toBe('spin-deadlock');
    const st = m.lockdep.classStats('L');
    expect(st.contentions).toBe(1);
    expect(st.trylockFailures).toBe(1);
    expect(st.acquisitions).toBe(1);
    m.cpus.runOn(1, () => spinUnlock(l));
  });

  it('debug_check_no_locks_held at the end of an operation', () => {
    const m = createMachine();
    const mu = new Mutex(m, 'mmap_lock');
    m.lockdep.debugCheckNoLocksHeld();
    mutexLock(mu);
    expect(kindOf(() => m.lockdep.debugCheckNoLocksHeld())).toBe('held-at-exit');
    mutexUnlock(mu);
    m.lockdep.debugCheckNoLocksHeld();
  });

  it('keeps lock_stat figures and prints /proc/lock_stat', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'zone->lock');
    m.cpus.runOn(0, () => {
      spinLock(l);
      m.account.charge(0, 3000); // hold it for 3 us of work
      spinUnlock(l);
    });
    m.cpus.runOn(1, () => {
      spinLock(l);
      spinUnlock(l);
    });
    const st = m.lockdep.classStats('zone->lock');
    expect(st.acquisitions).toBe(2);
    expect(st.acqBounces).toBe(1);
    expect(st.holds).toBe(2);
    expect(st.holdNsMax).toBeGreaterThanOrEqual(3000);
    expect(st.holdNsMin).toBeLessThan(st.holdNsMax);
    const text = m.lockdep.formatLockStat();
    const lines = text.split('\n');
    expect(lines[0]).toBe('lock_stat version 0.4');
    expect(lines[2]).toMatch(/^ +class name +con-bounces +contentions +waittime-min/);
    const row = lines.find((x) => x.includes('zone->lock:'))!;
    expect(row.indexOf(':')).toBe(40);
    const cols = row.slice(41).trim().split(/ +/);
    expect(cols.length).toBe(12);
    expect(cols[7]).toBe('2'); // acquisitions
    expect(Number(cols[9])).toBeGreaterThanOrEqual(3); // holdtime-max in us
  });

  it('can be disabled (debug_locks off): checks stop, counters continue', () => {
    const m = createMachine();
    m.lockdep.enabled = false;
    const l = new SpinLock(m, 'irq_lock');
    m.cpus.inHardirq(1, () => {
      spinLock(l);
      spinUnlock(l);
    });
    m.cpus.runOn(0, () => {
      spinLock(l);
      spinUnlock(l);
    });
    expect(m.lockdep.classStats('irq_lock').acquisitions).toBe(2);
    // The page allocator's own classes are registered at boot (and unused here).
    expect(m.lockdep.stats().map((s) => s.name)).toEqual(['&zone->lock', '&pcp->lock', 'irq_lock']);
  });
});

describe('lockdep property: ABBA detection against a naive dependency-graph oracle', () => {
  it('reports circular-dependency exactly when an acquisition closes a cycle', async () => {
    await fuzzAssert(
      fc.property(
        fc.array(fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 4 }), { maxLength: 25 }),
        (sections) => {
          const m = createMachine();
          const locks = [...Array(6).keys()].map((i) => new SpinLock(m, `L${i}`));
          const edges = new Set<string>();
          const reach = (from: number, to: number): boolean => {
            const seen = new Set<number>([from]);
            const stack = [from];
            while (stack.length > 0) {
              const x = stack.pop()!;
              if (x === to) return true;
              for (const e of edges) {
                const [a, b] = e.split('>').map(Number) as [number, number];
                if (a === x && !seen.has(b)) {
                  seen.add(b);
                  stack.push(b);
                }
              }
            }
            return false;
          };
          m.cpus.runOn(0, () => {
            for (const order of sections) {
              const held: number[] = [];
              try {
                for (const x of order) {
                  const cycle = held.some((h) => !edges.has(`${h}>${x}`) && reach(x, h));
                  let k: string = 'none';
                  try {
                    spinLock(locks[x]!);
                  } catch (e) {
                    k = (e as LockdepError).kind;
                  }
                  expect(k).toBe(cycle ? 'circular-dependency' : 'none');
                  if (cycle) break;
                  for (const h of held) edges.add(`${h}>${x}`);
                  held.push(x);
                }
              } finally {
                for (let i = held.length - 1; i >= 0; i--) spinUnlock(locks[held[i]!]!);
              }
              expect(m.sched.current().held.depth).toBe(0);
              expect(m.cpus.preemptCount[0]).toBe(0);
            }
          });
        },
      ),
      fuzzRuns(200),
    );
  });
});
