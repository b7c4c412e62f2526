/**
 * DOC: the DAMOS apply pass (kdamond_apply_schemes() and helpers,
 * mm/damon/core.c): for every due and active scheme adjust its quota, then
 * walk every region of every target and, scheme by scheme, skip it if the
 * quota is used up, if it was charged in the previous window, if it misses
 * the pattern or the quota's score cut-off; otherwise trim it to the quota,
 * run the core filters and hand it to the operations set. Also the core
 * filters (addr, target), damos_walk() support and the statistics.
 */
import type { DamonCtx, DamosApplyOut, DamosWalkControl } from './ctx.js';
import { damosAdjustQuota, damosPatternMatches } from './damos-quota.js';
import { alignDown, DAMON_NO_REGION, type DamonTarget, damonSplitRegionAt } from './region.js';
import {
  DAMOS_FILTER_TYPE_ADDR,
  DAMOS_FILTER_TYPE_TARGET,
  DAMOS_STAT,
  type Damos,
  type DamosFilter,
} from './scheme.js';

/**
 * Whether `r` matches `s`'s pattern and, with a quota in force and a
 * scoring ops set, scores at least the quota's `min_score`.
 * @kernel damos_valid_target (mm/damon/core.c)
 */
export function damosValidTarget(c: DamonCtx, t: DamonTarget, r: number, s: Damos): boolean {
  const ret = damosPatternMatches(t, r, s);
  const getScore = c.ops.getSchemeScore;
  if (!ret || !s.quota.esz || getScore === undefined) return ret;
  return getScore.call(c.ops, c, t, r, s) >= s.quota.minScore;
}

/**
 * Whether `r` (or its head) was charged in the previous charge window:
 * regions of other targets and regions ending at or before the resume
 * address are skipped; a region straddling it is split and the caller goes
 * on with the tail. Reaching the target's last region ends the resume.
 * Returns the region to continue with, or {@link DAMON_NO_REGION} to skip.
 * @kernel damos_skip_charged_region (mm/damon/core.c)
 */
export function damosSkipChargedRegion(t: DamonTarget, r: number, s: Damos, minRegion: number): number {
  const quota = s.quota;
  if (quota.chargeTargetFrom !== null) {
    if (t !== quota.chargeTargetFrom) return DAMON_NO_REGION;
    if (r === t.last) {
      quota.chargeTargetFrom = null;
      quota.chargeAddrFrom = 0;
      return DAMON_NO_REGION;
    }
    if (quota.chargeAddrFrom && t.end[r]! <= quota.chargeAddrFrom) return DAMON_NO_REGION;
    if (quota.chargeAddrFrom && t.start[r]! < quota.chargeAddrFrom) {
      let szToSkip = alignDown(quota.chargeAddrFrom - t.start[r]!, minRegion);
      if (!szToSkip) {
        if (t.end[r]! - t.start[r]! <= minRegion) return DAMON_NO_REGION;
        szToSkip = minRegion;
      }
      damonSplitRegionAt(t, r, szToSkip);
      r = t.next[r]!;
    }
    quota.chargeTargetFrom = null;
    quota.chargeAddrFrom = 0;
  }
  return r;
}

/** @kernel damos_update_stat (mm/damon/core.c) */
export function damosUpdateStat(s: Damos, szTried: number, szApplied: number, szOpsFilterPassed: number): void {
  s.stat.nrTried++;
  s.stat.szTried += szTried;
  if (szApplied) s.stat.nrApplied++;
  s.stat.szApplied += szApplied;
  s.stat.szOpsFilterPassed += szOpsFilterPassed;
}

/**
 * Whether core filter `filter` matches region `r` (target index or address
 * range; an address range straddling the region splits it and judges the
 * first part).
 * @kernel damos_filter_match (mm/damon/core.c)
 */
export function damosFilterMatch(
  ctx: DamonCtx | null,
  t: DamonTarget,
  r: number,
  filter: DamosFilter,
  minRegion: number,
): boolean {
  let matched = false;
  switch (filter.type) {
    case DAMOS_FILTER_TYPE_TARGET: {
      const idx = ctx === null ? 0 : ctx.adaptiveTargets.indexOf(t);
      matched = idx === filter.targetIdx;
      break;
    }
    case DAMOS_FILTER_TYPE_ADDR: {
      const start = alignDown(filter.addrRange.start, minRegion);
      const end = alignDown(filter.addrRange.end, minRegion);
      const rs = t.start[r]!;
      const re = t.end[r]!;
      if (start <= rs && re <= end) {
        matched = true; // inside the range
      } else if (re <= start || end <= rs) {
        matched = false; // outside of the range
      } else if (rs < start) {
        damonSplitRegionAt(t, r, start - rs); // starts before the range and overlaps
        matched = false;
      } else {
        damonSplitRegionAt(t, r, end - rs); // starts inside the range
        matched = true;
      }
      break;
    }
    default:
      return false;
  }
  return matched === filter.matching;
}

/**
 * Whether the core filters reject `r` for `s`: the first filter that
 * matches decides (reject unless it allows; an allowing match lets the ops
 * layer pass every page); no match falls back to the default.
 * @kernel damos_filter_out (mm/damon/core.c)
 */
export function damosFilterOut(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos): boolean {
  s.coreFiltersAllowed = false;
  for (const filter of s.filters) {
    if (damosFilterMatch(ctx, t, r, filter, ctx.minRegion)) {
      if (filter.allow) s.coreFiltersAllowed = true;
      return !filter.allow;
    }
  }
  return s.coreFiltersDefaultReject;
}

