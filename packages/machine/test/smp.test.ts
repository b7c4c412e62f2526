import { describe, expect, it } from 'vitest';
import {
  createMachine,
  DEFAULT_COSTS,
  ENXIO,
  errnoName,
  onEachCpu,
  smpCallFunctionMany,
  smpCallFunctionSingle,
} from '../src/index.js';

describe('cross-CPU calls', () => {
  it('run in hardirq context on the targets and charge one IPI each to the sender', () => {
    const m = createMachine();
    const seen: string[] = [];
    const fn = (cpu: number) => seen.push(`${cpu}:${m.currentCpu}:${m.cpus.isInHardirq()}`);
    m.cpus.runOn(1, () => expect(smpCallFunctionMany(m, [0, 1, 2, 3], fn)).toBe(0));
    expect(seen).toEqual(['0:0:true', '2:2:true', '3:3:true']);
    expect(m.smp.sent[1]).toBe(3);
    expect(m.smp.totalSent()).toBe(3);
    expect(m.account.busyNs[1]).toBe(3 * DEFAULT_COSTS.ipi);
    seen.length = 0;
    m.cpus.runOn(2, () => onEachCpu(m, fn));
    expect(seen.sort()).toEqual(['0:0:true', '1:1:true', '2:2:false', '3:3:true']);
    expect(m.smp.totalSent()).toBe(6);
  });

  it('a target with interrupts off takes the call when it enables them; offline CPUs are ENXIO', () => {
    const m = createMachine();
    let ran = false;
    m.cpus.runOn(3, () => m.cpus.localIrqDisable());
    expect(
      smpCallFunctionSingle(m, 3, () => {
        ran = true;
      }),
    ).toBe(1);
    expect(ran).toBe(false);
    m.cpus.runOn(3, () => m.cpus.localIrqEnable());
    expect(ran).toBe(true);
    expect(m.hotplug.cpuDown(2)).toBe(0);
    expect(smpCallFunctionSingle(m, 2, () => {})).toBe(-ENXIO);
    expect(errnoName(-ENXIO)).toBe('ENXIO');
    expect(m.warnings).toEqual([]);
    m.cpus.localIrqDisable();
    smpCallFunctionSingle(m, 1, () => {});
    m.cpus.localIrqEnable();
    expect(m.warnings.length).toBe(1);
  });
});
