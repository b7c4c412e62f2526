/**
 * DAMOS: apply pass, quotas (size, time, goals, prioritisation, charge
 * resume), core filters, watermarks and damos_walk, on the standalone
 * workload through vaddr, and on hand-made region lists.
 */
import { describe, expect, it } from 'vitest';
import {
  DAMOS_FILTER_TYPE_ADDR,
  DAMOS_FILTER_TYPE_TARGET,
  DAMOS_PAGEOUT,
  DAMOS_QUOTA_USER_INPUT,
  DAMOS_STAT,
  DAMOS_WMARK_FREE_MEM_RATE,
  type DamonCtx,
  type DamonSystemView,
  type Damos,
  damonAddRegion,
  damonAddScheme,
  damonAddTarget,
  damonHotScore,
  damonNewCtx,
  damonNewRegion,
  damonNewScheme,
  damonNewTarget,
  damonRegions,
  damonStart,
  damosAddFilter,
  damosAddQuotaGoal,
  damosAdjustQuota,
  damosNewFilter,
  damosNewQuotaGoal,
  damosPatternAll,
  damosQuotaNone,
  damosSetFiltersDefaultReject,
  damosWalk,
  damosWmarksNone,
  kdamondApplySchemes,
  MADV_PAGEOUT,
  ULONG_MAX,
} from '../src/index.js';
import { stairsCfg, standalone } from './helpers/standalone.js';

function scheme(action: number, over: Partial<Damos['pattern']> = {}, quota: Partial<Damos['quota']> = {}): Damos {
  return damonNewScheme(
    { ...damosPatternAll(), ...over },
    action,
    0,
    { ...damosQuotaNone(), ...quota },
    damosWmarksNone(),
  );
}

/** A context over one target of `n` 1 MiB regions with the given counters, and an ops set that records applies. */
function handCtx(nr: number[], age: number[] = []) {
  const applied: { start: number; end: number }[] = [];
  const ctx = damonNewCtx();
  ctx.ops = {
    id: 0,
    applyScheme(_c, t, r) {
      applied.push({ start: t.start[r]!, end: t.end[r]! });
      return t.end[r]! - t.start[r]!;
    },
    getSchemeScore(c, t, r, s) {
      return damonHotScore(c, t, r, s);
    },
  };
  const t = damonNewTarget(1);
  nr.forEach((n, i) => {
    const r = damonNewRegion(t, i << 20, (i + 1) << 20);
    t.nrAccesses[r] = n;
    t.nrAccessesBp[r] = n * 10000;
    t.age[r] = age[i] ?? 0;
    damonAddRegion(t, r);
  });
  damonAddTarget(ctx, t);
  ctx.attrs.aggrSamples = 20;
  return { ctx, t, applied };
}

function run(ctx: DamonCtx, s: Damos, nowNs = 0): void {
  if (!ctx.schemes.includes(s)) damonAddScheme(ctx, s);
  damosSetFiltersDefaultReject(s);
  s.nextApplySis = 0;
  kdamondApplySchemes(ctx, nowNs);
}

