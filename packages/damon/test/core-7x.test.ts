/**
 * One readable case for each difference the comparison with Linux 7.2's own
 * code (test/kernel-diff.test.ts) found in the model, with the kernel's
 * answer worked out by hand. Most are 7.x behaviour that 6.18 did not have
 * (README, "Versions"); the rest are exactness in the kernel's integer
 * arithmetic.
 */
import { Prng } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  DAMOS_FILTER_TYPE_ADDR,
  DAMOS_PAGEOUT,
  DAMOS_QUOTA_USER_INPUT,
  type DamonCtx,
  type Damos,
  damonAddRegion,
  damonAddTarget,
  damonApplyMinNrRegions,
  damonColdScore,
  damonFeedLoopNextInputU64,
  damonGetIntervalsScore,
  damonHotScore,
  damonMergeRegionsOf,
  damonNewCtx,
  damonNewRegion,
  damonNewScheme,
  damonNewTarget,
  damonNrAccessesToAccessesBp,
  damonRand,
  damonRegions,
  damonStart,
  damonVaddrOps,
  damosAddFilter,
  damosAddQuotaGoal,
  damosAdjustQuota,
  damosNewFilter,
  damosNewQuotaGoal,
  damosPatternAll,
  damosQuotaNone,
  damosSetEffectiveQuota,
  damosSetFiltersDefaultReject,
  damosWmarksNone,
  kdamondApplySchemes,
  kdamondMergeRegions,
} from '../src/index.js';
import { stairsCfg, standalone } from './helpers/standalone.js';

/** A Prng that returns `values` in turn. */
class Fixed extends Prng {
  private i = 0;
  constructor(private readonly values: number[]) {
    super(0);
  }
  override nextU32(): number {
    return this.values[this.i++]!;
  }
}

function ctxWith(regions: [number, number, number, number, number][]): DamonCtx {
  // [start, end, nr_accesses, age, last_nr_accesses]
  const c = damonNewCtx();
  const t = damonNewTarget(0);
  for (const [s, e, nr, age, last] of regions) {
    const r = damonNewRegion(t, s, e);
    t.nrAccesses[r] = nr;
    t.nrAccessesBp[r] = nr * 10000;
    t.age[r] = age;
    t.lastNrAccesses[r] = last;
    damonAddRegion(t, r);
  }
  damonAddTarget(c, t);
  return c;
}

function pageout(quota: Partial<Damos['quota']> = {}): Damos {
  return damonNewScheme(damosPatternAll(), DAMOS_PAGEOUT, 0, { ...damosQuotaNone(), ...quota }, damosWmarksNone());
}

describe('exact integer arithmetic', () => {
  it('damon_rand() over more than 4 GiB takes the high 64 bits of a 64-bit draw times the span', () => {
    const c = damonNewCtx(new Fixed([0xffff_ffff, 0xffff_ffff]));
    const span = 2 ** 52 + 12345;
    // (2^64 - 1) × span >> 64 = span - 1: a 53-bit float draw would round up to span
    expect(damonRand(c, 0, span)).toBe(span - 1);
    // exactly 2^32 is already the 64-bit path (span <= U32_MAX is the 32-bit one)
    const c2 = damonNewCtx(new Fixed([1, 0]));
    expect(damonRand(c2, 0, 2 ** 32)).toBe(1);
  });

  it('nr_accesses → bp with mult_frac(): no unsigned int wrap of nr_accesses × 10000', () => {
    const attrs = { ...damonNewCtx().attrs, sampleInterval: 1, aggrInterval: 1_000_000 };
    // 6.18: 1000000 × 10000 wraps at 2^32 → 1410065408 / 1000000 = 1410
    expect(damonNrAccessesToAccessesBp(1_000_000, attrs)).toBe(10000);
  });

  it('the feedback loop keeps unsigned long exactness and saturates at ULONG_MAX', () => {
    const max = (1n << 64n) - 1n;
    expect(damonFeedLoopNextInputU64(max - 5n, 0n)).toBe(max);
    // halfway under the goal: +50%, computed as last / goal × diff once last × diff
    // would overflow (exact: a float64 would lose the low bits of 2^60 + 2)
    const last = (1n << 60n) + 2n;
    expect(damonFeedLoopNextInputU64(last, 5000n)).toBe(last + (last / 10000n) * 5000n);
    expect(damonFeedLoopNextInputU64(1000n, 5000n)).toBe(1500n);
  });

  it('the intervals score sums in unsigned long (wrapping like the kernel past 2^64)', () => {
    const c = ctxWith([[0, 2 ** 52, 20, 0, 20]]);
    c.attrs.aggrSamples = 20;
    c.attrs.intervalsGoal.accessBp = 10000;
    // max events 2^52 × 20 × 10000 wraps; the score is mult_frac(events, 10000, target)
    const events = BigInt(2 ** 52) * 20n;
    const target = BigInt.asUintN(64, events * 10000n) / 10000n;
    const q = events / target;
    expect(damonGetIntervalsScore(c)).toBe(q * 10000n + ((events % target) * 10000n) / target);
  });

  it('hot score: the moving sum, unsigned int age in seconds, unsigned int weights', () => {
    const c = ctxWith([[0, 4096, 0, 7, 0]]);
    const t = c.adaptiveTargets[0]!;
    const s = pageout({ weightNrAccesses: 1, weightAge: 0 });
    // nr_accesses 0 but nr_accesses_bp 10 samples' worth: 7.x scores the moving sum
    t.nrAccessesBp[t.first] = 10 * 10000;
    expect(damonHotScore(c, t, t.first, s)).toBe(Math.floor((50 * 99) / 100));
    expect(damonColdScore(c, t, t.first, s)).toBe(99 - 49);
  });
});

