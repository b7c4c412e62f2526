import { describe, expect, it } from 'vitest';
import { createMachine, MmBugError, TimerList } from '../src/index.js';

describe('timers', () => {
  it('expire in softirq context on their CPU, at their time', () => {
    const m = createMachine();
    const seen: [number, number, boolean][] = [];
    const t = new TimerList(() => seen.push([m.clock.now, m.currentCpu, m.cpus.isInServingSoftirq()]));
    t.expires = 5000;
    m.cpus.runOn(2, () => m.timers.addTimer(t));
    expect(m.timers.timerPending(t)).toBe(true);
    expect(() => m.timers.addTimer(t)).toThrow(MmBugError);
    m.sched.runUntil(10_000);
    expect(seen).toEqual([[5000, 2, true]]);
    expect(m.timers.timerPending(t)).toBe(false);
    expect(m.timers.nrExpired).toBe(1);
  });

  it('mod_timer and del_timer report whether the timer was pending', () => {
    const m = createMachine();
    let n = 0;
    const t = new TimerList(() => n++);
    expect(m.timers.modTimer(t, 1000)).toBe(0);
    expect(m.timers.modTimer(t, 3000)).toBe(1);
    m.sched.runUntil(2000);
    expect(n).toBe(0);
    expect(m.timers.delTimer(t)).toBe(1);
    expect(m.timers.delTimer(t)).toBe(0);
    m.sched.runUntil(5000);
    expect(n).toBe(0);
  });

  it('a timer due while its CPU has interrupts off runs when they come back on', () => {
    const m = createMachine();
    let ranAt = -1;
    const t = new TimerList(() => {
      ranAt = m.clock.now;
    });
    m.cpus.runOn(1, () => {
      m.cpus.localIrqDisable();
      m.timers.modTimer(t, 1000);
    });
    m.sched.runUntil(5000);
    expect(ranAt).toBe(-1);
    expect(m.timers.timerPending(t)).toBe(true);
    m.cpus.runOn(1, () => m.cpus.localIrqEnable());
    expect(ranAt).toBe(5000);
  });

  it('a timer of an offlined CPU runs on another CPU', () => {
    const m = createMachine();
    let cpu = -1;
    const t = new TimerList(() => {
      cpu = m.currentCpu;
    });
    m.cpus.runOn(3, () => m.timers.modTimer(t, 1000));
    expect(m.hotplug.cpuDown(3)).toBe(0);
    m.sched.runUntil(2000);
    expect(cpu).toBe(0);
  });
});
