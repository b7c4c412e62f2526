/**
 * fast-check sequences of paints, clears and mkolds on an AccessArea against
 * a per-page oracle (latest paint seq, last clear seq), with the area's
 * validator after every step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessArea } from '../src/index.js';
import { fuzzRuns } from './helpers/fuzz.js';

type Op =
  | { t: 'paint'; a: number; len: number }
  | { t: 'mkold'; p: number }
  | { t: 'clear'; a: number; len: number }
  | { t: 'ask'; p: number };

const P = 97;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    t: fc.constant('paint' as const),
    a: fc.integer({ min: -5, max: P }),
    len: fc.integer({ min: 0, max: 40 }),
  }),
  fc.record({ t: fc.constant('mkold' as const), p: fc.nat(P - 1) }),
  fc.record({ t: fc.constant('clear' as const), a: fc.nat(P - 1), len: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ t: fc.constant('ask' as const), p: fc.nat(P - 1) }),
);

describe('AccessArea (property)', () => {
  it('answers young exactly like a per-page oracle', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 80 }), (ops) => {
        const area = new AccessArea(0, P, 12, 7);
        const painted = new Float64Array(P);
        const cleared = new Float64Array(P);
        let seq = 1;
        for (const op of ops) {
          switch (op.t) {
            case 'paint': {
              seq++;
              area.paint(op.a, op.a + op.len, seq);
              for (let p = Math.max(0, op.a); p < Math.min(P, op.a + op.len); p++) painted[p] = seq;
              break;
            }
            case 'mkold': {
              const was = area.testAndClearYoung(op.p, seq);
              expect(was).toBe(painted[op.p]! > cleared[op.p]!);
              cleared[op.p] = seq;
              break;
            }
            case 'clear': {
              area.clearRange(op.a, op.a + op.len, seq);
              for (let p = op.a; p < Math.min(P, op.a + op.len); p++) cleared[p] = seq;
              break;
            }
            case 'ask':
              expect(area.young(op.p)).toBe(painted[op.p]! > cleared[op.p]!);
              break;
          }
          const err = area.validate();
          if (err !== null) throw new Error(err);
          for (let p = 0; p < P; p++) expect(area.paintSeq(p)).toBe(painted[p]);
        }
      }),
      { numRuns: fuzzRuns(300) },
    );
  });

  it('large areas share clear cells and stay small', () => {
    const area = new AccessArea(0, 2 ** 28, 12, 1); // 1 TiB of 4 KiB pages
    expect(area.cellShift).toBe(6);
    expect(area.clearSeq.length).toBe(2 ** 22);
    area.paint(1000, 2000, 5);
    expect(area.testAndClearYoung(1500, 5)).toBe(true);
    expect(area.young(1501)).toBe(false); // same 64-page cell
    area.paint(1501, 1502, 6);
    expect(area.young(1501)).toBe(true);
  });
});
