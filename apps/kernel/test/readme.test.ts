// The README's kernel-scripting example, run as written with its result comments checked.
import { expect, it } from 'vitest';
import {
  CLONE_THREAD,
  CLONE_VM,
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

it('README: tasks run by the scheduler', () => {
  const k = createKernel({ seed: 1 });
  const p = k.spawn({ name: 'app' }) as Task; // CPU 0
  const a = p.mmap(0, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  p.write(a + 9 * 4096, 5);
  const t = p.clone(CLONE_VM | CLONE_THREAD) as Task; // a thread of p, CPU 1
  expect(t.read(a + 9 * 4096)).toBe(5); // from the harness: CPU 1's TLB now maps the page
  const log: string[] = [];
  const w = p.run(
    [
      { op: 'mmapWriteLock' }, // a system call in steps: holds mmap_lock...
      { op: 'vmaStartWrite', addr: a }, // ...and write-locks the VMA
      { op: 'yield' },
      { op: 'mmapWriteUnlock' },
      { op: 'munmap', addr: a + 8 * 4096, len: 8 * 4096 },
    ],
    { log },
  ); // the scheduler places it on CPU 0
  k.machine.sched.runWhile(() => w.pc < 2, 1e9); // until the VMA is write-locked
  const r = t.run(
    [
      { op: 'write', addr: a + 4096, token: 7 }, // faults on the write-locked VMA: sleeps on mmap_lock
      { op: 'read', addr: a + 9 * 4096 },
    ],
    { log },
  ); // on CPU 1, the least loaded
  expect(k.runTasks()).toBe(true); // every program ended
  expect(r.results).toEqual([0, -14]); // the munmap shot down CPU 1's entry: the load faults
  expect(r.sleeps).toBe(1);
  expect(w.sleeps).toBe(1); // the munmap waited for the fault's read hold
  expect(k.events.get('vma_lock_abort')).toBe(2); // the write-locked VMA, then the hole
  expect(k.machine.mmu.stats(1).remoteFlushReceived).toBe(1);
  expect(log[2]).toBe('4210 cpu1 app[2] write(0x7ffff7fe8000, 7) sleeps');
  k.validate();
});
