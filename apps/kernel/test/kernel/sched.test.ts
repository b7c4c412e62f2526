/**
 * Tasks run by the machine's scheduler (task-program.ts): deterministic
 * interleavings on several CPUs. A fault racing an mmap writer falls back
 * from the per-VMA lock to the mmap lock, sleeps on it and completes after
 * the writer releases; a fault on a folio another task holds locked drops
 * its lock, waits, returns VM_FAULT_RETRY and completes on the retry (with
 * FAULT_FLAG_TRIED sleeping in `__folio_lock()` under the mmap lock); system
 * calls sleep on a held mmap lock; a munmap on one CPU sends TLB shootdowns
 * to the CPUs running its siblings and to no other; the same seed gives the
 * same output byte for byte; `kernel.validate()` passes after the steps.
 */
import { describe, expect, it } from 'vitest';
import {
  CLONE_THREAD,
  CLONE_VM,
  createKernel,
  type Kernel,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  mmapWriteLock,
  mmapWriteUnlock,
  PROT_READ,
  PROT_WRITE,
  type ProgramRun,
  procPidSmapsRollup,
  procVmstat,
  type Task,
  type TaskOp,
} from '../../src/index.js';

const PAGE = 4096;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

interface VmaStats {
  pgfault: number;
  vma_lock_success: number;
  vma_lock_abort: number;
  vma_lock_retry: number;
  vma_lock_miss: number;
}

function vmaStats(k: Kernel): VmaStats {
  const e = (n: string): number => k.events.get(n) ?? 0;
  return {
    pgfault: e('pgfault'),
    vma_lock_success: e('vma_lock_success'),
    vma_lock_abort: e('vma_lock_abort'),
    vma_lock_retry: e('vma_lock_retry'),
    vma_lock_miss: e('vma_lock_miss'),
  };
}

/** Run the scheduler (validating before every event and step) while `cond` holds. */
function runWhile(k: Kernel, cond: () => boolean): void {
  const ok = k.machine.sched.runWhile(() => {
    k.validate();
    return cond();
  }, k.machine.clock.now + 100_000_000);
  expect(ok).toBe(true);
}

function thread(p: Task): Task {
  return p.clone(CLONE_VM | CLONE_THREAD) as Task;
}

