/**
 * DOC: swap I/O and the backing store (mm/page_io.c, Linux 6.18).
 *
 * The backing store keeps, per slot, the 32-bit content token of the page
 * written there (allocated per cluster on first write), so a swap-in
 * restores exactly what was swapped out. A page whose tokens are all 0 (a
 * zero-filled page) is recorded in the device's zeromap and never written
 * (`swpout_zero`); reading it back zero-fills the folio (`swpin_zero`).
 *
 * Time: every device has a per-request latency and a bandwidth. SSD, HDD
 * and pmem latencies default to the machine's cost table (`ioSsdRead`,
 * `ioSsdWrite`, `ioHdd`, `ioPmem`); a request occupies the device for its
 * transfer time (requests queue behind each other) and completes after the
 * latency on top. Plugged readahead (`blk_start_plug`) pays the latency
 * once per plug. zram does its work on the CPU (compression): each page
 * charges `ioZram` to the current CPU through `machine.account`. The read
 * and write functions return the virtual time at which the I/O completes,
 * which the consumer uses to put the faulting task to sleep; the data and
 * the folio flags are final when the call returns.
 *
 * Read errors: `swapInjectReadError(swap, entry)` makes reads of a slot fail
 * until the slot is written again or freed, and a device's `readErrorRate`
 * fails reads at random (the `swap_io_error` stream of the machine's PRNG).
 * A failed read leaves the folio !uptodate and returns -EIO; the consumer
 * turns that into a poisoned PTE marker (`PTE_MARKER_POISONED`, formerly
 * the swapin-error entry of the kernel commit "mm: use pte markers for swap
 * errors") rather than mapping garbage.
 */
import { EIO, MmError, VM_EVENT } from '@mm/machine';
import { SWP_AREA_DISCARD, SWP_SYNCHRONOUS_IO } from './swap.js';
import type { SwapInfo } from './swap-info.js';
import { folioFreeSwap, swapEntryToInfo } from './swap-map.js';
import type { Swap } from './swapfile.js';
import { swpOffset } from './swp-entry.js';

function storeOf(swap: Swap, si: SwapInfo, offset: number): Uint32Array {
  const ci = offset >>> swap.clusterShift;
  let s = si.store[ci];
  if (s === null || s === undefined) {
    s = new Uint32Array(swap.clusterSize);
    si.store[ci] = s;
  }
  return s;
}

function zeromapTest(si: SwapInfo, off: number): boolean {
  return (si.zeromap[off >>> 5]! & (1 << (off & 31))) !== 0;
}

/** Set or clear the zeromap bits of `nr` slots. */
export function zeromapSet(si: SwapInfo, off: number, nr: number, on: boolean): void {
  const z = si.zeromap;
  for (let o = off, end = off + nr; o < end; o++) {
    const w = o >>> 5;
    const bit = 1 << (o & 31);
    const v = z[w]!;
    // write only on change: freeing usually finds the bit clear already
    if (on) {
      if ((v & bit) === 0) z[w] = v | bit;
    } else if ((v & bit) !== 0) z[w] = v & ~bit;
  }
}

/** Charge an I/O of `nr` pages; returns its completion time. */
function ioTime(swap: Swap, si: SwapInfo, nr: number, latencyNs: number, plugged: boolean): number {
  const m = swap.machine;
  if (si.cpuBound) {
    m.account.chargeEvent(m.currentCpu, 'ioZram', nr);
    return m.clock.cpuNow(m.currentCpu);
  }
  const now = m.clock.cpuNow(m.currentCpu);
  const transfer = (nr * m.topology.pageSize) / si.bytesPerNs;
  const start = Math.max(now, si.busyUntilNs);
  si.busyUntilNs = start + transfer;
  si.io.busyNs += transfer;
  return start + transfer + (plugged ? 0 : latencyNs);
}

/**
 * Write a locked swap cache folio to its slots and unlock it. Nothing is
 * written when no page table references the slots any more (the swap space
 * is freed instead) or when the folio is all zero (zeromap). Returns the
 * completion time in virtual ns.
 * @kernel swap_writeout (mm/page_io.c)
 */
export function swapWriteout(swap: Swap, folio: number): number {
  const f = swap.folios;
  const m = swap.machine;
  if (!f.folioTestLocked(folio) || !f.folioTestSwapcache(folio)) {
    throw new MmError('EINVAL', `swap: swap_writeout of folio ${folio} that is not a locked swap cache folio`);
  }
  const now = m.clock.cpuNow(m.currentCpu);
  if (folioFreeSwap(swap, folio)) {
    f.folioUnlock(folio);
    return now;
  }
  const entry = f.folioSwap(folio);
  const si = swapEntryToInfo(swap, entry)!;
  const off = swpOffset(entry);
  const order = f.folioOrder(folio);
  const nr = 1 << order;
  let zero = true;
  for (let i = 0; i < nr; i++) {
    if (f.folioContent(folio, i) !== 0) {
      zero = false;
      break;
    }
  }
  if (zero) {
    zeromapSet(si, off, nr, true);
    for (let i = 0; i < nr; i++) si.badReads.delete(off + i);
    swap.counters.swpoutZero += nr;
    f.folioUnlock(folio);
    return now;
  }
  zeromapSet(si, off, nr, false);
  for (let i = 0; i < nr; i++) {
    const o = off + i;
    storeOf(swap, si, o)[o & (swap.clusterSize - 1)] = f.folioContent(folio, i);
    si.badReads.delete(o);
  }
  swap.counters.pswpout += nr;
  swap.counters.mthpSwpout[order]!++;
  if (order === swap.geo.pmdOrder && swap.geo.thpSwap) swap.counters.thpSwpout++;
  m.mem.vmstat.countVmEvents(m.currentCpu, VM_EVENT.PSWPOUT, nr);
  si.io.writtenPages += nr;
  si.io.writeRequests++;
  const done = ioTime(swap, si, nr, si.writeLatencyNs, false);
  f.folioUnlock(folio);
  return done;
}

