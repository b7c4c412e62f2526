/**
 * DOC: the swap allocator's figures (issue 12), each against a reference
 * measured in the same run:
 * - an order-0 slot allocated and freed through the per-CPU cluster
 *   (`folioAllocSwap` + `folioFreeSwap` of a locked folio), host ns per pair,
 *   against a bare first-fit byte-map allocator (the floor);
 * - the same with the old slot cache switched on (the ratio);
 * - order-4 allocation success on a device fragmented by freeing a random
 *   50 % of its order-0 entries, and on one where 50 % of order-4 folios
 *   were freed (the frag/nonfull lists' design intent);
 * - the pair cost with 1, 4 and 32 devices of equal priority;
 * - host bytes per slot (swap_map + swap table + cluster info + zeromap).
 * A production kernel: lockdep off. Fixed seeds.
 */
import {
  createMachine,
  GFP_KERNEL,
  localLock,
  localUnlock,
  Prng,
  spinLock,
  spinLockAt,
  spinUnlock,
  spinUnlockAt,
} from '@mm/machine';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  createSwap,
  folioAllocSwap,
  folioFreeSwap,
  type Swap,
  type SwapConfig,
  swapCacheDelFolio,
  swapon,
} from '../src/index.js';

const suite = new BenchSuite('@mm/swap-alloc');
const N = 1000;
let sink = 0;

function setup(nrDevices: number, config: SwapConfig = {}): { swap: Swap; folio: number } {
  const machine = createMachine({ seed: 1 });
  machine.lockdep.enabled = false;
  const swap = createSwap(machine, { maxSwapfiles: 32, debugVm: false, ...config });
  for (let d = 0; d < nrDevices; d++) swapon(swap, { sizeBytes: 256 * 2 ** 20, priority: 5 });
  const f = swap.folios;
  // one entry held in the CPU's cluster, so the cluster never empties between
  // pairs (an empty cluster would go back to the free list with its table)
  const anchor = f.folioAlloc(0, 0, -1);
  f.folioTrylock(anchor);
  folioAllocSwap(swap, anchor);
  const folio = f.folioAlloc(0, 0, -1);
  f.folioTrylock(folio);
  return { swap, folio };
}

function pairs(swap: Swap, folio: number): () => void {
  return () => {
    let x = 0;
    for (let i = 0; i < N; i++) {
      x += folioAllocSwap(swap, folio);
      folioFreeSwap(swap, folio);
    }
    sink ^= x;
  };
}

// the floor: a first-fit byte map with a moving hint
const map = new Uint8Array(1 << 16);
let hint = 0;
let pagePair = 1;
const bare = await suite.time(
  'bare byte-map first-fit alloc+free',
  () => {
    let x = 0;
    for (let i = 0; i < N; i++) {
      let o = hint;
      while (map[o] !== 0) o = (o + 1) & 0xffff;
      map[o] = 0x40;
      x += o;
      map[o] = 0;
      hint = (o + 1) & 0xffff;
    }
    sink ^= x;
  },
  { opsPerCall: N },
);
suite.record({ name: 'reference: bare byte-map alloc+free', value: bare.nsPerOp, unit: 'ns/pair' });
{
  const m = createMachine({ seed: 1 });
  m.lockdep.enabled = false;
  const page = await suite.time(
    'reference: machine allocPages+freePages (order 0)',
    () => {
      let x = 0;
      for (let i = 0; i < N; i++) {
        const p = m.mem.allocPages(GFP_KERNEL, 0, -1);
        x += p;
        m.mem.freePages(p, 0);
      }
      sink ^= x;
    },
    { opsPerCall: N },
  );
  pagePair = page.nsPerOp;
  suite.record({ name: 'reference: @mm/machine order-0 page alloc+free', value: page.nsPerOp, unit: 'ns/pair' });
}

const one = setup(1);
const pcp = await suite.time('order-0 alloc+free, per-CPU cluster', pairs(one.swap, one.folio), { opsPerCall: N });
suite.record({
  name: 'order-0 alloc+free via per-CPU cluster (target <= 150)',
  value: pcp.nsPerOp,
  unit: 'ns/pair',
  reference: 'machine page alloc+free (same run)',
  ratio: pcp.nsPerOp / pagePair,
});

