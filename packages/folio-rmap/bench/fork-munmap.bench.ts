/**
 * DOC: fork-style duplication and unmap of 1 GiB of PTE-mapped anon folios,
 * CONFIG_PAGE_MAPCOUNT against CONFIG_NO_PAGE_MAPCOUNT (seed 000: fork up to
 * ~20 % and munmap up to ~70 % faster without per-page mapcounts, more for
 * larger folios), and the host memory the rmap adds per mapped page.
 *
 * A parent maps 1 GiB with folios of one size (16 KiB, 64 KiB, 2 MiB
 * PTE-mapped). "fork" copies the range into a child as `copy_present_ptes`
 * does per folio batch: read the PTEs, `folioTryDupAnonRmapPtes`,
 * write-protect the parent's PTEs and set the child's. "munmap" zaps the
 * child as `zap_present_ptes` does: clear the PTEs, `folioRemoveRmapPtes`,
 * drop the references. Host time is this process's CPU time (not wall
 * time: the machine is shared), the median of rounds that alternate the two
 * modes. Virtual time is what the machine is charged: the rmap's atomics
 * (5 ns each: per-page mapcounts, large mapcount, refcount) and MM-id bit
 * lock (a lock acquisition, 20 ns), plus 1 ns per PTE read or written,
 * charged here for the page-table work. "rmap only" repeats the loops
 * without the page-table work.
 */
import { createMachine, GFP_HIGHUSER_MOVABLE } from '@mm/machine';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  anonVmaFork,
  anonVmaPrepare,
  createFolioRmap,
  createRmapMm,
  createRmapVma,
  type FolioRmap,
  folioAddNewAnonRmap,
  folioAlloc,
  folioPutRefs,
  folioRefAdd,
  folioRemoveRmapPtes,
  folioTryDupAnonRmapPtes,
  mmAllocId,
  PTE_PRESENT,
  PTE_WRITE,
  PtEntry,
  RMAP_EXCLUSIVE,
  type RmapVma,
  unlinkAnonVmas,
  VM_READ,
  VM_WRITE,
} from '../src/index.js';
import { TestPageTables } from '../test/pt.js';

const suite = new BenchSuite('@mm/folio-rmap: fork and munmap of 1 GiB');
const PAGE = 4096;
const SIZE = Number(process.env.MM_BENCH_GIB ?? 1) * 2 ** 30;
const NPAGES = SIZE / PAGE;
const ROUNDS = Number(process.env.MM_BENCH_ROUNDS ?? 9);
const PTE_NS = 1;
const A = 0x40000000;
const gc = (globalThis as { gc?: () => void }).gc;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

function heapBytes(): number {
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** CPU time of this process in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface World {
  rm: FolioRmap;
  pt: TestPageTables;
  parent: RmapVma;
  folios: Int32Array;
  nr: number;
}

function build(pageMapcount: boolean, order: number): World {
  const machine = createMachine({ preset: 'server2s', seed: 1 });
  machine.lockdep.enabled = false;
  const pt = new TestPageTables(PAGE, 512);
  const rm = createFolioRmap(machine, { pageMapcount, pgtable: pt });
  const parent = createRmapVma(createRmapMm(mmAllocId(rm)), A, A + SIZE, VM_READ | VM_WRITE);
  anonVmaPrepare(rm, parent);
  const nr = 1 << order;
  const folios = new Int32Array(NPAGES / nr);
  for (let i = 0; i < folios.length; i++) {
    const f = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, order, 0);
    if (f < 0) throw new Error('bench: out of memory');
    folioAddNewAnonRmap(rm, f, parent, A + i * nr * PAGE, RMAP_EXCLUSIVE);
    folioRefAdd(rm, f, nr - 1);
    pt.mapPtes(parent.vmMm, A + i * nr * PAGE, f, nr, PTE_WRITE);
    folios[i] = f;
  }
  return { rm, pt, parent, folios, nr };
}

const e = new PtEntry();

/** fork: anon_vma_fork, then per folio batch dup + PTE copy. */
function fork(w: World, withPtes: boolean): RmapVma {
  const { rm, pt, parent, folios, nr } = w;
  const child = createRmapVma(createRmapMm(mmAllocId(rm)), A, A + SIZE, VM_READ | VM_WRITE);
  anonVmaFork(rm, child, parent);
  const pmm = parent.vmMm;
  const cmm = child.vmMm;
  for (let i = 0; i < folios.length; i++) {
    const f = folios[i] as number;
    const a = A + i * nr * PAGE;
    if (withPtes) for (let k = 0; k < nr; k++) pt.pteRead(pmm, a + k * PAGE, e); // folio_pte_batch
    folioRefAdd(rm, f, nr);
    if (folioTryDupAnonRmapPtes(rm, f, f, nr, child, parent) !== 0) throw new Error('bench: dup failed');
    if (withPtes) {
      e.kind = PTE_PRESENT;
      e.bits = 0;
      for (let k = 0; k < nr; k++) {
        e.pfn = f + k;
        pt.pteWrite(pmm, a + k * PAGE, e); // wrprotect in the parent
        pt.pteWrite(cmm, a + k * PAGE, e); // set_ptes in the child
      }
    }
  }
  if (withPtes) rm.machine.account.charge(rm.machine.currentCpu, 3 * NPAGES * PTE_NS);
  return child;
}

