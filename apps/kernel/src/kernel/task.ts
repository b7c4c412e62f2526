/**
 * DOC: tasks: processes and threads of the composed kernel.
 *
 * A task has a `task_struct` slab object, a CPU (round robin over the
 * online CPUs for calls from the harness, so threads of one process run on
 * different CPUs and an unmap costs real TLB shootdowns), and an address
 * space it shares with its threads. `run(program)` hands the task to the
 * machine's scheduler (see task-program.ts): a machine task then steps
 * through the program on the CPU the scheduler placed it on, and its
 * faults and mmap-lock acquisitions may sleep. `spawn` execs a program into a fresh
 * address space with the standard layout; `clone` without CLONE_VM forks
 * (`dup_mmap`), with CLONE_VM makes a thread; `exit` drops the mm (the last
 * user runs `exit_mmap`), `wait` reaps a zombie child.
 *
 * Memory access goes through the machine's MMU: `read`, `write` and `exec`
 * call `mmu.access()` on the task's CPU, which walks the architecture's
 * page tables on a TLB miss and calls the kernel's fault handler on a
 * fault, then retries.
 */
import {
  EAGAIN,
  EFAULT,
  ENOMEM,
  GFP_KERNEL,
  MMU_EXEC,
  MMU_READ,
  MMU_USER,
  MMU_WRITE,
  MmBugError,
  type Task as SchedTask,
  TASK_DEAD,
} from '@mm/machine';
import { kmemCacheAlloc, kmemCacheFree } from '@mm/slab-sheaves';
import { createTmpfsFile, type File } from '../mm/file.js';
import { sysMadvise } from '../mm/madvise.js';
import { sysMlock, sysMunlock } from '../mm/mlock.js';
import type { MmStruct } from '../mm/mm-types.js';
import { sysBrk, sysMmap } from '../mm/mmap.js';
import { type ExecLayout, setupExecLayout } from '../mm/mmap-layout.js';
import { sysMprotect } from '../mm/mprotect.js';
import { sysMremap } from '../mm/mremap.js';
import { vmMunmap } from '../mm/vma-munmap.js';
import { makeDeviceExclusive, pinUserPage, uffdRegisterWp, uffdWriteprotect, unpinUserPage } from './extras.js';
import { dupMmap, exitMmap } from './fork.js';
import { FAULT_SLEPT, type Kernel, type MemFault } from './kernel.js';
import { type ProgramRun, type RunOptions, runProgram, type TaskOp } from './task-program.js';

/** `clone()` flags. */
export const CLONE_VM = 0x100;
/** clone() flag `CLONE_FILES` (include/uapi/linux/sched.h). */
export const CLONE_FILES = 0x400;
/** clone() flag `CLONE_THREAD` (include/uapi/linux/sched.h). */
export const CLONE_THREAD = 0x10000;

/** What {@link spawn} execs. */
export interface SpawnOptions {
  /** Program name (its file is `/usr/bin/NAME`). */
  readonly name?: string;
  /** Text segment size in bytes (default 16 KiB). */
  readonly textBytes?: number;
  /** Data segment size in bytes (default 8 KiB). */
  readonly dataBytes?: number;
  /** Bss size in bytes (default 4 KiB). */
  readonly bssBytes?: number;
  /** Initial heap (brk) bytes. */
  readonly heapBytes?: number;
}

/** What {@link Task.wait} reaped. */
export interface WaitResult {
  /** The child's pid. */
  readonly pid: number;
  /** Its exit code. */
  readonly code: number;
}

/** Where a task is in its life: running, exited but not yet reaped (zombie), or reaped (dead). */
export type TaskState = 'running' | 'zombie' | 'dead';

/** A process or thread: its address space, CPU and exit state. @kernel struct task_struct (include/linux/sched.h) */
export class Task {
  /** The kernel this task runs in. */
  readonly kernel: Kernel;
  /** Task id, unique in the kernel; mirrors `task_struct::pid`. */
  readonly pid: number;
  /** Thread group id (the process's pid). */
  readonly tgid: number;
  /** Executable name, as /proc/PID/comm shows it; mirrors `task_struct::comm`. */
  readonly comm: string;
  /** The address space (null after exit). */
  mm: MmStruct | null;
  /** The CPU it runs on. */
  cpu: number;
  /** The task that reaps this one, or null for the first task; mirrors `task_struct::parent`. */
  parent: Task | null;
  /** Tasks this one created and has not reaped yet; mirrors the `task_struct::children` list. */
  readonly children: Task[];
  /** Lifecycle: running until exit, zombie until its parent waits, then dead. */
  state: TaskState;
  /** The code passed to exit, handed to the parent by wait; mirrors `task_struct::exit_code`. */
  exitCode: number;
  /** Why the last failed access failed. */
  lastFault: MemFault | null;
  /** Where exec put things. */
  layout: ExecLayout | null;
  /** The `task_struct` and `files_struct` slab objects. */
  readonly obj: number;
  /** The task's own `files_struct` slab object, or -1 when it has none (a CLONE_FILES child, or after exit). */
  filesObj: number;
  /** The machine task running this task's program (null when the harness drives it). */
  sched: SchedTask | null;

