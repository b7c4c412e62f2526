/**
 * DOC: the demo's processes on the composed kernel: a program is exec'd,
 * faults in anonymous memory (4 KiB pages, an mTHP region and a PMD-mapped
 * THP), maps a tmpfs file shared and private, forks a child that writes
 * (CoW) and reads the file, mremaps a region, and exits; the parent waits.
 * Then two threads run as programs on the machine's scheduler: one holds a
 * file page's folio lock (I/O) and the mmap write lock in turn, the other
 * faults on them: its fault sleeps, returns VM_FAULT_RETRY and is retried.
 * Their /proc views are printed along the way, and `kernel.validate()`
 * runs after every phase.
 */
import { type Kernel, MODEL_FAULT_EVENTS } from './kernel/kernel.js';
import {
  procMeminfo,
  procPidSmaps,
  procPidSmapsRollup,
  procPidStatus,
  procVmstat,
  thpSysfsRead,
} from './kernel/procfs.js';
import { CLONE_THREAD, CLONE_VM, Task } from './kernel/task.js';
import {
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_MAYMOVE,
  PROT_READ,
  PROT_WRITE,
} from './mm/mman.js';
import { procPidMaps } from './mm/task-mmu.js';

/** One titled block of output. */
export interface KernelDemoSection {
  readonly title: string;
  readonly text: string;
}

const RW = PROT_READ | PROT_WRITE;

function must(ret: number, what: string): number {
  if (ret < 0) throw new Error(`demo: ${what} failed with ${ret}`);
  return ret;
}

function pick(text: string, keys: readonly string[]): string {
  return `${text
    .split('\n')
    .filter((l) => keys.some((k) => l.startsWith(`${k}:`) || l.startsWith(`${k} `)))
    .join('\n')}\n`;
}

/** Run the processes; returns the sections to print. */
export function kernelDemo(k: Kernel): KernelDemoSection[] {
  const out: KernelDemoSection[] = [];
  const page = k.pageSize;
  const parent = k.spawn({ name: 'app', heapBytes: 16 * page });
  if (!(parent instanceof Task)) throw new Error(`demo: spawn failed with ${parent}`);
  const p = parent;
  // anonymous memory, one store per page
  const anon = must(p.mmap(0, 64 * page, RW, MAP_PRIVATE | MAP_ANONYMOUS), 'mmap');
  for (let i = 0; i < 64; i++) must(p.write(anon + i * page, 1000 + i), 'store');
  // a PMD-mapped THP
  const raw = must(p.mmap(0, 2 * k.pmdSize, RW, MAP_PRIVATE | MAP_ANONYMOUS), 'mmap');
  const thp = Math.ceil(raw / k.pmdSize) * k.pmdSize;
  must(p.madvise(thp, k.pmdSize, MADV_HUGEPAGE), 'madvise');
  must(p.write(thp, 7), 'store');
  // a file, mapped shared and private
  const file = k.createFile('/tmp/notes', 8 * page);
  for (let i = 0; i < 8; i++) k.writeFile(file, i, 500 + i);
  const shared = must(p.mmap(0, 8 * page, RW, MAP_SHARED, file, 0), 'mmap');
  const priv = must(p.mmap(0, 8 * page, PROT_READ, MAP_PRIVATE, file, 0), 'mmap');
  must(p.write(shared + page, 42), 'store');
  const seen = p.read(priv + page);
  k.validate();
  out.push({
    title: `/proc/${p.pid}/maps after faults`,
    text: procPidMaps(p.mm!),
  });
  out.push({ title: `/proc/${p.pid}/smaps_rollup`, text: procPidSmapsRollup(k, p.mm!) });

  // fork; the child writes (CoW) half of the anonymous pages and reads the file
  const forked = p.fork();
  if (!(forked instanceof Task)) throw new Error(`demo: fork failed with ${forked}`);
  const c = forked;
  for (let i = 0; i < 32; i++) must(c.write(anon + i * page, 2000 + i), 'child store');
  const childSees = [c.read(anon), c.read(anon + 40 * page), c.read(priv + page), c.read(thp)];
  const parentSees = [p.read(anon), p.read(anon + 40 * page)];
  k.validate();
  const smaps = procPidSmaps(k, c.mm!);
  const start = smaps.indexOf(`${anon.toString(16)}-`);
  out.push({
    title: `fork: pid ${c.pid} writes 32 of the 64 pages (CoW), /proc/${c.pid}/smaps of that VMA`,
    text:
      `child reads ${childSees.join(', ')} (own copy, shared page, file page, THP); parent reads ${parentSees.join(', ')}\n` +
      `the parent's store to the shared file page shows in its private mapping too: ${seen}\n` +
      smaps.slice(start, smaps.indexOf('\n', smaps.indexOf('VmFlags', start)) + 1),
  });

  // mremap: the parent grows its anonymous region, which moves
  const moved = must(p.mremap(anon, 64 * page, 256 * page, MREMAP_MAYMOVE), 'mremap');
  out.push({
    title: `mremap: 64 pages at ${anon.toString(16)} grow to 256 pages at ${moved.toString(16)}`,
    text: `parent reads ${p.read(moved)}, ${p.read(moved + 63 * page)}, ${p.read(moved + 200 * page)} (moved pages keep their contents; new ones read 0)\n`,
  });
  out.push({
    title: `/proc/${p.pid}/status (memory)`,
    text: pick(procPidStatus(k, p.pid), [
      'Name',
      'Pid',
      'VmPeak',
      'VmSize',
      'VmHWM',
      'VmRSS',
      'RssAnon',
      'RssFile',
      'RssShmem',
      'VmData',
      'VmStk',
      'VmExe',
      'VmPTE',
    ]),
  });

  // the child exits and the parent reaps it
  c.exit(3);
  const reaped = p.wait();
  k.validate();
  out.push({
    title: `exit: pid ${c.pid} exits, pid ${p.pid} waits`,
    text: `wait() -> pid ${reaped?.pid} status ${reaped?.code}; parent still reads ${p.read(moved + page)}\n`,
  });
  p.exit(0);
  k.releaseDeadFiles();
  k.machine.rcu.rcuBarrier(); // page tables freed after a grace period (MMU_GATHER_RCU_TABLE_FREE)
  k.validate();
  out.push(threadsDemo(k));
  out.push({
    title: '/proc/vmstat (fault path)',
    text: pick(procVmstat(k), [
      'pgfault',
      'thp_fault_alloc',
      'thp_split_pmd',
      'vma_lock_success',
      'vma_lock_abort',
      'vma_lock_retry',
      'vma_lock_miss',
    ]),
  });
  out.push({
    title: "the model's fault-path counters (no vm_event_item in the kernel; not in /proc/vmstat)",
    text: MODEL_FAULT_EVENTS.map((e) => `${e} ${k.events.get(e) ?? 0}\n`).join(''),
  });
  out.push({
    title: '/proc/meminfo (after every process exited)',
    text: pick(procMeminfo(k), [
      'MemTotal',
      'MemFree',
      'Cached',
      'AnonPages',
      'Mapped',
      'Shmem',
      'PageTables',
      'Committed_AS',
      'AnonHugePages',
    ]),
  });
  out.push({ title: '/sys/kernel/mm/transparent_hugepage/enabled', text: thpSysfsRead(k, 'enabled') });
  return out;
}

