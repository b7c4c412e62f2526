/**
 * DOC: DAMON on its own: a machine, a synthetic process running a masim
 * config, the vaddr operations set over it, and a context monitoring the
 * process, ready for damon_start(). The quickest way to watch DAMON work
 * without the kernel model.
 */
import { createMachine, type Machine } from '@mm/machine';
import { createDamon, type Damon, type DamonCtx, damonAddTarget, damonNewCtx, damonRegisterOps } from './core/ctx.js';
import { damonNewTarget } from './core/region.js';
import { damonFvaddrOps, damonVaddrOps } from './ops/vaddr.js';
import { SyntheticAddressSpace, syntheticVaddrEnv } from './synthetic/address-space.js';
import { MasimWorkload, type MasimWorkloadOptions, parseMasimConfig } from './synthetic/masim.js';

/** Options of {@link createStandaloneMonitor}. */
export interface StandaloneMonitorOptions {
  /** The workload as a masim config. */
  readonly masimConfig: string;
  /** The machine (default: a fresh one with `seed`). */
  readonly machine?: Machine;
  /** Seed of the fresh machine (default 1). */
  readonly seed?: number;
  /** How the workload runs. */
  readonly workload?: MasimWorkloadOptions;
}

/** What {@link createStandaloneMonitor} builds. */
export interface StandaloneMonitor {
  /** The machine the monitor runs on. */
  readonly machine: Machine;
  /** The DAMON subsystem, with vaddr and fvaddr registered over the synthetic process. */
  readonly damon: Damon;
  /** The synthetic process's address space. */
  readonly space: SyntheticAddressSpace;
  /** The masim workload driving the accesses. */
  readonly workload: MasimWorkload;
  /** A vaddr context with one target (the synthetic process), default attributes, not started. */
  readonly ctx: DamonCtx;
}

/** Build a standalone DAMON setup (see the file header). */
export function createStandaloneMonitor(opts: StandaloneMonitorOptions): StandaloneMonitor {
  const machine = opts.machine ?? createMachine({ seed: opts.seed ?? 1 });
  machine.lockdep.enabled = false;
  const damon = createDamon(machine);
  const space = new SyntheticAddressSpace({ machine });
  const workload = new MasimWorkload(parseMasimConfig(opts.masimConfig), space, opts.workload ?? {});
  const env = syntheticVaddrEnv([space], machine);
  const vaddr = damonVaddrOps(env);
  damonRegisterOps(damon, vaddr);
  damonRegisterOps(damon, damonFvaddrOps(env));
  const ctx = damonNewCtx(machine.prng.stream('damon'));
  ctx.ops = vaddr;
  damonAddTarget(ctx, damonNewTarget(space.pid));
  return { machine, damon, space, workload, ctx };
}
