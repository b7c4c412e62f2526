/**
 * DOC: the demo's process: the address space of a small program (`cat`),
 * then a seeded mmap/munmap workload over it, shown as `/proc/PID/maps` and
 * maple-tree and `maple_node` slab statistics.
 */
import { type Machine, MmBugError } from '@mm/machine';
import { mtStats, mtValidate, STORE_TYPE_NAMES } from '@mm/maple-tree';
import { readSlabSysfs } from '@mm/slab-sheaves';
import { formatMaps, MmStruct, VM_EXEC, VM_GROWSDOWN, VM_READ, VM_WRITE } from './mm.js';
import type { MmCaches } from './slab-caches.js';

const R = VM_READ;
const RW = VM_READ | VM_WRITE;
const RX = VM_READ | VM_EXEC;

/** The initial layout of `cat` on x86-64 without address randomisation: [start, end, flags, pgoff, name, dev, inode]. */
const CAT_LAYOUT: readonly (readonly [number, number, number, number, string, string, number])[] = [
  [0x555555554000, 0x555555556000, R, 0, '/usr/bin/cat', '08:01', 1574083],
  [0x555555556000, 0x55555555a000, RX, 2, '/usr/bin/cat', '08:01', 1574083],
  [0x55555555a000, 0x55555555c000, R, 6, '/usr/bin/cat', '08:01', 1574083],
  [0x55555555c000, 0x55555555d000, R, 7, '/usr/bin/cat', '08:01', 1574083],
  [0x55555555d000, 0x55555555e000, RW, 8, '/usr/bin/cat', '08:01', 1574083],
  [0x55555555e000, 0x55555557f000, RW, 0, '[heap]', '00:00', 0],
  [0x7ffff7d80000, 0x7ffff7da8000, R, 0, '/usr/lib/x86_64-linux-gnu/libc.so.6', '08:01', 1582171],
  [0x7ffff7da8000, 0x7ffff7f3d000, RX, 0x28, '/usr/lib/x86_64-linux-gnu/libc.so.6', '08:01', 1582171],
  [0x7ffff7f3d000, 0x7ffff7f95000, R, 0x1bd, '/usr/lib/x86_64-linux-gnu/libc.so.6', '08:01', 1582171],
  [0x7ffff7f95000, 0x7ffff7f99000, R, 0x214, '/usr/lib/x86_64-linux-gnu/libc.so.6', '08:01', 1582171],
  [0x7ffff7f99000, 0x7ffff7f9b000, RW, 0x218, '/usr/lib/x86_64-linux-gnu/libc.so.6', '08:01', 1582171],
  [0x7ffff7f9b000, 0x7ffff7fa8000, RW, 0, '', '00:00', 0],
  [0x7ffff7fbd000, 0x7ffff7fc1000, R, 0, '[vvar]', '00:00', 0],
  [0x7ffff7fc1000, 0x7ffff7fc3000, RX, 0, '[vdso]', '00:00', 0],
  [0x7ffff7fc3000, 0x7ffff7fc5000, R, 0, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '08:01', 1582158],
  [0x7ffff7fc5000, 0x7ffff7fef000, RX, 2, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '08:01', 1582158],
  [0x7ffff7fef000, 0x7ffff7ffa000, R, 0x2c, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '08:01', 1582158],
  [0x7ffff7ffb000, 0x7ffff7ffd000, R, 0x37, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '08:01', 1582158],
  [0x7ffff7ffd000, 0x7ffff7fff000, RW, 0x39, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', '08:01', 1582158],
  [0x7ffffffde000, 0x7ffffffff000, RW | VM_GROWSDOWN, 0, '[stack]', '00:00', 0],
];

/** `mm->mmap_base` of that layout (just below the stack gap). */
const MMAP_BASE = 0x7ffff7fff000;

/** What the process part of the demo prints. */
export interface ProcessDemo {
  readonly summary: string;
  readonly maps: string;
}

/**
 * Build `cat`'s address space, run `rounds` seeded mmap/munmap operations on
 * it, check the tree, and describe the result.
 */
export function processDemo(machine: Machine, caches: MmCaches, rounds = 2000): ProcessDemo {
  const mm = new MmStruct(machine, caches, MMAP_BASE);
  for (const [start, end, flags, pgoff, name, dev, inode] of CAT_LAYOUT) {
    const ret = mm.insertVma(start, end, flags, name, pgoff, dev, inode);
    if (ret !== 0) throw new MmBugError(`demo: inserting ${name} at 0x${start.toString(16)} failed (${ret})`);
  }
  const rng = machine.prng.stream('demo-mmap');
  const page = machine.topology.pageSize;
  const mine: number[] = [];
  let mapped = 0;
  let unmapped = 0;
  for (let i = 0; i < rounds; i++) {
    machine.cpus.runOn(i % machine.topology.nrCpus, () => {
      if (mine.length === 0 || rng.below(100) < 60) {
        const pages = 1 + rng.below(rng.below(4) === 0 ? 512 : 16);
        const flags = rng.below(3) === 0 ? R : RW;
        const addr = mm.mmapAnon(pages * page, flags);
        if (addr >= 0) {
          mine.push(addr);
          mapped++;
        }
      } else {
        const j = rng.below(mine.length);
        const addr = mine[j] as number;
        mine[j] = mine[mine.length - 1] as number;
        mine.pop();
        // a merged mapping may already be gone with its neighbour
        if (mm.munmapVma(addr) === 0) unmapped++;
      }
    });
  }
  machine.rcu.rcuBarrier();
  const report = mtValidate(mm.mt);
  const st = mtStats(mm.mt);
  const t = mm.mt.stats;
  const slab = (f: string) => (readSlabSysfs(caches.slab, 'maple_node', f).split(' ')[0] ?? '').trim();
  const types = STORE_TYPE_NAMES.map((n, i) => [n, t.storeTypes[i] ?? 0] as const)
    .filter(([, c]) => c > 0)
    .map(([n, c]) => `${n}=${c}`)
    .join(' ');
  const summary =
    `${mapped} mmaps and ${unmapped} munmaps of anonymous memory (top-down, merged with compatible neighbours)\n` +
    `VMA tree: ${report.entries} VMAs in ${st.nodes} maple nodes (${st.leaves} leaves), height ${st.height}; ` +
    `mt_validate ok\n` +
    `store types: ${types}\n` +
    `nodes: ${t.bulkRequests} stores prefilled a sheaf for their worst case (${t.requested} nodes asked, ` +
    `${t.used} used), ${t.rcuDeferred} dead nodes freed after an RCU grace period\n` +
    `/sys/kernel/slab/maple_node: sheaf_prefill_fast=${slab('sheaf_prefill_fast')} ` +
    `sheaf_prefill_slow=${slab('sheaf_prefill_slow')} sheaf_return_fast=${slab('sheaf_return_fast')} ` +
    `alloc_cpu_sheaf=${slab('alloc_cpu_sheaf')} free_cpu_sheaf=${slab('free_cpu_sheaf')}\n`;
  const lines = formatMaps(mm).split('\n').filter(Boolean);
  const maps =
    lines.length <= 24
      ? `${lines.join('\n')}\n`
      : `${lines.slice(0, 12).join('\n')}\n... ${lines.length - 20} more ...\n${lines.slice(-8).join('\n')}\n`;
  return { summary, maps };
}
