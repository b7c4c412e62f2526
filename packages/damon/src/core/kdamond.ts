/**
 * DOC: the kdamond (kdamond_fn() and friends, mm/damon/core.c) as a
 * timer-driven kernel thread of the simulated machine, plus damon_start(),
 * damon_stop(), damon_call() and damos_walk().
 *
 * One task step is one loop iteration of kdamond_fn(), split at its sleep:
 * the step finishes the sample that was in flight (passed++, check
 * accesses, merge and the min_nr_regions splits at a window end,
 * damon_call requests, schemes, tuning, reset and split at a window end,
 * ops update), then starts the next one
 * (stop check, watermark gate, prepare access checks) and sleeps one
 * sampling interval in virtual time. The work the iteration did is charged
 * to the kdamond's CPU through the cost model.
 *
 * Callers that block in the kernel (damon_call(), damos_walk(),
 * kthread_stop()) drive the machine here until the kdamond has answered, so
 * a command takes the virtual time it takes on a real kernel.
 */
import { EBUSY, EINVAL, EPERM, type Machine, SCHED_EXIT, SCHED_SLEEP, type Task } from '@mm/machine';
import {
  damonApplyMinNrRegions,
  kdamondMergeRegions,
  kdamondResetAggregated,
  kdamondSplitRegions,
} from './aggregation.js';
import { type Damon, type DamonCallControl, type DamonCtx, type DamosWalkControl, newLoopState } from './ctx.js';
import { damosWalkCancel, kdamondApplySchemes } from './damos.js';
import { kdamondTuneIntervals } from './intervals-tuning.js';
import { damonDestroyRegions } from './region.js';
import { DAMOS_WMARK_FREE_MEM_RATE, type Damos, damosSetFiltersDefaultReject } from './scheme.js';
import { machineSystemView } from './system.js';

const PH_INIT = 0;
const PH_TOP = 1;
const PH_WMARK_SLEPT = 2;
const PH_SAMPLING = 3;
const PH_DONE = 4;

/** Virtual ns charged per kdamond loop iteration besides the per-region work (cost model). */
export const KDAMOND_ITERATION_NS = 500;

/**
 * Whether the kdamond should stop: asked to, or every target invalid.
 * @kernel kdamond_need_stop (mm/damon/core.c)
 */
export function kdamondNeedStop(ctx: DamonCtx, task: Task | null): boolean {
  if (task?.shouldStop) return true;
  const valid = ctx.ops.targetValid;
  if (valid === undefined) return false;
  for (const t of ctx.adaptiveTargets) if (valid.call(ctx.ops, t)) return false;
  return true;
}

/**
 * 0 when scheme `s` is active, else the µs to wait before the next check;
 * applies the watermark state machine (deactivate above high or below low,
 * stay inactive in [mid, high], else activate).
 * @kernel damos_wmark_wait_us (mm/damon/core.c)
 */
export function damosWmarkWaitUs(ctx: DamonCtx, s: Damos): number {
  if (s.wmarks.metric !== DAMOS_WMARK_FREE_MEM_RATE) return 0;
  const metric = ctx.system === null ? 1000 : ctx.system.freeMemRatePermil();
  const w = s.wmarks;
  if (metric > w.high || w.low > metric) {
    w.activated = false;
    return w.interval;
  }
  if (w.high >= metric && metric >= w.mid && !w.activated) return w.interval;
  w.activated = true;
  return 0;
}

/**
 * The smallest watermark wait over the schemes (0: go on monitoring).
 * One round of kdamond_wait_activation()'s loop.
 * @kernel kdamond_wait_activation (mm/damon/core.c)
 */
export function kdamondWmarkMinWaitUs(ctx: DamonCtx): number {
  let min = 0;
  let init = false;
  for (const s of ctx.schemes) {
    const w = damosWmarkWaitUs(ctx, s);
    if (!init || w < min) {
      init = true;
      min = w;
    }
  }
  return min;
}

/**
 * Run (or, with `cancel`, cancel) the queued damon_call() requests.
 * @kernel kdamond_call (mm/damon/core.c)
 */
