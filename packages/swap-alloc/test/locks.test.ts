/**
 * The swap locks are the machine's locks: lockdep sees their classes and
 * their order, each acquisition is charged to the cost model, a lock held by
 * a CPU that cannot run is the machine's spin-deadlock report, and under
 * PREEMPT_RT they are sleeping locks whose "would sleep" is refused before
 * anything is queued.
 */
import {
  LockdepError,
  SCHED_SLEEP,
  spinLock,
  spinLockAt,
  spinUnlock,
  spinUnlockAt,
  TASK_UNINTERRUPTIBLE,
} from '@mm/machine';
import { describe, expect, it } from 'vitest';
import { folioAllocSwap, folioFreeSwap, swapon, swapValidate, swpOffset } from '../src/index.js';
import { allocOn, dropFolio, makeHarness, newFolio } from './helpers/harness.js';

function acquisitions(h: ReturnType<typeof makeHarness>, name: string): number {
  return h.machine.lockdep.stats().find((c) => c.name === name)?.acquisitions ?? 0;
}

describe('swap locks through the machine', () => {
  it('are lockdep classes with the kernel names, and lockdep learns ci->lock before si->lock', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 4 * 512 });
    const { entry } = allocOn(h, 0, 0);
    dropFolio(h, allocOn(h, 0, 0).folio); // put_swap_folio: ci->lock, then si->lock (frag -> nonfull)
    const names = h.machine.lockdep.stats().map((c) => c.name);
    for (const n of ['percpu_swap_cluster.lock', '&ci->lock', '&si->lock', 'swap_lock', 'swap_avail_lock']) {
      expect(names).toContain(n);
    }
    expect(acquisitions(h, '&ci->lock')).toBeGreaterThan(0);
    // the free took si->lock inside ci->lock (partial_free_cluster); the
    // inverse order is the ABBA that lockdep reports
    const si = h.swap.swapInfo[0]!;
    const ci = swpOffset(entry) >>> h.swap.clusterShift;
    h.machine.cpus.runOn(1, () => {
      spinLock(si.lock);
      expect(() => spinLockAt(si.ciLock, ci)).toThrow(LockdepError);
      spinUnlock(si.lock);
    });
    swapValidate(h.swap);
  });

  it('an order-0 pair on the per-CPU cluster takes the kernel path’s five locks, each charged', () => {
    const h = makeHarness();
    h.machine.lockdep.enabled = false;
    swapon(h.swap, { pages: 4 * 512 });
    allocOn(h, 0, 0); // keeps the cluster partly used
    const folio = newFolio(h, 0);
    expect(folioAllocSwap(h.swap, folio)).toBe(0);
    expect(folioFreeSwap(h.swap, folio)).toBe(true);
    const acct = h.machine.account;
    // lock acquisitions are charged as lock events of the cost model (one
    // kind for all locks, or one per kind: spinLock, localLock)
    const lockEvents = acct.eventNames
      .map((n, i) => ({ n: String(n), i }))
      .filter((e) => /^(lockAcquire|spinLock|localLock)$/.test(e.n));
    const counts = (): number[] => lockEvents.map((e) => acct.eventCounts[e.i]!);
    const before = counts();
    const busy = acct.totalBusyNs();
    expect(folioAllocSwap(h.swap, folio)).toBe(0);
    expect(folioFreeSwap(h.swap, folio)).toBe(true);
    const delta = counts().map((c, k) => c - before[k]!);
    // as Linux 7.2 takes them: folio_alloc_swap: local_lock, ci->lock
    // (swap_alloc_fast, the swap cache add inside it), si->lock
    // (relocate_cluster: nonfull -> frag); folio_free_swap: no lock for
    // folio_maybe_swapped (the folio lock pins the slots), ci->lock
    // (swap_cache_del_folio, freeing the slot inside it) and si->lock
    // (partial_free_cluster: frag -> nonfull)
    expect(delta.reduce((a, b) => a + b, 0)).toBe(5);
    const costs = h.machine.costs as unknown as Record<string, number>;
    const charged = lockEvents.reduce((sum, e, k) => sum + delta[k]! * costs[e.n]!, 0);
    expect(charged).toBeGreaterThan(0);
    expect(acct.totalBusyNs() - busy).toBeGreaterThanOrEqual(charged);
  });

  it('a cluster lock held by a CPU that cannot run is the machine’s spin-deadlock report', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 4 * 512 });
    const { entry } = allocOn(h, 0, 0);
    const si = h.swap.swapInfo[0]!;
    const ci = swpOffset(entry) >>> h.swap.clusterShift;
    h.machine.cpus.runOn(1, () => spinLockAt(si.ciLock, ci));
    expect(() => allocOn(h, 0, 0)).toThrow(/spin-deadlock|spins on &ci->lock/);
  });
});