/**
 * Read a locked, !uptodate folio from its slots (`entry`, default
 * `folio->swap`), mark it uptodate and unlock it. `plug` ≥ 0 makes the read
 * part of a plugged batch (readahead). Returns the completion time, or
 * -EIO when the read failed (the folio stays !uptodate).
 * @kernel swap_read_folio (mm/page_io.c)
 */
export function swapReadFolio(swap: Swap, folio: number, plug: number, entry = swap.folios.folioSwap(folio)): number {
  const f = swap.folios;
  const m = swap.machine;
  const si = swapEntryToInfo(swap, entry)!;
  const off = swpOffset(entry);
  const order = f.folioOrder(folio);
  const nr = 1 << order;
  const now = m.clock.cpuNow(m.currentCpu);
  // zeromap: all zero is served without I/O; a mix is an error
  const z0 = zeromapTest(si, off);
  let mixed = false;
  for (let i = 1; i < nr; i++) if (zeromapTest(si, off + i) !== z0) mixed = true;
  if (mixed) return readFailed(swap, si, folio);
  if (z0) {
    for (let i = 0; i < nr; i++) f.folioSetContent(folio, i, 0);
    f.folioMarkUptodate(folio);
    swap.counters.swpinZero += nr;
    f.folioUnlock(folio);
    return now;
  }
  let bad = false;
  for (let i = 0; i < nr; i++) if (si.badReads.has(off + i)) bad = true;
  if (!bad && si.readErrorRate > 0 && swap.ioErrorPrng.chance(si.readErrorRate)) bad = true;
  if (bad) return readFailed(swap, si, folio);
  for (let i = 0; i < nr; i++) {
    const o = off + i;
    f.folioSetContent(folio, i, storeOf(swap, si, o)[o & (swap.clusterSize - 1)]!);
  }
  f.folioMarkUptodate(folio);
  swap.counters.pswpin += nr;
  m.mem.vmstat.countVmEvents(m.currentCpu, VM_EVENT.PSWPIN, nr);
  si.io.readPages += nr;
  if (plug < 0) si.io.readRequests++;
  const sync = (si.flags & SWP_SYNCHRONOUS_IO) !== 0;
  const done = ioTime(swap, si, nr, si.readLatencyNs, plug >= 0 && !sync);
  f.folioUnlock(folio);
  return done;
}

function readFailed(swap: Swap, si: SwapInfo, folio: number): number {
  si.io.readErrors++;
  swap.counters.readErrors++;
  swap.folios.folioUnlock(folio);
  return -EIO;
}

/**
 * Make every read of `entry`'s slot fail with -EIO until it is rewritten or
 * freed (a bad sector).
 */
export function swapInjectReadError(swap: Swap, entry: number): void {
  const si = swapEntryToInfo(swap, entry);
  if (si === null || swpOffset(entry) === 0 || swpOffset(entry) >= si.max) {
    throw new MmError('EINVAL', `swap: no slot for entry ${entry} to inject an error into`);
  }
  si.badReads.add(swpOffset(entry));
}

/** Start a plugged batch of reads on `si`: one request, one latency. @kernel blk_start_plug */
export function ioPlugBegin(si: SwapInfo): number {
  si.io.readRequests++;
  return si.io.readRequests;
}

/** Discard a cluster's blocks (frees zram's copies). @kernel discard_swap_cluster (mm/swapfile.c) */
export function discardSwapCluster(_swap: Swap, si: SwapInfo, ci: number): void {
  si.io.discards++;
  si.store[ci] = null;
}

/** Discard the whole area once at swapon. @kernel discard_swap (mm/swapfile.c) */
export function discardSwap(_swap: Swap, si: SwapInfo): void {
  if ((si.flags & SWP_AREA_DISCARD) === 0) return;
  si.io.discards++;
}

/** The slot was freed: forget injected errors (zram also drops its copy). */
export function swapSlotFreeNotify(si: SwapInfo, offset: number): void {
  if (si.badReads.size > 0) si.badReads.delete(offset);
}

/** The token stored for `entry` (for tests and inspection); 0 for never written. */
export function swapStoredContent(swap: Swap, entry: number): number {
  const si = swapEntryToInfo(swap, entry);
  if (si === null) return 0;
  const o = swpOffset(entry);
  const s = si.store[o >>> swap.clusterShift];
  return s === null || s === undefined ? 0 : s[o & (swap.clusterSize - 1)]!;
}
