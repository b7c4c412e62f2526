/**
 * DOC: shared test set-up: a machine, the rmap environment in either
 * mapcount mode, mms with MM ids, anon and file VMAs, and unclamped node
 * statistics.
 */
import { createMachine, GFP_HIGHUSER_MOVABLE, type Machine, NR_VM_NODE_STAT_ITEMS } from '@mm/machine';
import {
  anonVmaPrepare,
  type createAddressSpace,
  createFolioRmap,
  createRmapMm,
  createRmapVma,
  type FolioRmap,
  folioAlloc,
  mmAllocId,
  type RmapMm,
  type RmapVma,
  VM_READ,
  VM_WRITE,
} from '../src/index.js';

export { fuzzRuns } from './fuzz.js';

export interface Env {
  machine: Machine;
  rm: FolioRmap;
}

/** A small machine and an rmap environment (CONFIG_PAGE_MAPCOUNT unless `pageMapcount` is false). */
export function setup(pageMapcount = true, seed = 1): Env {
  const machine = createMachine({ seed });
  machine.lockdep.enabled = true;
  const rm = createFolioRmap(machine, { pageMapcount });
  return { machine, rm };
}

/** A new mm with an MM id. */
export function newMm(rm: FolioRmap): RmapMm {
  const id = mmAllocId(rm);
  if (id < 0) throw new Error('out of mm ids');
  return createRmapMm(id);
}

/** An anonymous VMA with its anon_vma prepared. */
export function anonVma(rm: FolioRmap, mm: RmapMm, start: number, pages: number, flags = VM_READ | VM_WRITE): RmapVma {
  const vma = createRmapVma(mm, start, start + pages * rm.pageSize, flags, { pageShift: rm.pageShift });
  const ret = anonVmaPrepare(rm, vma);
  if (ret !== 0) throw new Error(`anon_vma_prepare: ${ret}`);
  return vma;
}

/** A file VMA of `mapping` at page offset `pgoff`. */
export function fileVma(
  rm: FolioRmap,
  mm: RmapMm,
  mapping: ReturnType<typeof createAddressSpace>,
  start: number,
  pages: number,
  pgoff: number,
  flags = VM_READ,
): RmapVma {
  return createRmapVma(mm, start, start + pages * rm.pageSize, flags, {
    vmPgoff: pgoff,
    vmFile: { mapping, fMode: 0 },
    pageShift: rm.pageShift,
  });
}

/** Allocate a folio or throw. */
export function alloc(rm: FolioRmap, order: number): number {
  const f = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, order);
  if (f < 0) throw new Error(`folio_alloc(${order}): ${f}`);
  return f;
}

/** A node counter summed over nodes and CPU differentials, without clamping. */
export function nodeStat(rm: FolioRmap, item: number): number {
  const v = rm.mem.vmstat;
  let x = 0;
  for (let nid = 0; nid < v.nrNodes; nid++) {
    x += v.nodeStat[nid * NR_VM_NODE_STAT_ITEMS + item] as number;
    for (let cpu = 0; cpu < v.nrCpus; cpu++)
      x += v.nodeDiff[(cpu * v.nrNodes + nid) * NR_VM_NODE_STAT_ITEMS + item] as number;
  }
  return x;
}