/** munmap (exit) of the child: per folio batch clear + remove rmap + put. */
function munmap(w: World, child: RmapVma, withPtes: boolean): void {
  const { rm, pt, folios, nr } = w;
  const cmm = child.vmMm;
  for (let i = 0; i < folios.length; i++) {
    const f = folios[i] as number;
    if (withPtes) pt.pteGetAndClear(cmm, A + i * nr * PAGE, nr, e);
    folioRemoveRmapPtes(rm, f, f, nr, child);
    folioPutRefs(rm, f, nr);
  }
  if (withPtes) {
    pt.flushTlbRange(cmm, A, A + SIZE);
    rm.machine.account.charge(rm.machine.currentCpu, NPAGES * PTE_NS);
  }
  unlinkAnonVmas(rm, child);
  pt.dropMm(cmm);
}

interface Figures {
  fork: number[];
  munmap: number[];
  forkRmap: number[];
  munmapRmap: number[];
  vFork: number;
  vMunmap: number;
}

function round(w: World, f: Figures, keep: boolean): void {
  const acct = w.rm.machine.account;
  const cpu = w.rm.machine.currentCpu;
  const b0 = acct.busyNs[cpu] as number;
  const t0 = cpuMs();
  let child = fork(w, true);
  const t1 = cpuMs();
  const b1 = acct.busyNs[cpu] as number;
  munmap(w, child, true);
  const t2 = cpuMs();
  const b2 = acct.busyNs[cpu] as number;
  child = fork(w, false);
  const t3 = cpuMs();
  munmap(w, child, false);
  const t4 = cpuMs();
  if (!keep) return;
  f.fork.push(t1 - t0);
  f.munmap.push(t2 - t1);
  f.forkRmap.push(t3 - t2);
  f.munmapRmap.push(t4 - t3);
  f.vFork = (b1 - b0) / 1e6;
  f.vMunmap = (b2 - b1) / 1e6;
}

// Host bytes the rmap adds per mapped page beyond the memmap: the heap
// growth of building a parent with 1 GiB of 64 KiB folios and forking a
// child that maps all of it, minus the memmap, the (test) page tables and
// the bench's own folio array. Measured first, on a quiet heap.
for (const pageMapcount of [true, false]) {
  const before = heapBytes();
  const w = build(pageMapcount, 4);
  const child = fork(w, true);
  const after = heapBytes();
  const memmap = w.rm.memmap.hostBytes();
  const ptBytes = 2 * NPAGES * 13; // parent + child test tables: kind u8 + pfn f64 + bits i32 per entry
  const own = w.folios.byteLength;
  const per = (after - before - memmap - ptBytes - own) / (2 * NPAGES);
  suite.record({
    name: `${pageMapcount ? 'PAGE_MAPCOUNT' : 'NO_PAGE_MAPCOUNT'}: host bytes of folio/rmap metadata per mapped 4 KiB page beyond the memmap`,
    value: per,
    unit: 'B',
    reference: `target <= 8 B (memmap ${(memmap / NPAGES).toFixed(1)} B/page)`,
  });
  munmap(w, child, true);
}

for (const [order, label] of [
  [2, '16 KiB'],
  [4, '64 KiB'],
  [9, '2 MiB PTE-mapped'],
] as const) {
  const worlds: World[] = [];
  const figs: Figures[] = [];
  for (const pageMapcount of [true, false]) {
    const w = build(pageMapcount, order);
    worlds.push(w);
    figs.push({ fork: [], munmap: [], forkRmap: [], munmapRmap: [], vFork: 0, vMunmap: 0 });
  }
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (let m = 0; m < 2; m++) round(worlds[(r + m) % 2] as World, figs[(r + m) % 2] as Figures, r > 0);
  }
  const [pm, no] = figs as [Figures, Figures];
  const rows: [string, number, number, boolean][] = [
    ['fork (host CPU)', median(pm.fork), median(no.fork), true],
    ['munmap (host CPU)', median(pm.munmap), median(no.munmap), false],
    ['fork, rmap only (host CPU)', median(pm.forkRmap), median(no.forkRmap), true],
    ['munmap, rmap only (host CPU)', median(pm.munmapRmap), median(no.munmapRmap), false],
    ['fork (virtual)', pm.vFork, no.vFork, true],
    ['munmap (virtual)', pm.vMunmap, no.vMunmap, false],
  ];
  for (const [what, p, n, isFork] of rows) {
    suite.record({
      name: `${label} folios, ${what}: NO_PAGE_MAPCOUNT`,
      value: n,
      unit: 'ms',
      reference: `PAGE_MAPCOUNT ${p.toFixed(2)} ms (same run)`,
      ratio: n / p,
    });
    suite.record({
      name: `${label} folios, ${what}: NO_PAGE_MAPCOUNT faster by`,
      value: (1 - n / p) * 100,
      unit: '%',
      reference: isFork ? 'seed: up to ~20 %' : 'seed: up to ~70 %',
    });
  }
}
suite.finish();
