/**
 * DOC: DAMOS quotas (mm/damon/core.c): the charge window, the effective
 * size quota that folds the time quota, the size quota and the goals into
 * one number, the goals' current values, and the score histogram that
 * decides which regions a limited quota goes to.
 */

import type { DamonCtx } from './ctx.js';
import { damosCoreFilterOut } from './damos-filter.js';
import { damonFeedLoopNextInputU64 } from './intervals-tuning.js';
import { multFracU64, ULONG_MAX_N } from './math64.js';
import { DAMON_NO_REGION, type DamonTarget } from './region.js';
import {
  DAMOS_MAX_SCORE,
  DAMOS_QUOTA_NODE_MEM_FREE_BP,
  DAMOS_QUOTA_NODE_MEM_USED_BP,
  DAMOS_QUOTA_SOME_MEM_PSI_US,
  DAMOS_QUOTA_USER_INPUT,
  type Damos,
  type DamosQuota,
  type DamosQuotaGoal,
} from './scheme.js';

const PAGE_SIZE = 4096;
const meminfo = { totalram: 0, freeram: 0 };

/**
 * Whether region `r` matches `s`'s access pattern (sizes, `nr_accesses_bp /
 * 10000` and age, every range inclusive).
 * @kernel __damos_valid_target (mm/damon/core.c)
 */
export function damosPatternMatches(t: DamonTarget, r: number, s: Damos): boolean {
  const sz = t.end[r]! - t.start[r]!;
  const nrAccesses = Math.floor(t.nrAccessesBp[r]! / 10000);
  const p = s.pattern;
  const age = t.age[r]!;
  return (
    p.minSzRegion <= sz &&
    sz <= p.maxSzRegion &&
    p.minNrAccesses <= nrAccesses &&
    nrAccesses <= p.maxNrAccesses &&
    p.minAgeRegion <= age &&
    age <= p.maxAgeRegion
  );
}

/**
 * Measure a goal's current value (user input is left as the user set it).
 * @kernel damos_set_quota_goal_current_value (mm/damon/core.c)
 */
export function damosSetQuotaGoalCurrentValue(c: DamonCtx, goal: DamosQuotaGoal): void {
  const sys = c.system;
  switch (goal.metric) {
    case DAMOS_QUOTA_USER_INPUT:
      break;
    case DAMOS_QUOTA_SOME_MEM_PSI_US: {
      const now = sys === null ? 0 : sys.someMemPsiTotalUs();
      goal.currentValue = now - goal.lastPsiTotal;
      goal.lastPsiTotal = now;
      break;
    }
    case DAMOS_QUOTA_NODE_MEM_USED_BP:
    case DAMOS_QUOTA_NODE_MEM_FREE_BP: {
      if (sys === null || !sys.nodeMemInfo(goal.nid, meminfo)) {
        goal.currentValue = goal.metric === DAMOS_QUOTA_NODE_MEM_USED_BP ? 0 : 10000;
        break;
      }
      const num = goal.metric === DAMOS_QUOTA_NODE_MEM_USED_BP ? meminfo.totalram - meminfo.freeram : meminfo.freeram;
      goal.currentValue = Number(multFracU64(num, 10000, meminfo.totalram));
      break;
    }
    default:
      break;
  }
}

/**
 * The highest goal score (mult_frac(current, 10000, target), in `unsigned
 * long`) after measuring every goal: the least aggressive answer wins.
 * A goal with a 0 target scores ULONG_MAX (the kernel would divide by zero).
 * @kernel damos_quota_score (mm/damon/core.c)
 */
export function damosQuotaScore(c: DamonCtx, quota: DamosQuota): bigint {
  let highest = 0n;
  for (const goal of quota.goals) {
    damosSetQuotaGoalCurrentValue(c, goal);
    const score = goal.targetValue === 0 ? ULONG_MAX_N : multFracU64(goal.currentValue, 10000, goal.targetValue);
    if (score > highest) highest = score;
  }
  return highest;
}

/**
 * Whether the quota limits anything: an effective size, a size or time
 * quota, or goals.
 * @kernel damos_quota_is_set (mm/damon/core.c)
 */
export function damosQuotaIsSet(quota: DamosQuota): boolean {
  return quota.esz !== 0 || quota.sz !== 0 || quota.ms !== 0 || quota.goals.length !== 0;
}

/**
 * Whether the current charge window is used up: the charged bytes reached
 * the effective quota, or what is left is smaller than a region can be.
 * @kernel damos_quota_is_full (mm/damon/core.c)
 */
