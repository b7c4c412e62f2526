/**
 * The cases of the kernel's DAMON core kunit tests (mm/damon/tests/core-kunit.h),
 * with DAMON_MIN_REGION = 1 as the kunit build sets it.
 */
import { describe, expect, it } from 'vitest';
import {
  DAMON_NO_REGION,
  DAMOS_FILTER_TYPE_ADDR,
  DAMOS_FILTER_TYPE_ANON,
  DAMOS_FILTER_TYPE_TARGET,
  DAMOS_STAT,
  type DamonAttrs,
  type DamonTarget,
  damonAddRegion,
  damonAddTarget,
  damonApplyMinNrRegions,
  damonDefaultAttrs,
  damonDestroyRegion,
  damonFeedLoopNextInput,
  damonMergeRegionsOf,
  damonMergeTwoRegions,
  damonMovingSum,
  damonNewCtx,
  damonNewRegion,
  damonNewScheme,
  damonNewTarget,
  damonNrAccessesToAccessesBp,
  damonNrRegions,
  damonRegions,
  damonSetAttrs,
  damonSetRegions,
  damonSplitRegionAt,
  damonSplitRegionsOf,
  damonUpdateMonitoringResult,
  damonValidateTarget,
  damosAddFilter,
  damosFilterMatch,
  damosNewFilter,
  damosPatternAll,
  damosQuotaNone,
  damosSetFiltersDefaultReject,
  damosWmarksNone,
  kdamondResetAggregated,
} from '../src/index.js';

function targetWith(ranges: [number, number][]): DamonTarget {
  const t = damonNewTarget();
  for (const [s, e] of ranges) damonAddRegion(t, damonNewRegion(t, s, e));
  return t;
}

function attrs(sample: number, aggr: number): DamonAttrs {
  return { ...damonDefaultAttrs(), sampleInterval: sample, aggrInterval: aggr };
}