describe('DAMOS apply pass (hand-made regions)', () => {
  it('applies to pattern-matching regions, counts stats, resets age except for STAT', () => {
    const { ctx, t, applied } = handCtx([0, 5, 0, 20], [3, 3, 3, 3]);
    const s = scheme(DAMOS_PAGEOUT, { minNrAccesses: 0, maxNrAccesses: 0 });
    run(ctx, s);
    expect(applied.map((a) => a.start >> 20)).toEqual([0, 2]);
    expect(s.stat).toEqual({
      nrTried: 2,
      szTried: 2 << 20,
      nrApplied: 2,
      szApplied: 2 << 20,
      szOpsFilterPassed: 0,
      qtExceeds: 0,
      nrSnapshots: 1, // the pass reached the target's last region
    });
    expect(damonRegions(t).map((r) => r.age)).toEqual([0, 3, 0, 3]);
    const st = scheme(DAMOS_STAT);
    run(ctx, st);
    expect(damonRegions(t).map((r) => r.age)).toEqual([0, 3, 0, 3]);
    expect(st.stat.nrTried).toBe(4);
  });

  it('a size quota trims the last region, counts an exceeded window and resumes after the charged address', () => {
    const { ctx, t, applied } = handCtx([0, 0, 0, 0, 0, 0]);
    const s = scheme(DAMOS_PAGEOUT, {}, { sz: 2.5 * (1 << 20), resetInterval: 1000 });
    run(ctx, s, 1e6); // the first charge window opens at jiffies 1
    // 2.5 MiB: regions 0, 1 and the first half of 2 (split at the quota).
    expect(applied.map((a) => [a.start / (1 << 19), a.end / (1 << 19)])).toEqual([
      [0, 2],
      [2, 4],
      [4, 5],
    ]);
    expect(s.quota.chargedSz).toBe(2.5 * (1 << 20));
    expect(s.quota.chargeTargetFrom).toBe(t);
    expect(s.quota.chargeAddrFrom).toBe(2.5 * (1 << 20));
    // Same window: quota used up, nothing more.
    applied.length = 0;
    run(ctx, s, 500e6);
    expect(applied).toEqual([]);
    // Next window: resumes exactly where the last one stopped (the region
    // end; 6.18 stored end + 1 and skipped one more MIN_REGION).
    run(ctx, s, 1001e6);
    expect(s.stat.qtExceeds).toBe(1);
    expect(applied[0]!.start).toBe(2.5 * (1 << 20));
  });

  it('prioritises by score: a 2 MiB quota goes to the hottest regions (min_score)', () => {
    const { ctx, applied } = handCtx([1, 20, 3, 18, 0, 10]);
    const s = scheme(DAMOS_STAT, {}, { sz: 2 << 20, weightNrAccesses: 100 });
    damonAddScheme(ctx, s);
    damosAdjustQuota(ctx, s, 0);
    expect(s.quota.esz).toBe(2 << 20);
    const scores = [1, 20, 3, 18, 0, 10].map((n) => Math.floor((Math.floor((n * 100) / 20) * 99) / 100));
    expect(s.quota.minScore).toBe(scores[3]);
    run(ctx, s);
    expect(applied.map((a) => a.start >> 20)).toEqual([1, 3]);
  });

  it('a time quota converts through the measured throughput', () => {
    const { ctx } = handCtx([0, 0]);
    const s = scheme(DAMOS_PAGEOUT, {}, { ms: 10 });
    damonAddScheme(ctx, s);
    damosAdjustQuota(ctx, s, 0);
    expect(s.quota.esz).toBe(4096 * 1024 * 10); // PAGE_SIZE × 1024 per ms without history
    s.quota.totalChargedSz = 1 << 30;
    s.quota.totalChargedNs = 2e9;
    damosAdjustQuota(ctx, s, 0); // reset_interval 0: every call opens a new window
    expect(s.quota.esz).toBe(Math.floor(((1 << 30) * 1e6) / 2e9) * 10);
  });

  it('quota goals: the feedback loop grows esz under target and shrinks it over', () => {
    const { ctx } = handCtx([0]);
    const s = scheme(DAMOS_PAGEOUT, {}, { resetInterval: 0 });
    const g = damosNewQuotaGoal(DAMOS_QUOTA_USER_INPUT, 1000);
    damosAddQuotaGoal(s.quota, g);
    damonAddScheme(ctx, s);
    g.currentValue = 500; // half the target: +50% per window
    damosAdjustQuota(ctx, s, 0);
    // the first window's esz (10000 bp × 1.5 = 15000 bp), then, as reset_interval
    // is 0, a new window at once: 22500 bp → 2 bytes
    expect(s.quota.eszBp).toBe(22500n);
    expect(s.quota.esz).toBe(2);
    for (let i = 0; i < 20; i++) damosAdjustQuota(ctx, s, 0);
    const grown = s.quota.esz;
    expect(grown).toBeGreaterThan(1000);
    g.currentValue = 1500; // over target: shrink by 50% of the distance
    damosAdjustQuota(ctx, s, 0);
    expect(s.quota.esz).toBeLessThan(grown);
    g.currentValue = 2000; // ≥ 2× target: back to the minimum
    damosAdjustQuota(ctx, s, 0);
    expect(s.quota.esz).toBe(1);
  });

  it('core filters: an addr reject filter splits and spares the range; a target allow filter admits one target', () => {
    const { ctx, applied } = handCtx([0, 0, 0]);
    const s = scheme(DAMOS_PAGEOUT);
    const f = damosNewFilter(DAMOS_FILTER_TYPE_ADDR, true, false);
    f.addrRange = { start: 1 << 19, end: (2 << 20) + (1 << 19) };
    damosAddFilter(s, f);
    run(ctx, s);
    // region 0's head [0, 0.5 MiB) is applied; its tail, region 1 and region 2's
    // head are inside the range and rejected; region 2's tail after 2.5 MiB is
    // applied (the walk visits the pieces a filter splits off)
    expect(applied.map((a) => [a.start / (1 << 19), a.end / (1 << 19)])).toEqual([
      [0, 1],
      [5, 6],
    ]);
    // rejected regions are not counted as tried
    expect(s.stat.nrTried).toBe(2);
    const s2 = scheme(DAMOS_PAGEOUT);
    const tf = damosNewFilter(DAMOS_FILTER_TYPE_TARGET, true, true);
    tf.targetIdx = 1;
    damosAddFilter(s2, tf);
    applied.length = 0;
    ctx.schemes = [];
    run(ctx, s2);
    expect(applied).toEqual([]); // only target 1 allowed; the last filter allows, so unmatched regions are rejected
  });
});

