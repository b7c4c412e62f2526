/**
 * DAMON's core against the kernel itself. `kernel-diff/kdiff.c` builds
 * Linux 7.2's own mm/damon/core.c functions (and the hot/cold scores of
 * ops-common.c) in userspace, runs seeded random cases through them and
 * records each case's input and the kernel's answer (test/kernel-diff/,
 * `bash kernel-diff/build.sh && bash kernel-diff/record.sh`). Here every
 * recorded case runs through this package and every answer must match:
 * region merge, split (the kernel's PRNG replaced by a recorded sequence
 * both sides consume), damon_set_regions(), the moving sum, result
 * conversion in damon_set_attrs(), interval auto-tuning, the goal feedback
 * loop, the effective quota, damos_adjust_quota() with its score histogram,
 * the hot/cold scores, watermarks, core filters and whole apply passes.
 */
import { describe, expect, it } from 'vitest';
import {
  type DamonCtx,
  type DamonOperations,
  type DamonTarget,
  type Damos,
  damonAddScheme,
  damonApplyMinNrRegions,
  damonColdScore,
  damonFeedLoopNextInputU64,
  damonGetIntervalsAdaptationBp,
  damonGetIntervalsScore,
  damonHotScore,
  damonMovingSum,
  damonNewCtx,
  damonNthRegion,
  damonRand,
  damonSetAttrs,
  damonSetRegions,
  damonSplitRegionsOf,
  damonUpdateRegionAccessRate,
  damosAdjustQuota,
  damosCoreFilterOut,
  damosSetEffectiveQuota,
  damosSetFiltersDefaultReject,
  damosWmarkWaitUs,
  kdamondApplySchemes,
  kdamondMergeRegions,
  kdamondResetAggregated,
  kdamondSplitRegions,
  kdamondTuneIntervals,
} from '../src/index.js';
import {
  addFilters,
  attrsArray,
  attrsOf,
  type Case,
  ctxOf,
  loadCases,
  quotaOf,
  regionsOf,
  ScriptedPrng,
  schemeOf,
  setQuota,
  systemOf,
  targetOf,
  targetsOf,
} from './helpers/kernel-diff.js';

/** Run every case of `kind` through `check`; fail with the first few differing cases. */
function replay(kind: string, check: (c: Case) => void): void {
  const cases = loadCases(kind);
  const failures: string[] = [];
  for (let i = 0; i < cases.length; i++) {
    try {
      check(cases[i]!);
    } catch (e) {
      const err = e as Error & { actual?: unknown; expected?: unknown };
      const detail =
        err.actual === undefined
          ? err.message
          : `model ${JSON.stringify(err.actual)}\nkernel ${JSON.stringify(err.expected)}`;
      failures.push(`case ${i}: ${detail.slice(0, 3000)}\ninput ${JSON.stringify(cases[i]).slice(0, 2000)}`);
      if (failures.length >= 3) break;
    }
  }
  expect(failures, `${kind}: ${failures.length} differences`).toEqual([]);
  expect(cases.length).toBeGreaterThanOrEqual(100);
}

