/**
 * DOC: test harness: a machine, a swap subsystem on it, folio helpers on the
 * machine's memmap, and a tiny "page table" consumer for swap-out, swap-in,
 * fork and swapoff.
 */
import { __GFP_ZERO, createMachine, GFP_KERNEL, type Machine, type MachineConfig, PG_locked } from '@mm/machine';
import {
  createSwap,
  folioAllocSwap,
  folioFreeSwap,
  type Swap,
  type SwapConfig,
  swapCacheDelFolio,
  swapCacheGetFolio,
  swapDuplicate,
  swapFree,
  swapinReadahead,
  swapWriteout,
} from '../../src/index.js';

export interface Harness {
  machine: Machine;
  swap: Swap;
}

export function makeHarness(config: SwapConfig = {}, machineConfig: MachineConfig = {}): Harness {
  const machine = createMachine(machineConfig);
  const swap = createSwap(machine, config);
  return { machine, swap };
}

/** A locked folio of `order` whose page i holds token `tokenBase + i` (0 base: all zero). */
export function newFolio(h: Harness, order: number, tokenBase = 0): number {
  const f = h.swap.folios;
  const pfn = f.folioAlloc(GFP_KERNEL | __GFP_ZERO, order, -1);
  if (pfn < 0) throw new Error('test: out of memory');
  for (let i = 0; i < 1 << order; i++) f.folioSetContent(pfn, i, tokenBase === 0 ? 0 : tokenBase + i);
  f.folioTrylock(pfn);
  f.folioSetSwapbacked(pfn);
  return pfn;
}

export function isLocked(h: Harness, folio: number): boolean {
  return (h.machine.mem.sec(folio).flags[folio & (h.machine.topology.pagesPerSection - 1)]! & (1 << PG_locked)) !== 0;
}

/**
 * A minimal anonymous-memory consumer: "PTEs" that hold either a resident
 * token or a swap entry. Used to test swap-out/in, fork and swapoff.
 */
export class TinyMm {
  /** Per virtual page: swap entry (>= 0) or -1 when resident/none. */
  readonly swp: number[] = [];
  /** Per virtual page: resident content token (when swp is -1). */
  readonly tok: number[] = [];
  /** Per virtual page: a poison marker after a failed swap-in. */
  readonly poisoned: boolean[] = [];

  constructor(n: number, tokenBase: number) {
    for (let i = 0; i < n; i++) {
      this.swp.push(-1);
      this.tok.push(tokenBase + i);
      this.poisoned.push(false);
    }
  }

  /** Swap out page i (order 0): allocate, "unmap" (reference 1), write, drop the folio. */
  swapOut(h: Harness, i: number): boolean {
    const folio = newFolio(h, 0, 0);
    h.swap.folios.folioSetContent(folio, 0, this.tok[i]!);
    if (folioAllocSwap(h.swap, folio) !== 0) {
      h.swap.folios.folioUnlock(folio);
      h.swap.folios.folioPut(folio);
      return false;
    }
    const entry = h.swap.folios.folioSwap(folio);
    // try_to_unmap: the PTE takes a reference
    swapDuplicate(h.swap, entry);
    this.swp[i] = entry;
    swapWriteout(h.swap, folio); // unlocks
    // reclaim: drop from the swap cache and free the folio
    h.swap.folios.folioTrylock(folio);
    folioFreeSwapOrDelete(h, folio);
    h.swap.folios.folioUnlock(folio);
    h.swap.folios.folioPut(folio);
    return true;
  }

  /** Swap in page i; returns false on an I/O error (the page gets a poison marker). */
  swapIn(h: Harness, i: number): boolean {
    const entry = this.swp[i]!;
    let folio = swapCacheGetFolio(h.swap, entry);
    if (folio < 0) folio = swapinReadahead(h.swap, entry, GFP_KERNEL, null, 0);
    if (folio < 0) throw new Error('test: swap-in failed to get a folio');
    const f = h.swap.folios;
    if (!f.folioTestUptodate(folio)) {
      // the kernel installs a poison marker and drops the reference
      this.poisoned[i] = true;
      this.swp[i] = -1;
      swapFree(h.swap, entry);
      f.folioTrylock(folio);
      folioFreeSwap(h.swap, folio);
      f.folioUnlock(folio);
      f.folioPut(folio);
      return false;
    }
    this.tok[i] = f.folioContent(folio, 0);
    this.swp[i] = -1;
    swapFree(h.swap, entry);
    f.folioTrylock(folio);
    folioFreeSwap(h.swap, folio);
    f.folioUnlock(folio);
    f.folioPut(folio);
    return true;
  }

  /** fork(): the child shares every swap entry (one more reference each); poison markers are copied. */
  fork(h: Harness): TinyMm {
    const c = new TinyMm(0, 0);
    for (let i = 0; i < this.swp.length; i++) {
      const e = this.swp[i]!;
      if (e >= 0) swapDuplicate(h.swap, e);
      c.swp.push(e);
      c.tok.push(this.tok[i]!);
      c.poisoned.push(this.poisoned[i]!);
    }
    return c;
  }
}

function folioFreeSwapOrDelete(h: Harness, folio: number): void {
  // __remove_mapping(): the written folio leaves the swap cache; its slots
  // keep the page-table references (or are freed if there are none left)
  if (!folioFreeSwap(h.swap, folio)) swapCacheDelFolio(h.swap, folio);
}

/** Allocate swap for a new locked folio of `order` on `cpu`: the folio and its entry (-errno as entry on failure). */
export function allocOn(h: Harness, cpu: number, order: number, token = 0): { folio: number; entry: number } {
  return h.machine.cpus.runOn(cpu, () => {
    const folio = newFolio(h, order, token);
    const r = folioAllocSwap(h.swap, folio);
    if (r !== 0) {
      h.swap.folios.folioUnlock(folio);
      h.swap.folios.folioPut(folio);
      return { folio: -1, entry: r };
    }
    return { folio, entry: h.swap.folios.folioSwap(folio) };
  });
}

/** Drop a swap cache folio and its slots (no page-table reference): unlock-state agnostic. */
export function dropFolio(h: Harness, folio: number): void {
  const f = h.swap.folios;
  if (!f.folioTestLocked(folio)) f.folioTrylock(folio);
  if (f.folioTestSwapcache(folio)) swapCacheDelFolio(h.swap, folio);
  f.folioUnlock(folio);
  f.folioPut(folio);
}

/** Fail every page allocation (fail_page_alloc) while `on`. */
export function failPages(h: Harness, on: boolean): void {
  h.machine.mem.failPageAlloc.configure(
    on
      ? { probability: 100, interval: 1, times: -1, space: 0, minOrder: 0, ignoreGfpReclaim: false }
      : { probability: 0 },
  );
}
