/**
 * DOC: test helpers: a machine with the mm slab caches, an mm context whose
 * page-table seam records calls, and an address space with the standard
 * top-down layout (no randomisation), plus the leak and accounting checks
 * every test runs after it.
 */
import { type ArchName, createMachine, type Machine } from '@mm/machine';
import { mtStats } from '@mm/maple-tree';
import { slabValidate } from '@mm/slab-sheaves';
import { expect } from 'vitest';
import type { ChainAnonVmaOps } from '../../src/mm/anon-vma.js';
import { createMmContext, type MmContext, type MmContextOptions } from '../../src/mm/mm-context.js';
import { MmStruct, type VmAreaStruct } from '../../src/mm/mm-types.js';
import { archPickMmapLayout } from '../../src/mm/mmap-layout.js';
import { RecordingPageTableOps } from '../../src/mm/pgtable-ops.js';
import { VM_ACCOUNT } from '../../src/mm/vm-flags.js';
import { validateMm, vmaList } from '../../src/mm/vma.js';
import { createMmCaches, type MmCaches } from '../../src/slab-caches.js';

export const PAGE = 4096;

export interface TestMm {
  readonly machine: Machine;
  readonly caches: MmCaches;
  readonly ctx: MmContext;
  readonly mm: MmStruct;
  readonly pt: RecordingPageTableOps;
  /**
   * Pages committed that no VMA accounts for, which the kernel leaves behind
   * on purpose-blind paths (a MREMAP_FIXED move that also shrinks charges
   * the size difference and never returns it; see mremap.test.ts); tests
   * that make such calls add them here.
   */
  commitSkew: number;
}

export interface TestMmOptions extends MmContextOptions {
  readonly arch?: ArchName;
  readonly seed?: number;
  readonly record?: boolean;
}

/** A fresh kernel with one empty address space laid out top-down without randomisation. */
export function makeMm(opts: TestMmOptions = {}): TestMm {
  const machine = createMachine({
    ...(opts.arch === undefined ? {} : { arch: opts.arch }),
    ...(opts.seed === undefined ? {} : { seed: opts.seed }),
  });
  const caches = createMmCaches(machine);
  const pt = new RecordingPageTableOps(opts.record ?? true);
  const ctx = createMmContext(machine, caches, { randomizeVaSpace: 0, ...opts, pageTableOps: pt });
  const mm = new MmStruct(ctx, 1);
  archPickMmapLayout(mm);
  return { machine, caches, ctx, mm, pt, commitSkew: 0 };
}

/** `[start, end)` in pages of each VMA, for compact assertions. */
export function ranges(mm: MmStruct): [number, number][] {
  return vmaList(mm).map((v) => [v.vmStart / PAGE, v.vmEnd / PAGE]);
}

/** The VMA holding `addr` (asserted to exist). */
export function vmaAt(mm: MmStruct, addr: number): VmAreaStruct {
  const v = vmaList(mm).find((x) => x.vmStart <= addr && addr < x.vmEnd);
  expect(v, `no VMA at ${addr.toString(16)}`).toBeDefined();
  return v as VmAreaStruct;
}

/**
 * Everything that must hold between operations: the VMA tree and counters,
 * the commit charge equal to the accounted VMAs' pages, the slab objects
 * equal to what the tree holds (VMAs, maple nodes, anon_vmas and chain
 * links), file references, and no machine warning.
 */
export function checkMm(t: TestMm, mms: readonly MmStruct[] = [t.mm]): void {
  const { machine, caches, ctx } = t;
  machine.rcu.rcuBarrier();
  let vmas = 0;
  let accounted = 0;
  let nodes = 0;
  let links = 0;
  const fileRefs = new Map<object, number>();
  for (const mm of mms) {
    validateMm(mm);
    nodes += mtStats(mm.mmMt).nodes;
    for (const v of vmaList(mm)) {
      vmas++;
      links += v.anonVmaChain.length;
      if (v.vmFlags & VM_ACCOUNT) accounted += (v.vmEnd - v.vmStart) / PAGE;
      if (v.vmFile !== null) fileRefs.set(v.vmFile, (fileRefs.get(v.vmFile) ?? 0) + 1);
    }
  }
  expect(ctx.vmMemoryCommitted()).toBe(accounted + t.commitSkew);
  expect(caches.vmArea.nrUserObjects).toBe(vmas);
  expect(ctx.nodes.inUse).toBe(nodes);
  const anon = ctx.anon as ChainAnonVmaOps;
  expect(anon.nrLinks).toBe(links);
  expect(caches.anonVmaChain.nrUserObjects).toBe(links);
  expect(caches.anonVma.nrUserObjects).toBe(anon.nrAnonVmas);
  for (const [f, n] of fileRefs) expect((f as { fCount: number }).fCount).toBeGreaterThanOrEqual(n);
  expect(machine.warnings).toEqual([]);
  slabValidate(caches.slab);
}