describe('DAMON core against the kernel (Linux 7.2, recorded answers)', () => {
  it('damon_rand(): the same draws give the same numbers', () => {
    replay('rand', (c) => {
      const ctx = damonNewCtx();
      const rng = new ScriptedPrng(c.rnd);
      ctx.rng = rng;
      const got = (c.in as number[][]).map(([l, r]) => damonRand(ctx, l!, r!));
      expect(got).toEqual(c.out);
      expect(rng.used).toBe(c.rnd.length);
    });
  });

  it('kdamond_merge_regions(): merges, ages, threshold steps and size limit', () => {
    replay('merge', (c) => {
      const ctx = ctxOf(c.targets, c.attrs);
      kdamondMergeRegions(ctx, c.thres, c.szLimit);
      expect(targetsOf(ctx)).toEqual(c.out);
    });
  });

  it('damon_split_regions_of() and kdamond_split_regions(): the same cuts from the same draws', () => {
    const damon = { splitLastNrRegions: 0 };
    replay('split', (c) => {
      const ctx = ctxOf(c.targets);
      const rng = new ScriptedPrng(c.rnd);
      ctx.rng = rng;
      ctx.minRegion = c.minRegion;
      ctx.attrs.maxNrRegions = c.maxNrRegions;
      if (c.direct) for (const t of ctx.adaptiveTargets) damonSplitRegionsOf(ctx, t, c.nrSubs, c.minRegion);
      else kdamondSplitRegions(ctx, damon);
      expect(targetsOf(ctx)).toEqual(c.out);
      expect(rng.used).toBe(c.rnd.length);
    });
  });

  it('damon_apply_min_nr_regions(): the size limit and the splits that make min_nr_regions hold', () => {
    replay('minnr', (c) => {
      const ctx = ctxOf(c.targets);
      ctx.minRegion = c.minRegion;
      ctx.attrs.minNrRegions = c.minNrRegions;
      const limit = damonApplyMinNrRegions(ctx);
      expect({ limit, targets: targetsOf(ctx) }).toEqual(c.out);
    });
  });

  it('damon_set_regions(): kept, stretched, added and removed regions; -EINVAL', () => {
    replay('setregions', (c) => {
      const t = targetOf(c.regions);
      const ranges = (c.ranges as number[][]).map(([start, end]) => ({ start: start!, end: end! }));
      const rc = damonSetRegions(t, ranges, c.minRegion);
      expect({ rc, regions: regionsOf(t) }).toEqual(c.out);
    });
  });

  it('damon_moving_sum(): unsigned int arithmetic', () => {
    replay('mvsum', (c) => {
      const [mv, nomv, len, nv] = c.in as number[];
      expect(damonMovingSum(mv!, nomv!, len!, nv!)).toBe(c.out);
    });
  });

  it('damon_update_region_access_rate() and kdamond_reset_aggregated(): nr_accesses and nr_accesses_bp sample by sample', () => {
    replay('access', (c) => {
      const ctx = ctxOf([[[0, 4096, 0, c.region[0], 0, c.region[1]]]], c.attrs);
      const t = ctx.adaptiveTargets[0]!;
      const r = t.first;
      const got: number[][] = [];
      for (const [kind] of c.steps as number[][]) {
        if (kind === 2) kdamondResetAggregated(ctx);
        else damonUpdateRegionAccessRate(t, r, kind === 1, ctx.attrs);
        got.push([kind!, t.nrAccesses[r]!, t.nrAccessesBp[r]!, t.lastNrAccesses[r]!]);
      }
      expect(got).toEqual(c.steps);
    });
  });

  it('damon_set_attrs(): validation, schedules, result conversion, next apply times', () => {
    replay('attrs', (c) => {
      const ctx = ctxOf([c.regions], c.attrs);
      ctx.passedSampleIntervals = c.passed;
      ctx.nextAggregationSis = c.nextAggr;
      ctx.nextOpsUpdateSis = c.nextOps;
      for (const [applyUs, nextApply] of c.schemes as number[][]) {
        const s = schemeOf(9, applyUs!);
        ctx.schemes.push(s);
        s.nextApplySis = nextApply!;
      }
      const rc = damonSetAttrs(ctx, attrsOf(c.new));
      expect({
        rc,
        attrs: attrsArray(ctx.attrs),
        nextAggr: ctx.nextAggregationSis,
        nextOps: ctx.nextOpsUpdateSis,
        nextApply: ctx.schemes.map((s) => s.nextApplySis),
        regions: regionsOf(ctx.adaptiveTargets[0]!),
      }).toEqual(c.out);
    });
  });

  it('interval auto-tuning: score, adaptation, kdamond_tune_intervals() with age rescaling', () => {
    replay('tune', (c) => {
      const ctx = ctxOf(c.targets, c.attrs);
      ctx.passedSampleIntervals = c.passed;
      ctx.nextAggregationSis = c.passed;
      const score = damonGetIntervalsScore(ctx);
      const adapt = damonGetIntervalsAdaptationBp(ctx);
      kdamondTuneIntervals(ctx);
      expect({
        score: score.toString(),
        adapt,
        attrs: attrsArray(ctx.attrs),
        nextAggr: ctx.nextAggregationSis,
        targets: targetsOf(ctx),
      }).toEqual(c.out);
    });
  });

  it('damon_feed_loop_next_input(): unsigned long arithmetic, saturation', () => {
    replay('feed', (c) => {
      const [last, score] = c.in as string[];
      expect(damonFeedLoopNextInputU64(BigInt(last!), BigInt(score!)).toString()).toBe(c.out);
    });
  });

  it('damos_set_effective_quota(): goals, time quota, size quota', () => {
    replay('esz', (c) => {
      const ctx = damonNewCtx();
      ctx.minRegion = c.minRegion;
      ctx.system = systemOf(c.sys);
      const s = schemeOf(9, 0);
      setQuota(s, c.quota);
      damonAddScheme(ctx, s);
      damosSetEffectiveQuota(ctx, s.quota);
      expect(quotaOf(s)).toEqual(c.out);
    });
  });

  it('damos_adjust_quota(): charge windows, effective quota, score histogram and min_score', () => {
    replay('adjust', (c) => {
      const ctx = ctxOf(c.targets, c.attrs);
      ctx.system = systemOf(c.sys);
      ctx.ops = scoreOps(c.score);
      const s = schemeOf(9, 0, c.pattern);
      addFilters(s, c.filters);
      damosSetFiltersDefaultReject(s);
      setQuota(s, c.quota);
      ctx.schemes.push(s);
      damosAdjustQuota(ctx, s, 0);
      expect({ quota: quotaOf(s), qtExceeds: s.stat.qtExceeds, targets: targetsOf(ctx) }).toEqual(c.out);
    });
  });

  it('damon_hot_score() and damon_cold_score()', () => {
    replay('score', (c) => {
      const ctx = ctxOf([[[0, 4096, c.region[0], c.region[1], c.region[2], 0]]], c.attrs);
      const t = ctx.adaptiveTargets[0]!;
      const s = schemeOf(9, 0);
      s.quota.weightNrAccesses = c.w[0];
      s.quota.weightAge = c.w[1];
      expect([damonHotScore(ctx, t, t.first, s), damonColdScore(ctx, t, t.first, s)]).toEqual(c.out);
    });
  });

  it('watermarks: damos_wmark_wait_us() through a series of free memory rates', () => {
    replay('wmark', (c) => {
      const ctx = damonNewCtx();
      const sys = systemOf({ jiffies: 0, free: 1, total: 1, psi: 0, nodes: [] });
      ctx.system = sys;
      const s = schemeOf(9, 0);
      const [metric, interval, high, mid, low, activated] = c.w as number[];
      s.wmarks = {
        metric: metric!,
        interval: interval!,
        high: high!,
        mid: mid!,
        low: low!,
        activated: activated === 1,
      };
      const got: number[][] = [];
      for (const [free, total] of c.steps as number[][]) {
        sys.freePages = free!;
        sys.totalPages = total!;
        const wait = damosWmarkWaitUs(ctx, s);
        got.push([free!, total!, wait, s.wmarks.activated ? 1 : 0]);
      }
      expect(got).toEqual(c.steps);
    });
  });

  it('core filters: first match decides, allow/reject, the no-match default, address splits', () => {
    replay('filter', (c) => {
      const ctx = ctxOf(c.targets);
      ctx.minRegion = c.minRegion;
      const s = schemeOf(9, 0);
      addFilters(s, c.filters);
      damosSetFiltersDefaultReject(s);
      expect([s.coreFiltersDefaultReject ? 1 : 0, s.opsFiltersDefaultReject ? 1 : 0]).toEqual(c.defaultReject);
      const t = ctx.adaptiveTargets[c.target]!;
      const out = damosCoreFilterOut(ctx, t, damonNthRegion(t, c.region), s);
      expect({ filterOut: out ? 1 : 0, allowed: s.coreFiltersAllowed ? 1 : 0, targets: targetsOf(ctx) }).toEqual(c.out);
    });
  });

  it('kdamond_apply_schemes(): whole apply passes with quotas, resume, filters, scores and stats', () => {
    replay('apply', (c) => {
      const ctx = ctxOf(c.targets, c.attrs);
      const sys = systemOf(c.sys);
      ctx.system = sys;
      ctx.minRegion = 4096;
      ctx.passedSampleIntervals = c.passed;
      ctx.ops = applyOps(c.score === 1, c.apply === 1, c.invalid);
      for (const x of c.schemes as Case[]) {
        const s = schemeOf(modelAction(x.action), x.applyUs, x.pattern);
        addFilters(s, x.filters);
        setQuota(s, x.quota);
        s.wmarks.activated = x.active === 1;
        ctx.schemes.push(s);
        damosSetFiltersDefaultReject(s);
        s.nextApplySis = x.nextApply;
      }
      let clock = 0;
      const origApply = ctx.ops.applyScheme;
      if (origApply !== undefined) {
        ctx.ops.applyScheme = (cc, t, r, s, out) => {
          const before = cc.pendingCostNs;
          const ret = origApply(cc, t, r, s, out);
          clock += cc.pendingCostNs - before;
          return ret;
        };
      }
      for (const pass of c.passes as Case[]) {
        ctx.passedSampleIntervals = pass.passed;
        sys.jiffiesNow = pass.jiffies;
        kdamondApplySchemes(ctx);
        expect({
          passed: ctx.passedSampleIntervals,
          jiffies: sys.jiffiesNow,
          clock,
          schemes: ctx.schemes.map((s) => schemeState(ctx, s)),
          targets: targetsOf(ctx),
        }).toEqual(pass);
      }
    });
  });
});

