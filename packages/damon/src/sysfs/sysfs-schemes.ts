/**
 * DOC: the schemes part of DAMON's sysfs admin tree
 * (mm/damon/sysfs-schemes.c): the per-scheme directories as data with the
 * kernel's defaults, the attribute files (show/store with the kernel's
 * parsing and errors), building `struct damos` from them, and the stats,
 * effective quota and tried-regions files the commands refresh.
 */
import { NUMA_NO_NODE } from '@mm/machine';
import type { DamonCtx } from '../core/ctx.js';
import type { DamonTarget } from '../core/region.js';
import {
  DAMOS_ACTION_NAMES,
  DAMOS_FILTER_TYPE_ADDR,
  DAMOS_FILTER_TYPE_HUGEPAGE_SIZE,
  DAMOS_FILTER_TYPE_MEMCG,
  DAMOS_FILTER_TYPE_NAMES,
  DAMOS_FILTER_TYPE_TARGET,
  DAMOS_QUOTA_GOAL_METRIC_NAMES,
  DAMOS_QUOTA_NODE_MEM_FREE_BP,
  DAMOS_QUOTA_NODE_MEM_USED_BP,
  DAMOS_QUOTA_USER_INPUT,
  DAMOS_STAT,
  DAMOS_WMARK_METRIC_NAMES,
  type Damos,
  type DamosQuota,
  damonNewScheme,
  damosAddFilter,
  damosAddQuotaGoal,
  damosFilterForOps,
  damosNewFilter,
  damosNewQuotaGoal,
} from '../core/scheme.js';
import { EINVAL, fmtUl, kstrtobool, kstrtoint, kstrtouint, kstrtoul, sysfsStreq } from './kstrto.js';

/** A sysfs attribute: `show` returns the file text, `store` 0-or-bytes or a negative errno. */
export interface SysfsAttr {
  show(): string;
  store?(buf: string): number;
}

/** A sysfs directory: its attribute files and subdirectories. */
export interface SysfsNode {
  readonly files: Record<string, SysfsAttr>;
  dirs(): Record<string, SysfsNode>;
}

/** An unsigned long attribute over `get`/`set`. */
export function ulAttr(get: () => number, set?: (v: number) => void): SysfsAttr {
  const a: SysfsAttr = { show: () => `${fmtUl(get())}\n` };
  if (set !== undefined) {
    a.store = (buf) => {
      const r = kstrtoul(buf);
      if (r.err) return r.err;
      set(r.value);
      return buf.length;
    };
  }
  return a;
}

/** An unsigned int attribute. */
export function uintAttr(get: () => number, set: (v: number) => void): SysfsAttr {
  return {
    show: () => `${get()}\n`,
    store: (buf) => {
      const r = kstrtouint(buf);
      if (r.err) return r.err;
      set(r.value);
      return buf.length;
    },
  };
}

/** A signed int attribute. */
export function intAttr(get: () => number, set?: (v: number) => void): SysfsAttr {
  const a: SysfsAttr = { show: () => `${get()}\n` };
  if (set !== undefined) {
    a.store = (buf) => {
      const r = kstrtoint(buf);
      if (r.err) return r.err;
      set(r.value);
      return buf.length;
    };
  }
  return a;
}

/** A Y/N attribute. */
export function boolAttr(get: () => boolean, set: (v: boolean) => void): SysfsAttr {
  return {
    show: () => (get() ? 'Y\n' : 'N\n'),
    store: (buf) => {
      const r = kstrtobool(buf);
      if (r.err) return r.err;
      set(r.value === 1);
      return buf.length;
    },
  };
}

/** An attribute choosing one name of `names` (index stored). */
export function nameAttr(
  names: readonly string[],
  get: () => number,
  set: (v: number) => void,
  valid: (i: number) => boolean = () => true,
): SysfsAttr {
  return {
    show: () => `${names[get()] ?? ''}\n`,
    store: (buf) => {
      const i = names.findIndex((n) => sysfsStreq(buf, n));
      if (i < 0 || !valid(i)) return -EINVAL;
      set(i);
      return buf.length;
    },
  };
}

/** A `nr_*` directory: writing N rebuilds entries 0..N-1 with defaults. */
export function nrDirAttr<T>(arr: T[], mk: () => T, busy: () => boolean, rm?: (x: T) => void): SysfsAttr {
  return {
    show: () => `${arr.length}\n`,
    store: (buf) => {
      const r = kstrtoint(buf);
      if (r.err) return r.err;
      if (r.value < 0) return -EINVAL;
      if (busy()) return -16; // -EBUSY: damon_sysfs_lock held
      for (const x of arr) rm?.(x);
      arr.length = 0;
      for (let i = 0; i < r.value; i++) arr.push(mk());
      return buf.length;
    },
  };
}

