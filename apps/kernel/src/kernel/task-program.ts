/**
 * DOC: tasks run by the machine's scheduler.
 *
 * `task.run(program)` gives a task a program, an array of operations
 * (loads, stores, system calls, fork/thread/exit, and test hooks that hold
 * the mmap write lock or a folio lock across steps), and a machine task
 * (`sched.kthreadRun`) whose step function performs one operation per step
 * on the CPU the scheduler placed it on: the online CPU with the fewest
 * live tasks, lowest id on ties (`select_task_rq`), or the one asked for.
 * `machine.currentCpu` is that CPU during the step, so the MMU loads the
 * task's address space there (its `mm_cpumask` gains the CPU) and a
 * sibling's munmap or mprotect on another CPU sends it a TLB shootdown.
 *
 * An operation that must wait returns `SCHED_SLEEP` and is retried when the
 * task is woken, as the kernel retries a fault that returned
 * VM_FAULT_RETRY:
 * - a system call whose mmap lock is held by another task queues on the
 *   lock's rw-semaphore (write side, or read for the madvise advices that
 *   read-lock); the release hands the lock over and the retried call takes
 *   it (fork takes the parent's lock for writing as `dup_mmap()` does, exit
 *   takes it for reading as `exit_mm()` does);
 * - a load or store whose fault sleeps (the per-VMA lock failed and the mmap
 *   read lock is held by a writer, or a folio lock is held) resumes the
 *   fault where it slept (`Kernel.resumeFault`), then retries the access.
 *
 * `runTasks(k)` runs the scheduler until every program has finished. The
 * synchronous calls keep working for tasks without a running program.
 */

import {
  EAGAIN,
  MmBugError,
  SCHED_AGAIN,
  SCHED_EXIT,
  SCHED_SLEEP,
  type Task as SchedTask,
  TASK_DEAD,
} from '@mm/machine';
import type { File } from '../mm/file.js';
import { madviseNeedsMmapWrite } from '../mm/madvise.js';
import { mmapIsWriteLocked, vmaStartWrite } from '../mm/mm-types.js';
import {
  mmapLockDropGrant,
  mmapLockWait,
  mmapReadLockTask,
  mmapReadUnlock,
  mmapWriteLockTask,
  mmapWriteUnlock,
} from '../mm/mmap-lock.js';
import { findVma } from '../mm/vma.js';
import { VmaIterator } from '../mm/vma-iter.js';
import { doVmiMunmap } from '../mm/vma-munmap.js';
import type { Kernel } from './kernel.js';
import { CLONE_VM, type Task, TaskError } from './task.js';

/** clone() flag `CLONE_THREAD` (include/uapi/linux/sched.h). */
const CLONE_THREAD_ = 0x10000;

/** A load: the token read, or -EFAULT. */
export interface ReadOp {
  /** The operation tag (`'read'`) that selects this shape. */
  readonly op: 'read';
  /** The address. */
  readonly addr: number;
}

/** A store of `token`: 0 or -EFAULT. */
export interface WriteOp {
  /** The operation tag (`'write'`) that selects this shape. */
  readonly op: 'write';
  /** The address. */
  readonly addr: number;
  /** The content token (a positive 31-bit integer). */
  readonly token: number;
}

/** mmap(2): the address or a negative errno. */
export interface MmapOp {
  /** The operation tag (`'mmap'`) that selects this shape. */
  readonly op: 'mmap';
  /** The hint or MAP_FIXED address. */
  readonly addr: number;
  /** Bytes. */
  readonly len: number;
  /** PROT_*. */
  readonly prot: number;
  /** MAP_*. */
  readonly flags: number;
  /** The file mapped (none: anonymous). */
  readonly file?: File;
  /** The file offset in bytes. */
  readonly off?: number;
}

/**
 * munmap(2). With `holdSteps`, a munmap preempted in the middle: its first
 * step takes the mmap write lock and write-locks the VMAs of the range
 * (`vms_gather_munmap_vmas()`), it keeps them for `holdSteps` steps, then
 * unmaps.
 */
