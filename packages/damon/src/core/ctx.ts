/**
 * DOC: the monitoring context, its attributes and the operations-set
 * interface (struct damon_ctx, struct damon_attrs, struct damon_operations),
 * and the {@link Damon} instance that holds what mm/damon/core.c keeps in
 * file-scope variables (registered operations sets, running-context counts,
 * the split pass's `last_nr_regions`).
 *
 * Keeping that state in an object instead of module variables means two
 * simulated kernels in one process never see each other, and a rerun with
 * the same seed gives the same numbers.
 */
import { EINVAL, errnoName, type Machine, MmError, Prng, type Task } from '@mm/machine';
import { mulHi32, mulShr64 } from './math64.js';
import type { DamonTarget } from './region.js';
import type { Damos } from './scheme.js';
import type { DamonSystemView } from './system.js';

/** Target for auto-tuning the sampling and aggregation intervals. @kernel struct damon_intervals_goal (include/linux/damon.h) */
export interface DamonIntervalsGoal {
  /** Target ratio of observed to the theoretical maximum access events, in bp. */
  accessBp: number;
  /** Tune every this many aggregations; 0 turns tuning off. */
  aggrs: number;
  /** Lower bound of the tuned sampling interval (µs). */
  minSampleUs: number;
  /** Upper bound of the tuned sampling interval (µs). */
  maxSampleUs: number;
}

/**
 * Monitoring attributes; every interval is in µs.
 * @kernel struct damon_attrs (include/linux/damon.h)
 */
export interface DamonAttrs {
  /** Time between access checks (µs). */
  sampleInterval: number;
  /** Aggregation window (µs). */
  aggrInterval: number;
  /** How often the ops re-read the target layout (µs). */
  opsUpdateInterval: number;
  /** Sampling interval auto-tuning goal. */
  intervalsGoal: DamonIntervalsGoal;
  /** Fewest regions the adaptive split/merge keeps. */
  minNrRegions: number;
  /** Most regions the adaptive split/merge keeps. */
  maxNrRegions: number;
  /** private: aggr/sample ratio; {@link damonSetAttrs} fills it when 0. */
  aggrSamples: number;
}

/** The kernel's default attributes (5 ms, 100 ms, 60 s, tuning off, [10, 1000] regions). */
export function damonDefaultAttrs(): DamonAttrs {
  return {
    sampleInterval: 5000,
    aggrInterval: 100_000,
    opsUpdateInterval: 60_000_000,
    intervalsGoal: { accessBp: 0, aggrs: 0, minSampleUs: 0, maxSampleUs: 0 },
    minNrRegions: 10,
    maxNrRegions: 1000,
    aggrSamples: 0,
  };
}

/** Copy of `a` (the goal included). */
export function damonCopyAttrs(a: DamonAttrs): DamonAttrs {
  return { ...a, intervalsGoal: { ...a.intervalsGoal } };
}

/** Operations set ids. @kernel enum damon_ops_id (include/linux/damon.h) */
export const DAMON_OPS_VADDR = 0;
/** Operations set for fixed virtual address ranges of a process. @kernel DAMON_OPS_FVADDR */
export const DAMON_OPS_FVADDR = 1;
/** Operations set for the physical address space. @kernel DAMON_OPS_PADDR */
export const DAMON_OPS_PADDR = 2;
/** Number of operations sets. @kernel NR_DAMON_OPS */
export const NR_DAMON_OPS = 3;
/** sysfs names of the operations sets, by id. */
export const DAMON_OPS_NAMES: readonly string[] = ['vaddr', 'fvaddr', 'paddr'];

/** Scratch out-parameter of {@link DamonOperations.applyScheme} (`*sz_filter_passed`). */
export interface DamosApplyOut {
  /** Bytes that passed the ops-layer filters. */
  szFilterPassed: number;
}

/**
 * The operations set a context monitors through. Every callback is
 * optional, as in the kernel.
 * @kernel struct damon_operations (include/linux/damon.h)
 */
