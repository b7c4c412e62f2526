import { describe, expect, it } from 'vitest';
import {
  createMachine,
  HARDIRQ_OFFSET,
  LockdepError,
  MmBugError,
  MmError,
  NMI_OFFSET,
  RCU_SOFTIRQ,
  SOFTIRQ_OFFSET,
  SpinLock,
  spinLock,
  spinUnlock,
  TASKLET_SOFTIRQ,
} from '../src/index.js';

describe('contexts', () => {
  it('runOn sets the current CPU and restores it, also on throw', () => {
    const m = createMachine();
    expect(m.cpus.runOn(3, () => m.currentCpu)).toBe(3);
    expect(m.currentCpu).toBe(0);
    expect(() =>
      m.cpus.runOn(2, () => {
        throw new Error('x');
      }),
    ).toThrow('x');
    expect(m.currentCpu).toBe(0);
    expect(() => m.cpus.runOn(9, () => 0)).toThrow(MmError);
    expect(m.cpus.runOn(1, () => m.cpus.runOn(2, () => m.cpus.smpProcessorId()))).toBe(2);
  });

  it('hardirq, softirq and NMI contexts use the kernel preempt_count layout', () => {
    const m = createMachine();
    const seen: Record<string, number | boolean> = {};
    m.cpus.inHardirq(2, () => {
      seen.pc = m.cpus.preemptCountOf();
      seen.hard = m.cpus.isInHardirq();
      seen.irqsOff = m.cpus.irqsDisabled();
      seen.task = m.cpus.isInTask();
      m.cpus.inNmi(2, () => {
        seen.nmiPc = m.cpus.preemptCountOf();
        seen.nmi = m.cpus.isInNmi();
      });
    });
    m.cpus.inSoftirq(1, () => {
      seen.softPc = m.cpus.preemptCountOf();
      seen.serving = m.cpus.isInServingSoftirq();
      seen.softIrqsOff = m.cpus.irqsDisabled();
    });
    expect(seen).toEqual({
      pc: HARDIRQ_OFFSET,
      hard: true,
      irqsOff: true,
      task: false,
      nmiPc: 2 * HARDIRQ_OFFSET + NMI_OFFSET,
      nmi: true,
      softPc: SOFTIRQ_OFFSET,
      serving: true,
      softIrqsOff: false,
    });
    expect(m.cpus.preemptCount[2]).toBe(0);
    expect(m.cpus.nrHardirqs[2]).toBe(1);
    expect(m.cpus.nrNmis[2]).toBe(1);
  });

  it('"in an interrupt on CPU 2 while CPU 2 holds lock L"', () => {
    const m = createMachine();
    const l = new SpinLock(m, 'L');
    m.cpus.runOn(2, () => spinLock(l));
    const inIrq = m.cpus.inHardirq(2, () => {
      expect(m.sched.current().held.names()).toEqual(['L']); // the interrupted task's held locks
      expect(m.cpus.preemptCountOf()).toBe(HARDIRQ_OFFSET + 1);
    });
    expect(inIrq).toBe(true);
    m.cpus.runOn(2, () => spinUnlock(l));
  });

  it('interrupts are pending while disabled and delivered on enable, in order', () => {
    const m = createMachine();
    const order: number[] = [];
    m.cpus.runOn(1, () => m.cpus.localIrqDisable());
    expect(m.cpus.inHardirq(1, () => order.push(1))).toBe(false);
    expect(m.cpus.inHardirq(1, () => order.push(2))).toBe(false);
    m.cpus.inNmi(1, () => order.push(0)); // NMIs are not maskable
    expect(order).toEqual([0]);
    m.cpus.runOn(1, () => m.cpus.localIrqEnable());
    expect(order).toEqual([0, 1, 2]);
  });

  it('softirqs raised in a hardirq run at irq exit; bh-disable defers them to local_bh_enable', () => {
    const m = createMachine();
    const ran: string[] = [];
    m.cpus.openSoftirq(TASKLET_SOFTIRQ, (cpu) => ran.push(`tasklet@${cpu}:${m.cpus.isInServingSoftirq()}`));
    m.cpus.inHardirq(3, () => {
      m.cpus.raiseSoftirq(TASKLET_SOFTIRQ);
      expect(ran).toEqual([]);
    });
    expect(ran).toEqual(['tasklet@3:true']);
    m.cpus.runOn(3, () => {
      m.cpus.localBhDisable();
      m.cpus.inHardirq(3, () => m.cpus.raiseSoftirq(TASKLET_SOFTIRQ));
      expect(ran.length).toBe(1);
      m.cpus.localBhEnable();
    });
    expect(ran.length).toBe(2);
    expect(m.cpus.softirqPending[3]).toBe(0);
    expect(RCU_SOFTIRQ).toBe(9);
  });

  it('a handler that leaves the context unbalanced is reported and the context restored', () => {
    const m = createMachine();
    expect(() => m.cpus.inHardirq(0, () => m.cpus.preemptDisable())).toThrow(LockdepError);
    expect(m.cpus.preemptCount[0]).toBe(0);
    expect(() => m.cpus.inSoftirq(0, () => m.rcu.rcuReadLock())).toThrow(/held-at-exit/);
    expect(m.rcu.nesting[0]).toBe(0);
    expect(() => m.cpus.preemptEnable()).toThrow(MmBugError);
    expect(() => m.cpus.localBhEnable()).toThrow(MmBugError);
  });

  it('an interrupt raised inside a handler or an NMI fires when that handler returns', () => {
    const m = createMachine();
    const order: string[] = [];
    m.cpus.inHardirq(0, () => {
      order.push('outer');
      expect(m.cpus.inHardirq(0, () => order.push('inner'))).toBe(false);
      order.push('outer end');
    });
    m.cpus.inNmi(1, () => {
      m.cpus.inHardirq(1, () => order.push('after nmi'));
      order.push('nmi');
    });
    expect(order).toEqual(['outer', 'outer end', 'inner', 'nmi', 'after nmi']);
  });

  it('local_irq_save / restore nest', () => {
    const m = createMachine();
    const f1 = m.cpus.localIrqSave();
    const f2 = m.cpus.localIrqSave();
    expect([f1, f2]).toEqual([0, 1]);
    m.cpus.localIrqRestore(f2);
    expect(m.cpus.irqsDisabled()).toBe(true);
    m.cpus.localIrqRestore(f1);
    expect(m.cpus.irqsDisabled()).toBe(false);
    expect(m.cpus.preemptible()).toBe(true);
  });
});