export interface MunmapOp {
  /** The operation tag (`'munmap'`) that selects this shape. */
  readonly op: 'munmap';
  /** Start of the range. */
  readonly addr: number;
  /** Bytes. */
  readonly len: number;
  /** Steps to hold the locks between the gather and the unmap (default 0: one step). */
  readonly holdSteps?: number;
}

/** mprotect(2). */
export interface MprotectOp {
  /** The operation tag (`'mprotect'`) that selects this shape. */
  readonly op: 'mprotect';
  /** Start of the range. */
  readonly addr: number;
  /** Bytes. */
  readonly len: number;
  /** PROT_*. */
  readonly prot: number;
}

/** madvise(2). */
export interface MadviseOp {
  /** The operation tag (`'madvise'`) that selects this shape. */
  readonly op: 'madvise';
  /** Start of the range. */
  readonly addr: number;
  /** Bytes. */
  readonly len: number;
  /** MADV_*. */
  readonly advice: number;
}

/** mremap(2). */
export interface MremapOp {
  /** The operation tag (`'mremap'`) that selects this shape. */
  readonly op: 'mremap';
  /** The old address. */
  readonly addr: number;
  /** The old length. */
  readonly oldLen: number;
  /** The new length. */
  readonly newLen: number;
  /** MREMAP_*. */
  readonly flags: number;
  /** The MREMAP_FIXED target. */
  readonly newAddr?: number;
}

/** brk(2). */
export interface BrkOp {
  /** The operation tag (`'brk'`) that selects this shape. */
  readonly op: 'brk';
  /** The new break. */
  readonly addr: number;
}

/** fork(2): the child's pid (the child runs `program`, if given) or a negative errno. */
export interface ForkOp {
  /** The operation tag (`'fork'`) that selects this shape. */
  readonly op: 'fork';
  /** What the child runs. */
  readonly program?: readonly TaskOp[];
}

/** clone(CLONE_VM | CLONE_THREAD): a sibling thread running `program`; its pid. */
export interface ThreadOp {
  /** The operation tag (`'thread'`) that selects this shape. */
  readonly op: 'thread';
  /** What the thread runs. */
  readonly program: readonly TaskOp[];
}

/** exit(2): the program ends. */
export interface ExitOp {
  /** The operation tag (`'exit'`) that selects this shape. */
  readonly op: 'exit';
  /** The exit code (default 0). */
  readonly code?: number;
}

/**
 * An operation without an argument: `yield` computes for a step; the test
 * hooks `mmapWriteLock` and `mmapWriteUnlock` take the mmap write lock and
 * keep it across steps (a system call split into steps), then release it
 * (every VMA write lock of the section with it).
 */
export interface PlainOp {
  /** `yield`, `mmapWriteLock` or `mmapWriteUnlock`. */
  readonly op: 'yield' | 'mmapWriteLock' | 'mmapWriteUnlock';
}

/** Test hook: `vma_start_write()` on the VMA at `addr` (holding the mmap write lock). 0 or -EFAULT. */
export interface VmaStartWriteOp {
  /** The operation tag (`'vmaStartWrite'`) that selects this shape. */
  readonly op: 'vmaStartWrite';
  /** An address in the VMA. */
  readonly addr: number;
}

/**
 * Test hooks on the folio of `file`'s page `index`: `lockFolio` locks it
 * across steps (I/O in progress; sleeps while another task holds it),
 * `unlockFolio` unlocks it and wakes its waiters.
 */
export interface FolioOp {
  /** `lockFolio` or `unlockFolio`. */
  readonly op: 'lockFolio' | 'unlockFolio';
  /** The file. */
  readonly file: File;
  /** The page index. */
  readonly index: number;
}

/** pwrite(2) of one page of `file`. */
export interface PwriteOp {
  /** The operation tag (`'pwrite'`) that selects this shape. */
  readonly op: 'pwrite';
  /** The file. */
  readonly file: File;
  /** The page index. */
  readonly index: number;
  /** The content token. */
  readonly token: number;
}

