/**
 * fast-check sequences of region list operations (split, merge two, merge
 * pass, split pass, the min_nr_regions splits, set_regions, destroy)
 * against a plain-array oracle, with damonValidateTarget() after every step.
 */

import { Prng } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  alignDown,
  alignUp,
  type DamonAddrRange,
  type DamonTarget,
  damonAddRegion,
  damonApplyMinNrRegions,
  damonDestroyRegion,
  damonMergeRegionsOf,
  damonMergeTwoRegions,
  damonNewCtx,
  damonNewRegion,
  damonNewTarget,
  damonNthRegion,
  damonRegions,
  damonSetRegions,
  damonSplitRegionAt,
  damonSplitRegionsOf,
  damonValidateTarget,
} from '../src/index.js';
import { fuzzRuns } from './helpers/fuzz.js';

interface R {
  start: number;
  end: number;
  nrAccesses: number;
  nrAccessesBp: number;
  age: number;
  lastNrAccesses: number;
}

type Op =
  | { t: 'split'; i: number; frac: number }
  | { t: 'merge2'; i: number }
  | { t: 'destroy'; i: number }
  | { t: 'touch'; i: number; nr: number; age: number; last: number }
  | { t: 'mergePass'; thres: number; limit: number }
  | { t: 'splitPass'; subs: number }
  | { t: 'set'; ranges: [number, number][] }
  | { t: 'minNr'; minNr: number };

const MIN = 4;

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('split' as const),
      i: fc.nat(),
      frac: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('merge2' as const), i: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('destroy' as const), i: fc.nat() }) },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('touch' as const),
      i: fc.nat(),
      nr: fc.nat(20),
      age: fc.nat(50),
      last: fc.nat(20),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('mergePass' as const),
      thres: fc.nat(10),
      limit: fc.integer({ min: 4, max: 2000 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('splitPass' as const), subs: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('minNr' as const), minNr: fc.integer({ min: 0, max: 40 }) }) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 200 })), {
        minLength: 1,
        maxLength: 4,
      })
      .map((xs) => {
        // sorted, non-overlapping after alignment
        const out: [number, number][] = [];
        let cur = 0;
        for (const [gap, len] of xs) {
          const s = alignUp(cur + gap, MIN);
          const e = s + alignUp(len, MIN);
          out.push([s, e]);
          cur = e;
        }
        return { t: 'set' as const, ranges: out };
      }),
  },
);

/** The oracle of damon_set_regions(): the kernel's algorithm on plain arrays. */
function oracleSetRegions(regs: R[], ranges: DamonAddrRange[]): R[] {
  const inter = (r: R, re: DamonAddrRange) => !(r.end <= re.start || re.end <= r.start);
  let list = regs.filter((r) => ranges.some((re) => inter(r, re)));
  const fresh = (start: number, end: number): R => ({
    start,
    end,
    nrAccesses: 0,
    nrAccessesBp: 0,
    age: 0,
    lastNrAccesses: 0,
  });
  for (const re of ranges) {
    const hits = list.filter((r) => inter(r, re));
    if (hits.length === 0) {
      list.push(fresh(alignDown(re.start, MIN), alignUp(re.end, MIN)));
      list.sort((a, b) => a.start - b.start);
      continue;
    }
    hits[0]!.start = alignDown(re.start, MIN);
    hits[hits.length - 1]!.end = alignUp(re.end, MIN);
    const filled: R[] = [];
    for (let i = 0; i < hits.length; i++) {
      filled.push(hits[i]!);
      const n = hits[i + 1];
      if (n !== undefined && hits[i]!.end !== n.start) filled.push(fresh(hits[i]!.end, n.start));
    }
    list = list.filter((r) => !hits.includes(r)).concat(filled);
    list.sort((a, b) => a.start - b.start);
  }
  return list;
}

