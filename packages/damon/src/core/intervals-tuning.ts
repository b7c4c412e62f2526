/**
 * DOC: the feedback loop shared by DAMOS quota goals and monitoring
 * intervals auto-tuning, and the intervals auto-tuning itself
 * (mm/damon/core.c, "mm/damon/core: implement intervals auto-tuning").
 *
 * Every `intervals_goal.aggrs` aggregations, at an aggregation boundary after
 * schemes ran and before `nr_accesses` is reset, DAMON measures the last
 * window's observed access events (Σ size × nr_accesses) against the
 * theoretical maximum (Σ size × aggr_samples), scores the ratio against
 * `access_bp`, feeds the score through the loop, and scales the sampling
 * interval by the result: at most ×2 up, at most ×0.5 down, clamped to
 * [min_sample_us, max_sample_us], with the aggregation interval following
 * so aggr/sample stays constant.
 */
import { damonSetAttrs } from './attrs.js';
import { type DamonCtx, damonCopyAttrs } from './ctx.js';
import { DAMON_NO_REGION } from './region.js';

/** `ULONG_MAX` for the loop's saturation. */
const ULONG_MAX = 2 ** 64 - 1;

/**
 * Next input of the feedback loop with the goal fixed at 10,000 and a
 * minimum input of 10,000: unchanged on target, the minimum at ≥ 2× the
 * goal, otherwise last × (1 + (goal − score)/goal), never below the minimum,
 * saturating at ULONG_MAX.
 * @kernel damon_feed_loop_next_input (mm/damon/core.c)
 */
export function damonFeedLoopNextInput(lastInput: number, score: number): number {
  const goal = 10000;
  const minInput = 10000;
  const overAchieving = score > goal;
  if (score === goal) return lastInput;
  if (score >= goal * 2) return minInput;
  const diff = overAchieving ? score - goal : goal - score;
  // The kernel switches the order of operations near overflow.
  const compensation =
    lastInput < Math.floor(ULONG_MAX / diff)
      ? Math.floor((lastInput * diff) / goal)
      : Math.floor(lastInput / goal) * diff;
  if (overAchieving) return Math.max(lastInput - compensation, minInput);
  if (lastInput < ULONG_MAX - compensation) return lastInput + compensation;
  return ULONG_MAX;
}

/**
 * Score of the last aggregation window against the goal, in bp of the
 * target (10,000 = on target): Σ size × nr_accesses × 10000 / max(1,
 * Σ size × aggr_samples × access_bp / 10000).
 * @kernel damon_get_intervals_score (mm/damon/core.c)
 */
export function damonGetIntervalsScore(c: DamonCtx): number {
  let maxAccessEvents = 0;
  let accessEvents = 0;
  const goalBp = c.attrs.intervalsGoal.accessBp;
  const aggrSamples = c.attrs.aggrSamples;
  for (const t of c.adaptiveTargets) {
    for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
      const sz = t.end[r]! - t.start[r]!;
      maxAccessEvents += sz * aggrSamples;
      accessEvents += sz * t.nrAccesses[r]!;
    }
  }
  let target = Math.floor((maxAccessEvents * goalBp) / 10000);
  target = target || 1;
  return Math.floor((accessEvents * 10000) / target);
}

/**
 * The adaptation in bp for the next intervals: the loop's answer from a
 * last input of 100,000,000, divided by 10,000, with [1, 10000] rescaled to
 * [5000, 10000] so one step shrinks the intervals by at most 50%.
 * @kernel damon_get_intervals_adaptation_bp (mm/damon/core.c)
 */
export function damonGetIntervalsAdaptationBp(c: DamonCtx): number {
  const score = damonGetIntervalsScore(c);
  let adaptation = Math.floor(damonFeedLoopNextInput(100_000_000, score) / 10000);
  if (adaptation <= 10000) adaptation = 5000 + Math.floor(adaptation / 2);
  return adaptation;
}

/**
 * Tune the sampling and aggregation intervals toward the goal (see the file
 * header); emits `damon_monitor_intervals_tune`.
 * @kernel kdamond_tune_intervals (mm/damon/core.c)
 */
export function kdamondTuneIntervals(c: DamonCtx, nowNs = 0): void {
  const adaptation = damonGetIntervalsAdaptationBp(c);
  if (adaptation === 10000) return;
  const attrs = damonCopyAttrs(c.attrs);
  const goal = c.attrs.intervalsGoal;
  attrs.sampleInterval = Math.min(goal.maxSampleUs, Math.floor((c.attrs.sampleInterval * adaptation) / 10000));
  attrs.sampleInterval = Math.max(goal.minSampleUs, attrs.sampleInterval);
  attrs.aggrInterval = attrs.sampleInterval * c.attrs.aggrSamples;
  c.trace.damonMonitorIntervalsTune?.(c, attrs.sampleInterval, nowNs);
  damonSetAttrs(c, attrs);
}