/** @kernel damos_walk_call_walk (mm/damon/core.c) */
function damosWalkCallWalk(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos, szFilterPassed: number): void {
  if (s.walkCompleted) return;
  const control = ctx.walkControl;
  if (control === null) return;
  control.walkFn(ctx, t, r, s, szFilterPassed);
}

/**
 * Mark `s`'s walk done; complete the request once every scheme is done.
 * @kernel damos_walk_complete (mm/damon/core.c)
 */
export function damosWalkComplete(ctx: DamonCtx, s: Damos): void {
  const control = ctx.walkControl;
  if (control === null) return;
  s.walkCompleted = true;
  for (const si of ctx.schemes) if (!si.walkCompleted) return;
  for (const si of ctx.schemes) si.walkCompleted = false;
  control.completed = true;
  ctx.walkControl = null;
}

/**
 * Cancel the pending walk request.
 * @kernel damos_walk_cancel (mm/damon/core.c)
 */
export function damosWalkCancel(ctx: DamonCtx): void {
  const control: DamosWalkControl | null = ctx.walkControl;
  if (control === null) return;
  control.canceled = true;
  control.completed = true;
  ctx.walkControl = null;
}

const applyOut: DamosApplyOut = { szFilterPassed: 0 };

/**
 * Apply `s` to region `r`: trim it to the remaining quota (a 0-byte
 * remainder only counts a try), run the core filters, call the ops set and
 * the walk callback, charge the time and the tried size, remember where to
 * resume when the quota is used up, reset the age for non-STAT actions,
 * update the statistics.
 * @kernel damos_apply_scheme (mm/damon/core.c)
 */
export function damosApplyScheme(c: DamonCtx, t: DamonTarget, r: number, s: Damos, nowNs = 0): void {
  const quota = s.quota;
  let sz = t.end[r]! - t.start[r]!;
  let szApplied = 0;
  let szOpsFilterPassed = 0;
  const apply = c.ops.applyScheme;
  if (apply !== undefined) {
    if (quota.esz && quota.chargedSz + sz > quota.esz) {
      sz = alignDown(quota.esz - quota.chargedSz, c.minRegion);
      if (!sz) {
        damosUpdateStat(s, 0, 0, 0);
        return;
      }
      damonSplitRegionAt(t, r, sz);
    }
    if (damosFilterOut(c, t, r, s)) return;
    const before = c.pendingCostNs;
    if (c.trace.damosBeforeApply !== undefined) {
      c.trace.damosBeforeApply(c, c.schemes.indexOf(s), c.adaptiveTargets.indexOf(t), t, r, t.nrRegions, nowNs);
    }
    applyOut.szFilterPassed = 0;
    szApplied = apply.call(c.ops, c, t, r, s, applyOut);
    szOpsFilterPassed = applyOut.szFilterPassed;
    damosWalkCallWalk(c, t, r, s, szOpsFilterPassed);
    quota.totalChargedNs += c.pendingCostNs - before;
    quota.chargedSz += sz;
    if (quota.esz && quota.chargedSz >= quota.esz) {
      quota.chargeTargetFrom = t;
      quota.chargeAddrFrom = t.end[r]! + 1;
    }
  }
  if (s.action !== DAMOS_STAT) t.age[r] = 0;
  damosUpdateStat(s, sz, szApplied, szOpsFilterPassed);
}

/**
 * Try every due, active scheme on region `r`. Returns the region the walk
 * continues from (a quota resume may have split `r` and moved on to the tail).
 * @kernel damon_do_apply_schemes (mm/damon/core.c)
 */
export function damonDoApplySchemes(c: DamonCtx, t: DamonTarget, r: number, nowNs = 0): number {
  for (const s of c.schemes) {
    const quota = s.quota;
    if (c.passedSampleIntervals < s.nextApplySis) continue;
    if (!s.wmarks.activated) continue;
    if (quota.esz && quota.chargedSz >= quota.esz) continue;
    const rr = damosSkipChargedRegion(t, r, s, c.minRegion);
    if (rr === DAMON_NO_REGION) continue;
    r = rr;
    if (!damosValidTarget(c, t, r, s)) continue;
    damosApplyScheme(c, t, r, s, nowNs);
  }
  return r;
}

/**
 * The apply pass: adjust the quota of every due, active scheme; if any,
 * visit every region of every target (pieces split off during the pass are
 * not visited, as the kernel's iterator saved its next pointer), then
 * complete walks and set each due scheme's next apply time.
 * @kernel kdamond_apply_schemes (mm/damon/core.c)
 */
export function kdamondApplySchemes(c: DamonCtx, nowNs = 0): void {
  const sample = c.attrs.sampleInterval || 1;
  let hasSchemesToApply = false;
  for (let i = 0; i < c.schemes.length; i++) {
    const s = c.schemes[i]!;
    if (c.passedSampleIntervals < s.nextApplySis) continue;
    if (!s.wmarks.activated) continue;
    hasSchemesToApply = true;
    damosAdjustQuota(c, s, i, nowNs);
  }
  if (!hasSchemesToApply) return;
  for (const t of c.adaptiveTargets) {
    for (let r = t.first; r !== DAMON_NO_REGION; ) {
      const next = t.next[r]!;
      damonDoApplySchemes(c, t, r, nowNs);
      r = next;
    }
  }
  for (const s of c.schemes) {
    if (c.passedSampleIntervals < s.nextApplySis) continue;
    damosWalkComplete(c, s);
    s.nextApplySis = c.passedSampleIntervals + Math.floor((s.applyIntervalUs || c.attrs.aggrInterval) / sample);
    s.lastApplied = -1;
  }
}
