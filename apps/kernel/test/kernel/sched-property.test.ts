/**
 * Property test of tasks run by the machine's scheduler: random programs
 * for 2 to 4 threads of one process (and the children their forks start)
 * over a private anonymous region and a shared file mapping: loads, stores,
 * munmap (some preempted while they hold the mmap lock), MAP_FIXED mmap,
 * mprotect, MADV_DONTNEED, fork, pwrite, and
 * sections that hold the mmap write lock (with a VMA write-locked) or a
 * folio lock across steps. The scheduler interleaves them on 4 CPUs; every
 * operation's result, in the order the operations complete, must be what a
 * content-token oracle predicts, and `kernel.validate()` must pass before
 * every scheduler event and step. At the end every page reads the oracle's
 * token, every task exits and only the file's page cache is left.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLONE_THREAD,
  CLONE_VM,
  createKernel,
  type File,
  MADV_DONTNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  type MmStruct,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  type ProgramRun,
  type Task,
  type TaskOp,
} from '../../src/index.js';
import { fuzzRuns } from '../fuzz.js';

const PAGE = 4096;
const NP = 12; // pages of the anonymous region
const NF = 4; // pages of the file
const EFAULT = -14;
const ENOMEM = -12;

interface RawOp {
  readonly kind: number;
  readonly a: number;
  readonly b: number;
}

/** One address space's anonymous region: page → protection and token (absent: unmapped). */
type Region = Map<number, { prot: number; token: number }>;

interface Layout {
  readonly anon: number;
  readonly fileAddr: number;
  readonly file: File;
}

let nextToken = 1;

/** Decode raw operations into a program (fork bodies one level deep). */
function decode(raw: readonly RawOp[], l: Layout, depth: number): TaskOp[] {
  const out: TaskOp[] = [];
  for (const r of raw) {
    const i = r.a % NP;
    const n = 1 + (r.b % 3);
    const len = Math.min(n, NP - i) * PAGE;
    const addr = l.anon + i * PAGE;
    const j = r.a % NF;
    switch (r.kind % 15) {
      case 0:
      case 1:
        out.push({ op: 'write', addr, token: nextToken++ });
        break;
      case 2:
      case 3:
        out.push({ op: 'read', addr });
        break;
      case 4:
        // every other munmap is preempted while it holds mmap_lock and the VMAs
        out.push(r.b % 2 === 1 ? { op: 'munmap', addr, len, holdSteps: 1 + (r.b % 30) } : { op: 'munmap', addr, len });
        break;
      case 5:
        out.push({
          op: 'mmap',
          addr,
          len,
          prot: PROT_READ | PROT_WRITE,
          flags: MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        });
        break;
      case 6:
        out.push({ op: 'mprotect', addr, len, prot: [PROT_READ, PROT_READ | PROT_WRITE, PROT_NONE][r.b % 3]! });
        break;
      case 7:
        out.push({ op: 'madvise', addr, len, advice: MADV_DONTNEED });
        break;
      case 8:
        out.push({ op: 'mmapWriteLock' }, { op: 'vmaStartWrite', addr }, { op: 'yield' }, { op: 'mmapWriteUnlock' });
        break;
      case 9:
        out.push({ op: 'write', addr: l.fileAddr + j * PAGE, token: nextToken++ });
        break;
      case 10:
        out.push({ op: 'read', addr: l.fileAddr + j * PAGE });
        break;
      case 11:
        out.push(
          { op: 'lockFolio', file: l.file, index: j },
          ...Array.from({ length: 1 + (r.b % 8) }, (): TaskOp => ({ op: 'yield' })),
          { op: 'pwrite', file: l.file, index: j, token: nextToken++ },
          { op: 'unlockFolio', file: l.file, index: j },
        );
        break;
      case 12:
        if (depth === 0) out.push({ op: 'fork', program: decode(raw.slice(0, 4), l, 1) });
        else out.push({ op: 'yield' });
        break;
      case 13:
        // drop the file page's PTE (the page stays cached): the next access faults on its folio
        out.push({ op: 'madvise', addr: l.fileAddr + j * PAGE, len: PAGE, advice: MADV_DONTNEED });
        break;
      default:
        out.push({ op: 'yield' });
    }
  }
  return out;
}

/** The oracle: each address space's region and the file's tokens, updated as operations complete. */
class Oracle {
  readonly regions = new Map<MmStruct, Region>();
  readonly file: number[] = new Array<number>(NF).fill(0);
  constructor(readonly l: Layout) {}

  private page(addr: number): number {
    return (addr - this.l.anon) / PAGE;
  }

