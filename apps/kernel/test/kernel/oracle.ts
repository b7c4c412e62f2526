/**
 * DOC: the content-token oracle of the composed-kernel property tests.
 *
 * Each address space (shared by a process's threads) is a map from page
 * address to what that page must hold: its protection and either a private
 * token or a slot of a shared object (a shared anonymous mapping; the slot
 * holds the token every sharer sees). Operations are chosen relative to the
 * current state (which process, which mapped range) from random integers, and
 * each one is applied to the kernel and to the oracle; the kernel's answer
 * must be what the oracle predicts, and `kernel.validate()` must pass.
 */
import {
  CLONE_THREAD,
  CLONE_VM,
  type Kernel,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_KEEPONFORK,
  MADV_WIPEONFORK,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_MAYMOVE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  Task,
} from '../../src/index.js';

const PAGE = 4096;
const EFAULT = -14;

/** A shared object (a shmem file): offset → token. */
export interface Shared {
  readonly id: number;
  readonly tokens: Map<number, number>;
}

/** What one page must hold. */
export interface PageState {
  prot: number;
  /** Private token (when `shared` is null). */
  token: number;
  shared: Shared | null;
  /** Offset in the shared object. */
  off: number;
  /** MADV_DONTFORK (VM_DONTCOPY): not in a fork child. */
  dontfork?: boolean;
  /** MADV_WIPEONFORK: empty in a fork child. */
  wipe?: boolean;
}

/** One address space of the oracle. */
export type Space = Map<number, PageState>;

/** A random step: `kind` picks the operation, the rest pick its arguments. */
export interface Op {
  readonly kind: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The model under test and its oracle. */
export class World {
  readonly k: Kernel;
  readonly tasks: Task[];
  readonly spaces: Map<Task, Space>;
  private nextToken: number;
  private nextShared: number;
  log: string[];

  constructor(k: Kernel) {
    this.k = k;
    const t = k.spawn({ name: 'init' });
    if (!(t instanceof Task)) throw new Error('spawn failed');
    this.tasks = [t];
    this.spaces = new Map([[t, new Map()]]);
    this.nextToken = 1;
    this.nextShared = 1;
    this.log = [];
  }

  private expect(cond: boolean, msg: string): void {
    if (!cond) throw new Error(`${msg}\n${this.log.slice(-30).join('\n')}`);
  }

  private tokenOf(p: PageState): number {
    return p.shared === null ? p.token : (p.shared.tokens.get(p.off) ?? 0);
  }

  /** A run of mapped pages in `s` starting at a page chosen by `x`, of up to `max` pages. */
  private mappedRun(s: Space, x: number, max: number): [number, number] | null {
    if (s.size === 0) return null;
    const keys = [...s.keys()].sort((p, q) => p - q);
    const start = keys[x % keys.length]!;
    let n = 1;
    while (n < max && s.has(start + n * PAGE)) n++;
    return [start, n];
  }

