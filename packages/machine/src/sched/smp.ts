/**
 * DOC: cross-CPU function calls (IPIs).
 *
 * `smpCallFunctionSingle`/`smpCallFunctionMany` run a function on other
 * CPUs in hardirq context, as the kernel's call-function IPI does, and charge
 * one `ipi` cost per target to the sending CPU. A target that has interrupts
 * disabled takes the call when it enables them again (the IPI stays
 * pending). A call to the sending CPU itself runs locally with interrupts
 * disabled and sends no IPI. Sending with interrupts disabled can deadlock
 * in the kernel (two CPUs waiting for each other's calls), so it records a
 * warning, like the kernel's `WARN_ON_ONCE(irqs_disabled())`.
 */
import { ENXIO } from '../errors.js';
import type { MachineCore } from '../types.js';

/** IPI counters of a machine. */
export class SmpStats {
  /** IPIs sent, per sending CPU. */
  readonly sent: Float64Array;
  /** Calls received, per target CPU. */
  readonly received: Float64Array;

  constructor(nrCpus: number) {
    this.sent = new Float64Array(nrCpus);
    this.received = new Float64Array(nrCpus);
  }

  /** IPIs sent by all CPUs. */
  totalSent(): number {
    let s = 0;
    for (let i = 0; i < this.sent.length; i++) s += this.sent[i]!;
    return s;
  }
}

/** The machine as cross-CPU calls see it: the core and the IPI counters. */
export interface SmpHost extends MachineCore {
  /** IPI counters. */
  readonly smp: SmpStats;
}

function sendOne(m: SmpHost, from: number, cpu: number, fn: (cpu: number) => void): boolean {
  const cpus = m.cpus;
  if (cpu === from) {
    const flags = cpus.localIrqSave();
    try {
      fn(cpu);
    } finally {
      cpus.localIrqRestore(flags);
    }
    return true;
  }
  m.smp.sent[from]!++;
  m.smp.received[cpu]!++;
  m.account.chargeEvent(from, 'ipi', 1);
  return cpus.inHardirq(cpu, () => fn(cpu));
}

/**
 * Run `fn(cpu)` on `cpu` (in hardirq context when remote). Returns 0 when it
 * ran, 1 when it is pending on a target with interrupts disabled, or
 * -ENXIO for an offline CPU.
 * @kernel smp_call_function_single (kernel/smp.c)
 */
export function smpCallFunctionSingle(m: SmpHost, cpu: number, fn: (cpu: number) => void): number {
  m.cpus.checkCpu(cpu, false);
  if (m.cpus.online[cpu] === 0) return -ENXIO;
  const from = m.currentCpu;
  m.warnOn(
    m.cpus.irqsOff[from] === 1 && !m.cpus.isInNmi(from),
    `smp: call function with interrupts disabled on CPU ${from}`,
  );
  return sendOne(m, from, cpu, fn) ? 0 : 1;
}

/**
 * Run `fn(cpu)` on every online CPU of `cpus` except the current one, by
 * IPI. Returns the number of calls left pending on CPUs with interrupts
 * disabled.
 * @kernel smp_call_function_many (kernel/smp.c)
 */
export function smpCallFunctionMany(m: SmpHost, cpus: readonly number[], fn: (cpu: number) => void): number {
  const from = m.currentCpu;
  m.warnOn(m.cpus.irqsOff[from] === 1, `smp: call function with interrupts disabled on CPU ${from}`);
  let pending = 0;
  for (const cpu of cpus) {
    m.cpus.checkCpu(cpu, false);
    if (cpu === from || m.cpus.online[cpu] === 0) continue;
    if (!sendOne(m, from, cpu, fn)) pending++;
  }
  return pending;
}

/**
 * Run `fn(cpu)` on every online CPU: locally with interrupts disabled, on
 * the others by IPI. Returns the number of calls left pending.
 * @kernel on_each_cpu (include/linux/smp.h)
 */
export function onEachCpu(m: SmpHost, fn: (cpu: number) => void): number {
  const pending = smpCallFunctionMany(m, m.cpus.onlineCpus(), fn);
  sendOne(m, m.currentCpu, m.currentCpu, fn);
  return pending;
}
