/**
 * DOC: setting monitoring attributes, and converting the results regions
 * already hold when the intervals change (damon_set_attrs() and helpers,
 * mm/damon/core.c).
 *
 * `nr_accesses` counts samples and `age` counts aggregations, so both mean
 * something different once the intervals change. damon_set_attrs() maps
 * `nr_accesses` through an access ratio in bp (old max → bp → new max) and
 * rescales `age` by old_aggr/new_aggr. Called mid-window it converts
 * `last_nr_accesses` instead and restarts the window. The arithmetic is the
 * kernel's unsigned int arithmetic (products wrap at 2^32).
 */
import { EINVAL } from '@mm/machine';
import { type DamonAttrs, type DamonCtx, damonCopyAttrs, damonMaxNrAccesses } from './ctx.js';
import { EXACT, multFracU32, u32mul } from './math64.js';
import { DAMON_NO_REGION } from './region.js';
import type { Damos } from './scheme.js';

/**
 * Convert an access ratio in bp to `nr_accesses` under `attrs`.
 * @kernel damon_accesses_bp_to_nr_accesses (mm/damon/core.c)
 */
export function damonAccessesBpToNrAccesses(accessesBp: number, attrs: DamonAttrs): number {
  return Math.floor(u32mul(accessesBp, damonMaxNrAccesses(attrs)) / 10000);
}

/**
 * Convert `nr_accesses` to an access ratio in bp under `attrs`.
 * @kernel damon_nr_accesses_to_accesses_bp (mm/damon/core.c)
 */
export function damonNrAccessesToAccessesBp(nrAccesses: number, attrs: DamonAttrs): number {
  return multFracU32(nrAccesses, 10000, damonMaxNrAccesses(attrs));
}

/** Rescale an access count to new monitoring attributes, keeping the same share of the maximum. @kernel damon_nr_accesses_for_new_attrs (mm/damon/core.c) */
export function damonNrAccessesForNewAttrs(nrAccesses: number, oldAttrs: DamonAttrs, newAttrs: DamonAttrs): number {
  return damonAccessesBpToNrAccesses(damonNrAccessesToAccessesBp(nrAccesses, oldAttrs), newAttrs);
}

/** Rescale an age (in aggregation intervals) to a new aggregation interval, keeping the same time. @kernel damon_age_for_new_attrs (mm/damon/core.c) */
export function damonAgeForNewAttrs(age: number, oldAttrs: DamonAttrs, newAttrs: DamonAttrs): number {
  // unsigned int age × unsigned long aggr_interval in unsigned long, the quotient cut to unsigned int
  const p = age * oldAttrs.aggrInterval;
  if (p < EXACT) return Math.floor(p / newAttrs.aggrInterval) >>> 0;
  const q = BigInt.asUintN(64, BigInt(age) * BigInt(oldAttrs.aggrInterval)) / BigInt(newAttrs.aggrInterval);
  return Number(BigInt.asUintN(32, q));
}

/** One region's counters, as {@link damonUpdateMonitoringResult} reads and writes them. */
export interface DamonRegionCounters {
  /** Accesses in the current window (samples). @kernel damon_region.nr_accesses */
  nrAccesses: number;
  /** Moving-sum access frequency (bp of a sample). @kernel damon_region.nr_accesses_bp */
  nrAccessesBp: number;
  /** Accesses in the previous window (samples). @kernel damon_region.last_nr_accesses */
  lastNrAccesses: number;
  /** Aggregation intervals the frequency stayed similar. @kernel damon_region.age */
  age: number;
}

/**
 * Convert one region's results to new attributes; `aggregating` (called
 * mid-window) converts `last_nr_accesses` and restarts the window.
 * @kernel damon_update_monitoring_result (mm/damon/core.c)
 */
export function damonUpdateMonitoringResult(
  r: DamonRegionCounters,
  oldAttrs: DamonAttrs,
  newAttrs: DamonAttrs,
  aggregating: boolean,
): void {
  if (!aggregating) {
    r.nrAccesses = damonNrAccessesForNewAttrs(r.nrAccesses, oldAttrs, newAttrs);
    r.nrAccessesBp = u32mul(r.nrAccesses, 10000);
  } else {
    r.lastNrAccesses = damonNrAccessesForNewAttrs(r.lastNrAccesses, oldAttrs, newAttrs);
    r.nrAccessesBp = u32mul(r.lastNrAccesses, 10000);
    r.nrAccesses = 0;
  }
  r.age = damonAgeForNewAttrs(r.age, oldAttrs, newAttrs);
}

const scratch: DamonRegionCounters = { nrAccesses: 0, nrAccessesBp: 0, lastNrAccesses: 0, age: 0 };