/** One operation of a task's program. Results: see {@link ProgramRun.results}. */
export type TaskOp =
  | ReadOp
  | WriteOp
  | MmapOp
  | MunmapOp
  | MprotectOp
  | MadviseOp
  | MremapOp
  | BrkOp
  | ForkOp
  | ThreadOp
  | ExitOp
  | PlainOp
  | VmaStartWriteOp
  | FolioOp
  | PwriteOp;

/** Options of {@link runProgram}. */
export interface RunOptions {
  /** Place the task on this CPU (`sched_setaffinity`) instead of the least loaded one. */
  readonly cpu?: number;
  /** Append a line per completed operation and per sleep (time, CPU, task, operation, result). */
  readonly log?: string[];
  /** Called after each completed operation, in the order they complete across every task (children inherit it). */
  readonly onComplete?: (run: ProgramRun, op: TaskOp, result: number) => void;
}

/** A program being run (or run) by the scheduler. */
export interface ProgramRun {
  /** The kernel task. */
  readonly task: Task;
  /** Its operations. */
  readonly program: readonly TaskOp[];
  /** The machine task stepping it. */
  readonly sched: SchedTask;
  /**
   * One result per completed operation, in order: a load's token, an
   * mmap's address, fork's child pid, 0, or a negative errno.
   */
  readonly results: number[];
  /** The CPU of each completed operation. */
  readonly cpus: number[];
  /** Index of the next operation. */
  pc: number;
  /** Steps the current split operation still holds its locks, -1 when none runs. */
  inOp: number;
  /** Steps that slept. */
  sleeps: number;
  /** Whether the program has ended. */
  done: boolean;
  /** Programs started by its fork and thread operations. */
  readonly children: ProgramRun[];
}

interface KernelRuns {
  readonly runs: ProgramRun[];
  live: number;
}

const runsOf = new WeakMap<Kernel, KernelRuns>();

function kernelRuns(k: Kernel): KernelRuns {
  let r = runsOf.get(k);
  if (r === undefined) {
    r = { runs: [], live: 0 };
    runsOf.set(k, r);
  }
  return r;
}

/**
 * The CPU a new task runs on: the online CPU with the fewest live
 * scheduler tasks (runnable or sleeping), the lowest id on ties.
 * @kernel select_task_rq_fair / find_idlest_cpu (kernel/sched/fair.c)
 */
export function selectTaskCpu(k: Kernel): number {
  const m = k.machine;
  const n = m.topology.nrCpus;
  const load = new Array<number>(n).fill(0);
  for (const t of m.sched.tasks) if (!t.idle && t.state !== TASK_DEAD) load[t.cpu]!++;
  let best = -1;
  for (let c = 0; c < n; c++) {
    if (m.cpus.online[c] !== 1) continue;
    if (best < 0 || load[c]! < load[best]!) best = c;
  }
  return Math.max(best, 0);
}

/**
 * Hand `task` to the machine's scheduler with `program`; it runs when the
 * scheduler runs ({@link runTasks}). While it runs, the task cannot be
 * called from the harness.
 * @returns the run, whose `results` fill in as operations complete.
 * @kernel wake_up_new_task (kernel/sched/core.c)
 */
export function runProgram(task: Task, program: readonly TaskOp[], opts: RunOptions = {}): ProgramRun {
  const k = task.kernel;
  if (task.state !== 'running' || task.mm === null) throw new TaskError('ESRCH', `task ${task.pid} has exited`);
  if (task.sched !== null && task.sched.state !== TASK_DEAD) {
    throw new TaskError('EBUSY', `task ${task.pid} already runs a program`);
  }
  const cpu = opts.cpu ?? selectTaskCpu(k);
  const kr = kernelRuns(k);
  let run: ProgramRun | null = null;
  const sched = k.machine.sched.kthreadCreate(`${task.comm}/${task.pid}`, cpu, () => step(run as ProgramRun, opts));
  run = { task, program, sched, results: [], cpus: [], pc: 0, inOp: -1, sleeps: 0, done: false, children: [] };
  task.sched = sched;
  task.cpu = cpu;
  kr.runs.push(run);
  kr.live++;
  k.machine.sched.wakeUpProcess(sched);
  return run;
}