describe('DAMOS on the standalone workload', () => {
  it('pages out regions cold for 5 aggregations and never the hot one', () => {
    const sa = standalone(stairsCfg(4, 8 << 20, 3000));
    const s = scheme(DAMOS_PAGEOUT, { minNrAccesses: 0, maxNrAccesses: 0, minAgeRegion: 5, maxAgeRegion: ULONG_MAX });
    damonAddScheme(sa.ctx, s);
    damonStart(sa.damon, [sa.ctx], false);
    sa.machine.sched.runUntil(2.5e9);
    const hot = sa.workload.regions[0]!;
    const pageouts = sa.space.madviseLog.filter((m) => m.behavior === MADV_PAGEOUT);
    expect(pageouts.length).toBeGreaterThan(0);
    for (const m of pageouts) {
      if (m.timeNs < 1e9) continue; // after the first second the hot region is known
      expect(m.start + m.len <= hot.start || m.start >= hot.start + hot.sizeBytes).toBe(true);
    }
    expect(s.stat.szApplied).toBe(sa.space.madviseBytes.get(MADV_PAGEOUT));
  });

  it('watermarks switch the scheme and monitoring off and on', () => {
    const sa = standalone(stairsCfg(2, 4 << 20, 10000));
    let rate = 500;
    const sys: DamonSystemView = {
      freeMemRatePermil: () => rate,
      nodeMemInfo: () => false,
      someMemPsiTotalUs: () => 0,
      jiffies: () => Math.floor(sa.machine.clock.now / 1e6),
    };
    sa.ctx.system = sys;
    const s = damonNewScheme(damosPatternAll(), DAMOS_STAT, 0, damosQuotaNone(), {
      metric: DAMOS_WMARK_FREE_MEM_RATE,
      interval: 100_000,
      high: 800,
      mid: 400,
      low: 200,
    });
    damonAddScheme(sa.ctx, s);
    damonStart(sa.damon, [sa.ctx], false);
    sa.machine.sched.runUntil(1e9);
    expect(s.wmarks.activated).toBe(true);
    const before = sa.ctx.passedSampleIntervals;
    rate = 900; // above high: deactivate, monitoring pauses
    sa.machine.sched.runUntil(2e9);
    expect(s.wmarks.activated).toBe(false);
    const paused = sa.ctx.passedSampleIntervals;
    expect(paused - before).toBeLessThanOrEqual(1);
    rate = 600; // between mid and high while inactive: stays off
    sa.machine.sched.runUntil(3e9);
    expect(s.wmarks.activated).toBe(false);
    expect(sa.ctx.passedSampleIntervals).toBe(paused);
    rate = 300; // below mid, above low: on again
    sa.machine.sched.runUntil(4e9);
    expect(s.wmarks.activated).toBe(true);
    expect(sa.ctx.passedSampleIntervals).toBeGreaterThan(paused + 150);
  });

  it('damos_walk visits every region handed to the ops during one apply interval', () => {
    const sa = standalone(stairsCfg(2, 4 << 20, 10000));
    const s = scheme(DAMOS_STAT);
    damonAddScheme(sa.ctx, s);
    damonStart(sa.damon, [sa.ctx], false);
    sa.machine.sched.runUntil(0.5e9);
    const seen: [number, number][] = [];
    expect(
      damosWalk(sa.ctx, (_c, t, r) => {
        seen.push([t.start[r]!, t.end[r]!]);
      }),
    ).toBe(0);
    expect(seen.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![1]);
  });
});

describe('DAMOS migrate_hot through vaddr on the standalone space', () => {
  it('records the pages that would move to the destination nodes, by weight', async () => {
    const { DAMOS_MIGRATE_HOT } = await import('../src/index.js');
    const sa = standalone(stairsCfg(2, 4 << 20, 10000));
    const s = scheme(DAMOS_MIGRATE_HOT, { minNrAccesses: 10, maxNrAccesses: 1000 });
    s.migrateDests = { nodeIdArr: [1, 2], weightArr: [1, 3] };
    damonAddScheme(sa.ctx, s);
    damonStart(sa.damon, [sa.ctx], false);
    sa.machine.sched.runUntil(1e9);
    const n1 = sa.space.migratedPages.get(1) ?? 0;
    const n2 = sa.space.migratedPages.get(2) ?? 0;
    expect(n1 + n2).toBeGreaterThan(0);
    expect(s.stat.szApplied).toBe((n1 + n2) * 4096);
    // weighted interleave 1:3
    expect(n2 / (n1 + n2)).toBeGreaterThan(0.6);
    expect(n2 / (n1 + n2)).toBeLessThan(0.9);
  });
});