describe('region list operations (property)', () => {
  it('match the oracle and keep the invariants', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.integer(), (ops, seed) => {
        const ctx = damonNewCtx(new Prng(seed));
        ctx.minRegion = MIN;
        const t: DamonTarget = damonNewTarget();
        damonAddRegion(t, damonNewRegion(t, 0, 4096));
        let oracle: R[] = [{ start: 0, end: 4096, nrAccesses: 0, nrAccessesBp: 0, age: 0, lastNrAccesses: 0 }];
        for (const op of ops) {
          const n = oracle.length;
          switch (op.t) {
            case 'split': {
              if (n === 0) break;
              const i = op.i % n;
              const o = oracle[i]!;
              const sz = alignDown(Math.floor((o.end - o.start) * op.frac), MIN);
              if (sz <= 0 || sz >= o.end - o.start) break;
              damonSplitRegionAt(t, damonNthRegion(t, i), sz);
              oracle.splice(i + 1, 0, { ...o, start: o.start + sz });
              o.end = o.start + sz;
              break;
            }
            case 'merge2': {
              if (n < 2) break;
              const i = op.i % (n - 1);
              const l = oracle[i]!;
              const r = oracle[i + 1]!;
              if (l.end !== r.start) break;
              damonMergeTwoRegions(t, damonNthRegion(t, i), damonNthRegion(t, i + 1));
              const szL = l.end - l.start;
              const szR = r.end - r.start;
              l.nrAccesses = Math.floor((l.nrAccesses * szL + r.nrAccesses * szR) / (szL + szR));
              l.nrAccessesBp = l.nrAccesses * 10000;
              l.age = Math.floor((l.age * szL + r.age * szR) / (szL + szR));
              l.end = r.end;
              oracle.splice(i + 1, 1);
              break;
            }
            case 'destroy': {
              if (n === 0) break;
              const i = op.i % n;
              damonDestroyRegion(t, damonNthRegion(t, i));
              oracle.splice(i, 1);
              break;
            }
            case 'touch': {
              if (n === 0) break;
              const i = op.i % n;
              const r = damonNthRegion(t, i);
              t.nrAccesses[r] = op.nr;
              t.nrAccessesBp[r] = op.nr * 10000;
              t.age[r] = op.age;
              t.lastNrAccesses[r] = op.last;
              Object.assign(oracle[i]!, {
                nrAccesses: op.nr,
                nrAccessesBp: op.nr * 10000,
                age: op.age,
                lastNrAccesses: op.last,
              });
              break;
            }
            case 'mergePass': {
              damonMergeRegionsOf(t, op.thres, op.limit);
              const out: R[] = [];
              for (const r of oracle) {
                // 7.x: a region that went from no access to some (or back) starts over, too
                const flipped = (r.nrAccesses === 0) !== (r.lastNrAccesses === 0);
                r.age = Math.abs(r.nrAccesses - r.lastNrAccesses) > op.thres || flipped ? 0 : r.age + 1;
                const p = out[out.length - 1];
                if (
                  p !== undefined &&
                  p.end === r.start &&
                  Math.abs(p.nrAccesses - r.nrAccesses) <= op.thres &&
                  p.end - p.start + (r.end - r.start) <= op.limit
                ) {
                  const szL = p.end - p.start;
                  const szR = r.end - r.start;
                  p.nrAccesses = Math.floor((p.nrAccesses * szL + r.nrAccesses * szR) / (szL + szR));
                  p.nrAccessesBp = p.nrAccesses * 10000;
                  p.age = Math.floor((p.age * szL + r.age * szR) / (szL + szR));
                  p.end = r.end;
                } else out.push(r);
              }
              oracle = out;
              break;
            }
            case 'splitPass': {
              const before = damonRegions(t);
              damonSplitRegionsOf(ctx, t, op.subs);
              // The pieces tile each original region, keep its counters, are aligned and number ≤ subs.
              const after = damonRegions(t);
              const next: R[] = [];
              let j = 0;
              for (const b of before) {
                let pieces = 0;
                let cur = b.start;
                while (j < after.length && after[j]!.end <= b.end) {
                  const a = after[j]!;
                  expect(a.start).toBe(cur);
                  expect((a.end - a.start) % MIN === 0 || a.end === b.end).toBe(true);
                  expect([a.nrAccesses, a.age, a.lastNrAccesses]).toEqual([b.nrAccesses, b.age, b.lastNrAccesses]);
                  next.push({ ...a });
                  cur = a.end;
                  pieces++;
                  j++;
                }
                expect(cur).toBe(b.end);
                expect(pieces).toBeLessThanOrEqual(Math.max(1, op.subs));
              }
              oracle = next;
              break;
            }
            case 'minNr': {
              // every region no larger than ALIGN(total / min_nr_regions, MIN): equal pieces from the left
              ctx.adaptiveTargets = [t];
              ctx.attrs.minNrRegions = op.minNr;
              const total = oracle.reduce((a, r) => a + r.end - r.start, 0);
              const limit = alignUp(Math.max(op.minNr ? Math.floor(total / op.minNr) : total, MIN), MIN);
              expect(damonApplyMinNrRegions(ctx)).toBe(limit);
              const next: R[] = [];
              for (const r of oracle) {
                for (let s = r.start; s < r.end; s += limit)
                  next.push({ ...r, start: s, end: Math.min(s + limit, r.end) });
              }
              oracle = next;
              ctx.adaptiveTargets = [];
              break;
            }
            case 'set': {
              const ranges = op.ranges.map(([start, end]) => ({ start, end }));
              expect(damonSetRegions(t, ranges, MIN)).toBe(0);
              oracle = oracleSetRegions(oracle, ranges);
              break;
            }
          }
          const err = damonValidateTarget(t);
          if (err !== null) throw new Error(err);
          expect(damonRegions(t)).toEqual(oracle);
        }
      }),
      { numRuns: fuzzRuns(300) },
    );
  });
});