describe('swap locks under PREEMPT_RT', () => {
  it('are sleeping locks: the allocator runs preemptible, and leaves nothing held', () => {
    const h = makeHarness({}, { preemptRt: true });
    swapon(h.swap, { pages: 4 * 512 });
    const si = h.swap.swapInfo[0]!;
    expect(si.ciLock.sleeping).toBe(true);
    expect(si.lock.sleeping).toBe(true);
    expect(h.swap.pcpLock.rt).toBe(true);
    for (let i = 0; i < 600; i++) allocOn(h, i & 3, i % 3 === 0 ? 2 : 0);
    h.machine.cpus.runOn(0, () => {
      expect(h.machine.cpus.preemptCountOf()).toBe(0);
    });
    expect(acquisitions(h, '&ci->lock')).toBeGreaterThan(600);
    swapValidate(h.swap);
  });

  it('a cluster lock held by a sleeping task is refused as would-block before the allocator queues itself', () => {
    const h = makeHarness({}, { preemptRt: true });
    swapon(h.swap, { pages: 4 * 512 });
    const { entry } = allocOn(h, 0, 0);
    const si = h.swap.swapInfo[0]!;
    const ci = swpOffset(entry) >>> h.swap.clusterShift;
    h.machine.sched.kthreadRun('holder', 0, () => {
      spinLockAt(si.ciLock, ci);
      h.machine.sched.current().state = TASK_UNINTERRUPTIBLE;
      return SCHED_SLEEP;
    });
    h.machine.sched.runFor(1000);
    const contended = h.machine.lockdep.stats().find((c) => c.name === '&ci->lock')!.contentions;
    expect(() => allocOn(h, 0, 0)).toThrow(/would-block/);
    // refused before spin_lock(): no contention counted, nobody queued
    expect(h.machine.lockdep.stats().find((c) => c.name === '&ci->lock')!.contentions).toBe(contended);
    expect(h.machine.sched.current(0).waitingOn).toBe(null);
  });

  it('swap_lock held by a sleeping task stops swapon the same way', () => {
    const h = makeHarness({}, { preemptRt: true });
    h.machine.sched.kthreadRun('holder', 1, () => {
      spinLock(h.swap.swapLock);
      h.machine.sched.current().state = TASK_UNINTERRUPTIBLE;
      return SCHED_SLEEP;
    });
    h.machine.sched.runFor(1000);
    expect(() => swapon(h.swap, { pages: 512 })).toThrow(/would-block/);
    expect(h.swap.swapInfo.every((s) => s === null)).toBe(true);
  });
});

describe('the harness cannot leave swap locks behind', () => {
  it('spinUnlockAt of a cluster lock this CPU does not hold is a bad unlock', () => {
    const h = makeHarness();
    swapon(h.swap, { pages: 512 });
    expect(() => h.machine.cpus.runOn(0, () => spinUnlockAt(h.swap.swapInfo[0]!.ciLock, 0))).toThrow(LockdepError);
  });
});
