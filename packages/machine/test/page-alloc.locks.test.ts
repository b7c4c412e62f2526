// Page-allocator locking (issue 9 item 2): zone->lock (irqsave) and the pcp
// locks (trylock with a buddy fallback) through the machine's lock API, so
// lockdep and lock_stat see them.
import { describe, expect, it } from 'vitest';
import {
  createMachine,
  GFP_ATOMIC,
  GFP_KERNEL,
  LockdepError,
  SCHED_SLEEP,
  spinLockAt,
  TASK_UNINTERRUPTIBLE,
  ZONE_DMA32,
} from '../src/index.js';
import { LOCK_ENABLED_HARDIRQ, LOCK_USED_IN_HARDIRQ, pcpSpinTrylock, pcpSpinUnlock } from '../src/internal.js';

describe('page allocator locks', () => {
  it('lockdep sees &zone->lock and &pcp->lock on the allocation and free paths', () => {
    const m = createMachine();
    const pa = m.mem;
    const a = pa.allocPages(GFP_KERNEL, 0); // pcp refill: pcp->lock, then zone->lock
    const b = pa.allocPages(GFP_KERNEL, 5); // above the pcp orders: zone->lock only
    pa.freePages(a, 0);
    pa.freePages(b, 5);
    pa.drainAllPages(); // pcp->lock taken outright, zone->lock inside
    const zone = m.lockdep.classStats('&zone->lock');
    const pcp = m.lockdep.classStats('&pcp->lock');
    expect(zone.acquisitions).toBeGreaterThanOrEqual(3);
    expect(pcp.acquisitions).toBeGreaterThanOrEqual(3);
    expect(pcp.trylockFailures).toBe(0);
    // Every acquisition was released.
    expect(zone.holds).toBe(zone.acquisitions);
    expect(pcp.holds).toBe(pcp.acquisitions);
    expect(m.sched.current(0).held.depth).toBe(0);
    expect(m.cpus.preemptCountOf(0)).toBe(0);
    expect(m.cpus.irqsDisabled(0)).toBe(false);
    m.validate();
  });

  it('zone->lock is taken with interrupts disabled, so it is safe to take from hardirq', () => {
    const m = createMachine();
    const pa = m.mem;
    let seen = false;
    const p = pa.allocPages(GFP_KERNEL, 4); // zone->lock from process context
    m.cpus.inHardirq(0, () => {
      const q = pa.allocPages(GFP_ATOMIC, 4);
      expect(q).toBeGreaterThanOrEqual(0);
      pa.freePages(q, 4);
      seen = true;
    });
    pa.freePages(p, 4);
    expect(seen).toBe(true);
    const zoneClass = pa.zoneLock.classId;
    const usage = m.lockdep.classUsage(zoneClass);
    expect(usage & LOCK_USED_IN_HARDIRQ).not.toBe(0);
    // Never with interrupts enabled: no inconsistent-irq-state.
    expect(usage & LOCK_ENABLED_HARDIRQ).toBe(0);
    m.validate();
  });

  it('an interrupt that allocates and frees while this CPU holds its pcp lock takes the buddy fallback, counted', () => {
    const m = createMachine();
    const pa = m.mem;
    // Fill this CPU's pcp list.
    pa.freePages(pa.allocPages(GFP_KERNEL, 0), 0);
    const zone = ZONE_DMA32;
    const p = 0 * pa.nrZones + zone;
    const pcpBefore = pa.pcp.count[p] as number;
    expect(pcpBefore).toBeGreaterThan(0);
    const failedBefore = pa.nrPcpTrylockFailed;
    // The interrupted code holds CPU 0's pcp lock of the zone.
    expect(pcpSpinTrylock(pa, p)).toBe(true);
    let pfn = -1;
    m.cpus.inHardirq(0, () => {
      pfn = pa.allocPages(GFP_ATOMIC, 0);
    });
    expect(pfn).toBeGreaterThanOrEqual(0);
    // From the buddy lists, not from the pcp list the holder is using.
    expect(pa.pcp.count[p]).toBe(pcpBefore);
    expect(pa.nrPcpTrylockFailed).toBe(failedBefore + 1);
    m.cpus.inHardirq(0, () => {
      pa.freePages(pfn, 0);
    });
    // Freed straight to the buddy lists.
    expect(pa.pcp.count[p]).toBe(pcpBefore);
    expect(pa.nrPcpTrylockFailed).toBe(failedBefore + 2);
    expect(m.lockdep.classStats('&pcp->lock').trylockFailures).toBe(2);
    pcpSpinUnlock(pa, p);
    // With the lock free again, the pcp list serves the next request.
    const q = pa.allocPages(GFP_KERNEL, 0);
    expect(pa.pcp.count[p]).toBe(pcpBefore - 1);
    pa.freePages(q, 0);
    m.validate();
  });

  it('PREEMPT_RT: the locks sleep; the pcp pin is migrate_disable, and a zone->lock held by another task is refused, not dropped', () => {
    const m = createMachine({ preemptRt: true });
    const pa = m.mem;
    expect(pa.zoneLock.sleeping).toBe(true);
    const a = pa.allocPages(GFP_KERNEL, 0);
    const b = pa.allocPages(GFP_KERNEL, 5);
    pa.freePages(a, 0);
    pa.freePages(b, 5);
    expect(m.lockdep.classStats('&zone->lock').acquisitions).toBeGreaterThan(0);
    expect(m.sched.current(0).migrationDisabled).toBe(0);
    // A task holds zone->lock and is suspended: the allocator cannot sleep for it here.
    const zone = ZONE_DMA32;
    m.sched.kthreadRun('holder', 1, () => {
      spinLockAt(pa.zoneLock, zone);
      m.sched.current().state = TASK_UNINTERRUPTIBLE;
      return SCHED_SLEEP;
    });
    m.sched.runFor(1000);
    expect(pa.zoneLock.ownerPid[zone]).toBeGreaterThan(0);
    const free = pa.nrFreePages();
    const contended = m.lockdep.classStats('&zone->lock').contentions;
    expect(() => pa.allocPages(GFP_KERNEL, 5)).toThrow(/would-block/);
    // Refused before spin_lock(): no contention counted, nobody queued, nothing taken.
    expect(m.lockdep.classStats('&zone->lock').contentions).toBe(contended);
    expect(m.sched.current(0).waitingOn).toBe(null);
    expect(pa.nrFreePages()).toBe(free);
    expect(m.sched.current(0).held.depth).toBe(0);
  });

  it('PREEMPT_RT: allocating from hardirq takes a sleeping lock in atomic context (sleep-in-atomic)', () => {
    const m = createMachine({ preemptRt: true });
    const pa = m.mem;
    expect(() =>
      m.cpus.inHardirq(0, () => {
        pa.allocPages(GFP_ATOMIC, 0);
      }),
    ).toThrow(LockdepError);
  });
});