export interface DamonOperations {
  /** The `DAMON_OPS_*` id of the set (-1: none). */
  readonly id: number;
  /** Build the targets' initial regions. */
  init?(ctx: DamonCtx): void;
  /** Refresh the targets' regions (every ops update interval). */
  update?(ctx: DamonCtx): void;
  /** Pick each region's sampling address and clear its accessed state. */
  prepareAccessChecks?(ctx: DamonCtx): void;
  /** Check each region's sampling address; returns the largest `nr_accesses`. */
  checkAccesses?(ctx: DamonCtx): number;
  /** Priority score of region `r` for scheme `s`, in [0, DAMOS_MAX_SCORE]. */
  getSchemeScore?(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos): number;
  /** Apply `s`'s action to `r`; returns bytes applied and sets `out.szFilterPassed`. */
  applyScheme?(ctx: DamonCtx, t: DamonTarget, r: number, s: Damos, out: DamosApplyOut): number;
  /** Whether the target still exists. */
  targetValid?(t: DamonTarget): boolean;
  /** Release per-context resources (at kdamond exit). */
  cleanup?(ctx: DamonCtx): void;
}

/** A request run by the kdamond in its main loop. @kernel struct damon_call_control (include/linux/damon.h) */
export interface DamonCallControl {
  /** The function to run; its result becomes `returnCode`. */
  fn: () => number;
  /** Run in every loop iteration until the kdamond stops (damon_call() returns at once). */
  repeat?: boolean;
  /** What `fn` returned (set once it ran). */
  returnCode: number;
  /** Set when the kdamond ran (or cancelled) it. */
  completed: boolean;
  /** Set when the kdamond stopped before running it. */
  canceled: boolean;
}

/** A request to visit each region a scheme is tried on during its next apply pass. @kernel struct damos_walk_control (include/linux/damon.h) */
export interface DamosWalkControl {
  /** Called for each region a scheme was tried on, in the next apply pass. */
  walkFn: (ctx: DamonCtx, t: DamonTarget, r: number, s: Damos, szFilterPassed: number) => void;
  /** Set when the walk finished. */
  completed: boolean;
  /** Set when the kdamond stopped before the walk finished. */
  canceled: boolean;
}

/**
 * Optional observers of the kernel's DAMON trace events (the tracepoints
 * damo records through perf). Each is called synchronously at the point the
 * kernel emits the event; `timeNs` is the virtual time.
 */
export interface DamonTracepoints {
  /** Called for each region after an aggregation interval. @kernel trace_damon_aggregated */
  damonAggregated?(
    ctx: DamonCtx,
    targetIdx: number,
    t: DamonTarget,
    r: number,
    nrRegions: number,
    timeNs: number,
  ): void;
  /** Called for each region before a scheme's action is applied to it. @kernel trace_damos_before_apply */
  damosBeforeApply?(
    ctx: DamonCtx,
    schemeIdx: number,
    targetIdx: number,
    t: DamonTarget,
    r: number,
    nrRegions: number,
    timeNs: number,
  ): void;
  /** Called when a scheme's effective size quota is computed. @kernel trace_damos_esz */
  damosEsz?(ctx: DamonCtx, schemeIdx: number, esz: number, timeNs: number): void;
  /** Called when the interval auto-tuner sets a new sampling interval. @kernel trace_damon_monitor_intervals_tune */
  damonMonitorIntervalsTune?(ctx: DamonCtx, sampleUs: number, timeNs: number): void;
}

/** What the context needs from the machine it runs on (filled by damonStart). */
export interface DamonCtxRun {
  /** The DAMON subsystem it was started under. */
  readonly damon: Damon;
  /** The machine it runs on. */
  readonly machine: Machine;
  /** The kdamond task. */
  readonly task: Task;
  /** CPU the kdamond runs on. */
  readonly cpu: number;
}

/**
 * A monitoring context: attributes, targets, schemes and the kdamond that runs them.
 * @kernel struct damon_ctx (include/linux/damon.h)
 */
