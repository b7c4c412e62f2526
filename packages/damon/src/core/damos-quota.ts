/**
 * DOC: DAMOS quotas (mm/damon/core.c): the charge window, the effective
 * size quota that folds the time quota, the size quota and the goals into
 * one number, the goals' current values, and the score histogram that
 * decides which regions a limited quota goes to.
 */

import type { DamonCtx } from './ctx.js';
import { damonFeedLoopNextInput } from './intervals-tuning.js';
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
  ULONG_MAX,
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
      goal.currentValue = Math.floor((num * 10000) / meminfo.totalram);
      break;
    }
    default:
      break;
  }
}

/**
 * The highest goal score (current × 10000 / target) after measuring every
 * goal: the least aggressive answer wins.
 * @kernel damos_quota_score (mm/damon/core.c)
 */
export function damosQuotaScore(c: DamonCtx, quota: DamosQuota): number {
  let highest = 0;
  for (const goal of quota.goals) {
    damosSetQuotaGoalCurrentValue(c, goal);
    const score = goal.targetValue === 0 ? ULONG_MAX : Math.floor((goal.currentValue * 10000) / goal.targetValue);
    highest = Math.max(highest, score);
  }
  return highest;
}

/**
 * Compute the effective size quota: `sz` alone without `ms` and goals;
 * otherwise the smallest of the goal-tuned size (feedback loop on
 * `esz_bp`), the time quota converted by the measured throughput (bytes per
 * ms, PAGE_SIZE × 1024 without history) and `sz`.
 * @kernel damos_set_effective_quota (mm/damon/core.c)
 */
export function damosSetEffectiveQuota(c: DamonCtx, quota: DamosQuota): void {
  let esz = ULONG_MAX;
  if (!quota.ms && quota.goals.length === 0) {
    quota.esz = quota.sz;
    return;
  }
  if (quota.goals.length !== 0) {
    const score = damosQuotaScore(c, quota);
    quota.eszBp = damonFeedLoopNextInput(Math.max(quota.eszBp, 10000), score);
    esz = Math.floor(quota.eszBp / 10000);
  }
  if (quota.ms) {
    const throughput = quota.totalChargedNs
      ? Math.floor((quota.totalChargedSz * 1_000_000) / quota.totalChargedNs)
      : PAGE_SIZE * 1024;
    esz = Math.min(throughput * quota.ms, esz);
  }
  if (quota.sz && quota.sz < esz) esz = quota.sz;
  quota.esz = esz;
}

/**
 * Start a new charge window when the reset interval has passed (counting
 * an exceeded window, accumulating the charged size, recomputing `esz`),
 * then fill the score histogram of pattern-matching regions and set
 * `min_score` to the score where the bytes from the top reach `esz`.
 * Does nothing without `ms`, `sz` and goals.
 * @kernel damos_adjust_quota (mm/damon/core.c)
 */
export function damosAdjustQuota(c: DamonCtx, s: Damos, schemeIdx: number, nowNs = 0): void {
  const quota = s.quota;
  if (!quota.ms && !quota.sz && quota.goals.length === 0) return;
  const jiffies = c.system === null ? Math.floor(nowNs / 1_000_000) : c.system.jiffies();
  // New charge window starts. chargedFrom < 0: no window yet (a real
  // system's jiffies are far past 0 + reset_interval on the first apply).
  if (quota.chargedFrom < 0 || jiffies >= quota.chargedFrom + quota.resetInterval) {
    if (quota.esz && quota.chargedSz >= quota.esz) s.stat.qtExceeds++;
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
    for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
      if (!damosPatternMatches(t, r, s)) continue;
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
