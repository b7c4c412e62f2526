/**
 * DOC: DAMOS core filters (mm/damon/core.c): the filters the core handles
 * itself, on whole regions (`addr`, `target`), ahead of the ops layer's
 * per-folio filters. The first filter whose test (== `matching`) holds
 * decides: reject, or allow (and tell the ops layer to pass every page);
 * with no match the scheme's default verdict applies
 * (damos_set_filters_default_reject(), scheme.ts).
 */
import type { DamonCtx } from './ctx.js';
import { alignDown, type DamonTarget, damonSplitRegionAt } from './region.js';
import { DAMOS_FILTER_TYPE_ADDR, DAMOS_FILTER_TYPE_TARGET, type Damos, type DamosFilter } from './scheme.js';

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
 * @kernel damos_core_filter_out (mm/damon/core.c)
 */
export function damosCoreFilterOut(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos): boolean {
  s.coreFiltersAllowed = false;
  for (const filter of s.filters) {
    if (damosFilterMatch(ctx, t, r, filter, ctx.minRegion)) {
      if (filter.allow) s.coreFiltersAllowed = true;
      return !filter.allow;
    }
  }
  return s.coreFiltersDefaultReject;
}