// The same pair on CPU time (process.cpuUsage), blocks of the swap pair and
// the page pair interleaved and the fastest block of each kept: on a loaded
// shared machine the wall-clock medians above swing 2x between runs, while
// the interleaved CPU-time ratio stays within a few percent.
function cpuNsPer(fn: (n: number) => void, n: number): number {
  const c = process.cpuUsage();
  fn(n);
  const d = process.cpuUsage(c);
  return ((d.user + d.system) * 1000) / n;
}
const BLOCK = 20_000;
let cpuPair = Number.POSITIVE_INFINITY;
let cpuPage = Number.POSITIVE_INFINITY;
let cpuLockAt = Number.POSITIVE_INFINITY;
let cpuSpin = Number.POSITIVE_INFINITY;
let cpuLocal = Number.POSITIVE_INFINITY;
{
  const pm = createMachine({ seed: 1 });
  pm.lockdep.enabled = false;
  const sw = one.swap;
  const fo = one.folio;
  const si = sw.swapInfo[0]!;
  const swapPairs = (n: number): void => {
    let x = 0;
    for (let i = 0; i < n; i++) {
      x += folioAllocSwap(sw, fo);
      folioFreeSwap(sw, fo);
    }
    sink ^= x;
  };
  const pagePairs = (n: number): void => {
    let x = 0;
    for (let i = 0; i < n; i++) {
      const p = pm.mem.allocPages(GFP_KERNEL, 0, -1);
      x += p;
      pm.mem.freePages(p, 0);
    }
    sink ^= x;
  };
  // the swap locks alone: a cluster lock (the pair takes two), si->lock (two), the local lock (one)
  const ciLocks = (n: number): void => {
    for (let i = 0; i < n; i++) {
      spinLockAt(si.ciLock, i & 7);
      spinUnlockAt(si.ciLock, i & 7);
    }
  };
  const siLocks = (n: number): void => {
    for (let i = 0; i < n; i++) {
      spinLock(si.lock);
      spinUnlock(si.lock);
    }
  };
  const localLocks = (n: number): void => {
    for (let i = 0; i < n; i++) {
      localLock(sw.pcpLock);
      localUnlock(sw.pcpLock);
    }
  };
  for (let r = 0; r < 25; r++) {
    cpuPage = Math.min(cpuPage, cpuNsPer(pagePairs, BLOCK));
    cpuPair = Math.min(cpuPair, cpuNsPer(swapPairs, BLOCK));
    cpuLockAt = Math.min(cpuLockAt, cpuNsPer(ciLocks, BLOCK));
    cpuSpin = Math.min(cpuSpin, cpuNsPer(siLocks, BLOCK));
    cpuLocal = Math.min(cpuLocal, cpuNsPer(localLocks, BLOCK));
  }
}
suite.record({
  name: 'order-0 alloc+free via per-CPU cluster, CPU time (fastest of 25 interleaved blocks)',
  value: cpuPair,
  unit: 'ns/pair',
  reference: 'machine page alloc+free, CPU time, interleaved',
  ratio: cpuPair / cpuPage,
});
suite.record({ name: 'reference: machine page alloc+free, CPU time, interleaved', value: cpuPage, unit: 'ns/pair' });
const lockNs = 2 * cpuLockAt + 2 * cpuSpin + cpuLocal;
suite.record({
  name: "the pair's 5 lock round trips through the machine's lock API (2 ci->lock, 2 si->lock, 1 local lock)",
  value: lockNs,
  unit: 'ns/pair',
  reference: `share of the pair's CPU time; one ci->lock round trip ${cpuLockAt.toFixed(1)} ns`,
  ratio: lockNs / cpuPair,
});
{
  // virtual time: what the cost model charges a pair (locks, nothing else on this path)
  const m = one.swap.machine;
  const before = m.account.totalBusyNs();
  for (let i = 0; i < N; i++) {
    folioAllocSwap(one.swap, one.folio);
    folioFreeSwap(one.swap, one.folio);
  }
  const pm = createMachine({ seed: 1 });
  pm.lockdep.enabled = false;
  const pb = pm.account.totalBusyNs();
  for (let i = 0; i < N; i++) pm.mem.freePages(pm.mem.allocPages(GFP_KERNEL, 0, -1), 0);
  const pageVirt = (pm.account.totalBusyNs() - pb) / N;
  const swapVirt = (m.account.totalBusyNs() - before) / N;
  suite.record({
    name: 'order-0 alloc+free via per-CPU cluster, virtual time (cost model)',
    value: swapVirt,
    unit: 'virtual ns/pair',
    reference: `machine page alloc+free: ${pageVirt.toFixed(1)} virtual ns`,
    ...(pageVirt > 0 ? { ratio: swapVirt / pageVirt } : {}),
  });
}

const sc = setup(1, { slotCache: true });
const slot = await suite.time('order-0 alloc+free, old slot cache', pairs(sc.swap, sc.folio), { opsPerCall: N });
suite.record({
  name: 'order-0 alloc+free with the old slot cache',
  value: slot.nsPerOp,
  unit: 'ns/pair',
  reference: 'per-CPU cluster (same run)',
  ratio: slot.nsPerOp / pcp.nsPerOp,
});

const byDevices: number[] = [];
for (const n of [1, 4, 32]) {
  const s = setup(n);
  const r = await suite.time(`order-0 alloc+free, ${n} devices`, pairs(s.swap, s.folio), { opsPerCall: N });
  byDevices.push(r.nsPerOp);
  suite.record({
    name: `order-0 alloc+free, ${n} equal-priority devices`,
    value: r.nsPerOp,
    unit: 'ns/pair',
    reference: '1 device (same run)',
    ratio: r.nsPerOp / byDevices[0]!,
  });
}

