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
  localtryLock,
  localtryTrylock,
  localtryUnlock,
  type Machine,
  PGTY_none,
  PGTY_slab,
  SpinLock,
  spinLockIrqsave,
  spinTrylock,
  spinUnlockIrqrestore,
} from '@mm/machine';
import type { SlabEnv, SlabLocalTryLock, SlabSpinLock } from './env.js';
import { __GFP_DIRECT_RECLAIM } from './internal/gfp.js';

/** Where slab pages come from (the buddy allocator's interface). */
export interface SlabPageSource {
  /** Head PFN of 2^order pages, or a negative errno. @kernel __alloc_pages */
  allocPages(gfp: number, order: number, nid: number): number;
  /** @kernel __free_pages */
  freePages(pfn: number, order: number): void;
  /** @kernel page_to_nid */
  pageToNid(pfn: number): number;
  /** Set or clear the slab page type of a head page (optional). */
  setPageSlab?(pfn: number, slab: boolean): void;
}

class MachineLocalTryLock implements SlabLocalTryLock {
  readonly l: LocalTryLock;
  readonly machine: Machine;
  /** The machine arrays the fast path touches (fixed for the machine's life). */
  readonly lockdep: Machine['lockdep'];
  readonly preemptCount: Int32Array;
  readonly currentPid: Int32Array;
  readonly rt: boolean;
  /**
   * Per CPU: 1 when the current holding was taken on the production fast
   * path (lockdep off), so that the unlock takes the same path.
   */
  readonly fast: Uint8Array;

  constructor(machine: Machine, name: string) {
    this.l = new LocalTryLock(machine, name);
    this.machine = machine;
    this.lockdep = machine.lockdep;
    this.preemptCount = machine.cpus.preemptCount;
    this.currentPid = machine.sched.currentPid;
    this.rt = this.l.rt;
    this.fast = new Uint8Array(machine.topology.nrCpus);
  }

  lock(): void {
    localtryLock(this.l);
  }

  /*
   * Without lockdep (a production kernel) and without PREEMPT_RT,
   * localtry_trylock() is preempt_disable() plus a test-and-set of the
   * per-CPU `acquired` flag. We do exactly that on the machine lock's own
   * state (the same arrays the machine's lock functions use), which keeps
   * the sheaf fast path free of the checker's bookkeeping.
   */
  trylock(): boolean {
    const l = this.l;
    if (this.lockdep.enabled || this.rt) return localtryTrylock(l);
    const cpu = this.machine.currentCpu;
    if (l.acquired[cpu] === 1) return false;
    this.preemptCount[cpu] = this.preemptCount[cpu]! + 1;
    l.acquired[cpu] = 1;
    l.ownerPid[cpu] = this.currentPid[cpu]!;
    this.fast[cpu] = 1;
    return true;
  }

  unlock(): void {
    const cpu = this.machine.currentCpu;
    if (this.fast[cpu] === 0) {
      localtryUnlock(this.l);
      return;
    }
    const l = this.l;
    this.fast[cpu] = 0;
    l.acquired[cpu] = 0;
    l.ownerPid[cpu] = -1;
    this.preemptCount[cpu] = this.preemptCount[cpu]! - 1;
  }
}

class MachineSpinLock implements SlabSpinLock {
  readonly l: SpinLock;
  flags: number;
  constructor(machine: Machine, name: string) {
    this.l = new SpinLock(machine, name);
    this.flags = 0;
  }
  lock(): void {
    this.flags = spinLockIrqsave(this.l);
  }
  trylock(): boolean {
    // spin_trylock_irqsave(): save and disable interrupts, try, restore on failure
    const cpus = this.l.machine.cpus;
    const f = cpus.localIrqSave();
    if (!spinTrylock(this.l)) {
      cpus.localIrqRestore(f);
      return false;
    }
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
      ? (pfn: number, on: boolean) => pages.setPageSlab!(pfn, on)
      : (pfn: number, on: boolean) => {
          if (pages !== mem) return;
          mem.sec(pfn).pageType[pfn & mask] = on ? PGTY_slab : PGTY_none;
        };
  return {
    nrCpus: topo.nrCpus,
    nrNodes: topo.nrNodes,
    pageSize: topo.pageSize,
    pageShift: topo.pageShift,
    sectionShift: topo.sectionShift,
    preemptRt: machine.config.preemptRt,
    currentCpu: () => machine.currentCpu,
    currentPid: () => machine.sched.currentPid[machine.currentCpu]!,
    nowNs: () => machine.clock.now,
    cpuToNode: (cpu) => cpuToNode[cpu]!,
    cpuOnline: (cpu) => machine.cpus.online[cpu] === 1,
    pfnToNid: (pfn) => pages.pageToNid(pfn),
    allocPages: (gfp, order, nid) => pages.allocPages(gfp, order, nid),
    freePages: (pfn, order) => pages.freePages(pfn, order),
    setPageSlab,
    gfpAllowBlocking: (gfp) => (gfp & __GFP_DIRECT_RECLAIM) !== 0,
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
