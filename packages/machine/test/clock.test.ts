import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClockEvent, createMachine, MmError } from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

describe('clock and event queue', () => {
  it('fires events in (time, scheduling order) order and advances now', () => {
    const m = createMachine();
    const fired: string[] = [];
    const ev = (name: string) => new ClockEvent(() => fired.push(`${name}@${m.clock.now}`));
    const a = ev('a');
    const b = ev('b');
    const c = ev('c');
    m.clock.schedule(a, 500);
    m.clock.schedule(b, 100);
    m.clock.schedule(c, 500);
    m.sched.runUntil(1000);
    expect(fired).toEqual(['b@100', 'a@500', 'c@500']);
    expect(m.clock.now).toBe(1000);
    expect(() => m.clock.schedule(a, Number.NaN)).toThrow(MmError);
    m.clock.schedule(a, 10); // in the past: clamped to now
    expect(a.when).toBe(1000);
    expect(m.clock.cancel(a)).toBe(true);
    expect(m.clock.cancel(a)).toBe(false);
  });

  it('property: the heap matches a sorted oracle under random schedule/cancel', async () => {
    await fuzzAssert(
      fc.property(
        fc.array(fc.record({ op: fc.nat(2), t: fc.nat(10_000), i: fc.nat(15) }), { maxLength: 200 }),
        (ops) => {
          const m = createMachine();
          const events = [...Array(16).keys()].map((i) => new ClockEvent(() => fired.push(i)));
          const fired: number[] = [];
          const oracle = new Map<number, [number, number]>();
          let seq = 0;
          for (const o of ops) {
            const e = events[o.i]!;
            if (o.op === 0 || o.op === 1) {
              m.clock.schedule(e, o.t);
              oracle.set(o.i, [o.t, seq++]);
            } else {
              expect(m.clock.cancel(e)).toBe(oracle.delete(o.i));
            }
            expect(m.clock.validate()).toBe(null);
          }
          const expected = [...oracle.entries()]
            .sort((x, y) => x[1][0] - y[1][0] || x[1][1] - y[1][1])
            .map((x) => x[0]);
          while (m.clock.fireNext()) expect(m.clock.validate()).toBe(null);
          expect(fired).toEqual(expected);
        },
      ),
      fuzzRuns(200),
    );
  });
});