  constructor(kernel: Kernel, pid: number, tgid: number, comm: string, mm: MmStruct | null, obj: number) {
    this.kernel = kernel;
    this.pid = pid;
    this.tgid = tgid;
    this.comm = comm;
    this.mm = mm;
    this.cpu = kernel.pickCpu();
    this.parent = null;
    this.children = [];
    this.state = 'running';
    this.exitCode = 0;
    this.lastFault = null;
    this.layout = null;
    this.obj = obj;
    this.filesObj = -1;
    this.sched = null;
  }

  private live(): MmStruct {
    if (this.mm === null || this.state !== 'running') throw new TaskError('ESRCH', `task ${this.pid} has exited`);
    const m = this.kernel.machine;
    const s = this.sched;
    if (s !== null && m.sched.current(m.currentCpu) === s)
      this.cpu = s.cpu; // in its step: where the scheduler runs it
    else if (s !== null && s.state !== TASK_DEAD) {
      throw new TaskError('EBUSY', `task ${this.pid} runs a program on the scheduler; call it from its steps`);
    }
    m.currentCpu = this.cpu;
    return this.mm;
  }

  private access(addr: number, kind: number): number {
    const mm = this.live();
    const k = this.kernel;
    k.lastFault = null;
    const s = this.sched;
    if (s !== null && k.faultPending(s)) {
      // the fault this task slept in continues where it slept
      const r = k.resumeFault();
      if (r === FAULT_SLEPT) return -EAGAIN;
      if (r !== 0) {
        this.lastFault = k.lastFault;
        return -EFAULT;
      }
    }
    const pfn = k.machine.mmu.access(this.cpu, (mm.pgt as NonNullable<MmStruct['pgt']>).as, addr, kind | MMU_USER);
    if (pfn === -EAGAIN) {
      if (s === null) throw new MmBugError(`task ${this.pid}: a fault slept outside a scheduled step`);
      return -EAGAIN;
    }
    if (pfn < 0) {
      this.lastFault = k.lastFault ?? { signal: 'SIGSEGV', code: 'SEGV_MAPERR', addr, reason: 'fault not resolved' };
      return pfn === -ENOMEM ? -ENOMEM : -EFAULT;
    }
    return pfn;
  }

  /**
   * Load from `addr`: the token of the page's last store (0 for a page never written, or the zero page).
   * @returns the token (≥ 0), or -EFAULT with {@link lastFault} saying why (SIGSEGV, SIGBUS, ...);
   *   inside a step of its program, -EAGAIN when the fault went to sleep (the step returns
   *   `SCHED_SLEEP` and calls again when woken: the fault resumes).
   */
  read(addr: number): number {
    const pfn = this.access(addr, MMU_READ);
    return pfn < 0 ? pfn : this.kernel.token(pfn);
  }

  /**
   * Store `token` (a positive 31-bit integer) at `addr`.
   * @returns 0, -EFAULT with {@link lastFault} set, or -EAGAIN as for {@link read}.
   */
  write(addr: number, token: number): number {
    if (!(Number.isInteger(token) && token > 0 && token <= 0x7fffffff)) {
      throw new TaskError('EINVAL', `token ${token} is not an integer in [1, 2^31)`);
    }
    const pfn = this.access(addr, MMU_WRITE);
    if (pfn < 0) return pfn;
    this.kernel.setToken(pfn, token);
    return 0;
  }

  /** Fetch an instruction at `addr`: the token, or -EFAULT. */
  exec(addr: number): number {
    const pfn = this.access(addr, MMU_EXEC);
    return pfn < 0 ? pfn : this.kernel.token(pfn);
  }

