// Virtual time: the seed's claim that sheaves beat the CPU-slab fast path
// (a local lock instead of this_cpu_cmpxchg_double) must show in the cost
// model, and the machine's lock answers must not be dropped.
import { GFP_KERNEL, type LocalTryLock, localtryLock, SCHED_SLEEP, TASK_UNINTERRUPTIBLE } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import { kmemCacheAlloc, kmemCacheCreate, kmemCacheFree, kmemCacheShrink, STAT, slabValidate } from '../src/index.js';
import { makeHarness } from './helpers/harness.js';

function virtualPerPair(lockdep: boolean, sheafCapacity: number): { ns: number; cmpxchg: number; local: number } {
  const { slab, machine } = makeHarness();
  machine.lockdep.enabled = lockdep;
  const s = kmemCacheCreate(slab, 'pairs', 64, { sheafCapacity });
  // warm up: the first pairs allocate the slab (and fill the sheaf)
  for (let i = 0; i < 100; i++) kmemCacheFree(s, kmemCacheAlloc(s, GFP_KERNEL));
  const acct = machine.account;
  const busy = acct.busyNs[0]!;
  const cx = acct.eventCount('cmpxchgDouble');
  const ll = acct.eventCount('localLock');
  const n = 1000;
  for (let i = 0; i < n; i++) kmemCacheFree(s, kmemCacheAlloc(s, GFP_KERNEL));
  slabValidate(slab);
  return {
    ns: (acct.busyNs[0]! - busy) / n,
    cmpxchg: (acct.eventCount('cmpxchgDouble') - cx) / n,
    local: (acct.eventCount('localLock') - ll) / n,
  };
}

describe('virtual time of an alloc+free pair', () => {
  for (const lockdep of [true, false]) {
    it(`sheaves: two local locks; no sheaves: two cmpxchg16b (lockdep ${lockdep ? 'on' : 'off'})`, () => {
      const sh = virtualPerPair(lockdep, 32);
      const pl = virtualPerPair(lockdep, 0);
      expect(sh).toEqual({ ns: 2, cmpxchg: 0, local: 2 });
      expect(pl).toEqual({ ns: 20, cmpxchg: 2, local: 0 });
      expect(sh.ns).toBeLessThan(pl.ns);
    });
  }

  it('per-machine costs apply', () => {
    const { slab, machine } = makeHarness({}, { costs: { cmpxchgDouble: 33 } });
    const s = kmemCacheCreate(slab, 'c', 64);
    kmemCacheFree(s, kmemCacheAlloc(s, GFP_KERNEL));
    const t = machine.account.busyNs[0]!;
    kmemCacheFree(s, kmemCacheAlloc(s, GFP_KERNEL));
    expect(machine.account.busyNs[0]! - t).toBe(66);
  });
});

describe('PREEMPT_RT "would sleep" answers are not dropped', () => {
  it('a sheaf lock held by a sleeping task: fast paths fall back, a blocking lock is refused as would-block', () => {
    const { slab, machine } = makeHarness({}, { preemptRt: true });
    const s = kmemCacheCreate(slab, 'rt-held', 64, { sheafCapacity: 4 });
    const objs: number[] = [];
    for (let i = 0; i < 6; i++) objs.push(kmemCacheAlloc(s, GFP_KERNEL));
    const lock = (s.pcs!.lock as unknown as { l: LocalTryLock }).l;
    machine.sched.kthreadRun('holder', 0, () => {
      expect(localtryLock(lock)).toBe(true);
      machine.sched.current().state = TASK_UNINTERRUPTIBLE;
      return SCHED_SLEEP;
    });
    machine.sched.runFor(1000);
    expect(lock.ownerPid[0]).toBeGreaterThan(0);
    const fails = s.statTotal(STAT.PCS_TRYLOCK_FAIL);
    const o = kmemCacheAlloc(s, GFP_KERNEL);
    expect(o).toBeGreaterThan(0);
    expect(s.statTotal(STAT.PCS_TRYLOCK_FAIL)).toBe(fails + 1);
    kmemCacheFree(s, o);
    const contended = machine.lockdep.stats().find((c) => c.name === lock.name)!.contentions;
    // flush_all takes the lock with local_lock(): refused before the lock call
    expect(() => kmemCacheShrink(s)).toThrow(/would-block/);
    expect(machine.lockdep.stats().find((c) => c.name === lock.name)!.contentions).toBe(contended);
    expect(machine.sched.current(0).waitingOn).toBe(null);
  });
});