/** A [min, max] directory of unsigned longs. @kernel struct damon_sysfs_ul_range (mm/damon/sysfs-common.h) */
export interface UlRange {
  min: number;
  max: number;
}

export function ulRangeNode(r: UlRange): SysfsNode {
  return {
    files: {
      min: ulAttr(
        () => r.min,
        (v) => (r.min = v),
      ),
      max: ulAttr(
        () => r.max,
        (v) => (r.max = v),
      ),
    },
    dirs: () => ({}),
  };
}

/** Filter handling layers of the filter directories. */
export const FILTER_LAYER_BOTH = 0;
export const FILTER_LAYER_CORE = 1;
export const FILTER_LAYER_OPS = 2;

/** @kernel struct damon_sysfs_scheme_filter (mm/damon/sysfs-schemes.c) */
export interface SysfsSchemeFilter {
  layer: number;
  type: number;
  matching: boolean;
  allow: boolean;
  memcgPath: string;
  addrStart: number;
  addrEnd: number;
  targetIdx: number;
  szMin: number;
  szMax: number;
}

/** @kernel struct damos_sysfs_quota_goal (mm/damon/sysfs-schemes.c) */
export interface SysfsQuotaGoal {
  metric: number;
  targetValue: number;
  currentValue: number;
  nid: number;
}

/** @kernel struct damon_sysfs_scheme_region (mm/damon/sysfs-schemes.c) */
export interface SysfsTriedRegion {
  readonly start: number;
  readonly end: number;
  readonly nrAccesses: number;
  readonly age: number;
  readonly szFilterPassed: number;
}

/** @kernel struct damon_sysfs_scheme (mm/damon/sysfs-schemes.c) */
export interface SysfsScheme {
  action: number;
  targetNid: number;
  applyIntervalUs: number;
  accessPattern: { sz: UlRange; nrAccesses: UlRange; age: UlRange };
  quotas: {
    ms: number;
    bytes: number;
    resetIntervalMs: number;
    effectiveBytes: number;
    weights: { sz: number; nrAccesses: number; age: number };
    goals: SysfsQuotaGoal[];
  };
  watermarks: { metric: number; intervalUs: number; high: number; mid: number; low: number };
  coreFilters: SysfsSchemeFilter[];
  opsFilters: SysfsSchemeFilter[];
  filters: SysfsSchemeFilter[];
  dests: { id: number; weight: number }[];
  stats: {
    nrTried: number;
    szTried: number;
    nrApplied: number;
    szApplied: number;
    szOpsFilterPassed: number;
    qtExceeds: number;
    /** 7.x */
    nrSnapshots: number;
    /** 7.x: written by the user, handed to the scheme. */
    maxNrSnapshots: number;
  };
  triedRegions: { totalBytes: number; regions: SysfsTriedRegion[] };
}

/** A scheme directory with the kernel's defaults. @kernel damon_sysfs_scheme_alloc (mm/damon/sysfs-schemes.c) */
export function sysfsSchemeAlloc(): SysfsScheme {
  return {
    action: DAMOS_STAT,
    targetNid: NUMA_NO_NODE,
    applyIntervalUs: 0,
    accessPattern: { sz: { min: 0, max: 0 }, nrAccesses: { min: 0, max: 0 }, age: { min: 0, max: 0 } },
    quotas: {
      ms: 0,
      bytes: 0,
      resetIntervalMs: 0,
      effectiveBytes: 0,
      weights: { sz: 0, nrAccesses: 0, age: 0 },
      goals: [],
    },
    watermarks: { metric: 0, intervalUs: 0, high: 0, mid: 0, low: 0 },
    coreFilters: [],
    opsFilters: [],
    filters: [],
    dests: [],
    stats: {
      nrTried: 0,
      szTried: 0,
      nrApplied: 0,
      szApplied: 0,
      szOpsFilterPassed: 0,
      qtExceeds: 0,
      nrSnapshots: 0,
      maxNrSnapshots: 0,
    },
    triedRegions: { totalBytes: 0, regions: [] },
  };
}

function filterAlloc(layer: number): () => SysfsSchemeFilter {
  return () => ({
    layer,
    type: 0,
    matching: false,
    allow: false,
    memcgPath: '',
    addrStart: 0,
    addrEnd: 0,
    targetIdx: 0,
    szMin: 0,
    szMax: 0,
  });
}