/** 7.2 numbers its actions with DAMOS_COLLAPSE (5) after NOHUGEPAGE; the model has 6.18's enum. */
function modelAction(kernel: number): number {
  return kernel > 5 ? kernel - 1 : kernel;
}
function kernelAction(model: number): number {
  return model >= 5 ? model + 1 : model;
}

function scoreOps(score: string): DamonOperations {
  if (score === 'hot') return { id: 2, getSchemeScore: damonHotScore };
  if (score === 'cold') return { id: 2, getSchemeScore: damonColdScore };
  return { id: 2 };
}

/** The ops stub of kdiff.c's apply cases. */
function applyOps(score: boolean, apply: boolean, invalid: number): DamonOperations {
  const ops: DamonOperations = { id: 2 };
  if (score) ops.getSchemeScore = damonColdScore;
  if (apply) {
    ops.applyScheme = (c: DamonCtx, t: DamonTarget, r: number, s: Damos, out): number => {
      const sz = t.end[r]! - t.start[r]!;
      const k = (Math.floor(t.start[r]! / 4096) + kernelAction(s.action)) % 4;
      const applied = k === 0 ? 0 : k === 1 ? sz : k === 2 ? Math.floor(sz / 2) : sz + 4096;
      out.szFilterPassed = sz - Math.floor(sz / 4);
      c.pendingCostNs += Math.floor(sz / 4096) * 100 + 1000;
      return applied;
    };
  }
  if (invalid >= 0) ops.targetValid = (t) => t.pid !== invalid;
  return ops;
}

function schemeState(ctx: DamonCtx, s: Damos): Case {
  const st = s.stat;
  const q = s.quota;
  return {
    stat: [st.nrTried, st.szTried, st.nrApplied, st.szApplied, st.szOpsFilterPassed, st.qtExceeds, st.nrSnapshots],
    quota: quotaOf(s),
    chargeTarget: q.chargeTargetFrom === null ? -1 : ctx.adaptiveTargets.indexOf(q.chargeTargetFrom),
    chargeAddr: q.chargeAddrFrom,
    nextApply: s.nextApplySis,
  };
}
