import { describe, expect, it } from 'vitest';
import { createMachine, MmError } from '../src/index.js';

describe('cost accounting', () => {
  it('charges events from the machine cost table to CPUs', () => {
    const m = createMachine({ costs: { ipi: 3000 } });
    m.account.chargeEvent(1, 'ipi', 2);
    m.account.chargeEvent(1, 'tlbHit', 10);
    expect(m.account.busyNs[1]).toBe(6000 + 10 * m.costs.tlbHit);
    expect(m.account.eventCount('ipi')).toBe(2);
    expect(m.clock.cpuNow(1)).toBe(m.account.busyNs[1]);
    expect(m.account.totalBusyNs()).toBe(m.account.busyNs[1]);
    expect(m.account.utilisation(1)).toBe(1);
    expect(m.account.utilisation(0)).toBe(0);
    expect(() => m.account.chargeEvent(0, 'nope' as 'ipi', 1)).toThrow(MmError);
    m.account.reset();
    expect(m.account.totalBusyNs()).toBe(0);
  });

  it('an idle CPU starts charging from the global time', () => {
    const m = createMachine();
    m.sched.runUntil(1_000_000);
    m.account.charge(2, 500);
    expect(m.clock.cpuNs[2]).toBe(1_000_500);
    expect(m.account.utilisation(2)).toBeCloseTo(500 / 1_000_500);
  });
});