describe('7.x merge rules', () => {
  it('a region that goes from no access to some (or back) restarts its age', () => {
    const c = ctxWith([
      [0, 4096, 1, 10, 0],
      [8192, 12288, 0, 10, 1],
      [16384, 20480, 0, 10, 0],
    ]);
    damonMergeRegionsOf(c.adaptiveTargets[0]!, 5, 1 << 30);
    expect(damonRegions(c.adaptiveTargets[0]!).map((r) => r.age)).toEqual([0, 0, 11]);
  });

  it('ages count once per aggregation however many merge passes it takes; the last pass uses aggr/sample', () => {
    // 4 contiguous regions; nr_accesses 0, 6, 12, 18 of at most 20; max_nr_regions 3 (sic: below min)
    const c = ctxWith([
      [0, 4096, 0, 3, 0],
      [4096, 8192, 6, 3, 6],
      [8192, 12288, 12, 3, 12],
      [12288, 16384, 18, 3, 18],
    ]);
    c.attrs.maxNrRegions = 1;
    // threshold 5 → 10 → 20 (= aggr/sample, not 6.18's unbounded doubling): one region
    kdamondMergeRegions(c, 5, 1 << 30);
    const regions = damonRegions(c.adaptiveTargets[0]!);
    expect(regions.length).toBe(1);
    // each region aged once (3 → 4) before the merges averaged them
    expect(regions[0]!.age).toBe(4);
  });
});

describe('damon_apply_min_nr_regions()', () => {
  it('splits regions larger than total / min_nr_regions when the kdamond starts', () => {
    const sa = standalone(stairsCfg(2, 4 << 20, 10000));
    sa.ctx.attrs.minNrRegions = 40;
    damonStart(sa.damon, [sa.ctx], false);
    sa.machine.sched.runUntil(1e6);
    const regs = damonRegions(sa.ctx.adaptiveTargets[0]!);
    const total = regs.reduce((a, r) => a + r.end - r.start, 0);
    const limit = Math.ceil(Math.floor(total / 40) / 4096) * 4096;
    expect(regs.length).toBeGreaterThanOrEqual(40);
    for (const r of regs) expect(r.end - r.start).toBeLessThanOrEqual(limit);
    expect(damonApplyMinNrRegions(sa.ctx)).toBe(limit);
  });
});

describe('7.x access checks', () => {
  it('vaddr asks every region, even two sampled in the same huge folio (no reuse of the last answer)', () => {
    const asked: number[] = [];
    // one 2 MiB folio, young: 6.18 would have answered the second region from the first's walk
    const mm = {
      pageSize: 4096,
      forEachVma: () => {},
      mkold: () => {},
      young: (addr: number): number => {
        asked.push(addr);
        return 2 << 20;
      },
      madvise: () => 0,
    };
    const c = ctxWith([
      [0, 1 << 20, 0, 0, 0],
      [1 << 20, 2 << 20, 0, 0, 0],
    ]);
    c.ops = damonVaddrOps({ getMm: () => mm });
    c.ops.prepareAccessChecks!(c);
    c.ops.checkAccesses!(c);
    expect(asked.length).toBe(2);
    expect(damonRegions(c.adaptiveTargets[0]!).map((r) => r.nrAccesses)).toEqual([1, 1]);
  });
});

