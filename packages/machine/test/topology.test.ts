import { describe, expect, it } from 'vitest';
import { createMachine, formatTopology } from '../src/index.js';

const GiB = 1024 ** 3;

describe('Topology', () => {
  const m = createMachine({
    nodes: [
      { memoryBytes: 2 * GiB, cpus: 2 },
      { memoryBytes: GiB, cpus: 3 },
      { memoryBytes: GiB, cpus: 0 },
    ],
  });
  const t = m.topology;

  it('numbers CPUs node by node', () => {
    expect(Array.from(t.cpuToNode)).toEqual([0, 0, 1, 1, 1]);
    expect(t.nodeCpus(1)).toEqual([2, 3, 4]);
    expect(t.nodeCpus(2)).toEqual([]);
  });

  it('lays out nodes contiguously on section boundaries', () => {
    expect(t.pagesPerSection).toBe(32768); // 128 MiB of 4 KiB pages
    expect(Array.from(t.nodeStartPfn)).toEqual([0, 524288, 786432]);
    expect(t.totalPages).toBe(1048576);
    expect(t.nrSections).toBe(32);
    expect(t.pfnToNid(524287)).toBe(0);
    expect(t.pfnToNid(524288)).toBe(1);
    expect(t.pfnToNid(1048576)).toBe(-1);
  });

  it('orders fallback nodes by distance', () => {
    const m2 = createMachine({ preset: 'large' });
    expect(m2.topology.nodesByDistance(5)).toEqual([5, 4, 6, 7, 0, 1, 2, 3]);
  });

  it('formats like numactl --hardware', () => {
    const text = formatTopology(createMachine({ preset: 'server2s' }));
    expect(text).toContain('available: 2 nodes (0-1)');
    expect(text).toContain('node 1 cpus: 16-31');
    expect(text).toContain('node 0 size: 32 GiB');
    expect(text).toMatch(/ {2}0: {3}10 {2}21/);
  });
});

describe('Machine.warnOn', () => {
  it('records a warning with the current CPU and returns the condition', () => {
    const m = createMachine();
    m.currentCpu = 2;
    expect(m.warnOn(false, 'not recorded')).toBe(false);
    expect(m.warnOn(true, 'test: something odd')).toBe(true);
    expect(m.warnings).toEqual([{ message: 'test: something odd', cpu: 2 }]);
  });
});
