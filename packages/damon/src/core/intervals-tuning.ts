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
import { EXACT, mulDivU64, multFracU64, mulU64, ULONG_MAX_N } from './math64.js';
import { DAMON_NO_REGION } from './region.js';

/**
 * Next input of the feedback loop with the goal fixed at 10,000 and a
 * minimum input of 10,000: unchanged on target, the minimum at ≥ 2× the
 * goal, otherwise last × (1 + (goal − score)/goal), never below the minimum,
 * saturating at ULONG_MAX; in `unsigned long` arithmetic (the inputs of the
 * quota goals' loop reach ULONG_MAX when a goal stays unmet).
 * @kernel damon_feed_loop_next_input (mm/damon/core.c)
 */
export function damonFeedLoopNextInputU64(lastInput: bigint, score: bigint): bigint {
  const goal = 10000n;
  const minInput = 10000n;
  const overAchieving = score > goal;
  if (score === goal) return lastInput;
  if (score >= goal * 2n) return minInput;
  const diff = overAchieving ? score - goal : goal - score;
  // The kernel switches the order of operations near overflow.
  const compensation =
    lastInput < ULONG_MAX_N / diff ? (lastInput * diff) / goal : BigInt.asUintN(64, (lastInput / goal) * diff);
  if (overAchieving) {
    const next = BigInt.asUintN(64, lastInput - compensation);
    return next > minInput ? next : minInput;
  }
  if (lastInput < ULONG_MAX_N - compensation) return lastInput + compensation;
  return ULONG_MAX_N;
}

/**
 * {@link damonFeedLoopNextInputU64} on numbers (exact for inputs below
 * 2^53; the answer rounds to a float64 past that).
 * @kernel damon_feed_loop_next_input (mm/damon/core.c)
 */
export function damonFeedLoopNextInput(lastInput: number, score: number | bigint): number {
  return Number(damonFeedLoopNextInputU64(BigInt(lastInput), BigInt(score)));
}

/**
 * Score of the last aggregation window against the goal, in bp of the
 * target (10,000 = on target): mult_frac(Σ size × nr_accesses, 10000,
 * max(1, Σ size × aggr_samples × access_bp / 10000)), in `unsigned long`.
 * @kernel damon_get_intervals_score (mm/damon/core.c)
 */
export function damonGetIntervalsScore(c: DamonCtx): bigint {
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
  let maxEv: bigint;
  let ev: bigint;
  if (maxAccessEvents < EXACT && accessEvents < EXACT) {
    // every partial sum and product was below 2^53, so exact
    maxEv = BigInt(maxAccessEvents);
    ev = BigInt(accessEvents);
  } else {
    // past 2^53 the kernel's unsigned long sums may wrap: redo them so
    maxEv = 0n;
    ev = 0n;
    const samples = BigInt(aggrSamples);
    for (const t of c.adaptiveTargets) {
      for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
        const sz = BigInt(t.end[r]! - t.start[r]!);
        maxEv = BigInt.asUintN(64, maxEv + BigInt.asUintN(64, sz * samples));
        ev = BigInt.asUintN(64, ev + BigInt.asUintN(64, sz * BigInt(t.nrAccesses[r]!)));
      }
    }
  }
  let target = BigInt.asUintN(64, maxEv * BigInt(goalBp)) / 10000n;
  if (target === 0n) target = 1n;
  return multFracU64(ev, 10000, target);
}

/**
 * The adaptation in bp for the next intervals: the loop's answer from a
 * last input of 100,000,000, divided by 10,000, with [1, 10000] rescaled to
 * [5000, 10000] so one step shrinks the intervals by at most 50%.
 * @kernel damon_get_intervals_adaptation_bp (mm/damon/core.c)
 */
export function damonGetIntervalsAdaptationBp(c: DamonCtx): number {
  const score = damonGetIntervalsScore(c);
  let adaptation = Number(damonFeedLoopNextInputU64(100_000_000n, score) / 10000n);
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
  attrs.sampleInterval = Math.min(goal.maxSampleUs, mulDivU64(c.attrs.sampleInterval, adaptation, 10000));
  attrs.sampleInterval = Math.max(goal.minSampleUs, attrs.sampleInterval);
  attrs.aggrInterval = mulU64(attrs.sampleInterval, c.attrs.aggrSamples);
  c.trace.damonMonitorIntervalsTune?.(c, attrs.sampleInterval, nowNs);
  damonSetAttrs(c, attrs);
}
