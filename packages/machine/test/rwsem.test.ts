import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMachine,
  downgradeWrite,
  downRead,
  downReadTrylock,
  downWrite,
  downWriteTrylock,
  LockdepError,
  type Machine,
  RwSemaphore,
  rwsemIsLocked,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_SLEEP,
  upRead,
  upWrite,
} from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

/** A task that takes `sem` (read or write), holds it for `hold` steps, optionally downgrades, releases, exits. */
function user(
  m: Machine,
  sem: RwSemaphore,
  name: string,
  cpu: number,
  write: boolean,
  hold: number,
  log: string[],
  downgrade = false,
): void {
  let phase = 0;
  let held = 0;
  let reading = !write;
  m.sched.kthreadRun(name, cpu, () => {
    if (phase === 0) {
      const ok = write ? downWrite(sem) : downRead(sem);
      if (!ok) {
        log.push(`${name} waits`);
        return SCHED_SLEEP;
      }
      log.push(`${name} ${write ? 'W' : 'R'}`);
      phase = 1;
      return SCHED_AGAIN;
    }
    if (held++ < hold) {
      if (downgrade && held === 1) {
        downgradeWrite(sem);
        reading = true;
        log.push(`${name} downgraded`);
      }
      return SCHED_AGAIN;
    }
    if (reading) upRead(sem);
    else upWrite(sem);
    log.push(`${name} done`);
    return SCHED_EXIT;
  });
}

describe('rw_semaphore', () => {
  it('readers share, a writer excludes, trylocks fail while anyone waits', () => {
    const m = createMachine();
    const s = new RwSemaphore(m, 'mmap_lock');
    expect(downReadTrylock(s)).toBe(true);
    expect(downWriteTrylock(s)).toBe(false);
    upRead(s);
    expect(downWriteTrylock(s)).toBe(true);
    expect(downReadTrylock(s)).toBe(false);
    expect(() => downWrite(s)).toThrow(LockdepError);
    upWrite(s);
    expect(rwsemIsLocked(s)).toBe(false);
    expect(() => upRead(s)).toThrow(LockdepError);
  });

  it('when the writer leaves, every queued reader is granted and a queued writer keeps waiting', () => {
    const m = createMachine();
    const s = new RwSemaphore(m, 'mmap_lock');
    const log: string[] = [];
    user(m, s, 'w1', 0, true, 3, log);
    user(m, s, 'r1', 1, false, 1, log);
    user(m, s, 'w2', 2, true, 1, log);
    user(m, s, 'r2', 3, false, 1, log);
    m.sched.runUntilIdle();
    const granted = log.filter((x) => / [RW]$/.test(x));
    expect(granted).toEqual(['w1 W', 'r1 R', 'r2 R', 'w2 W']);
    expect(log.indexOf('w2 W')).toBeGreaterThan(log.indexOf('r1 done'));
    expect(log.indexOf('w2 W')).toBeGreaterThan(log.indexOf('r2 done'));
  });

  it('downgrade_write lets queued readers in while writers still wait', () => {
    const m = createMachine();
    const s = new RwSemaphore(m, 'mmap_lock');
    const log: string[] = [];
    user(m, s, 'w1', 0, true, 4, log, true);
    user(m, s, 'w2', 1, true, 0, log);
    user(m, s, 'r1', 2, false, 0, log);
    m.sched.runUntilIdle();
    // r1 queued behind w2, but the downgrade grants queued readers (rwsem_downgrade_wake).
    expect(log.indexOf('r1 R')).toBeGreaterThan(log.indexOf('w1 downgraded'));
    expect(log.indexOf('r1 R')).toBeLessThan(log.indexOf('w1 done'));
    expect(log.indexOf('w2 W')).toBeGreaterThan(log.indexOf('w1 done'));
    expect(() => downgradeWrite(s)).toThrow(LockdepError);
  });

  it('property: mutual exclusion and no lost wake-up for random reader/writer mixes', async () => {
    await fuzzAssert(
      fc.property(
        fc.array(fc.record({ write: fc.boolean(), cpu: fc.integer({ min: 0, max: 3 }), hold: fc.nat(3) }), {
          minLength: 1,
          maxLength: 12,
        }),
        (users) => {
          const m = createMachine();
          const s = new RwSemaphore(m, 'mmap_lock');
          let readers = 0;
          let writers = 0;
          let finished = 0;
          users.forEach((u, i) => {
            let phase = 0;
            let held = 0;
            m.sched.kthreadRun(`u${i}`, u.cpu, () => {
              if (phase === 0) {
                if (!(u.write ? downWrite(s) : downRead(s))) return SCHED_SLEEP;
                if (u.write) writers++;
                else readers++;
                expect(writers === 0 || (writers === 1 && readers === 0)).toBe(true);
                // Readers granted while asleep are counted from the grant, as in the kernel.
                expect(s.readers).toBeGreaterThanOrEqual(readers);
                expect(s.writerPid === -1 || s.readers === 0).toBe(true);
                phase = 1;
                return SCHED_AGAIN;
              }
              if (held++ < u.hold) return SCHED_AGAIN;
              if (u.write) {
                writers--;
                upWrite(s);
              } else {
                readers--;
                upRead(s);
              }
              finished++;
              return SCHED_EXIT;
            });
          });
          // Validate the run queues before every event and step, until nothing is left to run.
          m.sched.runWhile(() => {
            expect(m.sched.validate()).toBe(null);
            return true;
          }, 1e12);
          expect(m.sched.runUntilIdle()).toBe(true);
          expect(finished).toBe(users.length);
          expect(rwsemIsLocked(s)).toBe(false);
          expect(s.waiters.length).toBe(0);
        },
      ),
      fuzzRuns(100),
    );
  });
});