describe('per-VMA lock fallback and the sleeping mmap lock', () => {
  it('a fault racing an mmap writer aborts the VMA lock, sleeps on mmap_lock and completes after the release', () => {
    const k = createKernel({ seed: 1 });
    const p = k.spawn({ name: 'app' }) as Task;
    const a = p.mmap(0, 16 * PAGE, RW, ANON);
    expect(p.write(a + PAGE, 5)).toBe(0);
    const t = thread(p);
    const w = p.run([
      { op: 'mmapWriteLock' },
      { op: 'vmaStartWrite', addr: a },
      { op: 'yield' },
      { op: 'yield' },
      { op: 'mmapWriteUnlock' },
    ]);
    runWhile(k, () => w.pc < 2); // the writer holds the lock and the VMA
    const before = vmaStats(k);
    const r = t.run([
      { op: 'write', addr: a + 2 * PAGE, token: 9 },
      { op: 'read', addr: a + PAGE },
      { op: 'read', addr: a + 2 * PAGE },
    ]);
    runWhile(k, () => r.sleeps === 0);
    // asleep on the rwsem's wait list, in TASK_UNINTERRUPTIBLE, nothing done yet
    expect(r.results).toEqual([]);
    expect(p.mm!.mmapLock.waiters.length).toBe(1);
    expect(k.faultPending(r.sched)).toBe(true);
    expect(vmaStats(k).vma_lock_abort - before.vma_lock_abort).toBe(1);
    expect(w.cpus.length).toBe(2);
    expect(r.sched.cpu).not.toBe(w.sched.cpu);
    expect(k.runTasks()).toBe(true);
    expect(r.results).toEqual([0, 5, 9]);
    expect(r.sleeps).toBe(1);
    const after = vmaStats(k);
    // the sleeping store: one abort, then handle_mm_fault under mmap_lock; later accesses hit the TLB
    expect(after.vma_lock_abort - before.vma_lock_abort).toBe(1);
    expect(after.vma_lock_success - before.vma_lock_success).toBe(0);
    expect(after.pgfault - before.pgfault).toBe(1);
    expect(p.mm!.mmapLock.readers).toBe(0);
    expect(p.mm!.mmapLock.writerPid).toBe(-1);
    k.validate();
  });

  it('a VMA write-locked by an earlier section is free again: the fault takes the per-VMA lock', () => {
    const k = createKernel({ seed: 2 });
    const p = k.spawn({ name: 'app' }) as Task;
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    const w = p.run([{ op: 'mmapWriteLock' }, { op: 'vmaStartWrite', addr: a }, { op: 'mmapWriteUnlock' }]);
    expect(k.runTasks()).toBe(true);
    expect(w.results).toEqual([0, 0, 0]);
    const before = vmaStats(k);
    const r = thread(p).run([{ op: 'read', addr: a }]);
    expect(k.runTasks()).toBe(true);
    expect(r.results).toEqual([0]);
    expect(r.sleeps).toBe(0);
    expect(vmaStats(k).vma_lock_success - before.vma_lock_success).toBe(1);
    expect(vmaStats(k).vma_lock_abort - before.vma_lock_abort).toBe(0);
  });

  it('a VMA found detached since the last walk counts vma_lock_miss and the walk is redone', () => {
    const k = createKernel({ seed: 9 });
    const p = k.spawn({ name: 'app' }) as Task;
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    expect(p.write(a, 1)).toBe(0); // this mm's walk answer is now the VMA at a
    expect(p.munmap(a, 4 * PAGE)).toBe(0); // detached (and freed after RCU)
    expect(p.mmap(a, 4 * PAGE, RW, ANON | MAP_FIXED)).toBe(a);
    const before = vmaStats(k);
    expect(p.read(a + PAGE)).toBe(0);
    const after = vmaStats(k);
    expect(after.vma_lock_miss - before.vma_lock_miss).toBe(1);
    expect(after.vma_lock_success - before.vma_lock_success).toBe(1);
    expect(after.vma_lock_abort - before.vma_lock_abort).toBe(0);
  });

  it('no VMA at the address aborts the per-VMA lock; the mmap-lock path grows the stack or signals', () => {
    const k = createKernel({ seed: 10 });
    const p = k.spawn({ name: 'app' }) as Task;
    const before = vmaStats(k);
    expect(p.read(0x1000)).toBe(-14);
    expect(p.lastFault?.code).toBe('SEGV_MAPERR');
    const after = vmaStats(k);
    expect(after.vma_lock_abort - before.vma_lock_abort).toBe(1);
    expect(after.pgfault - before.pgfault).toBe(0); // handle_mm_fault() never ran
  });

  it('while a munmap holds mmap_lock, faults in other VMAs go on under their VMA locks; one in its range waits and finds the hole', () => {
    const k = createKernel({ seed: 14 });
    const p = k.spawn({ name: 'app' }) as Task;
    const a = p.mmap(0, 8 * PAGE, RW, ANON);
    const b = p.mmap(0, 8 * PAGE, PROT_READ, ANON); // another VMA (different flags: no merge)
    expect(b + 8 * PAGE).toBe(a); // top-down: b sits below a
    const [t1, t2] = [thread(p), thread(p)];
    const log: string[] = [];
    const u = p.run([{ op: 'munmap', addr: a, len: 8 * PAGE, holdSteps: 100 }], { log });
    runWhile(k, () => u.inOp < 0); // gathered: a is write-locked, mmap_lock held
    const before = vmaStats(k);
    const r1 = t1.run(
      [
        { op: 'read', addr: b + PAGE },
        { op: 'read', addr: b + 2 * PAGE },
      ],
      { log },
    );
    const r2 = t2.run([{ op: 'write', addr: a + PAGE, token: 3 }], { log });
    runWhile(k, () => !r1.done || r2.sleeps === 0);
    expect(u.done).toBe(false); // still holding
    expect(r1.results).toEqual([0, 0]); // no sleep: b is not write-locked
    expect(r1.sleeps).toBe(0);
    expect(vmaStats(k).vma_lock_success - before.vma_lock_success).toBe(2);
    expect(r2.results).toEqual([]);
    expect(k.runTasks()).toBe(true);
    expect(u.results).toEqual([0]);
    expect(r2.results).toEqual([-14]);
    expect(t2.lastFault?.code).toBe('SEGV_MAPERR');
    expect(log.filter((l) => l.includes('holds mmap_lock')).length).toBe(101);
    k.validate();
  });

  it('system calls sleep on a held mmap lock and run, in FIFO order, after the release', () => {
    const k = createKernel({ seed: 3 });
    const p = k.spawn({ name: 'app' }) as Task;
    const a = p.mmap(0, 8 * PAGE, RW, ANON);
    for (let i = 0; i < 8; i++) p.write(a + i * PAGE, 100 + i);
    const [u1, u2] = [thread(p), thread(p)];
    const log: string[] = [];
    const w = p.run([{ op: 'mmapWriteLock' }, { op: 'yield' }, { op: 'yield' }, { op: 'mmapWriteUnlock' }], { log });
    runWhile(k, () => w.pc < 1);
    const t1 = u1.run(
      [
        { op: 'munmap', addr: a, len: 2 * PAGE },
        { op: 'read', addr: a },
      ],
      { log },
    );
    const t2 = u2.run(
      [
        { op: 'madvise', addr: a + 4 * PAGE, len: PAGE, advice: MADV_DONTNEED },
        { op: 'read', addr: a + 4 * PAGE },
        { op: 'read', addr: a + 5 * PAGE },
      ],
      { log },
    );
    expect(k.runTasks()).toBe(true);
    expect(t1.sleeps).toBe(1);
    expect(t2.sleeps).toBe(1);
    expect(t1.results).toEqual([0, -14]);
    expect(t2.results).toEqual([0, 0, 105]);
    // the munmap (queued first) ran before the madvise, both after the unlock
    const order = log.filter((l) => !l.includes('sleeps')).map((l) => l.replace(/^\d+ cpu\d+ /, ''));
    expect(order.indexOf('app[1] mmapWriteUnlock() = 0')).toBeLessThan(order.findIndex((l) => l.includes('munmap')));
    expect(order.findIndex((l) => l.includes('munmap'))).toBeLessThan(order.findIndex((l) => l.includes('madvise')));
    k.validate();
  });

  it('fork takes the parent mmap lock for writing (dup_mmap) and exit for reading (exit_mm)', () => {
    const k = createKernel({ seed: 4 });
    const p = k.spawn({ name: 'app' }) as Task;
    const a = p.mmap(0, 2 * PAGE, RW, ANON);
    p.write(a, 11);
    const t = thread(p);
    const w = p.run([{ op: 'mmapWriteLock' }, { op: 'yield' }, { op: 'mmapWriteUnlock' }, { op: 'read', addr: a }]);
    runWhile(k, () => w.pc < 1);
    const r = t.run([
      {
        op: 'fork',
        program: [
          { op: 'read', addr: a },
          { op: 'write', addr: a, token: 12 },
          { op: 'exit', code: 3 },
        ],
      },
      { op: 'exit' },
    ]);
    expect(k.runTasks()).toBe(true);
    expect(r.sleeps).toBe(1);
    const child = r.children[0]!;
    expect(child.results).toEqual([11, 0, 0]);
    expect(w.results[3]).toBe(11); // the child's store was a CoW copy
    expect(t.state).not.toBe('running');
    expect(p.wait()).toEqual({ pid: child.task.pid, code: 3 });
    k.validate();
  });
});

