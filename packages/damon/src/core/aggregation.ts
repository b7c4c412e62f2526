/**
 * DOC: per-sample access accounting and per-aggregation region adjustment
 * (mm/damon/core.c): the `nr_accesses_bp` pseudo moving sum, resetting the
 * aggregated counts, merging similar neighbours (threshold doubling while
 * over `max_nr_regions`), splitting regions larger than total /
 * `min_nr_regions`, and splitting regions at random 10–90% cuts.
 *
 * Region-based sampling is what bounds DAMON's overhead: one sampled address
 * per region per sample, with the number of regions kept in
 * [min_nr_regions, max_nr_regions] whatever the size of the target.
 */
import { type Damon, type DamonAttrs, type DamonCtx, damonMaxNrAccesses, damonRand } from './ctx.js';
import { absDiffU32, u32mul } from './math64.js';
import {
  alignDown,
  alignUp,
  DAMON_NO_REGION,
  type DamonTarget,
  damonMergeTwoRegions,
  damonSplitRegionAt,
} from './region.js';

/**
 * A pseudo moving sum that keeps no history: drop the no-noise share of the
 * last window (`nomvsum / lenWindow`) and add the new value.
 * @kernel damon_moving_sum (mm/damon/core.c)
 */
export function damonMovingSum(mvsum: number, nomvsum: number, lenWindow: number, newValue: number): number {
  return (mvsum - Math.floor(nomvsum / lenWindow) + newValue) >>> 0;
}

/**
 * Account one sample of region `r`: update the moving sum and, when
 * accessed, `nr_accesses`.
 * @kernel damon_update_region_access_rate (mm/damon/core.c)
 */
export function damonUpdateRegionAccessRate(t: DamonTarget, r: number, accessed: boolean, attrs: DamonAttrs): void {
  damonUpdateRegionAccessRateW(t, r, accessed, damonAccessRateWindow(attrs));
}

/** The moving sum's window for `attrs` (max_nr_accesses, or 1 with a 0 µs sampling interval). */
export function damonAccessRateWindow(attrs: DamonAttrs): number {
  return attrs.sampleInterval ? damonMaxNrAccesses(attrs) : 1;
}

/**
 * {@link damonUpdateRegionAccessRate} with the window precomputed, for the
 * ops' per-sample loops (the kernel recomputes it; the result is the same).
 */
export function damonUpdateRegionAccessRateW(t: DamonTarget, r: number, accessed: boolean, lenWindow: number): void {
  const last = t.lastNrAccesses[r]!;
  // nomvsum / len_window; a region idle in the last window (the common case
  // for most of memory) drops nothing, without the division.
  const drop = last === 0 ? 0 : Math.floor(u32mul(last, 10000) / lenWindow);
  t.nrAccessesBp[r] = (t.nrAccessesBp[r]! - drop + (accessed ? 10000 : 0)) >>> 0;
  if (accessed) t.nrAccesses[r]!++;
}

/**
 * Reset the aggregated results: emit `damon_aggregated` for every region,
 * fix a drifted `nr_accesses_bp` (with a one-time warning), move
 * `nr_accesses` to `last_nr_accesses` and zero it.
 * @kernel kdamond_reset_aggregated (mm/damon/core.c)
 */
export function kdamondResetAggregated(c: DamonCtx, nowNs = 0): void {
  const trace = c.trace.damonAggregated;
  const targets = c.adaptiveTargets;
  for (let ti = 0; ti < targets.length; ti++) {
    const t = targets[ti]!;
    for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) {
      if (trace !== undefined) trace(c, ti, t, r, t.nrRegions, nowNs);
      damonWarnFixNrAccessesCorruption(c, t, r);
      t.lastNrAccesses[r] = t.nrAccesses[r]!;
      t.nrAccesses[r] = 0;
    }
  }
}

/**
 * At a window end `nr_accesses_bp` must equal `nr_accesses * 10000`; warn
 * once and force it otherwise.
 * @kernel damon_warn_fix_nr_accesses_corruption (mm/damon/core.c)
 */
export function damonWarnFixNrAccessesCorruption(c: DamonCtx, t: DamonTarget, r: number): void {
  const want = u32mul(t.nrAccesses[r]!, 10000);
  if (t.nrAccessesBp[r] === want) return;
  const run = c.kdamond;
  if (run !== null && !warnedOnce.has(run.damon)) {
    warnedOnce.add(run.damon);
    run.machine.warnOn(true, `damon: invalid nr_accesses_bp at reset: ${t.nrAccessesBp[r]} ${t.nrAccesses[r]}`);
  }
  t.nrAccessesBp[r] = want;
}

const warnedOnce = new WeakSet<Damon>();

/**
 * One merge pass over `t`: with `countAge`, update each region's age
 * (reset when |nr_accesses − last_nr_accesses| > thres or when the region
 * went from no access to some or back, else +1); then merge it into the
 * previous region when contiguous, within `thres` accesses of it, and the
 * result stays within `szLimit`.
 * @kernel damon_merge_regions_of (mm/damon/core.c)
 */
export function damonMergeRegionsOf(t: DamonTarget, thres: number, szLimit: number, countAge = true): void {
  let prev = DAMON_NO_REGION;
  const start = t.start;
  const end = t.end;
  const nrAcc = t.nrAccesses;
  for (let r = t.first; r !== DAMON_NO_REGION; ) {
    const next = t.next[r]!;
    if (countAge) {
      const nr = nrAcc[r]!;
      const last = t.lastNrAccesses[r]!;
      if (absDiffU32(nr, last) > thres) t.age[r] = 0;
      else if ((nr === 0) !== (last === 0)) t.age[r] = 0;
      else t.age[r] = (t.age[r]! + 1) >>> 0;
    }
    if (
      prev !== DAMON_NO_REGION &&
      end[prev] === start[r] &&
      absDiffU32(nrAcc[prev]!, nrAcc[r]!) <= thres &&
      end[prev]! - start[prev]! + (end[r]! - start[r]!) <= szLimit
    ) {
      damonMergeTwoRegions(t, prev, r);
    } else {
      prev = r;
    }
    r = next;
  }
}

