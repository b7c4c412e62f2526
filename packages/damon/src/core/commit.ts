/**
 * DOC: changing a context's schemes, targets and attributes, online
 * (damon_commit_ctx() and helpers, damon_set_schemes(), mm/damon/core.c).
 *
 * A commit copies the user-set parameters of a source context onto the
 * running one, entry by entry by index: matching schemes/goals/filters are
 * overwritten, extra destination entries destroyed, extra source entries
 * created. Targets keep their regions when the source target has none.
 * Schemes and targets go first because damon_set_attrs() converts the
 * regions' results and the schemes' next apply times.
 */
import { damonAttrsEquals, damonSetAttrs, damosSetNextApplySis } from './attrs.js';
import { type DamonCtx, damonCopyAttrs } from './ctx.js';
import { DAMON_NO_REGION, type DamonAddrRange, DamonTarget, damonDestroyRegions, damonSetRegions } from './region.js';
import {
  DAMOS_FILTER_TYPE_ADDR,
  DAMOS_FILTER_TYPE_HUGEPAGE_SIZE,
  DAMOS_FILTER_TYPE_MEMCG,
  DAMOS_FILTER_TYPE_TARGET,
  DAMOS_QUOTA_NODE_MEM_FREE_BP,
  DAMOS_QUOTA_NODE_MEM_USED_BP,
  DAMOS_QUOTA_USER_INPUT,
  type Damos,
  type DamosFilter,
  type DamosQuota,
  type DamosQuotaGoal,
  damonNewScheme,
  damosAddFilter,
  damosNewFilter,
  damosNewQuotaGoal,
  damosSetFiltersDefaultReject,
} from './scheme.js';

/**
 * Append `s` and set its next apply time.
 * @kernel damon_add_scheme (mm/damon/core.c)
 */
export function damonAddScheme(ctx: DamonCtx, s: Damos): void {
  ctx.schemes.push(s);
  damosSetNextApplySis(s, ctx);
}

/** Unlink scheme `s` from `ctx` and free it. @kernel damon_destroy_scheme (mm/damon/core.c) */
export function damonDestroyScheme(ctx: DamonCtx, s: Damos): void {
  const i = ctx.schemes.indexOf(s);
  if (i >= 0) ctx.schemes.splice(i, 1);
}

/**
 * Replace every scheme of `ctx` (not while the kdamond runs).
 * @kernel damon_set_schemes (mm/damon/core.c)
 */
export function damonSetSchemes(ctx: DamonCtx, schemes: readonly Damos[]): void {
  ctx.schemes = [];
  for (const s of schemes) damonAddScheme(ctx, s);
}

/**
 * Remove target `t` (its regions freed).
 * @kernel damon_destroy_target (mm/damon/core.c)
 */
export function damonDestroyTarget(ctx: DamonCtx | null, t: DamonTarget): void {
  damonDestroyRegions(t);
  if (ctx === null) return;
  const i = ctx.adaptiveTargets.indexOf(t);
  if (i >= 0) ctx.adaptiveTargets.splice(i, 1);
}

function commitQuotaGoal(dst: DamosQuotaGoal, src: DamosQuotaGoal): void {
  dst.metric = src.metric;
  dst.targetValue = src.targetValue;
  if (dst.metric === DAMOS_QUOTA_USER_INPUT) dst.currentValue = src.currentValue;
  // last_psi_total is kept: it is updated in the next cycle.
  if (dst.metric === DAMOS_QUOTA_NODE_MEM_USED_BP || dst.metric === DAMOS_QUOTA_NODE_MEM_FREE_BP) dst.nid = src.nid;
}

/**
 * Copy the quota goals of `src` to `dst` by index.
 * @kernel damos_commit_quota_goals (mm/damon/core.c)
 */
export function damosCommitQuotaGoals(dst: Pick<DamosQuota, 'goals'>, src: Pick<DamosQuota, 'goals'>): number {
  const n = src.goals.length;
  dst.goals.length = Math.min(dst.goals.length, n);
  for (let i = 0; i < dst.goals.length; i++) commitQuotaGoal(dst.goals[i]!, src.goals[i]!);
  for (let i = dst.goals.length; i < n; i++) {
    const g = damosNewQuotaGoal(src.goals[i]!.metric, src.goals[i]!.targetValue);
    commitQuotaGoal(g, src.goals[i]!);
    dst.goals.push(g);
  }
  return 0;
}

function commitQuota(dst: DamosQuota, src: DamosQuota): number {
  dst.resetInterval = src.resetInterval;
  dst.ms = src.ms;
  dst.sz = src.sz;
  damosCommitQuotaGoals(dst, src);
  dst.weightSz = src.weightSz;
  dst.weightNrAccesses = src.weightNrAccesses;
  dst.weightAge = src.weightAge;
  return 0;
}

