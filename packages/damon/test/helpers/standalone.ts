import { createMachine, type Machine } from '@mm/machine';
import {
  createDamon,
  type Damon,
  type DamonCtx,
  damonAddTarget,
  damonNewCtx,
  damonNewTarget,
  damonVaddrOps,
  MasimWorkload,
  type MasimWorkloadOptions,
  parseMasimConfig,
  SyntheticAddressSpace,
  syntheticVaddrEnv,
} from '../../src/index.js';

export interface Standalone {
  machine: Machine;
  damon: Damon;
  space: SyntheticAddressSpace;
  workload: MasimWorkload;
  ctx: DamonCtx;
}

/** A machine, a synthetic process running `cfg`, and a vaddr context watching it (not started). */
export function standalone(cfg: string, seed = 1, wopts: MasimWorkloadOptions = {}): Standalone {
  const machine = createMachine({ seed });
  machine.lockdep.enabled = false;
  const damon = createDamon(machine);
  const space = new SyntheticAddressSpace({ machine });
  const workload = new MasimWorkload(parseMasimConfig(cfg), space, wopts);
  const ctx = damonNewCtx(machine.prng.stream('damon'));
  ctx.ops = damonVaddrOps(syntheticVaddrEnv([space], machine));
  damonAddTarget(ctx, damonNewTarget(space.pid));
  return { machine, damon, space, workload, ctx };
}

/** A stairs-like config: `n` regions of `size` bytes, each hot in turn for `phaseMs`. */
export function stairsCfg(n: number, size: number, phaseMs: number, warmMs = 0): string {
  const lines = [...Array.from({ length: n }, (_, i) => `s${i}, ${size}`), ''];
  if (warmMs > 0)
    lines.push('initial phase', `${warmMs}`, ...Array.from({ length: n }, (_, i) => `s${i}, 0, 4096, 1`), '');
  for (let i = 0; i < n; i++) lines.push(`phase ${i}`, `${phaseMs}`, `s${i}, 0, 4096, 50`, '');
  return lines.join('\n');
}
