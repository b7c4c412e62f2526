import { describe, expect, it } from 'vitest';
import {
  bitSpinIsLocked,
  bitSpinLock,
  bitSpinTrylock,
  bitSpinUnlock,
  createMachine,
  LockdepError,
  MmBugError,
  MmError,
  SCHED_EXIT,
} from '../src/index.js';

describe('bit spinlock', () => {
  it('sets one bit, leaves the others, disables preemption', () => {
    const m = createMachine();
    const words = new Int32Array(4);
    words[1] = 0b1010;
    m.cpus.runOn(0, () => {
      bitSpinLock(m, words, 1, 0);
      expect(words[1]).toBe(0b1011);
      expect(m.cpus.preemptCountOf()).toBe(1);
      expect(bitSpinIsLocked(words, 1, 0)).toBe(true);
      expect(bitSpinTrylock(m, words, 1, 0)).toBe(false);
      expect(m.cpus.preemptCountOf()).toBe(1);
      expect(bitSpinTrylock(m, words, 1, 31)).toBe(true);
      expect(words[1]! >>> 0).toBe((0x80000000 | 0b1011) >>> 0);
      bitSpinUnlock(m, words, 1, 31);
      bitSpinUnlock(m, words, 1, 0);
      expect(words[1]).toBe(0b1010);
      expect(m.cpus.preemptCountOf()).toBe(0);
    });
  });

  it('misuse: bad bit, unlock of a clear bit, spinning on a set bit, leaking it from a task', () => {
    const m = createMachine();
    const words = new Int32Array(1);
    expect(() => bitSpinLock(m, words, 0, 32)).toThrow(MmError);
    expect(() => bitSpinUnlock(m, words, 0, 3)).toThrow(MmBugError);
    bitSpinLock(m, words, 0, 3);
    expect(() => m.cpus.runOn(1, () => bitSpinLock(m, words, 0, 3))).toThrow(LockdepError);
    bitSpinUnlock(m, words, 0, 3);
    m.sched.kthreadRun('leak', 2, () => {
      bitSpinLock(m, words, 0, 5);
      return SCHED_EXIT;
    });
    expect(() => m.sched.runUntilIdle()).toThrow(/preempt-leak/);
  });
});