  step(op: Op): void {
    const ti = op.a % this.tasks.length;
    const t = this.tasks[ti]!;
    const s = this.spaces.get(t)!;
    switch (op.kind % 12) {
      case 0:
      case 1: {
        // mmap anonymous
        const pages = 1 + (op.b % 24);
        const shared = op.c % 5 === 0;
        const prot = op.c % 7 === 1 ? PROT_READ : PROT_READ | PROT_WRITE;
        const r = t.mmap(0, pages * PAGE, prot, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS);
        this.log.push(`${t.pid} mmap ${pages} ${shared ? 'shared' : 'private'} prot ${prot} -> ${r.toString(16)}`);
        this.expect(r > 0, `mmap failed: ${r}`);
        const obj = shared ? { id: this.nextShared++, tokens: new Map<number, number>() } : null;
        for (let i = 0; i < pages; i++) {
          this.expect(!s.has(r + i * PAGE), `mmap returned a mapped page ${(r + i * PAGE).toString(16)}`);
          s.set(r + i * PAGE, { prot, token: 0, shared: obj, off: i });
        }
        break;
      }
      case 2: {
        // munmap a run
        const run = this.mappedRun(s, op.b, 1 + (op.c % 8));
        if (run === null) break;
        const r = t.munmap(run[0], run[1] * PAGE);
        this.log.push(`${t.pid} munmap ${run[0].toString(16)} ${run[1]} -> ${r}`);
        this.expect(r === 0, `munmap failed: ${r}`);
        for (let i = 0; i < run[1]; i++) s.delete(run[0] + i * PAGE);
        break;
      }
      case 3: {
        // mprotect a run
        const run = this.mappedRun(s, op.b, 1 + (op.c % 8));
        if (run === null) break;
        const prot = [PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE][op.c % 3]!;
        const r = t.mprotect(run[0], run[1] * PAGE, prot);
        this.log.push(`${t.pid} mprotect ${run[0].toString(16)} ${run[1]} ${prot} -> ${r}`);
        if (r === 0) for (let i = 0; i < run[1]; i++) s.get(run[0] + i * PAGE)!.prot = prot;
        else this.expect(r === -13 || r === -12, `mprotect: unexpected ${r}`); // EACCES: a read-only shared mapping
        break;
      }
      case 4: {
        // mremap a private run (move or resize)
        const run = this.mappedRun(s, op.b, 1 + (op.c % 8));
        if (run === null) break;
        for (let i = 0; i < run[1]; i++) if (s.get(run[0] + i * PAGE)!.shared !== null) return;
        const newPages = 1 + (op.c % 12);
        const r = t.mremap(run[0], run[1] * PAGE, newPages * PAGE, MREMAP_MAYMOVE);
        this.log.push(`${t.pid} mremap ${run[0].toString(16)} ${run[1]} -> ${newPages}: ${r < 0 ? r : r.toString(16)}`);
        if (r < 0) {
          this.expect(r === EFAULT || r === -12, `mremap: unexpected ${r}`);
          break;
        }
        const moved: PageState[] = [];
        for (let i = 0; i < run[1]; i++) {
          moved.push(s.get(run[0] + i * PAGE)!);
          s.delete(run[0] + i * PAGE);
        }
        const lastProt = moved[moved.length - 1]!.prot;
        for (let i = 0; i < newPages; i++) {
          const last = moved[moved.length - 1]!;
          const p =
            i < moved.length
              ? moved[i]!
              : {
                  prot: lastProt,
                  token: 0,
                  shared: null,
                  off: 0,
                  dontfork: last.dontfork === true,
                  wipe: last.wipe === true,
                };
          this.expect(!s.has(r + i * PAGE), `mremap target page ${(r + i * PAGE).toString(16)} was mapped`);
          s.set(r + i * PAGE, p);
        }
        break;
      }
      case 5: {
        // MADV_DONTNEED
        const run = this.mappedRun(s, op.b, 1 + (op.c % 8));
        if (run === null) break;
        const r = t.madvise(run[0], run[1] * PAGE, MADV_DONTNEED);
        this.log.push(`${t.pid} madvise DONTNEED ${run[0].toString(16)} ${run[1]} -> ${r}`);
        this.expect(r === 0, `madvise failed: ${r}`);
        for (let i = 0; i < run[1]; i++) {
          const p = s.get(run[0] + i * PAGE)!;
          if (p.shared === null) p.token = 0;
        }
        break;
      }
      case 6:
      case 7: {
        // write
        const run = this.mappedRun(s, op.b, 1);
        if (run === null) break;
        const p = s.get(run[0])!;
        const tok = this.nextToken++;
        const r = t.write(run[0] + (op.c % PAGE), tok);
        this.log.push(`${t.pid} write ${run[0].toString(16)} ${tok} -> ${r}`);
        if ((p.prot & PROT_WRITE) === 0) {
          this.expect(r === EFAULT && t.lastFault?.signal === 'SIGSEGV', `write to read-only page: ${r}`);
          break;
        }
        this.expect(r === 0, `write failed: ${r} ${JSON.stringify(t.lastFault)}`);
        if (p.shared === null) p.token = tok;
        else p.shared.tokens.set(p.off, tok);
        break;
      }
      case 8: {
        // read, mapped or not
        const run = this.mappedRun(s, op.b, 1);
        const addr = run === null || op.c % 9 === 0 ? 0x10000 * (1 + (op.c % 100)) : run[0];
        const p = s.get(addr);
        const r = t.read(addr);
        this.log.push(`${t.pid} read ${addr.toString(16)} -> ${r}`);
        if (p === undefined) {
          // an unmapped page of the oracle may still be the program's own (text, stack...): only check ours
          break;
        }
        if ((p.prot & PROT_READ) === 0) this.expect(r === EFAULT, `read of PROT_NONE: ${r}`);
        else this.expect(r === this.tokenOf(p), `read ${addr.toString(16)}: ${r}, expected ${this.tokenOf(p)}`);
        break;
      }
      case 9: {
        // fork or thread
        if (this.tasks.length >= 8) break;
        const thread = op.b % 4 === 0;
        const c = t.clone(thread ? CLONE_VM | CLONE_THREAD : 0);
        this.log.push(`${t.pid} ${thread ? 'thread' : 'fork'} -> ${c instanceof Task ? c.pid : c}`);
        this.expect(c instanceof Task, `clone failed: ${c}`);
        const child = c as Task;
        this.tasks.push(child);
        if (thread) this.spaces.set(child, s);
        else {
          const copy: Space = new Map();
          for (const [addr, p] of s) {
            if (p.dontfork === true) continue;
            copy.set(addr, p.wipe === true ? { ...p, token: 0 } : { ...p });
          }
          this.spaces.set(child, copy);
        }
        break;
      }
      case 11: {
        // fork advice
        const run = this.mappedRun(s, op.b, 1 + (op.c % 8));
        if (run === null) break;
        const advice = [MADV_DONTFORK, MADV_DOFORK, MADV_WIPEONFORK, MADV_KEEPONFORK][op.c % 4]!;
        const r = t.madvise(run[0], run[1] * PAGE, advice);
        this.log.push(`${t.pid} madvise ${advice} ${run[0].toString(16)} ${run[1]} -> ${r}`);
        const anyShared = [...Array(run[1]).keys()].some((i) => s.get(run[0] + i * PAGE)!.shared !== null);
        if (advice === MADV_WIPEONFORK && anyShared) {
          this.expect(r === -22, `WIPEONFORK on a shared mapping: ${r}`);
          break;
        }
        this.expect(r === 0, `madvise failed: ${r}`);
        for (let i = 0; i < run[1]; i++) {
          const p = s.get(run[0] + i * PAGE)!;
          if (advice === MADV_DONTFORK) p.dontfork = true;
          if (advice === MADV_DOFORK) p.dontfork = false;
          if (advice === MADV_WIPEONFORK) p.wipe = true;
          if (advice === MADV_KEEPONFORK) p.wipe = false;
        }
        break;
      }
      case 10: {
        // exit (keep one task)
        if (this.tasks.length <= 1) break;
        t.exit(0);
        this.log.push(`${t.pid} exit`);
        this.tasks.splice(ti, 1);
        this.spaces.delete(t);
        for (const o of this.tasks) while (o.wait() !== null);
        break;
      }
    }
  }

  /** Read every oracle page of every task and compare. */
  checkAll(): void {
    for (const t of this.tasks) {
      const s = this.spaces.get(t)!;
      for (const [addr, p] of s) {
        if ((p.prot & PROT_READ) === 0) continue;
        const r = t.read(addr);
        this.expect(r === this.tokenOf(p), `pid ${t.pid} ${addr.toString(16)}: ${r}, expected ${this.tokenOf(p)}`);
      }
    }
  }

  /** Exit everything. */
  finish(): void {
    for (const t of [...this.tasks].reverse()) t.exit(0);
    this.tasks.length = 0;
  }
}