/**
 * Run the scheduler until every program has ended, or until `limitNs`
 * virtual ns from now.
 * @returns true when every program ended (false: some task still sleeps or runs).
 */
export function runTasks(k: Kernel, limitNs = 1_000_000_000): boolean {
  const kr = kernelRuns(k);
  return k.machine.sched.runWhile(() => kr.live > 0, k.machine.clock.now + limitNs);
}

/** Every program run on `k`, in the order they started. */
export function programRuns(k: Kernel): readonly ProgramRun[] {
  return kernelRuns(k).runs;
}

function opText(op: TaskOp): string {
  const parts: string[] = [];
  for (const [key, v] of Object.entries(op)) {
    if (key === 'op' || key === 'program') continue;
    if (typeof v === 'number') parts.push(key === 'token' || key === 'index' ? String(v) : `0x${v.toString(16)}`);
    else if (v !== null && typeof v === 'object' && 'path' in v) parts.push(String((v as File).path));
  }
  return `${op.op}(${parts.join(', ')})`;
}

function finish(run: ProgramRun): number {
  run.done = true;
  kernelRuns(run.task.kernel).live--;
  return SCHED_EXIT;
}

function step(run: ProgramRun, opts: RunOptions): number {
  const t = run.task;
  if (t.state !== 'running' || run.pc >= run.program.length) return finish(run);
  const op = run.program[run.pc]!;
  const m = t.kernel.machine;
  const r = execOp(run, op, opts);
  const cpu = m.currentCpu;
  if (r === null) {
    run.sleeps++;
    opts.log?.push(`${m.clock.now} cpu${cpu} ${t.comm}[${t.pid}] ${opText(op)} sleeps`);
    return SCHED_SLEEP;
  }
  if (r !== null && Number.isNaN(r)) {
    opts.log?.push(`${m.clock.now} cpu${cpu} ${t.comm}[${t.pid}] ${opText(op)} holds mmap_lock`);
    return SCHED_AGAIN;
  }
  run.results.push(r);
  run.cpus.push(cpu);
  run.pc++;
  opts.log?.push(`${m.clock.now} cpu${cpu} ${t.comm}[${t.pid}] ${opText(op)} = ${r}`);
  opts.onComplete?.(run, op, r);
  if (t.state !== 'running' || run.pc >= run.program.length) return finish(run);
  return SCHED_AGAIN;
}

/** A system call that takes the mmap lock itself: wait for the lock first (null: the task sleeps). */
function lockedCall(t: Task, read: boolean, call: () => number): number | null {
  const mm = t.mm;
  if (mm === null) throw new TaskError('ESRCH', `task ${t.pid} has exited`);
  if (!mmapLockWait(mm, read)) return null;
  const r = call();
  mmapLockDropGrant(mm); // the call failed before taking a lock handed over to it
  return r;
}

function startChild(run: ProgramRun, child: Task, program: readonly TaskOp[] | undefined, opts: RunOptions): void {
  if (program === undefined) return;
  const { cpu: _cpu, ...inherited } = opts;
  run.children.push(runProgram(child, program, inherited));
}

/** A step of a split operation that has not finished. */
const IN_PROGRESS = Number.NaN;

/**
 * A munmap in steps: gather (lock and write-lock the VMAs), hold, unmap.
 * @kernel do_vmi_align_munmap (mm/vma.c)
 */