function commitFilterArg(dst: DamosFilter, src: DamosFilter): void {
  switch (dst.type) {
    case DAMOS_FILTER_TYPE_MEMCG:
      dst.memcgId = src.memcgId;
      break;
    case DAMOS_FILTER_TYPE_ADDR:
      dst.addrRange = { ...src.addrRange };
      break;
    case DAMOS_FILTER_TYPE_TARGET:
      dst.targetIdx = src.targetIdx;
      break;
    case DAMOS_FILTER_TYPE_HUGEPAGE_SIZE:
      dst.szRange = { ...src.szRange };
      break;
    default:
      break;
  }
}

function commitFilterList(dst: Damos, dstList: DamosFilter[], srcList: readonly DamosFilter[]): void {
  const n = srcList.length;
  dstList.length = Math.min(dstList.length, n);
  for (let i = 0; i < dstList.length; i++) {
    const d = dstList[i]!;
    const sf = srcList[i]!;
    d.type = sf.type;
    d.matching = sf.matching;
    d.allow = sf.allow;
    commitFilterArg(d, sf);
  }
  for (let i = dstList.length; i < n; i++) {
    const sf = srcList[i]!;
    const f = damosNewFilter(sf.type, sf.matching, sf.allow);
    commitFilterArg(f, sf);
    damosAddFilter(dst, f);
  }
}

/**
 * Copy one scheme's parameters (pattern, action, interval, quota, watermarks,
 * destinations, filters, the snapshot limit) from `src` to `dst`.
 * @kernel damos_commit (mm/damon/core.c)
 */
export function damosCommit(dst: Damos, src: Damos): number {
  dst.pattern = { ...src.pattern };
  dst.action = src.action;
  dst.applyIntervalUs = src.applyIntervalUs;
  commitQuota(dst.quota, src.quota);
  dst.wmarks = { ...src.wmarks };
  dst.targetNid = src.targetNid;
  dst.migrateDests = { nodeIdArr: [...src.migrateDests.nodeIdArr], weightArr: [...src.migrateDests.weightArr] };
  commitFilterList(dst, dst.filters, src.filters);
  commitFilterList(dst, dst.opsFilters, src.opsFilters);
  damosSetFiltersDefaultReject(dst);
  dst.maxNrSnapshots = src.maxNrSnapshots;
  return 0;
}

function commitSchemes(dst: DamonCtx, src: DamonCtx): number {
  const n = src.schemes.length;
  while (dst.schemes.length > n) dst.schemes.pop();
  for (let i = 0; i < dst.schemes.length; i++) {
    const err = damosCommit(dst.schemes[i]!, src.schemes[i]!);
    if (err) return err;
  }
  for (let i = dst.schemes.length; i < n; i++) {
    const ss = src.schemes[i]!;
    const s = damonNewScheme(ss.pattern, ss.action, ss.applyIntervalUs, ss.quota, ss.wmarks);
    const err = damosCommit(s, ss);
    if (err) return err;
    damonAddScheme(dst, s);
  }
  return 0;
}

function commitTargetRegions(dst: DamonTarget, src: DamonTarget, minRegion: number): number {
  if (src.nrRegions === 0) return 0;
  const ranges: DamonAddrRange[] = [];
  for (let r = src.first; r !== DAMON_NO_REGION; r = src.next[r]!)
    ranges.push({ start: src.start[r]!, end: src.end[r]! });
  return damonSetRegions(dst, ranges, minRegion);
}

function commitTargets(dst: DamonCtx, src: DamonCtx): number {
  let i = 0;
  for (const dt of [...dst.adaptiveTargets]) {
    const st = src.adaptiveTargets[i++];
    if (st !== undefined && !st.obsolete) {
      const err = commitTargetRegions(dt, st, dst.minRegion);
      if (err) return err;
      dt.pid = st.pid;
    } else {
      damonDestroyTarget(dst, dt);
      for (const s of dst.schemes) {
        if (s.quota.chargeTargetFrom === dt) {
          s.quota.chargeTargetFrom = null;
          s.quota.chargeAddrFrom = 0;
        }
      }
    }
  }
  for (let j = i; j < src.adaptiveTargets.length; j++) {
    const st = src.adaptiveTargets[j]!;
    if (st.obsolete) return -22; // -EINVAL: nothing to remove
    const nt = new DamonTarget(st.pid);
    const err = commitTargetRegions(nt, st, dst.minRegion);
    if (err) return err;
    dst.adaptiveTargets.push(nt);
  }
  return 0;
}

/**
 * Commit the user-set parameters of `src` to `dst` (a running context):
 * schemes, targets, then the attributes when they differ, then the ops.
 * @kernel damon_commit_ctx (mm/damon/core.c)
 */
export function damonCommitCtx(dst: DamonCtx, src: DamonCtx): number {
  let err = commitSchemes(dst, src);
  if (err) return err;
  err = commitTargets(dst, src);
  if (err) return err;
  if (!damonAttrsEquals(dst.attrs, src.attrs)) {
    const attrs = damonCopyAttrs(src.attrs);
    err = damonSetAttrs(dst, attrs);
    if (err) return err;
  }
  dst.ops = src.ops;
  dst.minRegion = src.minRegion;
  return 0;
}
