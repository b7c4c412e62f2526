/**
 * DOC: the demo's process: the address space of a small program (`cat`)
 * built with the mmap family of system calls, then a seeded workload of
 * mmap, munmap of sub-ranges, mprotect, mremap, madvise and brk over it,
 * shown as `/proc/PID/maps`, the VMA-tree and commit counters, the
 * page-table work the VMA layer asked for (recorded at the seam until page
 * tables land), and the `maple_node` slab statistics.
 */
import { type Machine, MmBugError } from '@mm/machine';
import { mtStats, STORE_TYPE_NAMES } from '@mm/maple-tree';
import { readSlabSysfs } from '@mm/slab-sheaves';
import { createTmpfsFile, type File, FMODE_READ } from './mm/file.js';
import { madviseSetAnonName, sysMadvise } from './mm/madvise.js';
import { createMmContext } from './mm/mm-context.js';
import { MmStruct } from './mm/mm-types.js';
import {
  MADV_DONTNEED,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_GROWSDOWN,
  MAP_PRIVATE,
  MREMAP_MAYMOVE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
} from './mm/mman.js';
import { sysBrk, sysMmap } from './mm/mmap.js';
import { mmapWriteLock, mmapWriteUnlock } from './mm/mmap-lock.js';
import { sysMprotect } from './mm/mprotect.js';
import { sysMremap } from './mm/mremap.js';
import type { RecordingPageTableOps } from './mm/pgtable-ops.js';
import { installSpecialMapping } from './mm/special-mapping.js';
import { procPidMaps } from './mm/task-mmu.js';
import {
  VM_DONTDUMP,
  VM_EXEC,
  VM_IO,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_MIXEDMAP,
  VM_READ,
} from './mm/vm-flags.js';
import { validateMm, vmaList } from './mm/vma.js';
import { vmMunmap } from './mm/vma-munmap.js';
import type { MmCaches } from './slab-caches.js';

const R = PROT_READ;
const RW = PROT_READ | PROT_WRITE;
const RX = PROT_READ | PROT_EXEC;

