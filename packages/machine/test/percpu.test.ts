import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createMachine,
  MmError,
  PerCpu,
  PercpuCounter,
  percpuCounterAdd,
  percpuCounterAddBatch,
  percpuCounterBatch,
  percpuCounterCompare,
  percpuCounterDestroy,
  percpuCounterRead,
  percpuCounterReadPositive,
  percpuCounterSum,
} from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

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

describe('percpu_counter', () => {
  it('property: sum is exact, read is within batch per online CPU, hotplug folds', async () => {
    await fuzzAssert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ k: fc.constant('add' as const), cpu: fc.nat(3), v: fc.integer({ min: -50, max: 50 }) }),
            fc.record({ k: fc.constant('down' as const), cpu: fc.nat(3) }),
            fc.record({ k: fc.constant('up' as const), cpu: fc.nat(3) }),
          ),
          { maxLength: 200 },
        ),
        fc.integer({ min: 1, max: 64 }),
        (ops, batch) => {
          const m = createMachine();
          const c = new PercpuCounter(m, 7);
          let total = 7;
          for (const o of ops) {
            if (o.k === 'add') {
              if (m.cpus.online[o.cpu] === 0) continue;
              m.cpus.runOn(o.cpu, () => percpuCounterAddBatch(c, o.v, batch));
              total += o.v;
            } else if (o.k === 'down') {
              m.hotplug.cpuDown(o.cpu);
              expect(c.deltas[o.cpu] === 0 || m.cpus.online[o.cpu] === 1).toBe(true);
            } else {
              m.hotplug.cpuUp(o.cpu);
            }
            expect(percpuCounterSum(c)).toBe(total);
            expect(Math.abs(percpuCounterRead(c) - total)).toBeLessThan(batch * m.cpus.nrOnline + 1);
            const cmp = percpuCounterCompare(c, total, batch);
            expect(cmp).toBe(0);
            expect(percpuCounterCompare(c, total - 1, batch)).toBe(1);
          }
          percpuCounterDestroy(c);
        },
      ),
      fuzzRuns(100),
    );
  });

  it('uses the kernel default batch and folds at it', () => {
    const m = createMachine();
    expect(percpuCounterBatch(m)).toBe(32);
    const c = new PercpuCounter(m);
    for (let i = 0; i < 31; i++) percpuCounterAdd(c, 1);
    expect(percpuCounterRead(c)).toBe(0);
    expect(percpuCounterReadPositive(c)).toBe(0);
    percpuCounterAdd(c, 1);
    expect(percpuCounterRead(c)).toBe(32);
    expect(c.deltas[0]).toBe(0);
  });
});