function validFilterType(layer: number, type: number): boolean {
  if (layer === FILTER_LAYER_CORE) return !damosFilterForOps(type);
  if (layer === FILTER_LAYER_OPS) return damosFilterForOps(type);
  return true;
}

function filterNode(f: SysfsSchemeFilter): SysfsNode {
  return {
    files: {
      type: nameAttr(
        DAMOS_FILTER_TYPE_NAMES,
        () => f.type,
        (v) => (f.type = v),
        (i) => validFilterType(f.layer, i),
      ),
      matching: boolAttr(
        () => f.matching,
        (v) => (f.matching = v),
      ),
      allow: boolAttr(
        () => f.allow,
        (v) => (f.allow = v),
      ),
      memcg_path: {
        show: () => `${f.memcgPath}\n`,
        store: (buf) => {
          f.memcgPath = buf.endsWith('\n') ? buf.slice(0, -1) : buf;
          return buf.length;
        },
      },
      addr_start: ulAttr(
        () => f.addrStart,
        (v) => (f.addrStart = v),
      ),
      addr_end: ulAttr(
        () => f.addrEnd,
        (v) => (f.addrEnd = v),
      ),
      min: ulAttr(
        () => f.szMin,
        (v) => (f.szMin = v),
      ),
      max: ulAttr(
        () => f.szMax,
        (v) => (f.szMax = v),
      ),
      damon_target_idx: intAttr(
        () => f.targetIdx,
        (v) => (f.targetIdx = v),
      ),
    },
    dirs: () => ({}),
  };
}

function filtersNode(list: SysfsSchemeFilter[], layer: number, busy: () => boolean): SysfsNode {
  return {
    files: { nr_filters: nrDirAttr(list, filterAlloc(layer), busy) },
    dirs: () => Object.fromEntries(list.map((f, i) => [`${i}`, filterNode(f)])),
  };
}

function goalNode(g: SysfsQuotaGoal): SysfsNode {
  return {
    files: {
      target_metric: nameAttr(
        DAMOS_QUOTA_GOAL_METRIC_NAMES,
        () => g.metric,
        (v) => (g.metric = v),
      ),
      target_value: ulAttr(
        () => g.targetValue,
        (v) => (g.targetValue = v),
      ),
      current_value: ulAttr(
        () => g.currentValue,
        (v) => (g.currentValue = v),
      ),
      nid: intAttr(
        () => g.nid,
        (v) => (g.nid = v),
      ),
    },
    dirs: () => ({}),
  };
}