export function damosQuotaIsFull(quota: DamosQuota, minRegionSz: number): boolean {
  if (!damosQuotaIsSet(quota)) return false;
  if (quota.chargedSz >= quota.esz) return true;
  // DAMOS applies per region, so less than a minimum region left is full.
  return quota.esz - quota.chargedSz < minRegionSz;
}

/**
 * Compute the effective size quota: `sz` alone without `ms` and goals;
 * otherwise the smallest of the goal-tuned size (feedback loop on
 * `esz_bp`), the time quota converted by the measured throughput (bytes per
 * ms, PAGE_SIZE × 1024 without history; at least the minimum region size)
 * and `sz`.
 * @kernel damos_set_effective_quota (mm/damon/core.c)
 * @kernel damos_goal_tune_esz_bp_consist (mm/damon/core.c)
 */
export function damosSetEffectiveQuota(c: DamonCtx, quota: DamosQuota): void {
  if (!quota.ms && quota.goals.length === 0) {
    quota.esz = quota.sz;
    return;
  }
  let esz = ULONG_MAX_N;
  if (quota.goals.length !== 0) {
    const score = damosQuotaScore(c, quota);
    quota.eszBp = damonFeedLoopNextInputU64(quota.eszBp > 10000n ? quota.eszBp : 10000n, score);
    esz = quota.eszBp / 10000n;
  }
  if (quota.ms) {
    const throughput = quota.totalChargedNs
      ? multFracU64(quota.totalChargedSz, 1_000_000, quota.totalChargedNs)
      : BigInt(PAGE_SIZE * 1024);
    let eszTime = BigInt.asUintN(64, throughput * BigInt(quota.ms));
    if (eszTime < BigInt(c.minRegion)) eszTime = BigInt(c.minRegion);
    if (eszTime < esz) esz = eszTime;
  }
  if (quota.sz && BigInt(quota.sz) < esz) esz = BigInt(quota.sz);
  quota.esz = Number(esz);
}

/**
 * Open the first charge window at the first call (computing `esz`); start
 * a new one when the reset interval has passed (counting a used-up window,
 * accumulating the charged size, recomputing `esz`); then fill the score
 * histogram of the regions that match the pattern and pass the core
 * filters, and set `min_score` to the score where the bytes from the top
 * reach `esz`. Does nothing when the quota sets no limit.
 * @kernel damos_adjust_quota (mm/damon/core.c)
 */
export function damosAdjustQuota(c: DamonCtx, s: Damos, schemeIdx: number, nowNs = 0): void {
  const quota = s.quota;
  if (!damosQuotaIsSet(quota)) return;
  const jiffies = c.system === null ? Math.floor(nowNs / 1_000_000) : c.system.jiffies();
  // First charge window
  if (!quota.totalChargedSz && !quota.chargedFrom) {
    quota.chargedFrom = jiffies;
    damosSetEffectiveQuota(c, quota);
    c.trace.damosEsz?.(c, schemeIdx, quota.esz, nowNs);
  }
  // New charge window starts (time_in_range_open; the model's jiffies do not wrap)
  if (!(jiffies >= quota.chargedFrom && jiffies < quota.chargedFrom + quota.resetInterval)) {
    if (damosQuotaIsFull(quota, c.minRegion)) s.stat.qtExceeds++;
    quota.totalChargedSz += quota.chargedSz;
    quota.chargedFrom = jiffies;
    quota.chargedSz = 0;
    const cached = quota.esz;
    damosSetEffectiveQuota(c, quota);
    if (quota.esz !== cached) c.trace.damosEsz?.(c, schemeIdx, quota.esz, nowNs);
  }
  const getScore = c.ops.getSchemeScore;
  if (getScore === undefined) return;
  const hist = c.regionsScoreHistogram;
  hist.fill(0);
  let maxScore = 0;
  for (const t of c.adaptiveTargets) {
    // not a saved-next walk: a piece an address filter splits off is visited next
    for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
      if (!damosPatternMatches(t, r, s)) continue;
      if (damosCoreFilterOut(c, t, r, s)) continue;
      const score = getScore.call(c.ops, c, t, r, s);
      hist[score] = hist[score]! + (t.end[r]! - t.start[r]!);
      if (score > maxScore) maxScore = score;
    }
  }
  let cumulated = 0;
  let score = maxScore;
  for (; ; score--) {
    cumulated += hist[score]!;
    if (cumulated >= quota.esz || !score) break;
  }
  quota.minScore = score;
}

/** Number of score buckets (0..DAMOS_MAX_SCORE). */
export const DAMOS_NR_SCORES = DAMOS_MAX_SCORE + 1;
