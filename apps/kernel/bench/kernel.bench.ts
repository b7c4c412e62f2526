/**
 * DOC: the composed kernel against the real kernel of the machine running
 * the bench, measured in the same run (issue 14's table).
 *
 * `native.c` (built with gcc when present) performs on the host kernel what
 * this file performs on the model: one store per page to a 1 GiB anonymous
 * region with MADV_NOHUGEPAGE (4 KiB write faults), the same with
 * MADV_HUGEPAGE (THP faults, per 4 KiB), fork of a populated 256 MiB region
 * and a store per page in the child (CoW faults), munmap and MADV_DONTNEED
 * of a populated 1 GiB region. Both sides report CPU time per page (the
 * model: this process's user + system time; the host: the process CPU
 * clock, which includes the kernel's fault and syscall work). The model's
 * stores go through the machine's MMU and TLB, the x86-64 walker, the fault
 * handler, folio allocation, rmap and PTE updates: end to end. Virtual time
 * (the machine's charged ns per page) is reported beside host time. Sizes:
 * MM_BENCH_MIB (default 1024) and MM_BENCH_FORK_MIB (default 256).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEMMAP_BYTES_PER_PAGE } from '@mm/machine';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  createKernel,
  type Kernel,
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  type Task,
} from '../src/index.js';

const PAGE = 4096;
const PMD = 2 * 1024 * 1024;
const MIB = Number(process.env.MM_BENCH_MIB ?? 1024);
const FORK_MIB = Number(process.env.MM_BENCH_FORK_MIB ?? 256);
const BIG = MIB * 1024 * 1024;
const FORKB = FORK_MIB * 1024 * 1024;
const suite = new BenchSuite(`@mm/kernel: the composed kernel vs the host kernel (${MIB} MiB, fork ${FORK_MIB} MiB)`);

interface Native {
  fault4k: number;
  thp: number;
  fork: number;
  cow: number;
  munmap: number;
  dontneed: number;
  faults4k: number;
  faultsThp: number;
}

function native(): Native | null {
  const src = join(import.meta.dirname, 'native.c');
  const dir = mkdtempSync(join(tmpdir(), 'mm-native-'));
  const bin = join(dir, 'native');
  const cc = spawnSync('gcc', ['-O2', '-o', bin, src], { encoding: 'utf8' });
  if (cc.status !== 0 || !existsSync(bin)) {
    console.log('bench: gcc not available; no native figures');
    return null;
  }
  const r = spawnSync(bin, [String(MIB), String(FORK_MIB)], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout) as Native;
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/** CPU ns and virtual ns per page of `fn`. */
function measure(k: Kernel, pages: number, fn: () => void): [number, number] {
  const v0 = k.machine.account.totalBusyNs();
  const t0 = cpuNs();
  fn();
  return [(cpuNs() - t0) / pages, (k.machine.account.totalBusyNs() - v0) / pages];
}