/** The file tree of one scheme directory. */
export function schemeNode(s: SysfsScheme, busy: () => boolean): SysfsNode {
  const q = s.quotas;
  const w = s.watermarks;
  const st = s.stats;
  const ro = (get: () => number): SysfsAttr => ulAttr(get);
  return {
    files: {
      action: nameAttr(
        DAMOS_ACTION_NAMES,
        () => s.action,
        (v) => (s.action = v),
      ),
      target_nid: intAttr(
        () => s.targetNid,
        (v) => (s.targetNid = v),
      ),
      apply_interval_us: ulAttr(
        () => s.applyIntervalUs,
        (v) => (s.applyIntervalUs = v),
      ),
    },
    dirs: () => ({
      access_pattern: {
        files: {},
        dirs: () => ({
          sz: ulRangeNode(s.accessPattern.sz),
          nr_accesses: ulRangeNode(s.accessPattern.nrAccesses),
          age: ulRangeNode(s.accessPattern.age),
        }),
      },
      quotas: {
        files: {
          ms: ulAttr(
            () => q.ms,
            (v) => (q.ms = v),
          ),
          bytes: ulAttr(
            () => q.bytes,
            (v) => (q.bytes = v),
          ),
          reset_interval_ms: ulAttr(
            () => q.resetIntervalMs,
            (v) => (q.resetIntervalMs = v),
          ),
          effective_bytes: ro(() => q.effectiveBytes),
        },
        dirs: () => ({
          weights: {
            files: {
              sz_permil: uintAttr(
                () => q.weights.sz,
                (v) => (q.weights.sz = v),
              ),
              nr_accesses_permil: uintAttr(
                () => q.weights.nrAccesses,
                (v) => (q.weights.nrAccesses = v),
              ),
              age_permil: uintAttr(
                () => q.weights.age,
                (v) => (q.weights.age = v),
              ),
            },
            dirs: () => ({}),
          },
          goals: {
            files: {
              nr_goals: nrDirAttr(q.goals, () => ({ metric: 0, targetValue: 0, currentValue: 0, nid: 0 }), busy),
            },
            dirs: () => Object.fromEntries(q.goals.map((g, i) => [`${i}`, goalNode(g)])),
          },
        }),
      },
      watermarks: {
        files: {
          metric: nameAttr(
            DAMOS_WMARK_METRIC_NAMES,
            () => w.metric,
            (v) => (w.metric = v),
          ),
          interval_us: ulAttr(
            () => w.intervalUs,
            (v) => (w.intervalUs = v),
          ),
          high: ulAttr(
            () => w.high,
            (v) => (w.high = v),
          ),
          mid: ulAttr(
            () => w.mid,
            (v) => (w.mid = v),
          ),
          low: ulAttr(
            () => w.low,
            (v) => (w.low = v),
          ),
        },
        dirs: () => ({}),
      },
      core_filters: filtersNode(s.coreFilters, FILTER_LAYER_CORE, busy),
      ops_filters: filtersNode(s.opsFilters, FILTER_LAYER_OPS, busy),
      filters: filtersNode(s.filters, FILTER_LAYER_BOTH, busy),
      dests: {
        files: { nr_dests: nrDirAttr(s.dests, () => ({ id: 0, weight: 0 }), busy) },
        dirs: () =>
          Object.fromEntries(
            s.dests.map((d, i) => [
              `${i}`,
              {
                files: {
                  id: uintAttr(
                    () => d.id,
                    (v) => (d.id = v),
                  ),
                  weight: uintAttr(
                    () => d.weight,
                    (v) => (d.weight = v),
                  ),
                },
                dirs: () => ({}),
              },
            ]),
          ),
      },
      stats: {
        files: {
          nr_tried: ro(() => st.nrTried),
          sz_tried: ro(() => st.szTried),
          nr_applied: ro(() => st.nrApplied),
          sz_applied: ro(() => st.szApplied),
          sz_ops_filter_passed: ro(() => st.szOpsFilterPassed),
          qt_exceeds: ro(() => st.qtExceeds),
          nr_snapshots: ro(() => st.nrSnapshots),
          max_nr_snapshots: ulAttr(
            () => st.maxNrSnapshots,
            (v) => (st.maxNrSnapshots = v),
          ),
        },
        dirs: () => ({}),
      },
      tried_regions: {
        files: { total_bytes: ro(() => s.triedRegions.totalBytes) },
        dirs: () =>
          Object.fromEntries(
            s.triedRegions.regions.map((r, i) => [
              `${i}`,
              {
                files: {
                  start: ro(() => r.start),
                  end: ro(() => r.end),
                  nr_accesses: { show: () => `${r.nrAccesses}\n` },
                  age: { show: () => `${r.age}\n` },
                  sz_filter_passed: ro(() => r.szFilterPassed),
                },
                dirs: () => ({}),
              },
            ]),
          ),
      },
    }),
  };
}

/** Add the filters of one sysfs filters directory to `scheme`. @kernel damon_sysfs_add_scheme_filters (mm/damon/sysfs-schemes.c) */
function addSchemeFilters(
  scheme: Damos,
  list: readonly SysfsSchemeFilter[],
  memcgId: (path: string) => number,
): number {
  for (const sf of list) {
    const f = damosNewFilter(sf.type, sf.matching, sf.allow);
    if (f.type === DAMOS_FILTER_TYPE_MEMCG) {
      const id = memcgId(sf.memcgPath);
      if (id < 0) return id;
      f.memcgId = id;
    } else if (f.type === DAMOS_FILTER_TYPE_ADDR) {
      if (sf.addrEnd < sf.addrStart) return -EINVAL;
      f.addrRange = { start: sf.addrStart, end: sf.addrEnd };
    } else if (f.type === DAMOS_FILTER_TYPE_TARGET) {
      f.targetIdx = sf.targetIdx;
    } else if (f.type === DAMOS_FILTER_TYPE_HUGEPAGE_SIZE) {
      if (sf.szMin > sf.szMax) return -EINVAL;
      f.szRange = { min: sf.szMin, max: sf.szMax };
    }
    damosAddFilter(scheme, f);
  }
  return 0;
}