export class DamonCtx {
  /** Monitoring attributes in force. */
  attrs: DamonAttrs;
  /** private: samples taken since the kdamond started. */
  passedSampleIntervals: number;
  /** Sample count at which the next aggregation is due. */
  nextAggregationSis: number;
  /** Sample count at which the next ops update is due. */
  nextOpsUpdateSis: number;
  /** Sample count at which the next intervals tuning is due. */
  nextIntervalsTuneSis: number;
  /** private: bytes per score for quota prioritisation. */
  readonly regionsScoreHistogram: Float64Array;
  /** private: queued damon_call() requests. */
  callControls: DamonCallControl[];
  /** private: the pending damos_walk() request. */
  walkControl: DamosWalkControl | null;
  /** The operations set monitoring goes through. */
  ops: DamonOperations;
  /** The monitoring targets. */
  adaptiveTargets: DamonTarget[];
  /** The installed DAMOS schemes. */
  schemes: Damos[];
  /**
   * Minimum region size and alignment (DAMON_MIN_REGION = PAGE_SIZE; later
   * kernels make it a per-context `min_region_sz`, which is what this is).
   */
  minRegion: number;
  /** The per-context PRNG damon_rand() draws from. */
  rng: Prng;
  /** The running kdamond, or null. */
  kdamond: DamonCtxRun | null;
  /** Trace event observers. */
  trace: DamonTracepoints;
  /** Virtual ns of kdamond CPU work charged so far (cost model). */
  kdamondBusyNs: number;
  /** Work the ops and core account during one loop iteration, charged to the kdamond's CPU. */
  pendingCostNs: number;
  /** private: the kdamond loop's state (see kdamond.ts). */
  loop: DamonLoopState;
  /** Where DAMOS reads watermarks and goal metrics (set from the machine at start when null). */
  system: DamonSystemView | null;

  constructor(prng: Prng = new Prng(0x64616d6f)) {
    this.attrs = damonDefaultAttrs();
    this.passedSampleIntervals = 0;
    this.nextAggregationSis = 0;
    this.nextOpsUpdateSis = 0;
    this.nextIntervalsTuneSis = 0;
    this.regionsScoreHistogram = new Float64Array(100);
    this.callControls = [];
    this.walkControl = null;
    this.ops = { id: -1 };
    this.adaptiveTargets = [];
    this.schemes = [];
    this.minRegion = 4096;
    this.rng = prng;
    this.kdamond = null;
    this.trace = {};
    this.kdamondBusyNs = 0;
    this.pendingCostNs = 0;
    this.loop = newLoopState();
    this.system = null;
  }
}

/** The kdamond loop's per-iteration snapshot and step state. */
export interface DamonLoopState {
  /** @internal */
  phase: number;
  /** @internal */
  snapNextAggregationSis: number;
  /** @internal */
  snapNextOpsUpdateSis: number;
  /** @internal */
  snapSampleInterval: number;
  /** @internal */
  szLimit: number;
  /** @internal */
  maxNrAccesses: number;
  /** Set when damon_stop() already ran the exit path. */
  stopped: boolean;
}

/** A fresh loop state. */
export function newLoopState(): DamonLoopState {
  return {
    phase: 0,
    snapNextAggregationSis: 0,
    snapNextOpsUpdateSis: 0,
    snapSampleInterval: 0,
    szLimit: 0,
    maxNrAccesses: 0,
    stopped: false,
  };
}

/**
 * A new context with the kernel's defaults (5 ms / 100 ms / 60 s, [10, 1000]
 * regions, no ops, no targets, no schemes).
 * @kernel damon_new_ctx (mm/damon/core.c)
 */
export function damonNewCtx(prng?: Prng): DamonCtx {
  return new DamonCtx(prng);
}

/** Append `t` to `ctx`'s monitoring targets. @kernel damon_add_target (mm/damon/core.c) */
export function damonAddTarget(ctx: DamonCtx, t: DamonTarget): void {
  ctx.adaptiveTargets.push(t);
}

/** Whether `ctx` has no monitoring targets. @kernel damon_targets_empty (mm/damon/core.c) */
export function damonTargetsEmpty(ctx: DamonCtx): boolean {
  return ctx.adaptiveTargets.length === 0;
}

/** Whether the context's targets carry a pid. @kernel damon_target_has_pid (include/linux/damon.h) */
export function damonTargetHasPid(ctx: DamonCtx): boolean {
  return ctx.ops.id === DAMON_OPS_VADDR || ctx.ops.id === DAMON_OPS_FVADDR;
}

/**
 * min(aggr / sample, UINT_MAX), at least 1 (sample 0 counts as 1).
 * @kernel damon_max_nr_accesses (include/linux/damon.h)
 */
export function damonMaxNrAccesses(attrs: DamonAttrs): number {
  const sample = attrs.sampleInterval || 1;
  const m = Math.min(Math.floor(attrs.aggrInterval / sample), 0xffff_ffff);
  return m || 1;
}