function region(k: Kernel, t: Task, bytes: number, advice: number): number {
  const raw = t.mmap(0, bytes + PMD, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (raw < 0) throw new Error(`mmap: ${raw}`);
  const a = Math.ceil(raw / PMD) * PMD;
  if (a > raw) t.munmap(raw, a - raw);
  if (raw + bytes + PMD > a + bytes) t.munmap(a + bytes, raw + bytes + PMD - (a + bytes));
  t.madvise(a, bytes, advice);
  void k;
  return a;
}

function touch(t: Task, a: number, bytes: number, token: number): void {
  for (let off = 0; off < bytes; off += PAGE) if (t.write(a + off, token) !== 0) throw new Error('write failed');
}

const nat = native();
const k = createKernel({
  machine: { arch: 'x86_64', seed: 1, nodes: [{ memoryBytes: Math.max(3 * BIG, 2 ** 30) + 2 * FORKB, cpus: 2 }] },
  thp: 'madvise',
});
const p = k.spawn({ name: 'bench' }) as Task;
const pages = BIG / PAGE;
const fpages = FORKB / PAGE;

// warm up the JIT on every path, twice, on 64 MiB
for (let round = 0; round < 2; round++) {
  const w = region(k, p, 32 * PMD, MADV_NOHUGEPAGE);
  touch(p, w, 32 * PMD, 1);
  const c = p.fork() as Task;
  touch(c, w, 32 * PMD, 2);
  c.exit(0);
  p.wait();
  p.madvise(w, 32 * PMD, MADV_DONTNEED);
  touch(p, w, 32 * PMD, 1);
  p.munmap(w, 32 * PMD);
  const h = region(k, p, 32 * PMD, MADV_HUGEPAGE);
  touch(p, h, 32 * PMD, 1);
  p.munmap(h, 32 * PMD);
}

function rec(name: string, host: number, virt: number, ref: number | undefined, target: string): void {
  suite.record({
    name: `${name} (host CPU)`,
    value: host,
    unit: 'ns/page',
    ...(ref === undefined
      ? {}
      : { reference: `host kernel ${ref.toFixed(0)} ns; target ${target}`, ratio: host / ref }),
  });
  suite.record({ name: `${name} (virtual)`, value: virt, unit: 'ns/page' });
}

// 4 KiB anonymous write faults
let a = region(k, p, BIG, MADV_NOHUGEPAGE);
const pt0 = k.pt.hostBytes();
const tok0 = k.tokenBytes;
const f0 = k.events.get('pgfault')!;
let [h, v] = measure(k, pages, () => touch(p, a, BIG, 1));
if (k.events.get('pgfault')! - f0 !== pages) throw new Error('one fault per page expected');
rec('4 KiB anonymous write fault', h, v, nat?.fault4k, '≤ 2×');
const bytesPerPage = MEMMAP_BYTES_PER_PAGE + (k.pt.hostBytes() - pt0) / pages + (k.tokenBytes - tok0) / pages;
suite.record({
  name: 'host bytes per mapped 4 KiB anonymous page (memmap + page tables + tokens)',
  value: bytesPerPage,
  unit: 'B',
  reference: 'kernel: 64 B struct page + 8 B PTE; target ≤ 96 B',
});
[h, v] = measure(k, pages, () => p.munmap(a, BIG));
rec('munmap, per mapped page', h, v, nat?.munmap, '≤ 3×');

a = region(k, p, BIG, MADV_NOHUGEPAGE);
touch(p, a, BIG, 1);
[h, v] = measure(k, pages, () => p.madvise(a, BIG, MADV_DONTNEED));
rec('MADV_DONTNEED, per mapped page', h, v, nat?.dontneed, '≤ 3×');
p.munmap(a, BIG);

// THP write faults, per 4 KiB
a = region(k, p, BIG, MADV_HUGEPAGE);
const thp0 = k.events.get('thp_fault_alloc')!;
[h, v] = measure(k, pages, () => touch(p, a, BIG, 1));
if (k.events.get('thp_fault_alloc')! - thp0 !== BIG / PMD) throw new Error('one THP per 2 MiB expected');
rec('THP write fault, per 4 KiB', h, v, nat?.thp, '≤ 2×');
p.munmap(a, BIG);

// fork of a populated region, and CoW write faults in the child
a = region(k, p, FORKB, MADV_NOHUGEPAGE);
touch(p, a, FORKB, 1);
let child: Task | number = -1;
[h, v] = measure(k, fpages, () => {
  child = p.fork();
});
rec('fork, per mapped 4 KiB page', h, v, nat?.fork, '≤ 3×');
const c = child as unknown as Task;
const cow0 = k.events.get('cow_fault')!;
[h, v] = measure(k, fpages, () => touch(c, a, FORKB, 2));
if (k.events.get('cow_fault')! - cow0 !== fpages) throw new Error('one CoW copy per page expected');
rec('CoW write fault in the child', h, v, nat?.cow, '≤ 2×');
c.exit(0);
p.wait();
p.exit(0);
k.validate();
if (nat !== null) {
  suite.record({ name: 'host kernel minor faults, 4 KiB run (getrusage)', value: nat.faults4k, unit: 'faults' });
  suite.record({ name: 'host kernel minor faults, THP run (getrusage)', value: nat.faultsThp, unit: 'faults' });
}
suite.finish();