export function kdamondCall(ctx: DamonCtx, cancel: boolean): void {
  const controls = ctx.callControls;
  if (controls.length === 0) return;
  const pending = controls.splice(0, controls.length);
  for (const control of pending) {
    if (cancel) control.canceled = true;
    else control.returnCode = control.fn();
    if (control.repeat && !cancel) controls.push(control);
    else control.completed = true;
  }
}

/**
 * Reset the sample counters and schedules at kdamond start and compute
 * each scheme's default filter verdicts.
 * @kernel kdamond_init_ctx (mm/damon/core.c)
 */
export function kdamondInitCtx(ctx: DamonCtx): void {
  const sample = ctx.attrs.sampleInterval || 1;
  ctx.passedSampleIntervals = 0;
  ctx.nextAggregationSis = Math.floor(ctx.attrs.aggrInterval / sample);
  ctx.nextOpsUpdateSis = Math.floor(ctx.attrs.opsUpdateInterval / sample);
  ctx.nextIntervalsTuneSis = ctx.nextAggregationSis * ctx.attrs.intervalsGoal.aggrs;
  for (const s of ctx.schemes) {
    const apply = s.applyIntervalUs || ctx.attrs.aggrInterval;
    s.nextApplySis = Math.floor(apply / sample);
    damosSetFiltersDefaultReject(s);
  }
}

function nowOf(ctx: DamonCtx): number {
  const run = ctx.kdamond;
  return run === null ? 0 : run.machine.clock.cpuNow(run.cpu);
}

/** The part of one loop iteration after the sampling sleep. */
function kdamondFinishSample(ctx: DamonCtx, damon: Damon): void {
  const loop = ctx.loop;
  const now = nowOf(ctx);
  ctx.passedSampleIntervals++;
  if (ctx.ops.checkAccesses !== undefined) loop.maxNrAccesses = ctx.ops.checkAccesses(ctx);
  const nextAggregationSis = loop.snapNextAggregationSis;
  const nextOpsUpdateSis = loop.snapNextOpsUpdateSis;
  if (ctx.passedSampleIntervals >= nextAggregationSis) {
    kdamondMergeRegions(ctx, Math.floor(loop.maxNrAccesses / 10), loop.szLimit);
    // online updates might be made
    loop.szLimit = damonApplyMinNrRegions(ctx);
  }
  kdamondCall(ctx, false);
  if (ctx.schemes.length !== 0) kdamondApplySchemes(ctx, now);
  else damosWalkCancel(ctx);
  let sample = ctx.attrs.sampleInterval || 1;
  if (ctx.passedSampleIntervals >= nextAggregationSis) {
    if (ctx.attrs.intervalsGoal.aggrs && ctx.passedSampleIntervals >= ctx.nextIntervalsTuneSis) {
      // damon_call() may have moved next_aggregation_sis; put it back so
      // damon_set_attrs() does not take this for the middle of a window.
      ctx.nextAggregationSis = nextAggregationSis;
      ctx.nextIntervalsTuneSis += ctx.attrs.aggrSamples * ctx.attrs.intervalsGoal.aggrs;
      kdamondTuneIntervals(ctx, now);
      sample = ctx.attrs.sampleInterval || 1;
    }
    ctx.nextAggregationSis = nextAggregationSis + Math.floor(ctx.attrs.aggrInterval / sample);
    kdamondResetAggregated(ctx, now);
    kdamondSplitRegions(ctx, damon);
  }
  if (ctx.passedSampleIntervals >= nextOpsUpdateSis) {
    ctx.nextOpsUpdateSis = nextOpsUpdateSis + Math.floor(ctx.attrs.opsUpdateInterval / sample);
    if (ctx.ops.update !== undefined) ctx.ops.update(ctx);
  }
}