/** The initial layout of `cat` on x86-64 without address randomisation: [start, end, prot, pgoff, name]. */
const CAT_LAYOUT: readonly (readonly [number, number, number, number, string])[] = [
  [0x555555554000, 0x555555556000, R, 0, '/usr/bin/cat'],
  [0x555555556000, 0x55555555a000, RX, 2, '/usr/bin/cat'],
  [0x55555555a000, 0x55555555c000, R, 6, '/usr/bin/cat'],
  [0x55555555c000, 0x55555555d000, R, 7, '/usr/bin/cat'],
  [0x55555555d000, 0x55555555e000, RW, 8, '/usr/bin/cat'],
  [0x55555555e000, 0x55555557f000, RW, 0, '[heap]'],
  [0x7ffff7d80000, 0x7ffff7da8000, R, 0, '/usr/lib/x86_64-linux-gnu/libc.so.6'],
  [0x7ffff7da8000, 0x7ffff7f3d000, RX, 0x28, '/usr/lib/x86_64-linux-gnu/libc.so.6'],
  [0x7ffff7f3d000, 0x7ffff7f95000, R, 0x1bd, '/usr/lib/x86_64-linux-gnu/libc.so.6'],
  [0x7ffff7f95000, 0x7ffff7f99000, R, 0x214, '/usr/lib/x86_64-linux-gnu/libc.so.6'],
  [0x7ffff7f99000, 0x7ffff7f9b000, RW, 0x218, '/usr/lib/x86_64-linux-gnu/libc.so.6'],
  [0x7ffff7f9b000, 0x7ffff7fa8000, RW, 0, ''],
  [0x7ffff7fbd000, 0x7ffff7fc1000, R, 0, '[vvar]'],
  [0x7ffff7fc1000, 0x7ffff7fc3000, RX, 0, '[vdso]'],
  [0x7ffff7fc3000, 0x7ffff7fc5000, R, 0, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
  [0x7ffff7fc5000, 0x7ffff7fef000, RX, 2, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
  [0x7ffff7fef000, 0x7ffff7ffa000, R, 0x2c, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
  [0x7ffff7ffb000, 0x7ffff7ffd000, R, 0x37, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
  [0x7ffff7ffd000, 0x7ffff7fff000, RW, 0x39, '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'],
  [0x7ffffffde000, 0x7ffffffff000, RW, 0, '[stack]'],
];

/** Inode numbers of the files (Debian 13, ext4 on 08:01). */
const INODES: Readonly<Record<string, number>> = {
  '/usr/bin/cat': 1574083,
  '/usr/lib/x86_64-linux-gnu/libc.so.6': 1582171,
  '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2': 1582158,
};

/** `mm->mmap_base` of that layout (just below the stack gap). */
const MMAP_BASE = 0x7ffff7fff000;

/** What the process part of the demo prints. */
export interface ProcessDemo {
  readonly summary: string;
  readonly maps: string;
}

function ok(ret: number, what: string): number {
  if (ret < 0) throw new MmBugError(`demo: ${what} failed (${ret})`);
  return ret;
}

/**
 * Build `cat`'s address space, run `rounds` seeded operations on it, check
 * the VMA tree, and describe the result.
 */
export function processDemo(machine: Machine, caches: MmCaches, rounds = 2000): ProcessDemo {
  const ctx = createMmContext(machine, caches);
  const mm = new MmStruct(ctx, 1);
  const page = ctx.pageSize;
  mm.mmapBase = MMAP_BASE;
  mm.mmapLegacyBase = ctx.taskUnmappedBase;
  mm.topdown = true;
  const files = new Map<string, File>();
  const fileOf = (path: string): File => {
    let f = files.get(path);
    if (f === undefined) {
      f = createTmpfsFile(ctx, path, 8 << 20, FMODE_READ, { ino: INODES[path] ?? ctx.allocIno(), dev: [8, 1] });
      files.set(path, f);
    }
    return f;
  };
  machine.cpus.runOn(0, () => {
    for (const [start, end, prot, pgoff, name] of CAT_LAYOUT) {
      const len = end - start;
      if (name.startsWith('/')) {
        ok(sysMmap(mm, start, len, prot, MAP_PRIVATE | MAP_FIXED, fileOf(name), pgoff * page), name);
      } else if (name === '[heap]') {
        mm.startBrk = start;
        mm.brk = start;
        ok(sysBrk(mm, end) === end ? 0 : -12, 'brk');
      } else if (name === '[stack]') {
        ok(sysMmap(mm, start, len, prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_GROWSDOWN), name);
        mm.startStack = end - 0x1000 + 0x2f0;
      } else if (name === '[vvar]' || name === '[vdso]') {
        mmapWriteLock(mm);
        const flags =
          name === '[vvar]'
            ? VM_READ + VM_MAYREAD + VM_IO + VM_DONTDUMP + VM_MIXEDMAP
            : VM_READ | VM_EXEC | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
        const r = installSpecialMapping(mm, start, len, flags, { name });
        mmapWriteUnlock(mm);
        ok(typeof r === 'number' ? r : 0, name);
      } else {
        ok(sysMmap(mm, start, len, prot, MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS), 'anonymous memory');
      }
    }
  });
  const rng = machine.prng.stream('demo-mmap');
  // the regions this workload mapped (it never touches cat's own mappings)
  const mine: { addr: number; len: number }[] = [];
  const counts = { mmap: 0, munmap: 0, mprotect: 0, mremap: 0, madvise: 0, brk: 0, failed: 0 };
  const note = (what: keyof typeof counts, ret: number) => {
    if (ret < 0) counts.failed++;
    else counts[what]++;
  };
  /** A random page-aligned sub-range of a region. */
  const sub = (r: { addr: number; len: number }): [number, number] => {
    const pages = r.len / page;
    const off = rng.below(pages);
    return [r.addr + off * page, (1 + rng.below(pages - off)) * page];
  };
  for (let i = 0; i < rounds; i++) {
    machine.cpus.runOn(i % machine.topology.nrCpus, () => {
      const x = rng.below(100);
      if (mine.length === 0 || x < 35) {
        const pages = 1 + rng.below(rng.below(4) === 0 ? 512 : 16);
        const addr = sysMmap(mm, 0, pages * page, rng.below(3) === 0 ? R : RW, MAP_PRIVATE | MAP_ANONYMOUS);
        note('mmap', addr);
        if (addr >= 0) mine.push({ addr, len: pages * page });
        return;
      }
      const j = rng.below(mine.length);
      const r = mine[j] as { addr: number; len: number };
      if (x < 55) {
        // munmap a sub-range: splits the VMA, or removes it
        const [a, len] = sub(r);
        const ret = vmMunmap(mm, a, len);
        note('munmap', ret);
        if (ret === 0) {
          mine.splice(j, 1);
          if (a > r.addr) mine.push({ addr: r.addr, len: a - r.addr });
          if (a + len < r.addr + r.len) mine.push({ addr: a + len, len: r.addr + r.len - a - len });
        }
      } else if (x < 70) {
        const [a, len] = sub(r);
        note('mprotect', sysMprotect(mm, a, len, rng.below(2) === 0 ? R : RW));
      } else if (x < 82) {
        // grow in place or move; or shrink
        const newLen = (1 + rng.below(64)) * page;
        const ret = sysMremap(mm, r.addr, r.len, newLen, MREMAP_MAYMOVE);
        note('mremap', ret);
        if (ret >= 0) mine[j] = { addr: ret, len: newLen };
      } else if (x < 94) {
        const [a, len] = sub(r);
        const advice = [MADV_RANDOM, MADV_SEQUENTIAL, MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTNEED][
          rng.below(5)
        ] as number;
        note('madvise', sysMadvise(mm, a, len, advice));
      } else {
        const want = mm.brk + (rng.below(3) === 0 ? -1 : 1) * rng.below(16) * page;
        note('brk', sysBrk(mm, want) === want ? 0 : -1);
      }
    });
  }
  machine.cpus.runOn(0, () => madviseSetAnonName(mm, 0x7ffff7f9b000, page, 'cat-buffers'));
  machine.rcu.rcuBarrier();
  validateMm(mm);
  const st = mtStats(mm.mmMt);
  const t = mm.mmMt.stats;
  const slab = (f: string) => (readSlabSysfs(caches.slab, 'maple_node', f).split(' ')[0] ?? '').trim();
  const types = STORE_TYPE_NAMES.map((n, i) => [n, t.storeTypes[i] ?? 0] as const)
    .filter(([, c]) => c > 0)
    .map(([n, c]) => `${n}=${c}`)
    .join(' ');
  const pt = ctx.pt as RecordingPageTableOps;
  const seam = [...pt.counts.entries()].map(([op, n]) => `${op}=${n}`).join(' ');
  const summary =
    `${rounds} system calls on cat's address space: ${counts.mmap} mmap, ${counts.munmap} munmap of sub-ranges, ` +
    `${counts.mprotect} mprotect, ${counts.mremap} mremap, ${counts.madvise} madvise, ${counts.brk} brk; ` +
    `${counts.failed} refused with an errno\n` +
    `VMA tree: ${vmaList(mm).length} VMAs in ${st.nodes} maple nodes (${st.leaves} leaves), height ${st.height}, ` +
    `map_count ${mm.mapCount}; validate_mm and mt_validate ok\n` +
    `VM counters: total_vm ${mm.totalVm} pages (data ${mm.dataVm}, exec ${mm.execVm}, stack ${mm.stackVm}), ` +
    `Committed_AS ${ctx.vmMemoryCommitted()} pages\n` +
    `store types: ${types}\n` +
    `page-table work asked of the seam (no page tables yet): ${seam}\n` +
    `nodes: ${t.bulkRequests} stores prefilled a sheaf for their worst case (${t.requested} nodes asked, ` +
    `${t.used} used), ${t.rcuDeferred} dead nodes freed after an RCU grace period\n` +
    `/sys/kernel/slab/maple_node: sheaf_prefill_fast=${slab('sheaf_prefill_fast')} ` +
    `sheaf_prefill_slow=${slab('sheaf_prefill_slow')} sheaf_return_fast=${slab('sheaf_return_fast')} ` +
    `alloc_cpu_sheaf=${slab('alloc_cpu_sheaf')} free_cpu_sheaf=${slab('free_cpu_sheaf')} ` +
    `free_rcu_sheaf=${slab('free_rcu_sheaf')} free_rcu_sheaf_fail=${slab('free_rcu_sheaf_fail')}\n`;
  const lines = procPidMaps(mm).split('\n').filter(Boolean);
  const maps =
    lines.length <= 24
      ? `${lines.join('\n')}\n`
      : `${lines.slice(0, 12).join('\n')}\n... ${lines.length - 20} more ...\n${lines.slice(-8).join('\n')}\n`;
  return { summary, maps };
}