/**
 * Two threads on the scheduler: the first locks page 0 of a file (as a read
 * from disk would) and fills it; `reader` faults on it (VM_FAULT_RETRY, then
 * a retry under the mmap lock) and reads what was written; then the first
 * holds the mmap write lock with the anonymous VMA write-locked and
 * `reader`'s store falls back from the per-VMA lock and sleeps on the mmap
 * lock until the release.
 */
function threadsDemo(k: Kernel): KernelDemoSection {
  const page = k.pageSize;
  const p = k.spawn({ name: 'threads' }) as Task;
  const f = k.createFile('/tmp/demo-io', 4 * page);
  const file = must(p.mmap(0, 4 * page, PROT_READ, MAP_SHARED, f, 0), 'mmap file');
  const anon = must(p.mmap(0, 4 * page, RW, MAP_PRIVATE | MAP_ANONYMOUS), 'mmap anon');
  const reader = p.clone(CLONE_VM | CLONE_THREAD) as Task;
  const log: string[] = [];
  const before = ['vma_lock_success', 'vma_lock_abort', 'vma_lock_retry'].map((e) => k.events.get(e) ?? 0);
  const io = p.run(
    [
      { op: 'lockFolio', file: f, index: 0 },
      { op: 'yield' },
      { op: 'pwrite', file: f, index: 0, token: 4242 },
      { op: 'unlockFolio', file: f, index: 0 },
    ],
    { log },
  );
  k.machine.sched.runWhile(() => io.pc < 1, k.machine.clock.now + 1e9);
  const r = reader.run([{ op: 'read', addr: file }], { log });
  if (!k.runTasks()) throw new Error('demo: the threads did not finish');
  const w = p.run(
    [{ op: 'mmapWriteLock' }, { op: 'vmaStartWrite', addr: anon }, { op: 'yield' }, { op: 'mmapWriteUnlock' }],
    { log },
  );
  k.machine.sched.runWhile(() => w.pc < 2, k.machine.clock.now + 1e9);
  const r2 = reader.run(
    [
      { op: 'write', addr: anon, token: 7 },
      { op: 'read', addr: anon },
    ],
    { log },
  );
  if (!k.runTasks()) throw new Error('demo: the threads did not finish');
  k.validate();
  const after = ['vma_lock_success', 'vma_lock_abort', 'vma_lock_retry'].map((e) => k.events.get(e) ?? 0);
  reader.exit(0);
  p.exit(0);
  f.fCount--; // the opener's reference
  k.releaseDeadFiles();
  k.validate();
  const ns = (l: string): string => l.replace(/^(\d+) /, (_m, t: string) => `${t.padStart(9)} ns `);
  return {
    title: `two threads on the scheduler: pid ${p.pid} (CPU ${io.sched.cpu}) and pid ${reader.pid} (CPU ${r.sched.cpu})`,
    text:
      `${log.map(ns).join('\n')}\n` +
      `reader slept ${r.sleeps + r2.sleeps} times; vma_lock_success +${after[0]! - before[0]!}, ` +
      `vma_lock_abort +${after[1]! - before[1]!}, vma_lock_retry +${after[2]! - before[2]!}\n`,
  };
}