describe('damon core (kunit cases)', () => {
  it('damon_test_regions: add and destroy count regions', () => {
    const t = damonNewTarget();
    const r = damonNewRegion(t, 1, 2);
    expect([t.start[r], t.end[r], t.nrAccesses[r]]).toEqual([1, 2, 0]);
    expect(damonNrRegions(t)).toBe(0);
    damonAddRegion(t, r);
    expect(damonNrRegions(t)).toBe(1);
    damonDestroyRegion(t, r);
    expect(damonNrRegions(t)).toBe(0);
    expect(damonValidateTarget(t)).toBeNull();
  });

  it('damon_test_target: targets are added to the context', () => {
    const c = damonNewCtx();
    expect(c.adaptiveTargets.length).toBe(0);
    damonAddTarget(c, damonNewTarget());
    expect(c.adaptiveTargets.length).toBe(1);
  });

  it('damon_test_aggregate: reset zeroes nr_accesses and keeps regions and targets', () => {
    const ctx = damonNewCtx();
    const saddr = [
      [10, 20, 30],
      [5, 42, 49],
      [13, 33, 55],
    ];
    const eaddr = [
      [15, 27, 40],
      [31, 45, 55],
      [23, 44, 66],
    ];
    const accesses = [
      [42, 95, 84],
      [10, 20, 30],
      [0, 1, 2],
    ];
    for (let it = 0; it < 3; it++) {
      const t = damonNewTarget();
      for (let ir = 0; ir < 3; ir++) {
        const r = damonNewRegion(t, saddr[it]![ir]!, eaddr[it]![ir]!);
        t.nrAccesses[r] = accesses[it]![ir]!;
        t.nrAccessesBp[r] = accesses[it]![ir]! * 10000;
        damonAddRegion(t, r);
      }
      damonAddTarget(ctx, t);
    }
    kdamondResetAggregated(ctx);
    expect(ctx.adaptiveTargets.length).toBe(3);
    ctx.adaptiveTargets.forEach((t, it) => {
      const regs = damonRegions(t);
      expect(regs.length).toBe(3);
      regs.forEach((r, ir) => {
        expect(r.nrAccesses).toBe(0);
        expect(r.lastNrAccesses).toBe(accesses[it]![ir]);
      });
    });
  });

  it('damon_test_split_at: both pieces keep the counters', () => {
    const t = damonNewTarget();
    const r = damonNewRegion(t, 0, 100);
    t.nrAccessesBp[r] = 420000;
    t.nrAccesses[r] = 42;
    t.lastNrAccesses[r] = 15;
    t.age[r] = 10;
    damonAddRegion(t, r);
    const n = damonSplitRegionAt(t, r, 25);
    expect(damonNrRegions(t)).toBe(2);
    expect([t.start[r], t.end[r], t.start[n], t.end[n]]).toEqual([0, 25, 25, 100]);
    expect(t.nrAccessesBp[n]).toBe(420000);
    expect(t.nrAccesses[n]).toBe(42);
    expect(t.lastNrAccesses[n]).toBe(15);
    expect(t.age[n]).toBe(10);
    expect(damonValidateTarget(t)).toBeNull();
  });

  it('damon_test_merge_two: size-weighted averages', () => {
    const t = damonNewTarget();
    const r = damonNewRegion(t, 0, 100);
    t.nrAccesses[r] = 10;
    t.nrAccessesBp[r] = 100000;
    t.age[r] = 9;
    damonAddRegion(t, r);
    const r2 = damonNewRegion(t, 100, 300);
    t.nrAccesses[r2] = 20;
    t.nrAccessesBp[r2] = 200000;
    t.age[r2] = 21;
    damonAddRegion(t, r2);
    damonMergeTwoRegions(t, r, r2);
    expect([t.start[r], t.end[r], t.nrAccesses[r], t.nrAccessesBp[r], t.age[r]]).toEqual([0, 300, 16, 160000, 17]);
    expect(damonNrRegions(t)).toBe(1);
    expect(damonValidateTarget(t)).toBeNull();
  });

  it('damon_test_merge_regions_of: merges within the threshold and size limit', () => {
    const sa = [0, 100, 114, 122, 130, 156, 170, 184, 230];
    const ea = [100, 112, 122, 130, 156, 170, 184, 230, 10170];
    const nrs = [0, 0, 10, 10, 20, 30, 1, 2, 5];
    const t = damonNewTarget();
    sa.forEach((s, i) => {
      const r = damonNewRegion(t, s, ea[i]!);
      t.nrAccesses[r] = nrs[i]!;
      t.nrAccessesBp[r] = nrs[i]! * 10000;
      damonAddRegion(t, r);
    });
    damonMergeRegionsOf(t, 9, 9999);
    // 0-112, 114-130, 130-156, 156-170, 170-230, 230-10170
    expect(damonRegions(t).map((r) => [r.start, r.end])).toEqual([
      [0, 112],
      [114, 130],
      [130, 156],
      [156, 170],
      [170, 230],
      [230, 10170],
    ]);
  });

  it('damon_test_split_regions_of: piece counts and alignment', () => {
    const c = damonNewCtx();
    c.minRegion = 1;
    let t = targetWith([[0, 22]]);
    damonSplitRegionsOf(c, t, 2);
    expect(damonNrRegions(t)).toBeLessThanOrEqual(2);
    t = targetWith([[0, 220]]);
    damonSplitRegionsOf(c, t, 4);
    expect(damonNrRegions(t)).toBeLessThanOrEqual(4);
    t = targetWith([
      [0, 220],
      [300, 400],
      [500, 700],
    ]);
    damonSplitRegionsOf(c, t, 4, 5);
    expect(damonNrRegions(t)).toBeLessThanOrEqual(12);
    for (const r of damonRegions(t))
      expect((r.end - r.start) % 5 === 0 || r.end === 220 || r.end === 400 || r.end === 700).toBe(true);
    expect(damonValidateTarget(t)).toBeNull();
  });

  function setRegionsCase(
    oldRanges: [number, number][],
    newRanges: [number, number][],
    expectRanges: [number, number][],
  ): void {
    const t = targetWith(oldRanges);
    expect(
      damonSetRegions(
        t,
        newRanges.map(([start, end]) => ({ start, end })),
        1,
      ),
    ).toBe(0);
    expect(damonRegions(t).map((r) => [r.start, r.end])).toEqual(expectRanges);
    expect(damonValidateTarget(t)).toBeNull();
  }

  it('damon_test_set_regions: build up, remove, fill holes, append, insert', () => {
    setRegionsCase(
      [],
      [
        [5, 15],
        [15, 25],
      ],
      [
        [5, 15],
        [15, 25],
      ],
    );
    setRegionsCase(
      [
        [4, 16],
        [24, 32],
      ],
      [[18, 23]],
      [[18, 23]],
    );
    //  old:       [4,   16)        [24,     32)
    //  new:         [8,                 28)
    //  expect:      [8, 16)[16,24),[24, 28)
    setRegionsCase(
      [
        [4, 16],
        [24, 32],
      ],
      [[8, 28]],
      [
        [8, 16],
        [16, 24],
        [24, 28],
      ],
    );
    setRegionsCase(
      [
        [0, 4],
        [4, 17],
      ],
      [
        [0, 15],
        [25, 40],
      ],
      [
        [0, 4],
        [4, 15],
        [25, 40],
      ],
    );
    setRegionsCase(
      [
        [0, 4],
        [42, 52],
      ],
      [
        [0, 15],
        [25, 40],
        [44, 50],
      ],
      [
        [0, 15],
        [25, 40],
        [44, 50],
      ],
    );
  });

  it('damon_set_regions rejects empty and overlapping ranges and changes nothing', () => {
    const t = targetWith([[0, 8]]);
    expect(damonSetRegions(t, [{ start: 5, end: 5 }], 1)).toBe(-22);
    expect(
      damonSetRegions(
        t,
        [
          { start: 0, end: 10 },
          { start: 9, end: 12 },
        ],
        1,
      ),
    ).toBe(-22);
    expect(damonRegions(t).map((r) => [r.start, r.end])).toEqual([[0, 8]]);
  });

  it('damon_test_nr_accesses_to_accesses_bp: 32-bit arithmetic', () => {
    const a = attrs(10, (0xffff_ffff + 1) * 10);
    expect(damonNrAccessesToAccessesBp(123, a)).toBe(0);
  });

  it('damon_test_update_monitoring_result: conversions between attributes', () => {
    const oldA = attrs(10, 1000);
    const r = { nrAccesses: 15, nrAccessesBp: 150000, age: 20, lastNrAccesses: 0 };
    damonUpdateMonitoringResult(r, oldA, attrs(100, 10000), false);
    expect([r.nrAccesses, r.age]).toEqual([15, 2]);
    damonUpdateMonitoringResult(r, oldA, attrs(1, 1000), false);
    expect([r.nrAccesses, r.age]).toEqual([150, 2]);
    damonUpdateMonitoringResult(r, oldA, attrs(1, 100), false);
    expect([r.nrAccesses, r.age]).toEqual([150, 20]);
  });

  it('damon_test_set_attrs: validation', () => {
    const c = damonNewCtx();
    const valid = {
      ...damonDefaultAttrs(),
      minNrRegions: 10,
      maxNrRegions: 1000,
      sampleInterval: 5000,
      aggrInterval: 100000,
    };
    expect(damonSetAttrs(c, { ...valid })).toBe(0);
    expect(damonSetAttrs(c, { ...valid, minNrRegions: 1 })).toBe(-22);
    expect(damonSetAttrs(c, { ...valid, maxNrRegions: 9 })).toBe(-22);
    expect(damonSetAttrs(c, { ...valid, aggrInterval: 4999 })).toBe(-22);
    // intervals goal: sample outside [min, max], or min > max
    const goal = { accessBp: 400, aggrs: 3, minSampleUs: 10000, maxSampleUs: 20000 };
    expect(damonSetAttrs(c, { ...valid, intervalsGoal: goal })).toBe(-22);
    expect(damonSetAttrs(c, { ...valid, intervalsGoal: { ...goal, minSampleUs: 6000, maxSampleUs: 1000 } })).toBe(-22);
    expect(damonSetAttrs(c, { ...valid, intervalsGoal: { ...goal, minSampleUs: 5000 } })).toBe(0);
    expect(c.attrs.aggrSamples).toBe(20);
  });

  it('damon_test_moving_sum', () => {
    let mvsum = 50000;
    const newValues = [10000, 0, 10000, 0, 0, 0, 10000, 0, 0, 0];
    const expects = [55000, 50000, 55000, 50000, 45000, 40000, 45000, 40000, 35000, 30000];
    newValues.forEach((v, i) => {
      mvsum = damonMovingSum(mvsum, 50000, 10, v);
      expect(mvsum).toBe(expects[i]);
    });
  });

  it('damos_test_new_filter', () => {
    const f = damosNewFilter(DAMOS_FILTER_TYPE_ANON, true, false);
    expect([f.type, f.matching, f.allow]).toEqual([DAMOS_FILTER_TYPE_ANON, true, false]);
  });

  it('damos_test_filter_out: address filters split at the range edges', () => {
    const f = damosNewFilter(DAMOS_FILTER_TYPE_ADDR, true, false);
    f.addrRange = { start: 2, end: 6 };
    const t = targetWith([[3, 5]]);
    const r = t.first;
    expect(damosFilterMatch(null, t, r, f, 1)).toBe(true); // in the range
    expect(damonNrRegions(t)).toBe(1);
    t.start[r] = 1;
    t.end[r] = 2; // before the range
    expect(damosFilterMatch(null, t, r, f, 1)).toBe(false);
    t.start[r] = 6;
    t.end[r] = 8; // after the range
    expect(damosFilterMatch(null, t, r, f, 1)).toBe(false);
    expect(damonNrRegions(t)).toBe(1);
    t.start[r] = 1;
    t.end[r] = 4; // started before the range
    expect(damosFilterMatch(null, t, r, f, 1)).toBe(false);
    expect(damonRegions(t).map((x) => [x.start, x.end])).toEqual([
      [1, 2],
      [2, 4],
    ]);
    damonDestroyRegion(t, t.next[r]!);
    t.start[r] = 2;
    t.end[r] = 8; // started in the range
    expect(damosFilterMatch(null, t, r, f, 1)).toBe(true);
    expect(damonRegions(t).map((x) => [x.start, x.end])).toEqual([
      [2, 6],
      [6, 8],
    ]);
  });

  it('damon_test_feed_loop_next_input', () => {
    const last = 900000;
    expect(damonFeedLoopNextInput(last, 200)).toBeGreaterThan(last);
    expect(damonFeedLoopNextInput(last, 250000000)).toBeLessThan(last);
    expect(damonFeedLoopNextInput(last, 200)).toBeGreaterThan(damonFeedLoopNextInput(last, 2000));
    // exact points of the formula
    expect(damonFeedLoopNextInput(last, 10000)).toBe(last);
    expect(damonFeedLoopNextInput(last, 20000)).toBe(10000);
    expect(damonFeedLoopNextInput(last, 5000)).toBe(1350000);
    expect(damonFeedLoopNextInput(last, 15000)).toBe(450000);
    expect(damonFeedLoopNextInput(10000, 19999)).toBe(10000);
  });

  it('damon_test_set_filters_default_reject', () => {
    const s = damonNewScheme(damosPatternAll(), DAMOS_STAT, 0, damosQuotaNone(), damosWmarksNone());
    damosSetFiltersDefaultReject(s);
    expect([s.coreFiltersDefaultReject, s.opsFiltersDefaultReject]).toEqual([false, false]);
    const target = damosNewFilter(DAMOS_FILTER_TYPE_TARGET, true, true);
    damosAddFilter(s, target);
    damosSetFiltersDefaultReject(s);
    expect([s.coreFiltersDefaultReject, s.opsFiltersDefaultReject]).toEqual([true, false]);
    target.allow = false;
    damosSetFiltersDefaultReject(s);
    expect([s.coreFiltersDefaultReject, s.opsFiltersDefaultReject]).toEqual([false, false]);
    const anon = damosNewFilter(DAMOS_FILTER_TYPE_ANON, true, true);
    damosAddFilter(s, anon);
    damosSetFiltersDefaultReject(s);
    expect([s.coreFiltersDefaultReject, s.opsFiltersDefaultReject]).toEqual([false, true]);
    target.allow = true;
    damosSetFiltersDefaultReject(s);
    expect([s.coreFiltersDefaultReject, s.opsFiltersDefaultReject]).toEqual([false, true]);
  });

  it('the list helpers stay consistent after destroying the middle region', () => {
    const t = targetWith([
      [0, 10],
      [10, 20],
      [20, 30],
    ]);
    damonDestroyRegion(t, t.next[t.first]!);
    expect(damonValidateTarget(t)).toBeNull();
    expect(t.next[t.next[t.first]!]).toBe(DAMON_NO_REGION);
    // the freed handle is reused
    const r = damonNewRegion(t, 40, 50);
    expect(r).toBe(1);
  });
  it.each([
    // sz_regions, min_region_sz, min_nr_regions, max_region_sz, nr_regions
    [10, 1, 10, 1, 10], // common, expected setup
    [10, 1, 15, 1, 10], // no zero size limit
    [10, 2, 2, 6, 2], // max size aligned by min_region_sz
    [10, 2, 10, 2, 5], // min_region_sz wins over min_nr_regions
  ])(
    'damon_test_apply_min_nr_regions: %i bytes, min_region_sz %i, min_nr_regions %i',
    (sz, minSz, minNr, maxSz, nr) => {
      const c = damonNewCtx();
      const t = targetWith([[0, sz]]);
      damonAddTarget(c, t);
      c.minRegion = minSz;
      c.attrs.minNrRegions = minNr;
      expect(damonApplyMinNrRegions(c)).toBe(maxSz);
      expect(damonNrRegions(t)).toBe(nr);
      expect(damonValidateTarget(t)).toBeNull();
    },
  );
});