/**
 * A random integer in [l, r) from the context's PRNG, as the kernel draws
 * it: `(u32 × span) >> 32` for spans up to U32_MAX, else the high 64 bits of
 * a 64-bit draw times the span (both exact here, see math64.ts).
 * @kernel damon_rand (include/linux/damon.h)
 */
export function damonRand(ctx: DamonCtx, l: number, r: number): number {
  const span = r - l;
  if (span <= 0xffff_ffff) {
    const rnd = ctx.rng.nextU32();
    // rnd × span is exact in a float64 below 2^53; past it take the high half exactly.
    return l + (span < 0x20_0000 ? Math.floor((rnd * span) / 0x1_0000_0000) : mulHi32(rnd, span));
  }
  const hi = ctx.rng.nextU32();
  const lo = ctx.rng.nextU32();
  return l + mulShr64(hi, lo, span);
}

/**
 * The DAMON subsystem of one simulated kernel: registered operations sets,
 * the count of running contexts and whether an exclusive group runs, and
 * the file-scope state of core.c and the ops sets.
 */
export class Damon {
  /** The machine DAMON runs on. */
  readonly machine: Machine;
  /** Operations sets by `DAMON_OPS_*` id, null where none is registered. @kernel damon_registered_ops (mm/damon/core.c) */
  readonly registeredOps: (DamonOperations | null)[];
  /** Contexts whose kdamond is running. @kernel nr_running_ctxs (mm/damon/core.c) */
  nrRunningCtxs: number;
  /** The running contexts were started exclusively, so no other may start. @kernel running_exclusive_ctxs (mm/damon/core.c) */
  runningExclusiveCtxs: boolean;
  /** kdamond_split_regions()'s static `last_nr_regions`. */
  splitLastNrRegions: number;
  /** Contexts started and not yet stopped. */
  readonly running: Set<DamonCtx>;

  constructor(machine: Machine) {
    this.machine = machine;
    this.registeredOps = [null, null, null];
    this.nrRunningCtxs = 0;
    this.runningExclusiveCtxs = false;
    this.splitLastNrRegions = 0;
    this.running = new Set();
  }
}

/** A DAMON subsystem on `machine`. */
export function createDamon(machine: Machine): Damon {
  return new Damon(machine);
}

/**
 * Register an operations set; -EINVAL for an unknown id or one already registered.
 * @kernel damon_register_ops (mm/damon/core.c)
 */
export function damonRegisterOps(damon: Damon, ops: DamonOperations): number {
  if (!(ops.id >= 0 && ops.id < NR_DAMON_OPS)) return -EINVAL;
  if (damon.registeredOps[ops.id] !== null) return -EINVAL;
  damon.registeredOps[ops.id] = ops;
  return 0;
}

/** Remove a registered operations set (for tests and module unload). */
export function damonUnregisterOps(damon: Damon, id: number): void {
  if (id >= 0 && id < NR_DAMON_OPS) damon.registeredOps[id] = null;
}

/** Whether operations set `id` is registered. @kernel damon_is_registered_ops (mm/damon/core.c) */
export function damonIsRegisteredOps(damon: Damon, id: number): boolean {
  if (!(id >= 0 && id < NR_DAMON_OPS)) return false;
  return damon.registeredOps[id] !== null;
}

/**
 * Make `ctx` use the registered operations set `id`; -EINVAL when none is registered.
 * @kernel damon_select_ops (mm/damon/core.c)
 */
export function damonSelectOps(damon: Damon, ctx: DamonCtx, id: number): number {
  if (!(id >= 0 && id < NR_DAMON_OPS)) return -EINVAL;
  const ops = damon.registeredOps[id];
  if (ops === null || ops === undefined) return -EINVAL;
  ctx.ops = ops;
  return 0;
}

/** Number of contexts whose kdamond is running. @kernel damon_nr_running_ctxs (mm/damon/core.c) */
export function damonNrRunningCtxs(damon: Damon): number {
  return damon.nrRunningCtxs;
}

/** Throw an MmError carrying the errno name when `err` is negative (for idiomatic wrappers). */
export function damonCheck(err: number, what: string): void {
  if (err < 0) {
    throw new MmError(errnoName(err), `damon: ${what} failed (-${errnoName(err)})`);
  }
}
