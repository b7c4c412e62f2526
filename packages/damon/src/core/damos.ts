/**
 * DOC: the DAMOS apply pass (kdamond_apply_schemes() and helpers,
 * mm/damon/core.c): for every due and active scheme adjust its quota, then
 * walk every region of every valid target and, scheme by scheme, skip it
 * if the quota is used up, if it was charged in the previous window, if the
 * scheme took its snapshots, if it misses the pattern or the quota's score
 * cut-off; otherwise trim it to the quota, run the core filters and hand it
 * to the operations set. After each region, a piece the quota trimmed off
 * is merged back into its left neighbour when nothing tells them apart.
 * Also damos_walk() support and the statistics.
 */
import { damonRegionSzLimit } from './aggregation.js';
import type { DamonCtx, DamosApplyOut, DamosWalkControl } from './ctx.js';
import { damosCoreFilterOut } from './damos-filter.js';
import { damosAdjustQuota, damosPatternMatches, damosQuotaIsFull, damosQuotaIsSet } from './damos-quota.js';
import { alignDown, DAMON_NO_REGION, type DamonTarget, damonDestroyRegion, damonSplitRegionAt } from './region.js';
import { DAMOS_STAT, type Damos } from './scheme.js';

/**
 * Whether `r` matches `s`'s pattern and, with a quota set and a scoring
 * ops set, scores at least the quota's `min_score`.
 * @kernel damos_valid_target (mm/damon/core.c)
 */
export function damosValidTarget(c: DamonCtx, t: DamonTarget, r: number, s: Damos): boolean {
  const ret = damosPatternMatches(t, r, s);
  const getScore = c.ops.getSchemeScore;
  if (!ret || !damosQuotaIsSet(s.quota) || getScore === undefined) return ret;
  return getScore.call(c.ops, c, t, r, s) >= s.quota.minScore;
}

/**
 * Whether `r` (or its head) was charged in the previous charge window and
 * is to be skipped: every region of other targets, regions ending at or
 * before the resume address, and the head of a region straddling it (split
 * off here; the walk visits the tail next). Reaching the target's last
 * region ends the resume.
 * @kernel damos_skip_charged_region (mm/damon/core.c)
 */
export function damosSkipChargedRegion(t: DamonTarget, r: number, s: Damos, minRegion: number): boolean {
  const quota = s.quota;
  let skip = false;
  if (quota.chargeTargetFrom !== null) {
    if (t !== quota.chargeTargetFrom) return true;
    const from = quota.chargeAddrFrom;
    if (from && t.end[r]! <= from) {
      skip = true;
    } else if (from && t.start[r]! < from) {
      let szToSkip = alignDown(from - t.start[r]!, minRegion);
      if (!szToSkip) {
        if (t.end[r]! - t.start[r]! <= minRegion) skip = true;
        else szToSkip = minRegion;
      }
      if (szToSkip) {
        damonSplitRegionAt(t, r, szToSkip);
        skip = true;
      }
    }
  }
  if (r === t.last) {
    quota.chargeTargetFrom = null;
    quota.chargeAddrFrom = 0;
  }
  return skip;
}

/** Count one region the scheme was tried on: `szTried` bytes, `szApplied` of them acted on. @kernel damos_update_stat (mm/damon/core.c) */
export function damosUpdateStat(s: Damos, szTried: number, szApplied: number, szOpsFilterPassed: number): void {
  s.stat.nrTried++;
  s.stat.szTried += szTried;
  if (szApplied) s.stat.nrApplied++;
  s.stat.szApplied += szApplied;
  s.stat.szOpsFilterPassed += szOpsFilterPassed;
}

/** Hand a tried region to the pending walk request's callback, unless this scheme's walk already finished. @kernel damos_walk_call_walk (mm/damon/core.c) */
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
    if (damosQuotaIsSet(quota) && quota.chargedSz + sz > quota.esz) {
      sz = alignDown(quota.esz - quota.chargedSz, c.minRegion);
      if (!sz) {
        damosUpdateStat(s, 0, 0, 0);
        return;
      }
      damonSplitRegionAt(t, r, sz);
    }
    if (damosCoreFilterOut(c, t, r, s)) return;
    const before = c.pendingCostNs;
    if (c.trace.damosBeforeApply !== undefined) {
      c.trace.damosBeforeApply(c, c.schemes.indexOf(s), c.adaptiveTargets.indexOf(t), t, r, t.nrRegions, nowNs);
    }
    applyOut.szFilterPassed = 0;
    szApplied = apply.call(c.ops, c, t, r, s, applyOut);
    szOpsFilterPassed = applyOut.szFilterPassed;
    damosWalkCallWalk(c, t, r, s, szOpsFilterPassed);
    quota.totalChargedNs += c.pendingCostNs - before;
    // damos_charge_quota() without fail_charge_{num,denom} (not modelled): the tried size
    quota.chargedSz += sz;
    if (damosQuotaIsFull(quota, c.minRegion)) {
      quota.chargeTargetFrom = t;
      quota.chargeAddrFrom = t.end[r]!;
    }
  }
  if (s.action !== DAMOS_STAT) t.age[r] = 0;
  damosUpdateStat(s, sz, szApplied, szOpsFilterPassed);
}