/** The kdamond exit path (after the main loop). */
function kdamondDone(ctx: DamonCtx, damon: Damon): void {
  for (const t of ctx.adaptiveTargets) damonDestroyRegions(t);
  if (ctx.ops.cleanup !== undefined) ctx.ops.cleanup(ctx);
  ctx.loop.phase = PH_DONE;
  ctx.loop.stopped = true;
  ctx.kdamond = null;
  kdamondCall(ctx, true);
  damosWalkCancel(ctx);
  damon.running.delete(ctx);
  damon.nrRunningCtxs--;
  if (!damon.nrRunningCtxs && damon.runningExclusiveCtxs) damon.runningExclusiveCtxs = false;
}

function chargeIteration(ctx: DamonCtx, machine: Machine, cpu: number): void {
  const ns = ctx.pendingCostNs + KDAMOND_ITERATION_NS;
  ctx.pendingCostNs = 0;
  ctx.kdamondBusyNs += ns;
  machine.account.charge(cpu, ns);
}

/**
 * One step of the kdamond thread (see the file header).
 * @kernel kdamond_fn (mm/damon/core.c)
 */
function kdamondStep(ctx: DamonCtx, damon: Damon, task: Task): number {
  const machine = damon.machine;
  const loop = ctx.loop;
  const run = ctx.kdamond;
  if (loop.stopped || run === null) return SCHED_EXIT;
  const cpu = run.cpu;
  if (loop.phase === PH_INIT) {
    kdamondInitCtx(ctx);
    if (ctx.ops.init !== undefined) ctx.ops.init(ctx);
    loop.szLimit = damonApplyMinNrRegions(ctx);
    loop.phase = PH_TOP;
  } else if (loop.phase === PH_SAMPLING) {
    kdamondFinishSample(ctx, damon);
    loop.phase = PH_TOP;
  }
  if (loop.phase === PH_WMARK_SLEPT) {
    // Back from a watermark wait: serve requests, cancel walks, check again.
    kdamondCall(ctx, false);
    damosWalkCancel(ctx);
    if (kdamondNeedStop(ctx, task)) {
      kdamondDone(ctx, damon);
      chargeIteration(ctx, machine, cpu);
      return SCHED_EXIT;
    }
  } else {
    // Top of the loop: the stop check and this iteration's snapshot.
    if (kdamondNeedStop(ctx, task)) {
      kdamondDone(ctx, damon);
      chargeIteration(ctx, machine, cpu);
      return SCHED_EXIT;
    }
    loop.snapNextAggregationSis = ctx.nextAggregationSis;
    loop.snapNextOpsUpdateSis = ctx.nextOpsUpdateSis;
    loop.snapSampleInterval = ctx.attrs.sampleInterval;
  }
  const wait = kdamondWmarkMinWaitUs(ctx);
  if (wait) {
    loop.phase = PH_WMARK_SLEPT;
    chargeIteration(ctx, machine, cpu);
    return machine.sched.scheduleTimeout(task, wait * 1000);
  }
  if (ctx.ops.prepareAccessChecks !== undefined) ctx.ops.prepareAccessChecks(ctx);
  loop.phase = PH_SAMPLING;
  chargeIteration(ctx, machine, cpu);
  // usleep_range(sample, sample + 1); a 0 µs interval still yields.
  machine.sched.scheduleTimeout(task, Math.max(loop.snapSampleInterval, 1) * 1000);
  return SCHED_SLEEP;
}

/** Options of {@link damonStart}. */
export interface DamonStartOptions {
  /** CPU the kdamonds run on (default 0). */
  cpu?: number;
}

/**
 * Start one kdamond per context. An exclusive group fails with -EBUSY while
 * any context runs; a non-exclusive start fails while an exclusive group
 * runs. The threads are named `kdamond.N`.
 * @returns 0, -EBUSY, or -EINVAL for a context already running.
 * @kernel damon_start (mm/damon/core.c)
 */