// a device cycling through clusters: rotation cost included (each cluster consumed → slow path)
function churn(n: number): () => void {
  const s = setup(n);
  const f = s.swap.folios;
  const held = new Float64Array(4096);
  for (let i = 0; i < held.length; i++) {
    const p = f.folioAlloc(0, 0, -1);
    f.folioTrylock(p);
    held[i] = p;
  }
  let k = 0;
  return () => {
    for (let i = 0; i < N; i++) {
      const p = held[k]!;
      if (f.folioTestSwapcache(p)) swapCacheDelFolio(s.swap, p);
      folioAllocSwap(s.swap, p);
      k = (k + 1) & 4095;
    }
  };
}
const c1 = await suite.time('FIFO churn, 1 device', churn(1), { opsPerCall: N });
suite.record({
  name: 'order-0 streaming (4096 live entries: free the oldest, allocate one), 1 device',
  value: c1.nsPerOp,
  unit: 'ns/pair',
  reference: 'machine page alloc+free (same run)',
  ratio: c1.nsPerOp / pagePair,
});
const c32 = await suite.time('FIFO churn, 32 devices', churn(32), { opsPerCall: N });
suite.record({
  name: 'FIFO churn (4096 live entries, alloc+free), 32 vs 1 device',
  value: c32.nsPerOp,
  unit: 'ns/op',
  reference: '1 device (same run)',
  ratio: c32.nsPerOp / c1.nsPerOp,
});

// fragmentation: fill with order 0, free a random half, then order-4 until failure
function fragment(fillOrder: number): { ok: number; freeSlots: number; freeClusters: number } {
  const machine = createMachine({ seed: 3 });
  machine.lockdep.enabled = false;
  const swap = createSwap(machine);
  swapon(swap, { sizeBytes: 64 * 2 ** 20 });
  const f = swap.folios;
  const held: number[] = [];
  for (;;) {
    const p = f.folioAlloc(0, fillOrder, -1);
    f.folioTrylock(p);
    if (folioAllocSwap(swap, p) !== 0) {
      f.folioUnlock(p);
      f.folioPut(p);
      break;
    }
    held.push(p);
  }
  const prng = new Prng(42);
  for (let i = held.length - 1; i > 0; i--) {
    const j = prng.below(i + 1);
    [held[i], held[j]] = [held[j]!, held[i]!];
  }
  for (let i = 0; i < held.length / 2; i++) {
    const p = held[i]!;
    swapCacheDelFolio(swap, p);
    f.folioUnlock(p);
    f.folioPut(p);
  }
  const si = swap.swapInfo[0]!;
  const freeSlots = si.pages - si.inusePages;
  let ok = 0;
  for (;;) {
    const p = f.folioAlloc(0, 4, -1);
    f.folioTrylock(p);
    if (folioAllocSwap(swap, p) !== 0) break;
    ok++;
  }
  return { ok, freeSlots, freeClusters: si.listLen[0]! };
}
const fr0 = fragment(0);
suite.record({
  name: 'order-4 allocations after a random 50% free of order-0 entries',
  value: fr0.ok,
  unit: 'allocations',
  reference: `${fr0.freeSlots} free slots = ${Math.floor(fr0.freeSlots / 16)} order-4 worth`,
  ratio: fr0.ok / Math.max(1, Math.floor(fr0.freeSlots / 16)),
});
const fr4 = fragment(4);
suite.record({
  name: 'order-4 allocations after a random 50% free of order-4 folios',
  value: fr4.ok,
  unit: 'allocations',
  reference: `${fr4.freeSlots} free slots = ${Math.floor(fr4.freeSlots / 16)} order-4 worth`,
  ratio: fr4.ok / Math.max(1, Math.floor(fr4.freeSlots / 16)),
});

// host bytes per slot with every cluster in use
{
  const machine = createMachine({ seed: 1 });
  const swap = createSwap(machine);
  swapon(swap, { sizeBytes: 256 * 2 ** 20 });
  const f = swap.folios;
  const si = swap.swapInfo[0]!;
  for (let ci = 0; ci < si.nrClusters; ci++) {
    const p = f.folioAlloc(0, 0, -1);
    f.folioTrylock(p);
    // order 9 would need a free cluster; one order-0 entry per cluster suffices to give it a table
    folioAllocSwap(swap, p);
    const q = f.folioAlloc(0, 9, -1);
    if (q >= 0) {
      f.folioTrylock(q);
      folioAllocSwap(swap, q);
    }
  }
  const tablesInUse = si.ciTable.filter((t) => t !== null).length;
  suite.record({
    name: 'host bytes per slot (swap_map + swap table + cluster info + zeromap), all clusters in use (target <= 10)',
    value: si.hostBytes() / si.max,
    unit: 'B/slot',
    reference: `kernel: 1 B map + 8 B table entry; ${tablesInUse}/${si.nrClusters} tables`,
  });
  suite.record({
    name: 'backing store (content tokens), per written slot',
    value: 4,
    unit: 'B/slot',
    reference: 'the simulated disk, allocated per cluster on first write',
  });
}

suite.finish();
if (sink === 0.5) console.log(sink);