/**
 * Merge similar neighbours of every target with `threshold` (ages counted
 * in the first pass only); while the total number of regions is over
 * `max_nr_regions`, merge again with the threshold doubled (at least 1),
 * and last with the largest possible threshold, aggr/sample.
 * @kernel kdamond_merge_regions (mm/damon/core.c)
 */
export function kdamondMergeRegions(c: DamonCtx, threshold: number, szLimit: number): void {
  // unsigned int max_thres = aggr / sample
  const maxThres = Math.floor(c.attrs.aggrInterval / (c.attrs.sampleInterval || 1)) >>> 0;
  let countAge = true;
  for (;;) {
    let nrRegions = 0;
    for (const t of c.adaptiveTargets) {
      damonMergeRegionsOf(t, threshold, szLimit, countAge);
      nrRegions += t.nrRegions;
      c.pendingCostNs += t.nrRegions * REGION_VISIT_NS;
    }
    countAge = false;
    if (nrRegions <= c.attrs.maxNrRegions || maxThres <= threshold) break;
    if (threshold < Math.floor(maxThres / 2)) threshold = Math.max(1, threshold * 2);
    else threshold = maxThres;
  }
}

/** Virtual ns the model charges per region visited by a merge or split pass (cost model). */
export const REGION_VISIT_NS = 15;

/**
 * Split every region of `t` into up to `nrSubs` pieces: up to nrSubs − 1
 * times, while the (left) region is larger than 2 × minRegion, cut at a
 * random 10–90% (aligned down); cuts of 0 or the whole region are skipped.
 * @kernel damon_split_regions_of (mm/damon/core.c)
 */
export function damonSplitRegionsOf(ctx: DamonCtx, t: DamonTarget, nrSubs: number, minRegion = ctx.minRegion): void {
  for (let r = t.first; r !== DAMON_NO_REGION; ) {
    const next = t.next[r]!;
    let szRegion = t.end[r]! - t.start[r]!;
    for (let i = 0; i < nrSubs - 1 && szRegion > 2 * minRegion; i++) {
      // Left sub-region: at least 10% and at most 90% of the region.
      const szSub = alignDown(Math.floor((damonRand(ctx, 1, 10) * szRegion) / 10), minRegion);
      if (szSub === 0 || szSub >= szRegion) continue;
      damonSplitRegionAt(t, r, szSub);
      szRegion = szSub;
    }
    r = next;
  }
}

/**
 * Split every region into random pieces when the total is at most
 * max_nr_regions / 2: into 3 when the count did not change since the last
 * call and is below max/3, else into 2.
 * @kernel kdamond_split_regions (mm/damon/core.c)
 */
export function kdamondSplitRegions(ctx: DamonCtx, damon: { splitLastNrRegions: number }): void {
  let nrRegions = 0;
  for (const t of ctx.adaptiveTargets) nrRegions += t.nrRegions;
  if (nrRegions > Math.floor(ctx.attrs.maxNrRegions / 2)) return;
  let nrSubregions = 2;
  // Maybe the middle of the region has a different access frequency.
  if (damon.splitLastNrRegions === nrRegions && nrRegions < Math.floor(ctx.attrs.maxNrRegions / 3)) nrSubregions = 3;
  for (const t of ctx.adaptiveTargets) {
    damonSplitRegionsOf(ctx, t, nrSubregions);
    ctx.pendingCostNs += t.nrRegions * REGION_VISIT_NS;
  }
  damon.splitLastNrRegions = nrRegions;
}

/**
 * The size limit of a region: total bytes of all targets / min_nr_regions,
 * at least the minimum region size.
 * @kernel damon_region_sz_limit (mm/damon/core.c)
 */
export function damonRegionSzLimit(ctx: DamonCtx): number {
  let sz = 0;
  for (const t of ctx.adaptiveTargets) {
    for (let r = t.first; r !== DAMON_NO_REGION; r = t.next[r]!) sz += t.end[r]! - t.start[r]!;
  }
  if (ctx.attrs.minNrRegions) sz = Math.floor(sz / ctx.attrs.minNrRegions);
  if (sz < ctx.minRegion) sz = ctx.minRegion;
  return sz;
}

/**
 * Make `min_nr_regions` hold: compute the size limit (total bytes /
 * min_nr_regions, aligned up to the minimum region size) and split every
 * larger region into limit-sized pieces (the last piece takes the rest).
 * Returns the limit, the `sz_limit` of the next merges.
 * @kernel damon_apply_min_nr_regions (mm/damon/core.c)
 */
export function damonApplyMinNrRegions(ctx: DamonCtx): number {
  const maxRegionSz = alignUp(damonRegionSzLimit(ctx), ctx.minRegion);
  for (const t of ctx.adaptiveTargets) {
    for (let r = t.first; r !== DAMON_NO_REGION; ) {
      const next = t.next[r]!;
      while (t.end[r]! - t.start[r]! > maxRegionSz) {
        damonSplitRegionAt(t, r, maxRegionSz);
        r = t.next[r]!;
      }
      r = next;
    }
    ctx.pendingCostNs += t.nrRegions * REGION_VISIT_NS;
  }
  return maxRegionSz;
}
