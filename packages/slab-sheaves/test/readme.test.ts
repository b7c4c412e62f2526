/** The README example, kept true. */
import { createMachine, GFP_KERNEL, GFP_NOWAIT } from '@mm/machine';
import { expect, it } from 'vitest';
import {
  createSlabEnv,
  createSlubAllocator,
  formatSlabinfo,
  kfreeRcu,
  kmemCacheAlloc,
  kmemCacheAllocFromSheaf,
  kmemCacheCreate,
  kmemCacheFree,
  kmemCachePrefillSheaf,
  kmemCacheReturnSheaf,
  kvfreeRcuBarrier,
  readSlabSysfs,
  slabValidate,
} from '../src/index.js';

it('README example', () => {
  const machine = createMachine({ preset: 'small' });
  const slab = createSlubAllocator(createSlabEnv(machine));
  const s = kmemCacheCreate(slab, 'maple_node', 256, { sheafCapacity: 32 });
  const obj = kmemCacheAlloc(s, GFP_KERNEL);
  expect(obj).toBeGreaterThan(0);
  kmemCacheFree(s, obj);
  const sheaf = kmemCachePrefillSheaf(s, GFP_KERNEL, 24);
  expect(sheaf!.size).toBeGreaterThanOrEqual(24);
  const node = kmemCacheAllocFromSheaf(s, GFP_NOWAIT, sheaf!);
  kmemCacheReturnSheaf(s, GFP_KERNEL, sheaf!);
  kfreeRcu(slab, node);
  kvfreeRcuBarrier(slab);
  expect(readSlabSysfs(slab, 'maple_node', 'alloc_cpu_sheaf')).toBe('1 C0=1\n');
  expect(readSlabSysfs(slab, 'maple_node', 'free_rcu_sheaf')).toBe('1 C0=1\n');
  expect(formatSlabinfo(slab)).toMatch(/^maple_node /m);
  slabValidate(slab);
  machine.validate();
});