function splitMunmap(run: ProgramRun, addr: number, len: number, hold: number): number | null {
  const t = run.task;
  const mm = t.mm as NonNullable<Task['mm']>;
  if (run.inOp < 0) {
    if (!Number.isInteger(hold) || hold < 0) throw new TaskError('EINVAL', `holdSteps ${hold} is not a step count`);
    if (!mmapWriteLockTask(mm)) return null;
    for (let v = findVma(mm, addr); v !== null && v.vmStart < addr + len; v = findVma(mm, v.vmEnd)) vmaStartWrite(v);
    run.inOp = hold;
    return IN_PROGRESS;
  }
  if (run.inOp > 0) {
    run.inOp--;
    return IN_PROGRESS;
  }
  run.inOp = -1;
  const r = doVmiMunmap(new VmaIterator(mm, addr), mm, addr, len, true);
  if (r !== 0) mmapWriteUnlock(mm);
  t.kernel.releaseDeadFiles();
  return r;
}

/**
 * Perform one operation; null when the task went to sleep (the step is
 * retried when woken), {@link IN_PROGRESS} when a split operation goes on.
 */
function execOp(run: ProgramRun, op: TaskOp, opts: RunOptions): number | null {
  const t = run.task;
  const k = t.kernel;
  switch (op.op) {
    case 'read': {
      const v = t.read(op.addr);
      return v === -EAGAIN ? null : v;
    }
    case 'write': {
      const v = t.write(op.addr, op.token);
      return v === -EAGAIN ? null : v;
    }
    case 'mmap':
      return lockedCall(t, false, () => t.mmap(op.addr, op.len, op.prot, op.flags, op.file ?? null, op.off ?? 0));
    case 'munmap':
      if ((op.holdSteps ?? 0) > 0) return splitMunmap(run, op.addr, op.len, op.holdSteps ?? 0);
      return lockedCall(t, false, () => t.munmap(op.addr, op.len));
    case 'mprotect':
      return lockedCall(t, false, () => t.mprotect(op.addr, op.len, op.prot));
    case 'madvise':
      return lockedCall(t, !madviseNeedsMmapWrite(op.advice), () => t.madvise(op.addr, op.len, op.advice));
    case 'mremap':
      return lockedCall(t, false, () => t.mremap(op.addr, op.oldLen, op.newLen, op.flags, op.newAddr ?? 0));
    case 'brk':
      return lockedCall(t, false, () => t.brk(op.addr));
    case 'fork': {
      // dup_mmap() holds the parent's mmap lock for writing
      const mm = t.mm as NonNullable<Task['mm']>;
      if (!mmapWriteLockTask(mm)) return null;
      const c = t.fork();
      mmapWriteUnlock(mm);
      if (typeof c === 'number') return c;
      startChild(run, c, op.program, opts);
      return c.pid;
    }
    case 'thread': {
      const c = t.clone(CLONE_VM | CLONE_THREAD_);
      if (typeof c === 'number') return c;
      startChild(run, c, op.program, opts);
      return c.pid;
    }
    case 'exit': {
      // exit_mm() takes the mmap lock for reading
      const mm = t.mm as NonNullable<Task['mm']>;
      if (!mmapReadLockTask(mm)) return null;
      mmapReadUnlock(mm);
      t.exit(op.code ?? 0);
      return 0;
    }
    case 'yield':
      return 0;
    case 'mmapWriteLock':
      return mmapWriteLockTask(t.mm as NonNullable<Task['mm']>) ? 0 : null;
    case 'vmaStartWrite': {
      const mm = t.mm as NonNullable<Task['mm']>;
      if (!mmapIsWriteLocked(mm) || mm.mmapLock.writerPid !== run.sched.pid) {
        throw new MmBugError(`task ${t.pid}: vma_start_write without the mmap write lock`);
      }
      const vma = findVma(mm, op.addr);
      if (vma === null || vma.vmStart > op.addr) return -14;
      vmaStartWrite(vma);
      return 0;
    }
    case 'mmapWriteUnlock':
      mmapWriteUnlock(t.mm as NonNullable<Task['mm']>);
      return 0;
    case 'lockFolio':
      return k.lockFilePage(op.file, op.index) ? 0 : null;
    case 'unlockFolio':
      k.unlockFilePage(op.file, op.index);
      return 0;
    case 'pwrite':
      k.writeFile(op.file, op.index, op.token);
      return 0;
  }
}
