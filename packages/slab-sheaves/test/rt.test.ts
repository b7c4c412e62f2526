import { GFP_ATOMIC, GFP_KERNEL } from '@mm/machine';
import { expect, it } from 'vitest';
import {
  kfreeRcu,
  kmemCacheAlloc,
  kmemCacheCreate,
  kmemCacheFree,
  kvfreeRcuBarrier,
  STAT,
  slabValidate,
} from '../src/index.js';
import { makeHarness } from './helpers/harness.js';

it('PREEMPT_RT: sheaves work in task context, hardirq trylocks fail, kfree_rcu bypasses the rcu sheaves', () => {
  const { slab, machine } = makeHarness({}, { preemptRt: true });
  const s = kmemCacheCreate(slab, 'rt', 64, { sheafCapacity: 8 });
  const a = kmemCacheAlloc(s, GFP_KERNEL);
  expect(s.statTotal(STAT.ALLOC_PCS)).toBe(1);
  let b = -1;
  machine.cpus.inHardirq(0, () => {
    b = kmemCacheAlloc(s, GFP_ATOMIC);
  });
  expect(b).toBeGreaterThan(0);
  expect(s.statTotal(STAT.ALLOC_PCS)).toBe(1);
  expect(s.statTotal(STAT.PCS_TRYLOCK_FAIL)).toBe(1);
  kmemCacheFree(s, b);
  kfreeRcu(slab, a);
  expect(s.statTotal(STAT.FREE_RCU_SHEAF)).toBe(0);
  kvfreeRcuBarrier(slab);
  expect(s.nrRcuObjects).toBe(0);
  slabValidate(slab);
});