  /** Store `token` in every page of `[addr, addr + len)`. @returns 0 or the first error. */
  writeRange(addr: number, len: number, token: number): number {
    const ps = this.kernel.pageSize;
    for (let a = addr - (addr % ps); a < addr + len; a += ps) {
      const r = this.write(a, token);
      if (r < 0) return r;
    }
    return 0;
  }

  /** The tokens of every page of `[addr, addr + len)` (negative entries are errors). */
  readRange(addr: number, len: number): number[] {
    const ps = this.kernel.pageSize;
    const out: number[] = [];
    for (let a = addr - (addr % ps); a < addr + len; a += ps) out.push(this.read(a));
    return out;
  }

  /** mmap(2); the mapped address or a negative errno. @kernel sys_mmap (arch/x86/kernel/sys_x86_64.c) */
  mmap(addr: number, len: number, prot: number, flags: number, file: File | null = null, off = 0): number {
    return sysMmap(this.live(), addr, len, prot, flags, file, off);
  }
  /** munmap(2); 0 or a negative errno. @kernel sys_munmap (mm/mmap.c) */
  munmap(addr: number, len: number): number {
    const r = vmMunmap(this.live(), addr, len);
    this.kernel.releaseDeadFiles();
    return r;
  }
  /** mprotect(2); 0 or a negative errno. @kernel sys_mprotect (mm/mprotect.c) */
  mprotect(addr: number, len: number, prot: number): number {
    return sysMprotect(this.live(), addr, len, prot);
  }
  /** mremap(2); the new address or a negative errno. @kernel sys_mremap (mm/mremap.c) */
  mremap(addr: number, oldLen: number, newLen: number, flags: number, newAddr = 0): number {
    return sysMremap(this.live(), addr, oldLen, newLen, flags, newAddr);
  }
  /** madvise(2); 0 or a negative errno. @kernel sys_madvise (mm/madvise.c) */
  madvise(addr: number, len: number, advice: number): number {
    return sysMadvise(this.live(), addr, len, advice);
  }
  /** brk(2); the new (or unchanged) break. @kernel sys_brk (mm/mmap.c) */
  brk(addr: number): number {
    return sysBrk(this.live(), addr);
  }
  /** mlock(2); 0 or a negative errno. @kernel sys_mlock (mm/mlock.c) */
  mlock(addr: number, len: number): number {
    return sysMlock(this.live(), addr, len);
  }
  /** munlock(2); 0 or a negative errno. @kernel sys_munlock (mm/mlock.c) */
  munlock(addr: number, len: number): number {
    return sysMunlock(this.live(), addr, len);
  }

  /**
   * Break CoW sharing of the page at `addr` for a read-only pin (GUP with
   * FOLL_PIN of a shared anonymous page): FAULT_FLAG_UNSHARE.
   * @returns 0 or -EFAULT.
   * @kernel gup_must_unshare + handle_mm_fault(FAULT_FLAG_UNSHARE) (mm/gup.c, mm/memory.c)
   */
  unshare(addr: number): number {
    const mm = this.live();
    return this.kernel.unshareAddr(mm, addr);
  }

  /** Pin the page at `addr` for DMA (FOLL_PIN | FOLL_LONGTERM). @returns the PFN or -EFAULT. @kernel pin_user_pages (mm/gup.c) */
  pin(addr: number): number {
    return pinUserPage(this.kernel, this.live(), addr);
  }
  /** Drop a pin of page `pfn`. @kernel unpin_user_page (mm/gup.c) */
  unpin(pfn: number): void {
    unpinUserPage(this.kernel, pfn);
  }
  /** Make the page at `addr` device-exclusive. @returns 0 or a negative errno. @kernel make_device_exclusive (mm/rmap.c) */
  makeDeviceExclusive(addr: number): number {
    return makeDeviceExclusive(this.kernel, this.live(), addr);
  }
  /** UFFDIO_REGISTER (MODE_WP) of whole VMAs. @returns 0 or -EINVAL. @kernel userfaultfd_register (fs/userfaultfd.c) */
  uffdRegisterWp(addr: number, len: number, wpUnpopulated = false): number {
    return uffdRegisterWp(this.kernel, this.live(), addr, len, wpUnpopulated);
  }
  /** UFFDIO_WRITEPROTECT. @returns 0 or a negative errno. @kernel mwriteprotect_range (mm/userfaultfd.c) */
  uffdWriteprotect(addr: number, len: number, wp: boolean): number {
    return uffdWriteprotect(this.kernel, this.live(), addr, len, wp);
  }

