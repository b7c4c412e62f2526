import { describe, expect, it } from 'vitest';
import {
  Completion,
  complete,
  completeAll,
  createMachine,
  SCHED_AGAIN,
  SCHED_EXIT,
  TimerList,
  tryWaitForCompletion,
  WaitQueueHead,
  waitEvent,
  waitForCompletion,
  waitqueueActive,
  wakeUp,
  wakeUpAll,
} from '../src/index.js';

describe('wait queues and completions', () => {
  it('wait_event sleeps until the condition holds; spurious wake-ups re-check', () => {
    const m = createMachine();
    const wq = new WaitQueueHead(m);
    let flag = false;
    let passes = 0;
    let doneAt = -1;
    m.sched.kthreadRun('waiter', 1, (t) => {
      passes++;
      const r = waitEvent(wq, t, () => flag);
      if (r !== SCHED_AGAIN) return r;
      doneAt = m.clock.now;
      return SCHED_EXIT;
    });
    m.sched.runFor(10_000);
    expect(waitqueueActive(wq)).toBe(true);
    expect(wakeUpAll(wq)).toBe(1); // spurious: flag still false
    m.sched.runFor(10_000);
    expect(doneAt).toBe(-1);
    const t = new TimerList(() => {
      flag = true;
      wakeUp(wq);
    });
    m.timers.modTimer(t, 50_000);
    m.sched.runUntilIdle();
    expect(doneAt).toBeGreaterThanOrEqual(50_000);
    expect(passes).toBe(3);
    expect(wakeUp(wq)).toBe(0);
  });

  it('complete wakes one waiter per call; complete_all wakes everyone for good', () => {
    const m = createMachine();
    const c = new Completion(m);
    const got: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      m.sched.kthreadRun(name, 0, (t) => {
        const r = waitForCompletion(c, t);
        if (r !== SCHED_AGAIN) return r;
        got.push(name);
        return SCHED_EXIT;
      });
    }
    m.sched.runFor(100_000);
    expect(got).toEqual([]);
    complete(c);
    m.sched.runFor(100_000);
    expect(got).toEqual(['a']);
    completeAll(c);
    m.sched.runUntilIdle();
    expect(got).toEqual(['a', 'b', 'c']);
    expect(tryWaitForCompletion(c)).toBe(true);
    const d = new Completion(m);
    expect(tryWaitForCompletion(d)).toBe(false);
    complete(d);
    expect(tryWaitForCompletion(d)).toBe(true);
    expect(tryWaitForCompletion(d)).toBe(false);
  });
});
