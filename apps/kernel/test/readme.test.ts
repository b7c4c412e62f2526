// The README's kernel-scripting example, run as written with its result comments checked.
import { expect, it } from 'vitest';
import {
  createKernel,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MREMAP_MAYMOVE,
  PM_MMAP_EXCLUSIVE,
  PROT_READ,
  PROT_WRITE,
  procPidMaps,
  procPidPagemap,
  procPidSmapsRollup,
  type Task,
} from '../src/index.js';

it('README: scripting a kernel', () => {
  const k = createKernel({ arch: 'x86_64', seed: 1, mapcount: 'none', thp: 'madvise', mthp: { 64: 'always' } });
  const parent = k.spawn({ name: 'app' }) as Task;
  const a = parent.mmap(0, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  expect(parent.read(a)).toBe(0);
  expect(parent.write(a + 4096, 7)).toBe(0);
  const child = parent.fork() as Task;
  expect(child.write(a + 4096, 8)).toBe(0);
  expect(parent.read(a + 4096)).toBe(7);
  expect(child.read(a + 4096)).toBe(8);
  expect((procPidPagemap(k, parent.mm!, a + 4096, 1)[0]! & PM_MMAP_EXCLUSIVE) !== 0n).toBe(true);
  const b = parent.mremap(a, 64 * 4096, 128 * 4096, MREMAP_MAYMOVE);
  expect(parent.read(b + 4096)).toBe(7);
  expect(child.read(0x1000)).toBe(-14);
  expect(child.lastFault?.signal).toBe('SIGSEGV');
  child.exit(0);
  expect(parent.wait()).toEqual({ pid: 2, code: 0 });
  expect(procPidMaps(parent.mm!)).toContain('[stack]');
  expect(procPidSmapsRollup(k, parent.mm!)).toContain('[rollup]');
  k.validate();
  parent.exit(0);
  expect(k.userFolios.size).toBe(0);
});
