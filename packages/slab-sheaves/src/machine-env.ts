/**
 * DOC: the {@link SlabEnv} of a `@mm/machine` Machine.
 *
 * Locks are the machine's lockdep-checked `LocalTryLock` (one per cache,
 * per-CPU inside) and `SpinLock` taken with `spin_lock_irqsave`; RCU is
 * `machine.rcu`; CPU hotplug teardown is registered like the kernel's
 * `CPUHP_SLUB_DEAD` state; pages come from a {@link SlabPageSource}, which
 * the machine's buddy allocator (`machine.mem`) satisfies.
 */
import {
  LocalTryLock,
  LockdepError,
  localtryLock,
  localtryTrylock,
  localtryUnlock,
  type Machine,
  type MachineCore,
  MmBugError,
  PGTY_none,
  PGTY_slab,
  SPIN_WOULD_SLEEP,
  SpinLock,
  spinLockIrqsave,
  spinTrylockIrqsave,
  spinUnlockIrqrestore,
} from '@mm/machine';
import type { SlabEnv, SlabLocalTryLock, SlabSpinLock } from './env.js';
import { __GFP_DIRECT_RECLAIM } from './internal/gfp.js';

/** Where slab pages come from (the buddy allocator's interface). */
export interface SlabPageSource {
  /** Head PFN of 2^order pages, or a negative errno. @kernel __alloc_pages */
  allocPages(gfp: number, order: number, nid: number): number;
  /** Free the 2^order pages at `pfn`. @kernel __free_pages */
  freePages(pfn: number, order: number): void;
  /** NUMA node of the page at `pfn`. @kernel page_to_nid */
  pageToNid(pfn: number): number;
  /** Set or clear the slab page type of a head page (optional). */
  setPageSlab?(pfn: number, slab: boolean): void;
}

/**
 * Under PREEMPT_RT the machine's locks are sleeping locks and a contended
 * `lock` answers "would sleep" (false) after queueing the task. No slab path
 * can be resumed from the middle and none holds a lock across calls, so such
 * contention can only come from a harness holding a slab lock in a suspended
 * task: refused as a LockdepError `would-block` before the lock call, so the
 * answer is never produced nor dropped; were one produced anyway, it is a
 * broken invariant (`MmBugError`). Without PREEMPT_RT the same situation is
 * the machine's `recursive-locking` / `spin-deadlock` report.
 */
function refuseSleep(machine: MachineCore, name: string, ownerPid: number): void {
  if (ownerPid >= 0 && ownerPid !== machine.sched.currentPid[machine.currentCpu]) {
    throw new LockdepError(
      'would-block',
      name,
      `${name} is held by pid ${ownerPid}; the slab allocator cannot sleep for it here`,
    );
  }
}

function wouldSleep(name: string): MmBugError {
  return new MmBugError(`slab: ${name} would sleep although no other task holds it`);
}

/** A cache's `cpu_sheaves->lock`: the machine's `localtry_lock_t`, through its lock API. */
class MachineLocalTryLock implements SlabLocalTryLock {
  readonly l: LocalTryLock;
  readonly machine: Machine;

  constructor(machine: Machine, name: string) {
    this.l = new LocalTryLock(machine, name);
    this.machine = machine;
  }

  lock(): void {
    const l = this.l;
    if (l.rt) refuseSleep(this.machine, l.name, l.ownerPid[this.machine.currentCpu] as number);
    if (!localtryLock(l)) throw wouldSleep(l.name);
  }

  trylock(): boolean {
    return localtryTrylock(this.l);
  }

  unlock(): void {
    localtryUnlock(this.l);
  }
}

/** A barn or node list lock: the machine's `spinlock_t`, taken irqsave. */
class MachineSpinLock implements SlabSpinLock {
  readonly l: SpinLock;
  flags: number;
  constructor(machine: Machine, name: string) {
    this.l = new SpinLock(machine, name);
    this.flags = 0;
  }
  lock(): void {
    const l = this.l;
    if (l.sleeping) refuseSleep(l.machine, l.name, l.ownerPid);
    const f = spinLockIrqsave(l);
    if (f === SPIN_WOULD_SLEEP) throw wouldSleep(l.name);
    this.flags = f;
  }
  trylock(): boolean {
    const f = spinTrylockIrqsave(this.l);
    if (f === SPIN_WOULD_SLEEP) return false;
    this.flags = f;
    return true;
  }
  unlock(): void {
    spinUnlockIrqrestore(this.l, this.flags);
  }
}

/**
 * The slab environment of `machine`, with pages from its buddy allocator
 * (or from `pages`).
 */
export function createSlabEnv(machine: Machine, pages: SlabPageSource = machine.mem): SlabEnv {
  const topo = machine.topology;
  const cpuToNode = topo.cpuToNode;
  const mem = machine.mem;
  const mask = topo.pagesPerSection - 1;
  const setPageSlab =
    pages.setPageSlab !== undefined
      ? (pfn: number, on: boolean) => pages.setPageSlab?.(pfn, on)
      : (pfn: number, on: boolean) => {
          if (pages !== mem) return;
          mem.sec(pfn).pageType[pfn & mask] = on ? PGTY_slab : PGTY_none;
        };
  const account = machine.account;
  const cmpxchgIndex = account.eventIndexOf('cmpxchgDouble');
  const cmpxchgNs = machine.costs.cmpxchgDouble;
  return {
    nrCpus: topo.nrCpus,
    nrNodes: topo.nrNodes,
    pageSize: topo.pageSize,
    pageShift: topo.pageShift,
    sectionShift: topo.sectionShift,
    preemptRt: machine.config.preemptRt,
    currentCpu: () => machine.currentCpu,
    currentPid: () => machine.sched.currentPid[machine.currentCpu] as number,
    nowNs: () => machine.clock.now,
    cpuToNode: (cpu) => cpuToNode[cpu] as number,
    cpuOnline: (cpu) => machine.cpus.online[cpu] === 1,
    pfnToNid: (pfn) => pages.pageToNid(pfn),
    allocPages: (gfp, order, nid) => pages.allocPages(gfp, order, nid),
    freePages: (pfn, order) => pages.freePages(pfn, order),
    setPageSlab,
    gfpAllowBlocking: (gfp) => (gfp & __GFP_DIRECT_RECLAIM) !== 0,
    chargeCmpxchgDouble: () => account.chargeAt(machine.currentCpu, cmpxchgIndex, cmpxchgNs),
    newLocalTryLock: (name) => new MachineLocalTryLock(machine, name),
    newSpinLock: (name) => new MachineSpinLock(machine, name),
    callRcu: (fn, arg) => machine.rcu.callRcu(fn, arg),
    rcuBarrier: () => machine.rcu.rcuBarrier(),
    runOn: (cpu, fn) => {
      machine.cpus.runOn(cpu, fn);
    },
    cpuhpSetupState: (name, startup, teardown) => {
      machine.hotplug.cpuhpSetupStateNocalls(name, 'prepare', startup, teardown);
    },
  };
}