  /**
   * Hand the task to the machine's scheduler with `program` (one operation
   * per step, on the CPU the scheduler placed it on; faults and mmap-lock
   * acquisitions may sleep). Run it with `kernel.runTasks()`.
   * @kernel wake_up_new_task (kernel/sched/core.c)
   */
  run(program: readonly TaskOp[], opts: RunOptions = {}): ProgramRun {
    return runProgram(this, program, opts);
  }

  /** fork(): a child process with a copy of this address space. @returns the child, or a negative errno. */
  fork(): Task | number {
    return this.clone(0);
  }

  /**
   * Create a child task; `flags` (CLONE_VM, ...) decide whether it shares or copies this task's address space.
   * @returns the new task, or a negative errno (-ENOMEM with nothing leaked).
   * @kernel kernel_clone / copy_process / copy_mm (kernel/fork.c)
   */
  clone(flags: number): Task | number {
    const mm = this.live();
    return this.kernel.cloneTask(this, mm, flags);
  }

  /** exit(code): drop the address space; the task stays a zombie until its parent waits. @kernel do_exit (kernel/exit.c) */
  exit(code = 0): void {
    this.live();
    this.kernel.exitTask(this, code);
    this.kernel.releaseDeadFiles();
  }

  /**
   * Reap one exited child.
   * @returns its pid and exit code, or null when no child has exited.
   * @kernel do_wait (kernel/exit.c)
   */
  wait(): WaitResult | null {
    for (let i = 0; i < this.children.length; i++) {
      const c = this.children[i]!;
      if (c.state !== 'zombie') continue;
      this.children.splice(i, 1);
      this.kernel.reapTask(c);
      return { pid: c.pid, code: c.exitCode };
    }
    return null;
  }
}

/** A misuse of the task API. */
export class TaskError extends Error {
  /** The errno name of the misuse (`ESRCH`, `EINVAL`). */
  readonly code: string;
  constructor(code: string, message: string) {
    super(`task: ${message}`);
    this.code = code;
  }
}

/**
 * The task side of the kernel: pids, the scheduler's CPU placement, clone,
 * exit and wait. Mixed into {@link Kernel} by `installTasks`.
 */
export class TaskTable {
  /** Every task not yet reaped, by pid. */
  readonly tasks: Map<number, Task>;
  /** The pid the next new task gets (pids count up from 1 and are not reused). */
  nextPid: number;
  private nextCpu: number;

  constructor() {
    this.tasks = new Map();
    this.nextPid = 1;
    this.nextCpu = 0;
  }

  /** The next CPU in round-robin order over online CPUs. */
  pickCpu(k: Kernel): number {
    const n = k.machine.topology.nrCpus;
    for (let i = 0; i < n; i++) {
      const c = (this.nextCpu + i) % n;
      if (k.machine.cpus.online[c] === 1) {
        this.nextCpu = (c + 1) % n;
        return c;
      }
    }
    return 0;
  }
}

/**
 * Start a process running a freshly exec'd program.
 * @returns the task, or a negative errno.
 * @kernel kernel_clone + do_execve (kernel/fork.c, fs/exec.c)
 */
export function spawn(k: Kernel, opts: SpawnOptions = {}): Task | number {
  const name = opts.name ?? 'init';
  const obj = kmemCacheAlloc(k.caches.taskStruct, GFP_KERNEL);
  if (obj < 0) return -ENOMEM;
  const pid = k.tasks.nextPid++;
  const mm = k.mmAlloc(pid);
  if (mm === null) {
    kmemCacheFree(k.caches.taskStruct, obj);
    return -ENOMEM;
  }
  const exe = createTmpfsFile(k.ctx, `/usr/bin/${name}`, (opts.textBytes ?? 0x4000) + (opts.dataBytes ?? 0x2000));
  const layout = setupExecLayout(mm, {
    exe,
    textBytes: opts.textBytes ?? 0x4000,
    dataBytes: opts.dataBytes ?? 0x2000,
    bssBytes: opts.bssBytes ?? 0x1000,
    heapBytes: opts.heapBytes ?? 0,
  });
  exe.fCount--; // the opener's reference: the mappings hold theirs
  const t = new Task(k, pid, pid, name, mm, obj);
  t.layout = layout;
  t.filesObj = kmemCacheAlloc(k.caches.files, GFP_KERNEL);
  k.tasks.tasks.set(pid, t);
  return t;
}

export { dupMmap, exitMmap };
