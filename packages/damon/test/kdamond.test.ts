import { describe, expect, it } from 'vitest';
import {
  DAMON_NO_REGION,
  damonCall,
  damonDefaultAttrs,
  damonKdamondPid,
  damonNewCtx,
  damonRegions,
  damonSetAttrs,
  damonStart,
  damonStop,
  damonValidateTarget,
} from '../src/index.js';
import { stairsCfg, standalone } from './helpers/standalone.js';

describe('kdamond on a standalone workload', () => {
  it('follows the hot region phase by phase and stops when the process exits', () => {
    const s = standalone(stairsCfg(5, 8 << 20, 2000));
    const { machine, ctx, damon, workload } = s;
    const bounds: number[] = [];
    ctx.trace.damonAggregated = (_c, _ti, t, r) => {
      if (r === t.first) bounds.push(t.nrRegions);
    };
    expect(damonStart(damon, [ctx], false)).toBe(0);
    expect(machine.sched.tasks.find((t) => t.pid === damonKdamondPid(ctx))?.name).toBe('kdamond.0');
    for (let phase = 0; phase < 5; phase++) {
      machine.sched.runUntil((phase * 2 + 1.5) * 1e9);
      const t = ctx.adaptiveTargets[0]!;
      expect(damonValidateTarget(t)).toBeNull();
      const hot = workload.regions[phase]!;
      // Every region inside the hot masim region saw accesses in (almost) every sample of the last window.
      const regs = damonRegions(t);
      const inside = regs.filter((r) => r.start >= hot.start && r.end <= hot.start + hot.sizeBytes);
      const outside = regs.filter((r) => r.end <= hot.start || r.start >= hot.start + hot.sizeBytes);
      const avg = (rs: typeof regs) =>
        rs.reduce((a, r) => a + r.lastNrAccesses * (r.end - r.start), 0) / rs.reduce((a, r) => a + r.end - r.start, 0);
      // Split pieces inherit the count of a region that straddled the boundary, so compare byte-weighted means.
      expect(inside.length).toBeGreaterThan(0);
      expect(avg(inside)).toBeGreaterThan(18);
      expect(avg(outside)).toBeLessThan(1);
    }
    // Region counts stay within [min_nr_regions, max_nr_regions] once set up (the three regions start split).
    expect(Math.min(...bounds)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...bounds)).toBeLessThanOrEqual(1000);
    machine.sched.runUntil(12e9);
    expect(s.space.exited).toBe(true);
    expect(ctx.kdamond).toBeNull();
    expect(damon.nrRunningCtxs).toBe(0);
    expect(ctx.adaptiveTargets[0]!.first).toBe(DAMON_NO_REGION);
  });

  it('is deterministic: same seed, same regions', () => {
    const run = () => {
      const s = standalone(stairsCfg(3, 4 << 20, 1000), 42);
      damonStart(s.damon, [s.ctx], false);
      s.machine.sched.runUntil(2.2e9);
      return JSON.stringify(damonRegions(s.ctx.adaptiveTargets[0]!));
    };
    expect(run()).toBe(run());
  });

  it('enforces exclusivity and stops on request', () => {
    const s = standalone(stairsCfg(2, 1 << 20, 1000));
    const other = damonNewCtx();
    other.ops = s.ctx.ops;
    expect(damonStart(s.damon, [s.ctx], true)).toBe(0);
    expect(damonStart(s.damon, [other], false)).toBe(-16);
    expect(damonStart(s.damon, [other], true)).toBe(-16);
    s.machine.sched.runUntil(0.3e9);
    // damon_call runs on the kdamond: change the attributes online.
    const attrs = { ...damonDefaultAttrs(), sampleInterval: 10000, aggrInterval: 200000 };
    expect(damonCall(s.ctx, () => damonSetAttrs(s.ctx, attrs))).toBe(0);
    expect(s.ctx.attrs.sampleInterval).toBe(10000);
    expect(damonStop(s.damon, [s.ctx])).toBe(0);
    expect(s.damon.runningExclusiveCtxs).toBe(false);
    expect(damonStop(s.damon, [s.ctx])).toBe(-1);
    expect(damonStart(s.damon, [other], false)).toBe(0);
    s.machine.sched.runUntil(0.4e9);
  });

  it('samples once per region per sampling interval and charges its CPU', () => {
    const s = standalone(stairsCfg(2, 16 << 20, 5000));
    damonStart(s.damon, [s.ctx], false);
    s.machine.sched.runUntil(1e9);
    // 1 s / 5 ms samples, minus the time the loop itself takes.
    expect(s.ctx.passedSampleIntervals).toBeGreaterThan(190);
    expect(s.ctx.passedSampleIntervals).toBeLessThanOrEqual(200);
    expect(s.ctx.kdamondBusyNs).toBeGreaterThan(0);
    expect(s.machine.account.totalBusyNs()).toBeGreaterThanOrEqual(s.ctx.kdamondBusyNs);
  });
});
