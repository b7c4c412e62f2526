/**
 * Interval auto-tuning: unit checks of the adaptation formula and the
 * convergence test on a workload whose observed access ratio depends on the
 * sampling interval (uniform random accesses at a low rate: a sampled page is
 * found accessed with probability 1 − e^(−λ·sample)).
 */
import { describe, expect, it } from 'vitest';
import {
  type DamonAttrs,
  damonAddRegion,
  damonAddTarget,
  damonDefaultAttrs,
  damonGetIntervalsAdaptationBp,
  damonGetIntervalsScore,
  damonNewCtx,
  damonNewRegion,
  damonNewTarget,
  damonSetAttrs,
  damonStart,
  kdamondTuneIntervals,
} from '../src/index.js';
import { standalone } from './helpers/standalone.js';

function ctxWith(accesses: number[], attrs: Partial<DamonAttrs>, age = 10) {
  const ctx = damonNewCtx();
  const t = damonNewTarget();
  accesses.forEach((n, i) => {
    const r = damonNewRegion(t, i * 4096, (i + 1) * 4096);
    t.nrAccesses[r] = n;
    t.nrAccessesBp[r] = n * 10000;
    damonAddRegion(t, r);
  });
  damonAddTarget(ctx, t);
  expect(damonSetAttrs(ctx, { ...damonDefaultAttrs(), ...attrs })).toBe(0);
  for (let r = t.first; r !== -1; r = t.next[r]!) {
    t.nrAccesses[r] = accesses[r]!;
    t.nrAccessesBp[r] = accesses[r]! * 10000;
    t.age[r] = age;
  }
  return { ctx, t };
}

const goal = { accessBp: 400, aggrs: 3, minSampleUs: 5000, maxSampleUs: 10_000_000 };

describe('intervals auto-tuning', () => {
  it('scores the last window against access_bp', () => {
    // 4 regions × 20 samples; 4% of 80 samples = 3.2 samples.
    expect(damonGetIntervalsScore(ctxWith([1, 1, 1, 0], { intervalsGoal: goal, sampleInterval: 5000 }).ctx)).toBe(
      BigInt(Math.floor((3 * 4096 * 10000) / Math.floor((4 * 4096 * 20 * 400) / 10000))),
    );
  });

  it('grows by at most 2x, shrinks by at most 0.5x, keeps aggr/sample and clamps', () => {
    const zero = ctxWith([0, 0, 0, 0], { intervalsGoal: goal, sampleInterval: 5000 });
    expect(damonGetIntervalsAdaptationBp(zero.ctx)).toBe(20000);
    kdamondTuneIntervals(zero.ctx);
    expect([zero.ctx.attrs.sampleInterval, zero.ctx.attrs.aggrInterval]).toEqual([10000, 200000]);
    // every sample accessed: score 25x the goal → adaptation 1 → rescaled to 5000 bp (×0.5)
    const full = ctxWith([20, 20, 20, 20], { intervalsGoal: goal, sampleInterval: 40000, aggrInterval: 800000 });
    expect(damonGetIntervalsAdaptationBp(full.ctx)).toBe(5000);
    kdamondTuneIntervals(full.ctx);
    expect([full.ctx.attrs.sampleInterval, full.ctx.attrs.aggrInterval]).toEqual([20000, 400000]);
    // ages are rescaled by old_aggr/new_aggr (10 × 800000 / 400000)
    expect(full.t.age[full.t.first]).toBe(20);
    // clamped to min_sample_us
    const low = ctxWith([20, 20, 20, 20], { intervalsGoal: goal, sampleInterval: 6000, aggrInterval: 120000 });
    kdamondTuneIntervals(low.ctx);
    expect([low.ctx.attrs.sampleInterval, low.ctx.attrs.aggrInterval]).toEqual([5000, 100000]);
    // on target: unchanged
    const on = ctxWith([4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], { intervalsGoal: goal });
    expect(damonGetIntervalsAdaptationBp(on.ctx)).toBe(10000);
  });

  it('converges so the observed ratio is within ±25% of a 4% goal, inside [min, max]', () => {
    // 100 MB, uniform random accesses at ~10.5 k accesses/s: λ ≈ 0.41 per page per second,
    // so a 4% hit ratio needs a sampling interval of about 100 ms.
    const s = standalone('r, 104857600\n\np\n600000\nr, 1, 4096, 1\n', 7, { nsPerAccess: 96_000, subBatches: 1024 });
    const { ctx, machine, damon } = s;
    expect(
      damonSetAttrs(ctx, { ...damonDefaultAttrs(), minNrRegions: 100, maxNrRegions: 1000, intervalsGoal: goal }),
    ).toBe(0);
    const tunes: number[] = [];
    ctx.trace.damonMonitorIntervalsTune = (_c, sampleUs) => tunes.push(sampleUs);
    const ratios: { sample: number; ratio: number }[] = [];
    ctx.trace.damonAggregated = (c, _ti, t, r) => {
      if (r !== t.first) return;
      let ev = 0;
      let max = 0;
      for (let x = t.first; x !== -1; x = t.next[x]!) {
        ev += (t.end[x]! - t.start[x]!) * t.nrAccesses[x]!;
        max += (t.end[x]! - t.start[x]!) * c.attrs.aggrSamples;
      }
      ratios.push({ sample: c.attrs.sampleInterval, ratio: ev / max });
    };
    expect(damonStart(damon, [ctx], false)).toBe(0);
    machine.sched.runUntil(100e9);
    let prev = 5000;
    for (const sample of tunes) {
      expect(sample).toBeGreaterThanOrEqual(goal.minSampleUs);
      expect(sample).toBeLessThanOrEqual(goal.maxSampleUs);
      expect(sample).toBeLessThanOrEqual(prev * 2);
      expect(sample).toBeGreaterThanOrEqual(Math.floor(prev / 2));
      prev = sample;
    }
    expect(ctx.attrs.aggrInterval / ctx.attrs.sampleInterval).toBe(20);
    // The last 20 windows (about 45 s) average within ±25% of 4%.
    const tail = ratios.slice(-20);
    const mean = tail.reduce((a, x) => a + x.ratio, 0) / tail.length;
    expect(Math.abs(mean - 0.04)).toBeLessThan(0.01);
    // and the tuned interval sits near the analytical answer (≈ 100 ms).
    const lambda = 1e9 / 96_000 / (104857600 / 4096);
    const expected = (-Math.log(1 - 0.04) / lambda) * 1e6;
    expect(ctx.attrs.sampleInterval).toBeGreaterThan(expected / 2);
    expect(ctx.attrs.sampleInterval).toBeLessThan(expected * 2);
  });
});
