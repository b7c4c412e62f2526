/**
 * DOC: kfree_rcu() of 10^6 objects from a sheaf-enabled cache (capacity 32)
 * in rounds (256 objects: the freed sheaves fit the barn's limit of 10 full
 * sheaves; 4096: bursts overflow it): allocate, kfree_rcu all, let a grace
 * period pass. Figures:
 * call_rcu submissions (target about 10^6 / capacity), objects recycled
 * through the barn as full sheaves against objects flushed to slabs, and the
 * same run without sheaves (kvfree_rcu batches of a page of pointers) and
 * with KVFREE_RCU_BATCHED off (one call_rcu per object).
 */
import { createMachine, GFP_KERNEL } from '@mm/machine';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  createSlabEnv,
  createSlubAllocator,
  flushAllRcuSheaves,
  kfreeRcu,
  kfreeRcuMonitor,
  kfreeRcuStats,
  kmemCacheAlloc,
  kmemCacheCreate,
  type SlubConfig,
  STAT,
} from '../src/index.js';

const suite = new BenchSuite('@mm/slab-sheaves: kfree_rcu');
const TOTAL = 1_000_000;
const CAP = 32;

function run(label: string, cap: number, cfg: SlubConfig, ROUND: number): void {
  const machine = createMachine({});
  machine.lockdep.enabled = false;
  const slab = createSlubAllocator(createSlabEnv(machine), cfg);
  const s = kmemCacheCreate(slab, 'maple_node', 256, { sheafCapacity: cap });
  const objs = new Float64Array(ROUND);
  const t0 = performance.now();
  for (let done = 0; done < TOTAL; done += ROUND) {
    const n = Math.min(ROUND, TOTAL - done);
    for (let i = 0; i < n; i++) objs[i] = kmemCacheAlloc(s, GFP_KERNEL);
    for (let i = 0; i < n; i++) kfreeRcu(slab, objs[i]!);
    kfreeRcuMonitor(slab);
    machine.rcu.synchronizeRcu();
  }
  flushAllRcuSheaves(slab);
  machine.rcu.rcuBarrier();
  const ms = performance.now() - t0;
  const k = kfreeRcuStats(slab);
  suite.record({
    name: `${label}: call_rcu submissions`,
    value: k.callRcuSubmissions,
    unit: 'calls',
    reference: `10^6 / ${cap || 1} = ${Math.round(TOTAL / (cap || 1))}`,
    ratio: k.callRcuSubmissions / (TOTAL / (cap || 1)),
  });
  if (cap > 0) {
    suite.record({
      name: `${label}: objects recycled via barn`,
      value: k.rcuObjectsToBarn,
      unit: 'objects',
      reference: 'of 10^6',
      ratio: k.rcuObjectsToBarn / TOTAL,
    });
    suite.record({
      name: `${label}: objects flushed to slabs`,
      value: k.rcuObjectsFlushed,
      unit: 'objects',
      reference: 'of 10^6',
      ratio: k.rcuObjectsFlushed / TOTAL,
    });
    suite.record({
      name: `${label}: kvfree_rcu batch fallbacks`,
      value: s.statTotal(STAT.FREE_RCU_SHEAF_FAIL),
      unit: 'objects',
    });
  }
  suite.record({
    name: `${label}: host time per kfree_rcu (alloc+free+gp)`,
    value: (ms * 1e6) / TOTAL,
    unit: 'ns/object',
  });
}

run('sheaves (capacity 32), rounds of 256', CAP, {}, 256);
run('sheaves (capacity 32), bursts of 4096', CAP, {}, 4096);
run('no sheaves, kvfree_rcu batches', 0, {}, 256);
run('KVFREE_RCU_BATCHED off (SLUB_TINY)', 0, { slubTiny: true }, 256);
suite.finish();
