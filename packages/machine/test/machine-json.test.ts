import { describe, expect, it } from 'vitest';
import { createMachine, GFP_KERNEL, type MachineState } from '../src/index.js';

describe('Machine.toJSON', () => {
  it('exports every subsystem as plain JSON that survives a round trip', () => {
    const m = createMachine({ preset: 'server2s', seed: 3 });
    const pfn = m.mem.allocPages(GFP_KERNEL, 0, 1);
    expect(pfn).toBeGreaterThan(0);
    const text = JSON.stringify(m);
    const state = JSON.parse(text) as MachineState;
    expect(Object.keys(state).sort()).toEqual(
      ['account', 'clock', 'config', 'cpus', 'lockdep', 'mem', 'mmu', 'rcu', 'sched', 'topology', 'warnings'].sort(),
    );
    expect(state.topology.nrCpus).toBe(32);
    expect(state.topology.cpuToNode[16]).toBe(1);
    expect(state.config.seed).toBe(3);
    expect(JSON.stringify(state)).toBe(text);
  });

  it('is the same for the same seed and operations', () => {
    const run = () => {
      const m = createMachine({ seed: 11 });
      for (let i = 0; i < 50; i++) m.mem.allocPages(GFP_KERNEL, i % 3);
      return JSON.stringify(m);
    };
    expect(run()).toBe(run());
  });
});
