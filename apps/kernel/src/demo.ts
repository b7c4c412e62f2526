/**
 * DOC: the demo: the project's main job on embedded defaults.
 *
 * Boots a machine from a preset and prints what the composed kernel model can
 * show so far. It grows with every subsystem package: each one adds its
 * section (buddyinfo, VMAs in a maple tree, slabinfo, ...).
 */
import {
  formatBuddyinfo,
  formatPagetypeinfo,
  formatTopology,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_TRANSHUGE,
  type Machine,
  type MachineConfig,
  type PresetName,
} from '@mm/machine';
import { formatSlabinfo, readSlabSysfs } from '@mm/slab-sheaves';
import { createKernel } from './kernel/kernel.js';
import { kernelDemo } from './kernel-demo.js';
import { processDemo } from './process-demo.js';
import { slabWorkload } from './slab-caches.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Machine preset (default `small`). */
  readonly preset?: PresetName;
  /** Seed of the machine's random streams. */
  readonly seed?: number;
}

/** One titled block of demo output. */
export interface DemoSection {
  /** Heading of the block, usually the command or file it imitates. */
  readonly title: string;
  /** The block's output, newline-terminated lines. */
  readonly text: string;
}

/** Run the demo and return its sections (the CLI prints them). */
export function runDemo(options: DemoOptions = {}): DemoSection[] {
  const config: MachineConfig = {
    preset: options.preset ?? 'small',
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  };
  const kernel = createKernel({ machine: config });
  const machine = kernel.machine;
  const sections: DemoSection[] = [];
  sections.push({ title: 'topology (numactl --hardware)', text: formatTopology(machine) });
  const load = pageAllocatorWorkload(machine);
  machine.validate();
  sections.push({ title: 'page allocator workload', text: load });
  sections.push({ title: '/proc/buddyinfo', text: formatBuddyinfo(machine.mem) });
  sections.push({ title: '/proc/pagetypeinfo', text: formatPagetypeinfo(machine.mem) });

  const caches = kernel.caches;
  const w = slabWorkload(machine, caches);
  machine.validate();
  const stat = (file: string) => (readSlabSysfs(caches.slab, 'vm_area_struct', file).split(' ')[0] ?? '').trim();
  const statFiles = [
    'alloc_cpu_sheaf',
    'free_cpu_sheaf',
    'sheaf_refill',
    'sheaf_flush_main',
    'barn_get',
    'barn_put',
    'free_rcu_sheaf',
    'alloc_slowpath',
    'free_slowpath',
  ];
  sections.push({
    title: 'slab workload (SLUB with percpu sheaves)',
    text:
      `${w.vmasAllocated} vm_area_structs allocated, ${w.vmasFreed} freed (${w.vmasFreedByRcu} by kfree_rcu), ` +
      `${w.kmallocs} kmallocs\n` +
      `/sys/kernel/slab/vm_area_struct: ${statFiles.map((f) => `${f}=${stat(f)}`).join(' ')}\n`,
  });
  const proc = processDemo(machine, caches);
  machine.validate();
  sections.push({
    title: 'process address space (VMAs in a maple tree, nodes from the maple_node slab)',
    text: proc.summary,
  });
  sections.push({ title: '/proc/1/maps (the VMA workload)', text: proc.maps });
  for (const s of kernelDemo(kernel)) sections.push(s);
  sections.push({ title: '/proc/slabinfo', text: formatSlabinfo(caches.slab) });
  return sections;
}

/** GFP masks and orders the workload draws from: user pages, kernel pages, THPs. */
const WORKLOAD_MIX = [
  { what: 'user page (GFP_HIGHUSER_MOVABLE, order 0)', gfp: GFP_HIGHUSER_MOVABLE, order: 0, weight: 70 },
  { what: 'kernel page (GFP_KERNEL, order 0)', gfp: GFP_KERNEL, order: 0, weight: 20 },
  { what: 'kernel buffer (GFP_KERNEL, order 2)', gfp: GFP_KERNEL, order: 2, weight: 8 },
  { what: 'THP (GFP_TRANSHUGE, order 9)', gfp: GFP_TRANSHUGE, order: 9, weight: 2 },
] as const;

/**
 * A seeded allocation workload on every node: allocate a mix of page sizes
 * and migratetypes, then free a random half, leaving the fragmentation that
 * buddyinfo and pagetypeinfo show.
 */
function pageAllocatorWorkload(machine: Machine): string {
  const rng = machine.prng.stream('demo');
  const t = machine.topology;
  const live: { pfn: number; order: number }[] = [];
  const counts = WORKLOAD_MIX.map(() => 0);
  let failed = 0;
  const perNode = 4000;
  for (let nid = 0; nid < t.nrNodes; nid++) {
    for (let i = 0; i < perNode; i++) {
      let pick = rng.below(100);
      let k = 0;
      while (pick >= (WORKLOAD_MIX[k] as (typeof WORKLOAD_MIX)[number]).weight) {
        pick -= (WORKLOAD_MIX[k] as (typeof WORKLOAD_MIX)[number]).weight;
        k++;
      }
      const m = WORKLOAD_MIX[k] as (typeof WORKLOAD_MIX)[number];
      const pfn = machine.mem.allocPages(m.gfp, m.order, nid);
      if (pfn < 0) {
        failed++;
        continue;
      }
      counts[k] = (counts[k] as number) + 1;
      live.push({ pfn, order: m.order });
    }
  }
  let freed = 0;
  for (let i = live.length - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const tmp = live[i] as { pfn: number; order: number };
    live[i] = live[j] as { pfn: number; order: number };
    live[j] = tmp;
  }
  const keep = live.length >> 1;
  while (live.length > keep) {
    const a = live.pop() as { pfn: number; order: number };
    machine.mem.freePages(a.pfn, a.order);
    freed++;
  }
  const lines = WORKLOAD_MIX.map((m, k) => `  ${String(counts[k]).padStart(6)}  ${m.what}`);
  return (
    `allocated on each of ${t.nrNodes} node(s), then freed a random half (${freed} blocks); ${failed} failed\n` +
    `${lines.join('\n')}\n` +
    `memmap: ${t.nrSections} sections of ${t.pagesPerSection} pages, allocated lazily when first touched\n`
  );
}

/** Render sections as the CLI prints them. */
export function formatSections(sections: readonly DemoSection[]): string {
  return sections.map((s) => `== ${s.title} ==\n${s.text}`).join('\n');
}