/** Add the goals with a non-zero target to `quota`. @kernel damos_sysfs_add_quota_score (mm/damon/sysfs-schemes.c) */
export function sysfsAddQuotaScore(goals: readonly SysfsQuotaGoal[], quota: Pick<DamosQuota, 'goals'>): void {
  for (const sg of goals) {
    if (!sg.targetValue) continue;
    const g = damosNewQuotaGoal(sg.metric, sg.targetValue);
    if (sg.metric === DAMOS_QUOTA_USER_INPUT) g.currentValue = sg.currentValue;
    else if (sg.metric === DAMOS_QUOTA_NODE_MEM_USED_BP || sg.metric === DAMOS_QUOTA_NODE_MEM_FREE_BP) g.nid = sg.nid;
    damosAddQuotaGoal(quota, g);
  }
}

/**
 * Build a `struct damos` from a scheme directory; a negative errno for bad input.
 * @kernel damon_sysfs_mk_scheme (mm/damon/sysfs-schemes.c)
 */
export function sysfsMkScheme(ss: SysfsScheme, memcgId: (path: string) => number): Damos | number {
  const ap = ss.accessPattern;
  const q = ss.quotas;
  const scheme = damonNewScheme(
    {
      minSzRegion: ap.sz.min,
      maxSzRegion: ap.sz.max,
      minNrAccesses: ap.nrAccesses.min,
      maxNrAccesses: ap.nrAccesses.max,
      minAgeRegion: ap.age.min,
      maxAgeRegion: ap.age.max,
    },
    ss.action,
    ss.applyIntervalUs,
    {
      ms: q.ms,
      sz: q.bytes,
      resetInterval: q.resetIntervalMs,
      weightSz: q.weights.sz,
      weightNrAccesses: q.weights.nrAccesses,
      weightAge: q.weights.age,
    },
    {
      metric: ss.watermarks.metric,
      interval: ss.watermarks.intervalUs,
      high: ss.watermarks.high,
      mid: ss.watermarks.mid,
      low: ss.watermarks.low,
    },
    ss.targetNid,
  );
  sysfsAddQuotaScore(q.goals, scheme.quota);
  for (const list of [ss.coreFilters, ss.opsFilters, ss.filters]) {
    const err = addSchemeFilters(scheme, list, memcgId);
    if (err) return err;
  }
  scheme.migrateDests = { nodeIdArr: ss.dests.map((d) => d.id), weightArr: ss.dests.map((d) => d.weight) };
  scheme.maxNrSnapshots = ss.stats.maxNrSnapshots;
  return scheme;
}

/** Copy the running schemes' stats into the files. @kernel damon_sysfs_schemes_update_stats (mm/damon/sysfs-schemes.c) */
export function sysfsSchemesUpdateStats(schemes: readonly SysfsScheme[], ctx: DamonCtx): void {
  ctx.schemes.forEach((s, i) => {
    const ss = schemes[i];
    if (ss === undefined) return;
    Object.assign(ss.stats, s.stat);
  });
}

/** @kernel damos_sysfs_update_effective_quotas (mm/damon/sysfs-schemes.c) */
export function sysfsUpdateEffectiveQuotas(schemes: readonly SysfsScheme[], ctx: DamonCtx): void {
  ctx.schemes.forEach((s, i) => {
    const ss = schemes[i];
    if (ss !== undefined) ss.quotas.effectiveBytes = s.quota.esz;
  });
}

/** @kernel damon_sysfs_schemes_clear_regions (mm/damon/sysfs-schemes.c) */
export function sysfsSchemesClearRegions(schemes: readonly SysfsScheme[]): number {
  for (const s of schemes) {
    s.triedRegions.regions = [];
    s.triedRegions.totalBytes = 0;
  }
  return 0;
}

/**
 * Add a tried region (or only its bytes) to the scheme's directory.
 * @kernel damos_sysfs_populate_region_dir (mm/damon/sysfs-schemes.c)
 */
export function sysfsPopulateRegionDir(
  schemes: readonly SysfsScheme[],
  ctx: DamonCtx,
  t: DamonTarget,
  r: number,
  s: Damos,
  totalBytesOnly: boolean,
  szFilterPassed: number,
): void {
  const idx = ctx.schemes.indexOf(s);
  const ss = schemes[idx];
  if (ss === undefined) return;
  ss.triedRegions.totalBytes += t.end[r]! - t.start[r]!;
  if (totalBytesOnly) return;
  ss.triedRegions.regions.push({
    start: t.start[r]!,
    end: t.end[r]!,
    nrAccesses: Math.floor(t.nrAccessesBp[r]! / 10000),
    age: t.age[r]!,
    szFilterPassed,
  });
}