describe('7.x quotas and the apply pass', () => {
  it('the first charge window opens, and computes esz, at the first adjustment', () => {
    const c = ctxWith([[0, 4096, 0, 0, 0]]);
    const s = pageout({ ms: 10, resetInterval: 1000 });
    damosAdjustQuota(c, s, 0, 5e6);
    expect([s.quota.chargedFrom, s.quota.esz]).toEqual([5, 4096 * 1024 * 10]);
    // a time quota is at least the minimum region size
    s.quota.totalChargedSz = 1;
    s.quota.totalChargedNs = 1e9;
    damosSetEffectiveQuota(c, s.quota);
    expect(s.quota.esz).toBe(4096);
  });

  it('a quota with less than a minimum region left is full: the window counts as exceeded', () => {
    const c = ctxWith([[0, 1 << 20, 0, 0, 0]]);
    const s = pageout({ sz: 10000, resetInterval: 10 });
    c.ops = { id: 0, applyScheme: (_c, t, r) => t.end[r]! - t.start[r]! };
    c.schemes.push(s);
    kdamondApplySchemes(c, 1e6);
    // 8192 bytes applied (two pages): 1808 left < 4096, so full
    expect(s.quota.chargedSz).toBe(8192);
    expect(s.quota.chargeAddrFrom).toBe(8192);
    s.nextApplySis = 0;
    kdamondApplySchemes(c, 20e6);
    expect(s.stat.qtExceeds).toBe(1);
  });

  it('pieces the quota cut off are merged back when nothing tells them apart', () => {
    // one 1 MiB region; a 256 KiB quota splits it; the STAT-like stub leaves ages alone
    const c = ctxWith([[0, 1 << 20, 3, 5, 3]]);
    c.attrs.minNrRegions = 1; // max region size = the whole target
    const s = damonNewScheme(
      damosPatternAll(),
      9 /* DAMOS_STAT */,
      0,
      { ...damosQuotaNone(), sz: 256 << 10, resetInterval: 1000 },
      damosWmarksNone(),
    );
    c.ops = { id: 0, applyScheme: () => 0 };
    c.schemes.push(s);
    kdamondApplySchemes(c, 1e6);
    // the head [0, 256 KiB) was tried, then the tail merged back: one region again
    expect(damonRegions(c.adaptiveTargets[0]!).map((r) => [r.start, r.end])).toEqual([[0, 1 << 20]]);
    expect(s.stat.szTried).toBe(256 << 10);
    // the quota was full before the walk reached the last region: no snapshot counted
    expect(s.stat.nrSnapshots).toBe(0);
  });

  it('max_nr_snapshots stops a scheme; an invalid target drops the quota resume point', () => {
    const c = ctxWith([[0, 1 << 20, 0, 0, 0]]);
    const s = pageout();
    s.maxNrSnapshots = 1;
    let applied = 0;
    c.ops = {
      id: 0,
      applyScheme: (_c, t, r) => {
        applied++;
        return t.end[r]! - t.start[r]!;
      },
    };
    c.schemes.push(s);
    kdamondApplySchemes(c);
    s.nextApplySis = 0;
    kdamondApplySchemes(c);
    expect([applied, s.stat.nrSnapshots]).toEqual([1, 1]);

    const t = c.adaptiveTargets[0]!;
    const s2 = pageout();
    s2.quota.chargeTargetFrom = t;
    s2.quota.chargeAddrFrom = 4096;
    c.schemes = [s2];
    c.ops = { id: 0, targetValid: () => false };
    kdamondApplySchemes(c);
    expect([s2.quota.chargeTargetFrom, s2.quota.chargeAddrFrom]).toEqual([null, 0]);
  });

  it('the score histogram leaves out regions the core filters reject', () => {
    // two 1 MiB regions, the hot one rejected by an addr filter: min_score comes from the cold one
    const c = ctxWith([
      [0, 1 << 20, 0, 0, 0],
      [1 << 20, 2 << 20, 20, 0, 20],
    ]);
    c.ops = { id: 0, getSchemeScore: damonHotScore };
    const s = pageout({ sz: 1 << 20, weightNrAccesses: 1 });
    const f = damosNewFilter(DAMOS_FILTER_TYPE_ADDR, true, false);
    f.addrRange = { start: 1 << 20, end: 2 << 20 };
    damosAddFilter(s, f);
    damosSetFiltersDefaultReject(s);
    c.schemes.push(s);
    damosAdjustQuota(c, s, 0, 1e6);
    expect(s.quota.minScore).toBe(0);
  });

  it('goal scores are mult_frac() in unsigned long', () => {
    const c = ctxWith([[0, 4096, 0, 0, 0]]);
    const s = pageout();
    const g = damosNewQuotaGoal(DAMOS_QUOTA_USER_INPUT, 3);
    g.currentValue = 2 ** 50;
    damosAddQuotaGoal(s.quota, g);
    damosSetEffectiveQuota(c, s.quota);
    // 2^50 / 3 × 10000 + (2^50 % 3) × 10000 / 3 ≥ 20000: the loop's minimum
    expect(s.quota.eszBp).toBe(10000n);
  });
});