/**
 * Try every due, active scheme on region `r` (a scheme that splits `r`
 * leaves the later schemes the head piece); count a snapshot when `r` is
 * the target's last region.
 * @kernel damon_do_apply_schemes (mm/damon/core.c)
 */
export function damonDoApplySchemes(c: DamonCtx, t: DamonTarget, r: number, nowNs = 0): void {
  const schemes = c.schemes;
  for (let i = 0; i < schemes.length; i++) {
    const s = schemes[i]!;
    if (c.passedSampleIntervals < s.nextApplySis) continue;
    if (!s.wmarks.activated) continue;
    if (damosQuotaIsFull(s.quota, c.minRegion)) continue;
    if (damosSkipChargedRegion(t, r, s, c.minRegion)) continue;
    if (s.maxNrSnapshots && s.maxNrSnapshots <= s.stat.nrSnapshots) continue;
    if (damosValidTarget(c, t, r, s)) damosApplyScheme(c, t, r, s, nowNs);
    if (r === t.last) s.stat.nrSnapshots++;
  }
}

/**
 * Apply the schemes to every region of `t`, in address order, visiting
 * pieces split off on the way. After each region, merge it back into its
 * left neighbour when they are contiguous, have the same age,
 * `nr_accesses` and `last_nr_accesses`, and the result fits
 * `maxRegionSz` (the left region keeps its `nr_accesses_bp`).
 * @kernel damos_apply_target (mm/damon/core.c)
 */
export function damosApplyTarget(c: DamonCtx, t: DamonTarget, maxRegionSz: number, nowNs = 0): void {
  for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
    damonDoApplySchemes(c, t, r, nowNs);
    if (t.first === r) continue;
    const prev = t.prev[r]!;
    if (t.end[prev] !== t.start[r]) continue;
    if (t.age[prev] !== t.age[r]) continue;
    if (t.lastNrAccesses[prev] !== t.lastNrAccesses[r]) continue;
    if (t.nrAccesses[prev] !== t.nrAccesses[r]) continue;
    if (t.end[r]! - t.start[prev]! > maxRegionSz) continue;
    t.end[prev] = t.end[r]!;
    damonDestroyRegion(t, r);
    r = prev;
  }
}

/**
 * The apply pass: adjust the quota of every due, active scheme; if any,
 * apply the schemes to every target (an invalid target is skipped, and a
 * quota resume pointing at it dropped), then complete walks and set each
 * due scheme's next apply time.
 * @kernel kdamond_apply_schemes (mm/damon/core.c)
 */
export function kdamondApplySchemes(c: DamonCtx, nowNs = 0): void {
  let hasSchemesToApply = false;
  for (let i = 0; i < c.schemes.length; i++) {
    const s = c.schemes[i]!;
    if (c.passedSampleIntervals < s.nextApplySis) continue;
    if (!s.wmarks.activated) continue;
    hasSchemesToApply = true;
    damosAdjustQuota(c, s, i, nowNs);
  }
  if (!hasSchemesToApply) return;
  const maxRegionSz = damonRegionSzLimit(c);
  const valid = c.ops.targetValid;
  for (const t of c.adaptiveTargets) {
    if (valid !== undefined && !valid.call(c.ops, t)) {
      for (const s of c.schemes) {
        if (s.quota.chargeTargetFrom !== t) continue;
        s.quota.chargeTargetFrom = null;
        s.quota.chargeAddrFrom = 0;
      }
      continue;
    }
    damosApplyTarget(c, t, maxRegionSz, nowNs);
  }
  const sample = c.attrs.sampleInterval || 1;
  for (const s of c.schemes) {
    if (c.passedSampleIntervals < s.nextApplySis) continue;
    damosWalkComplete(c, s);
    s.nextApplySis = c.passedSampleIntervals + Math.floor((s.applyIntervalUs || c.attrs.aggrInterval) / sample);
    s.lastApplied = -1;
  }
}
