import { describe, expect, it } from 'vitest';
import { createMachine, MmError, PerCpu } from '../src/index.js';

describe('PerCpu', () => {
  it('holds one value per CPU; thisCpu follows the current CPU', () => {
    const m = createMachine();
    const p = new PerCpu(m, (cpu) => ({ cpu, count: 0 }));
    m.cpus.runOn(2, () => p.thisCpu().count++);
    expect(p.get(2).count).toBe(1);
    expect(p.get(0).count).toBe(0);
    expect([...p].map((v) => v.cpu)).toEqual([0, 1, 2, 3]);
    const seen: number[] = [];
    p.forEach((_, c) => {
      seen.push(c);
    });
    expect(seen).toEqual([0, 1, 2, 3]);
    expect(() => p.get(4)).toThrow(MmError);
    p.set(1, { cpu: 1, count: 9 });
    expect(p.get(1).count).toBe(9);
  });
});