  /** Apply a completed operation; the expected result. */
  apply(run: ProgramRun, mm: MmStruct, op: TaskOp): number {
    const reg = this.regions.get(mm)!;
    const l = this.l;
    switch (op.op) {
      case 'write': {
        if (op.addr >= l.fileAddr && op.addr < l.fileAddr + NF * PAGE) {
          this.file[(op.addr - l.fileAddr) / PAGE] = op.token;
          return 0;
        }
        const p = reg.get(this.page(op.addr));
        if (p === undefined || (p.prot & PROT_WRITE) === 0) return EFAULT;
        p.token = op.token;
        return 0;
      }
      case 'read': {
        if (op.addr >= l.fileAddr && op.addr < l.fileAddr + NF * PAGE) return this.file[(op.addr - l.fileAddr) / PAGE]!;
        const p = reg.get(this.page(op.addr));
        if (p === undefined || p.prot === PROT_NONE) return EFAULT;
        return p.token;
      }
      case 'munmap':
        for (let i = this.page(op.addr); i < this.page(op.addr + op.len); i++) reg.delete(i);
        return 0;
      case 'mmap':
        for (let i = this.page(op.addr); i < this.page(op.addr + op.len); i++)
          reg.set(i, { prot: PROT_READ | PROT_WRITE, token: 0 });
        return op.addr;
      case 'mprotect': {
        // the VMAs up to the first hole change; a hole anywhere is -ENOMEM
        for (let i = this.page(op.addr); i < this.page(op.addr + op.len); i++) {
          const p = reg.get(i);
          if (p === undefined) return ENOMEM;
          p.prot = op.prot;
        }
        return 0;
      }
      case 'madvise': {
        if (op.addr >= l.fileAddr && op.addr < l.fileAddr + NF * PAGE) return 0; // a shared file page: unmapped, the file keeps its data
        let r = 0;
        for (let i = this.page(op.addr); i < this.page(op.addr + op.len); i++) {
          const p = reg.get(i);
          if (p === undefined) r = ENOMEM;
          else p.token = 0;
        }
        return r;
      }
      case 'vmaStartWrite':
        return reg.has(this.page(op.addr)) ? 0 : EFAULT;
      case 'pwrite':
        this.file[op.index] = op.token;
        return 0;
      case 'fork': {
        const child = run.children[run.children.length - 1]!.task;
        const copy: Region = new Map();
        for (const [i, p] of reg) copy.set(i, { ...p });
        this.regions.set(child.mm!, copy);
        return child.pid;
      }
      default:
        return 0;
    }
  }
}

const rawArb: fc.Arbitrary<RawOp> = fc.record({ kind: fc.nat(1000), a: fc.nat(1000), b: fc.nat(1000) });

describe.each(['x86_64', 'arm64'] as const)('scheduled tasks against the token oracle (%s)', (arch) => {
  it("every result, in completion order, is the oracle's; validate() passes throughout; nothing leaks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(rawArb, { minLength: 1, maxLength: 10 }), { minLength: 2, maxLength: 4 }),
        fc.nat(1000),
        (programs, seed) => {
          const k = createKernel({ arch, seed });
          const p = k.spawn({ name: 'app' }) as Task;
          const file = k.createFile('/tmp/shared', NF * PAGE);
          const anon = p.mmap(0, NP * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
          const fileAddr = p.mmap(0, NF * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
          const l: Layout = { anon, fileAddr, file };
          const oracle = new Oracle(l);
          const reg: Region = new Map();
          for (let i = 0; i < NP; i++) reg.set(i, { prot: PROT_READ | PROT_WRITE, token: 0 });
          oracle.regions.set(p.mm!, reg);
          const tasks = [p];
          for (let t = 1; t < programs.length; t++) tasks.push(p.clone(CLONE_VM | CLONE_THREAD) as Task);
          const mismatches: string[] = [];
          const onComplete = (run: ProgramRun, op: TaskOp, result: number): void => {
            const want = oracle.apply(run, run.task.mm!, op);
            if (want !== result)
              mismatches.push(`${run.task.pid} ${op.op} ${JSON.stringify(op)}: ${result}, oracle ${want}`);
          };
          const runs = tasks.map((t, n) => t.run(decode(programs[n]!, l, 0), { onComplete }));
          const live = (): boolean =>
            runs.some(function notDone(r): boolean {
              return !r.done || r.children.some(notDone);
            });
          const ended = k.machine.sched.runWhile(() => {
            k.validate();
            return live();
          }, k.machine.clock.now + 1_000_000_000);
          expect(ended).toBe(true);
          expect(mismatches).toEqual([]);
          // every page of every address space, read from the harness
          const all: Task[] = [];
          const collect = (r: ProgramRun): void => {
            all.push(r.task);
            r.children.forEach(collect);
          };
          runs.forEach(collect);
          for (const t of all) {
            const region = oracle.regions.get(t.mm!)!;
            for (let i = 0; i < NP; i++) {
              const pg = region.get(i);
              const want = pg === undefined || pg.prot === PROT_NONE ? EFAULT : pg.token;
              expect(t.read(anon + i * PAGE)).toBe(want);
            }
            for (let j = 0; j < NF; j++) expect(t.read(fileAddr + j * PAGE)).toBe(oracle.file[j]);
          }
          k.validate();
          for (const t of all.reverse()) t.exit(0);
          k.validate();
          expect(k.userFolios.size).toBe(k.pageCache.nrPages);
          expect(k.machine.warnings).toEqual([]);
        },
      ),
      { numRuns: fuzzRuns(20) },
    );
  });
});