export function damonStart(
  damon: Damon,
  ctxs: readonly DamonCtx[],
  exclusive: boolean,
  opts: DamonStartOptions = {},
): number {
  if ((exclusive && damon.nrRunningCtxs) || (!exclusive && damon.runningExclusiveCtxs)) return -EBUSY;
  const machine = damon.machine;
  const cpu = opts.cpu ?? 0;
  let err = 0;
  for (const ctx of ctxs) {
    if (ctx.kdamond !== null) {
      err = -EBUSY;
      break;
    }
    if (ctx.system === null) ctx.system = machineSystemView(machine);
    ctx.loop = newLoopState();
    const name = `kdamond.${damon.nrRunningCtxs}`;
    const task = machine.sched.kthreadCreate(name, cpu, (t) => kdamondStep(ctx, damon, t));
    ctx.kdamond = { damon, machine, task, cpu };
    damon.running.add(ctx);
    damon.nrRunningCtxs++;
    machine.sched.wakeUpProcess(task);
  }
  if (exclusive && damon.nrRunningCtxs) damon.runningExclusiveCtxs = true;
  return err;
}

/**
 * Stop the kdamonds of `ctxs`. kthread_stop() waits for the thread, so the
 * exit path (regions destroyed, ops cleanup, pending requests cancelled)
 * has run when this returns.
 * @returns 0, or -EPERM for a context that is not running.
 * @kernel damon_stop (mm/damon/core.c)
 */
export function damonStop(damon: Damon, ctxs: readonly DamonCtx[]): number {
  for (const ctx of ctxs) {
    const run = ctx.kdamond;
    if (run === null) return -EPERM;
    run.task.shouldStop = true;
    kdamondDone(ctx, damon);
    damon.machine.sched.wakeUpProcess(run.task);
  }
  return 0;
}

/** Whether `ctx`'s kdamond is running. @kernel damon_is_running (mm/damon/core.c) */
export function damonIsRunning(ctx: DamonCtx): boolean {
  return ctx.kdamond !== null;
}

/**
 * The kdamond's pid, or -EINVAL when not running.
 * @kernel damon_kdamond_pid (mm/damon/core.c)
 */
export function damonKdamondPid(ctx: DamonCtx): number {
  return ctx.kdamond === null ? -EINVAL : ctx.kdamond.task.pid;
}

/** Virtual time a blocking call waits for the kdamond before giving up (ns). */
export const DAMON_CALL_TIMEOUT_NS = 3_600_000_000_000;

/**
 * Queue `fn` to run on the kdamond after its next sample, and run the
 * machine until it has (damon_call() waits for completion). Returns 0 with
 * `control.returnCode` set, or -EINVAL when not running, or -ECANCELED (as
 * -125) when the kdamond stopped first.
 * @kernel damon_call (mm/damon/core.c)
 */
export function damonCall(ctx: DamonCtx, fn: () => number, control?: DamonCallControl): number {
  const run = ctx.kdamond;
  if (run === null) return -EINVAL;
  const c: DamonCallControl = control ?? { fn, returnCode: 0, completed: false, canceled: false };
  c.fn = fn;
  c.completed = false;
  c.canceled = false;
  ctx.callControls.push(c);
  if (c.repeat) return 0;
  run.machine.sched.runWhile(() => !c.completed, run.machine.clock.now + DAMON_CALL_TIMEOUT_NS);
  if (!c.completed) return -EBUSY;
  return c.canceled ? -ECANCELED : 0;
}

/** Operation canceled. */
export const ECANCELED = 125;

/**
 * Ask the kdamond to call `walkFn` for every region it hands to the ops set
 * during the next apply interval of every scheme, and run the machine until
 * done. -EBUSY if a walk is pending, -EINVAL when not running, -ECANCELED
 * when cancelled (no schemes, watermarks off, stop).
 * @kernel damos_walk (mm/damon/core.c)
 */
export function damosWalk(ctx: DamonCtx, walkFn: DamosWalkControl['walkFn']): number {
  const run = ctx.kdamond;
  if (ctx.walkControl !== null) return -EBUSY;
  if (run === null) return -EINVAL;
  const control: DamosWalkControl = { walkFn, completed: false, canceled: false };
  ctx.walkControl = control;
  run.machine.sched.runWhile(() => !control.completed, run.machine.clock.now + DAMON_CALL_TIMEOUT_NS);
  if (!control.completed) return -EBUSY;
  return control.canceled ? -ECANCELED : 0;
}
