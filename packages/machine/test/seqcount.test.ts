import { describe, expect, it } from 'vitest';
import {
  createMachine,
  LockdepError,
  readSeqbegin,
  readSeqcountBegin,
  readSeqcountRetry,
  readSeqretry,
  SeqCount,
  SeqLock,
  writeSeqcountBegin,
  writeSeqcountEnd,
  writeSeqlock,
  writeSequnlock,
} from '../src/index.js';

describe('seqcount', () => {
  it('a reader overlapping a writer retries; a clean read does not', () => {
    const m = createMachine();
    const s = new SeqCount(m, 'seq');
    const data = { a: 1, b: 1 };
    const read = (): [number, number, boolean] => {
      const start = readSeqcountBegin(s);
      const snap: [number, number] = [data.a, data.b];
      return [snap[0], snap[1], readSeqcountRetry(s, start)];
    };
    expect(read()).toEqual([1, 1, false]);
    m.cpus.runOn(0, () => {
      m.cpus.preemptDisable();
      writeSeqcountBegin(s);
      data.a = 2;
    });
    // A reader on another CPU while the writer is half-way: torn data, must retry.
    const torn = m.cpus.runOn(1, read);
    expect(torn).toEqual([2, 1, true]);
    // A reader in an interrupt on the writer's CPU sees the same.
    let irqRetry = false;
    m.cpus.inHardirq(0, () => {
      irqRetry = read()[2];
    });
    expect(irqRetry).toBe(true);
    // A reader that began during the write still retries after it ends.
    const start = readSeqcountBegin(s);
    m.cpus.runOn(0, () => {
      data.b = 2;
      writeSeqcountEnd(s);
      m.cpus.preemptEnable();
    });
    expect(readSeqcountRetry(s, start)).toBe(true);
    expect(read()).toEqual([2, 2, false]);
    expect(s.sequence).toBe(2);
  });

  it('writers must be non-preemptible and not nested', () => {
    const m = createMachine();
    const s = new SeqCount(m, 'seq');
    expect(() => writeSeqcountBegin(s)).toThrow(LockdepError);
    expect(s.sequence).toBe(0);
    m.cpus.preemptDisable();
    writeSeqcountBegin(s);
    expect(() => writeSeqcountBegin(s)).toThrow(/recursive/);
    writeSeqcountEnd(s);
    expect(() => writeSeqcountEnd(s)).toThrow(/bad-unlock/);
    m.cpus.preemptEnable();
  });

  it('seqlock_t serialises writers with its spinlock', () => {
    const m = createMachine();
    const sl = new SeqLock(m, 'jiffies_lock');
    const start = readSeqbegin(sl);
    m.cpus.runOn(0, () => {
      expect(writeSeqlock(sl)).toBe(true);
      expect(m.cpus.preemptCountOf()).toBe(1);
    });
    expect(() => m.cpus.runOn(1, () => writeSeqlock(sl))).toThrow(/spin-deadlock/);
    m.cpus.runOn(0, () => writeSequnlock(sl));
    expect(readSeqretry(sl, start)).toBe(true);
    expect(readSeqretry(sl, readSeqbegin(sl))).toBe(false);
  });
});