/**
 * Convert every region's results of `ctx` to `newAttrs`; nothing happens
 * when any interval is zero.
 * @kernel damon_update_monitoring_results (mm/damon/core.c)
 */
export function damonUpdateMonitoringResults(ctx: DamonCtx, newAttrs: DamonAttrs, aggregating: boolean): void {
  const old = ctx.attrs;
  if (!old.sampleInterval || !old.aggrInterval || !newAttrs.sampleInterval || !newAttrs.aggrInterval) return;
  for (const t of ctx.adaptiveTargets) {
    for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
      scratch.nrAccesses = t.nrAccesses[r]!;
      scratch.nrAccessesBp = t.nrAccessesBp[r]!;
      scratch.lastNrAccesses = t.lastNrAccesses[r]!;
      scratch.age = t.age[r]!;
      damonUpdateMonitoringResult(scratch, old, newAttrs, aggregating);
      t.nrAccesses[r] = scratch.nrAccesses;
      t.nrAccessesBp[r] = scratch.nrAccessesBp;
      t.lastNrAccesses[r] = scratch.lastNrAccesses;
      t.age[r] = scratch.age;
    }
  }
}

/**
 * Whether the intervals goal is valid: tuning off, or min ≤ max with the
 * sampling interval inside [min, max].
 * @kernel damon_valid_intervals_goal (mm/damon/core.c)
 */
export function damonValidIntervalsGoal(attrs: DamonAttrs): boolean {
  const g = attrs.intervalsGoal;
  if (!g.aggrs) return true;
  if (g.minSampleUs > g.maxSampleUs) return false;
  if (attrs.sampleInterval < g.minSampleUs || g.maxSampleUs < attrs.sampleInterval) return false;
  return true;
}

/**
 * Set `s`'s next due sample count from now.
 * @kernel damos_set_next_apply_sis (mm/damon/core.c)
 */
export function damosSetNextApplySis(s: Damos, ctx: DamonCtx): void {
  const sample = ctx.attrs.sampleInterval || 1;
  const apply = s.applyIntervalUs || ctx.attrs.aggrInterval;
  s.nextApplySis = ctx.passedSampleIntervals + Math.floor(apply / sample);
}

/**
 * Set the monitoring attributes. Validates them (intervals goal, at least 3
 * minimum regions, min ≤ max regions, sample ≤ aggr), fills `aggrSamples`
 * when it is 0, restarts the aggregation and ops-update counts from now,
 * converts the regions' results and recomputes every scheme's next apply.
 * @returns 0 or -EINVAL (nothing changed).
 * @kernel damon_set_attrs (mm/damon/core.c)
 */
export function damonSetAttrs(ctx: DamonCtx, attrs: DamonAttrs): number {
  const sample = attrs.sampleInterval || 1;
  const aggregating = ctx.passedSampleIntervals < ctx.nextAggregationSis;
  if (!damonValidIntervalsGoal(attrs)) return -EINVAL;
  if (attrs.minNrRegions < 3) return -EINVAL;
  if (attrs.minNrRegions > attrs.maxNrRegions) return -EINVAL;
  if (attrs.sampleInterval > attrs.aggrInterval) return -EINVAL;
  if (!attrs.aggrSamples) attrs.aggrSamples = Math.floor(attrs.aggrInterval / sample);
  ctx.nextAggregationSis = ctx.passedSampleIntervals + Math.floor(attrs.aggrInterval / sample);
  ctx.nextOpsUpdateSis = ctx.passedSampleIntervals + Math.floor(attrs.opsUpdateInterval / sample);
  damonUpdateMonitoringResults(ctx, attrs, aggregating);
  ctx.attrs = damonCopyAttrs(attrs);
  for (const s of ctx.schemes) damosSetNextApplySis(s, ctx);
  return 0;
}

/** Whether two attribute sets are equal (aggr_samples aside). @kernel damon_attrs_equals (mm/damon/core.c) */
export function damonAttrsEquals(a: DamonAttrs, b: DamonAttrs): boolean {
  const g1 = a.intervalsGoal;
  const g2 = b.intervalsGoal;
  return (
    a.sampleInterval === b.sampleInterval &&
    a.aggrInterval === b.aggrInterval &&
    a.opsUpdateInterval === b.opsUpdateInterval &&
    a.minNrRegions === b.minNrRegions &&
    a.maxNrRegions === b.maxNrRegions &&
    g1.accessBp === g2.accessBp &&
    g1.aggrs === g2.aggrs &&
    g1.minSampleUs === g2.minSampleUs &&
    g1.maxSampleUs === g2.maxSampleUs
  );
}