describe('VM_FAULT_RETRY on a locked folio', () => {
  it('the first try drops the per-VMA lock, waits for the unlock and retries under mmap_lock', () => {
    const k = createKernel({ seed: 5 });
    const p = k.spawn({ name: 'app' }) as Task;
    const f = k.createFile('/tmp/data', 4 * PAGE);
    k.writeFile(f, 0, 7);
    const m = p.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    const t = thread(p);
    const io = p.run([
      { op: 'lockFolio', file: f, index: 0 },
      { op: 'yield' },
      { op: 'pwrite', file: f, index: 0, token: 42 },
      { op: 'unlockFolio', file: f, index: 0 },
    ]);
    runWhile(k, () => io.pc < 1);
    const before = vmaStats(k);
    const r = t.run([{ op: 'read', addr: m }]);
    runWhile(k, () => r.sleeps === 0);
    // asleep on the folio with no lock held: a writer could take mmap_lock meanwhile
    expect(p.mm!.mmapLock.readers).toBe(0);
    expect(vmaStats(k).vma_lock_retry - before.vma_lock_retry).toBe(1);
    expect(k.runTasks()).toBe(true);
    expect(r.results).toEqual([42]); // the content the lock holder wrote
    const after = vmaStats(k);
    expect(after.vma_lock_retry - before.vma_lock_retry).toBe(1);
    expect(after.vma_lock_success - before.vma_lock_success).toBe(0);
    expect(after.pgfault - before.pgfault).toBe(2); // two handle_mm_fault() calls
    k.validate();
  });

  it('a retry that finds the folio locked again (FAULT_FLAG_TRIED) sleeps in __folio_lock holding mmap_lock', () => {
    const k = createKernel({ seed: 6 });
    const p = k.spawn({ name: 'app' }) as Task;
    const mm = p.mm!;
    const f = k.createFile('/tmp/data', 4 * PAGE);
    k.writeFile(f, 0, 7);
    const m = p.mmap(0, 4 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    const before = vmaStats(k);
    expect(k.lockFilePage(f, 0)).toBe(true); // the harness does "I/O" on the page
    const r = thread(p).run([{ op: 'read', addr: m }]);
    runWhile(k, () => r.sleeps < 1); // VMA-lock try: VM_FAULT_RETRY, waits for the folio
    mmapWriteLock(mm); // a writer meanwhile
    k.unlockFilePage(f, 0);
    runWhile(k, () => r.sleeps < 2); // woken; lock_mmap: sleeps on mmap_lock
    expect(mm.mmapLock.waiters.length).toBe(1);
    expect(k.lockFilePage(f, 0)).toBe(true);
    mmapWriteUnlock(mm); // hands the read lock over
    runWhile(k, () => r.sleeps < 3); // mmap-lock try: drops mmap_lock, waits, sets FAULT_FLAG_TRIED
    expect(mm.mmapLock.readers).toBe(0);
    mmapWriteLock(mm);
    k.unlockFilePage(f, 0);
    runWhile(k, () => r.sleeps < 4); // woken; sleeps on mmap_lock again
    k.writeFile(f, 0, 8);
    expect(k.lockFilePage(f, 0)).toBe(true);
    mmapWriteUnlock(mm);
    runWhile(k, () => r.sleeps < 5); // TRIED: __folio_lock() sleeps with mmap_lock held
    expect(mm.mmapLock.readers).toBe(1);
    expect(r.results).toEqual([]);
    k.writeFile(f, 0, 9);
    k.unlockFilePage(f, 0);
    expect(k.runTasks()).toBe(true);
    expect(r.results).toEqual([9]);
    expect(mm.mmapLock.readers).toBe(0);
    const after = vmaStats(k);
    expect(after.vma_lock_retry - before.vma_lock_retry).toBe(1);
    expect(after.vma_lock_abort - before.vma_lock_abort).toBe(0);
    // VMA try, mmap try (VM_FAULT_RETRY), the TRIED try that slept in __folio_lock
    expect(after.pgfault - before.pgfault).toBe(3);
    k.validate();
  });

  it('a fault waiting for a folio whose mapping a sibling unmaps meanwhile retries and finds the hole', () => {
    const k = createKernel({ seed: 12 });
    const p = k.spawn({ name: 'app' }) as Task;
    const f = k.createFile('/tmp/gone', 2 * PAGE);
    const m = p.mmap(0, 2 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    const t = thread(p);
    expect(k.lockFilePage(f, 0)).toBe(true);
    const r = t.run([{ op: 'read', addr: m }]);
    runWhile(k, () => r.sleeps < 1); // waiting for the folio, no lock held
    const u = p.run([{ op: 'munmap', addr: m, len: 2 * PAGE }]);
    runWhile(k, () => !u.done); // not blocked: the waiter holds neither the VMA nor the mmap lock
    expect(u.results).toEqual([0]);
    k.unlockFilePage(f, 0);
    expect(k.runTasks()).toBe(true);
    expect(r.results).toEqual([-14]);
    expect(t.lastFault?.code).toBe('SEGV_MAPERR');
    k.validate();
  });

  it('fault-around skips a locked folio (filemap_map_pages trylocks)', () => {
    const k = createKernel({ seed: 7 });
    const p = k.spawn({ name: 'app' }) as Task;
    const f = k.createFile('/tmp/fa', 32 * PAGE);
    for (let i = 0; i < 32; i++) k.writeFile(f, i, 50 + i);
    const warm = p.mmap(0, 32 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    for (let i = 0; i < 32; i++) p.read(warm + i * PAGE); // fill the cache
    const m0 = p.mmap(0, 32 * PAGE, PROT_READ, MAP_SHARED, f, 0);
    const win = 16 * PAGE; // fault_around_bytes
    const base = Math.ceil(m0 / win) * win;
    const j = (base - m0) / PAGE;
    expect(k.lockFilePage(f, j + 3)).toBe(true);
    const around = k.events.get('fault_around')!;
    expect(p.read(base)).toBe(50 + j);
    expect(k.events.get('fault_around')! - around).toBe(14); // the window less the faulting page and the locked one
    k.unlockFilePage(f, j + 3);
    const faults = k.events.get('pgfault')!;
    expect(p.read(base + 3 * PAGE)).toBe(53 + j);
    expect(k.events.get('pgfault')! - faults).toBe(1);
    expect(p.read(base + 4 * PAGE)).toBe(54 + j);
    expect(k.events.get('pgfault')! - faults).toBe(1);
    k.validate();
  });

  it('a harness call cannot sleep: a fault on a folio a task holds is an MmBugError', () => {
    const k = createKernel({ seed: 8 });
    const p = k.spawn({ name: 'app' }) as Task;
    const f = k.createFile('/tmp/x', PAGE);
    const m = p.mmap(0, PAGE, PROT_READ, MAP_SHARED, f, 0);
    expect(k.lockFilePage(f, 0)).toBe(true);
    expect(() => p.read(m)).toThrow(/cannot sleep/);
  });
});

/** Two threads of one process on CPUs 0 and 1, another process on CPU 2; thread 2 munmaps what thread 1 uses. */
function munmapRace(seed: number): { k: Kernel; log: string[]; runs: ProgramRun[]; flushRx: number[] } {
  const k = createKernel({ seed });
  const p = k.spawn({ name: 'app' }) as Task;
  const q = k.spawn({ name: 'other' }) as Task;
  const a = p.mmap(0, 16 * PAGE, RW, ANON);
  const b = q.mmap(0, 4 * PAGE, RW, ANON);
  const t = thread(p);
  const log: string[] = [];
  const prog1: TaskOp[] = [];
  for (let i = 0; i < 8; i++) prog1.push({ op: 'write', addr: a + i * PAGE, token: 1000 + i });
  for (let i = 0; i < 8; i++) prog1.push({ op: 'read', addr: a + i * PAGE });
  const prog2: TaskOp[] = [];
  for (let i = 8; i < 16; i++) prog2.push({ op: 'write', addr: a + i * PAGE, token: 2000 + i });
  prog2.push({ op: 'munmap', addr: a + 4 * PAGE, len: 8 * PAGE });
  for (let i = 8; i < 16; i++) prog2.push({ op: 'read', addr: a + i * PAGE });
  const prog3: TaskOp[] = [];
  for (let i = 0; i < 12; i++) prog3.push({ op: 'write', addr: b + (i % 4) * PAGE, token: 3000 + i });
  const rx0 = [0, 1, 2, 3].map((c) => k.machine.mmu.stats(c).remoteFlushReceived);
  const runs = [p.run(prog1, { log, cpu: 0 }), t.run(prog2, { log, cpu: 1 }), q.run(prog3, { log, cpu: 2 })];
  expect(k.runTasks()).toBe(true);
  const flushRx = [0, 1, 2, 3].map((c) => k.machine.mmu.stats(c).remoteFlushReceived - rx0[c]!);
  return { k, log, runs, flushRx };
}

describe('siblings on other CPUs', () => {
  it("a munmap on CPU 1 shoots down CPU 0's TLB (the sibling's) and no other; the sibling's loads see the hole", () => {
    const { k, runs, flushRx } = munmapRace(11);
    const [r1, r2, r3] = runs as [ProgramRun, ProgramRun, ProgramRun];
    expect(r1.cpus.every((c) => c === 0)).toBe(true);
    expect(r2.cpus.every((c) => c === 1)).toBe(true);
    const unmapAt = r2.results.indexOf(0, 8); // the munmap's result
    expect(r2.results[8]).toBe(0);
    expect(unmapAt).toBe(8);
    expect(flushRx[0]).toBeGreaterThan(0); // the sibling's CPU
    expect(flushRx[2]).toBe(0); // another mm
    expect(flushRx[3]).toBe(0); // never ran the mm
    const as = (runs[0]!.task.mm!.pgt as { as: { cpumaskCpus(): number[] } }).as;
    expect(as.cpumaskCpus()).toContain(0);
    expect(as.cpumaskCpus()).toContain(1);
    expect(as.cpumaskCpus()).not.toContain(3);
    // thread 2 reads: pages 8..11 are gone, 12..15 keep its tokens
    expect(r2.results.slice(9)).toEqual([-14, -14, -14, -14, 2012, 2013, 2014, 2015]);
    // thread 1: every store before the munmap stuck; pages 4..7 read back their token or the hole
    for (let i = 0; i < 4; i++) expect(r1.results[8 + i]).toBe(1000 + i);
    // pages 4..7 were in CPU 0's TLB: after the shootdown its loads fault and find the hole
    const { log } = munmapRace(11);
    const unmapLine = log.findIndex((l) => l.includes('munmap('));
    const reads = log.filter((l, i) => i > unmapLine && l.startsWith(`${l.split(' ')[0]} cpu0 app[1] read(`));
    expect(reads.length).toBe(8);
    expect(r1.results.slice(12)).toEqual([-14, -14, -14, -14]);
    expect(r3.results.every((v) => v === 0)).toBe(true);
    k.validate();
  });

  it('an mprotect on CPU 1 shoots down CPU 0, where the sibling runs; its store then faults', () => {
    const k = createKernel({ seed: 13 });
    const p = k.spawn({ name: 'app' }) as Task;
    const a = p.mmap(0, 4 * PAGE, RW, ANON);
    const t = thread(p);
    const w = p.run([{ op: 'write', addr: a, token: 1 }, { op: 'yield' }, { op: 'yield' }], { cpu: 0 });
    runWhile(k, () => w.pc < 1);
    const rx = k.machine.mmu.stats(0).remoteFlushReceived;
    const m = t.run([{ op: 'mprotect', addr: a, len: 4 * PAGE, prot: PROT_READ }], { cpu: 1 });
    runWhile(k, () => !m.done);
    expect(m.results).toEqual([0]);
    expect(k.machine.mmu.stats(0).remoteFlushReceived - rx).toBeGreaterThan(0);
    expect(k.runTasks()).toBe(true);
    const again = p.run(
      [
        { op: 'read', addr: a },
        { op: 'write', addr: a, token: 2 },
      ],
      { cpu: 0 },
    );
    expect(k.runTasks()).toBe(true);
    expect(again.results).toEqual([1, -14]); // no stale writable TLB entry on CPU 0
    expect(p.lastFault?.code).toBe('SEGV_ACCERR');
    k.validate();
  });

  it('the same seed gives the same interleaving, results and /proc output byte for byte', () => {
    const once = (seed: number): string => {
      const { k, log, runs, flushRx } = munmapRace(seed);
      const p = runs[0]!.task;
      return [
        ...log,
        JSON.stringify(runs.map((r) => r.results)),
        JSON.stringify(flushRx),
        procVmstat(k),
        procPidSmapsRollup(k, p.mm!),
      ].join('\n');
    };
    const a = once(21);
    expect(once(21)).toBe(a);
    expect(a).toContain('munmap(');
  });

  it('the same seed gives the same output with sleeps, retries, a split munmap and a fork', () => {
    const once = (seed: number): string => {
      const k = createKernel({ seed });
      const p = k.spawn({ name: 'app' }) as Task;
      const f = k.createFile('/tmp/det', 4 * PAGE);
      const m = p.mmap(0, 4 * PAGE, RW, MAP_SHARED, f, 0);
      const a = p.mmap(0, 16 * PAGE, RW, ANON);
      const [t1, t2] = [thread(p), thread(p)];
      const log: string[] = [];
      p.run(
        [
          { op: 'lockFolio', file: f, index: 1 },
          { op: 'yield' },
          { op: 'pwrite', file: f, index: 1, token: 77 },
          { op: 'unlockFolio', file: f, index: 1 },
          { op: 'munmap', addr: a + 8 * PAGE, len: 4 * PAGE, holdSteps: 20 },
          { op: 'write', addr: a, token: 5 },
        ],
        { log },
      );
      t1.run(
        [
          { op: 'read', addr: m + PAGE },
          { op: 'write', addr: a + 9 * PAGE, token: 6 },
          {
            op: 'fork',
            program: [{ op: 'read', addr: a }, { op: 'write', addr: m + PAGE, token: 78 }, { op: 'exit' }],
          },
          { op: 'read', addr: a + 9 * PAGE },
        ],
        { log },
      );
      t2.run(
        [
          { op: 'write', addr: a + 2 * PAGE, token: 8 },
          { op: 'mprotect', addr: a + 2 * PAGE, len: PAGE, prot: PROT_READ },
          { op: 'read', addr: m + PAGE },
        ],
        { log },
      );
      expect(k.runTasks()).toBe(true);
      k.validate();
      return [
        ...log,
        procVmstat(k),
        procPidSmapsRollup(k, p.mm!),
        JSON.stringify([0, 1, 2, 3].map((c) => k.machine.mmu.stats(c))),
      ].join('\n');
    };
    const a = once(31);
    expect(once(31)).toBe(a);
    expect(a).toContain('sleeps');
    expect(a).toContain('holds mmap_lock');
  });
});
