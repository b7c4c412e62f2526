/**
 * DOC: the swap validator (`mt_validate`-style), called after every step of
 * the property tests.
 *
 * Per device: every cluster list is a well-formed doubly linked list whose
 * members carry the list's flag (free, full, discard, nonfull[o], frag[o]
 * with `o` the cluster's order) and no cluster is left isolated; each
 * cluster's count equals its used `swap_map` bytes plus the slots past the
 * end; free clusters are empty, order 0 and table-less, others have a table;
 * a full cluster is full; the device's `inuse_pages` is the sum of its
 * allocated slots. Per slot: a folio in the swap table only where the slot
 * holds SWAP_HAS_CACHE, with the folio in the swap cache at that entry and
 * covering its aligned range; a shadow only on a slot still referenced; no
 * slot both free and cached; a cache bit without a folio only for entries
 * in the old slot cache (or, with `allowClaims`, swap-in claims); COUNT_CONTINUED only with a
 * continuation page. Globally: `nr_swap_pages`, `total_swap_pages` and
 * NR_SWAPCACHE match the devices; the per-node available lists hold exactly
 * the writable, non-full devices in priority order; per-CPU clusters point
 * at live non-rotational devices. The first violation throws
 * {@link MmBugError} naming the device, cluster or slot.
 */
import { MmBugError, spinIsLocked, spinIsLockedAt } from '@mm/machine';
import { localLockHeldAnywhere } from './internal/locks.js';
import {
  CLUSTER_FLAG_DISCARD,
  CLUSTER_FLAG_FRAG,
  CLUSTER_FLAG_FREE,
  CLUSTER_FLAG_FULL,
  CLUSTER_FLAG_NAMES,
  CLUSTER_FLAG_NONFULL,
  COUNT_CONTINUED,
  SWAP_ENTRY_INVALID,
  SWAP_HAS_CACHE,
  SWAP_MAP_BAD,
  SWAP_MAP_SHMEM,
  SWP_SOLIDSTATE,
  SWP_WRITEOK,
} from './swap.js';
import { LIST_DISCARD, LIST_FREE, LIST_FULL, type SwapInfo } from './swap-info.js';
import { slotCacheEntries } from './swap-slots.js';
import { swpTbIsFolio, swpTbIsShadow, swpTbToFolio } from './swap-table.js';
import type { Swap } from './swapfile.js';
import { mkSwpEntry } from './swp-entry.js';

/** What {@link swapValidate} accepts. */
export interface SwapValidateOptions {
  /** Slots with SWAP_HAS_CACHE and no folio are allowed (swap-in claims by `swapcachePrepare`). */
  readonly allowClaims?: boolean;
}

function fail(msg: string): never {
  throw new MmBugError(`swap: validate: ${msg}`);
}

function expectedList(si: SwapInfo, ci: number, nrOrders: number): number {
  switch (si.ciFlags[ci]) {
    case CLUSTER_FLAG_FREE:
      return LIST_FREE;
    case CLUSTER_FLAG_FULL:
      return LIST_FULL;
    case CLUSTER_FLAG_DISCARD:
      return LIST_DISCARD;
    case CLUSTER_FLAG_NONFULL:
      return si.nonfullList(si.ciOrder[ci]!);
    case CLUSTER_FLAG_FRAG:
      return si.fragList(si.ciOrder[ci]!, nrOrders);
    default:
      return -1;
  }
}

function validateDevice(swap: Swap, si: SwapInfo, claims: boolean, slotCached: Set<number>): number {
  const geo = swap.geo;
  const C = geo.clusterSize;
  const name = `${si.name} (type ${si.type})`;
  // lists
  const nrLists = si.listHead.length;
  for (let list = 0; list < nrLists; list++) {
    let n = 0;
    let prev = -1;
    for (let ci = si.listHead[list]!; ci !== -1; ci = si.ciNext[ci]!) {
      if (ci < 0 || ci >= si.nrClusters) fail(`${name}: list ${list} links to cluster ${ci}`);
      if (si.ciPrev[ci] !== prev) fail(`${name}: cluster ${ci} prev ${si.ciPrev[ci]} != ${prev} on list ${list}`);
      if (si.ciList[ci] !== list) fail(`${name}: cluster ${ci} on list ${list} records list ${si.ciList[ci]}`);
      prev = ci;
      if (++n > si.nrClusters) fail(`${name}: list ${list} has a cycle`);
    }
    if (si.listTail[list] !== prev) fail(`${name}: list ${list} tail ${si.listTail[list]} != ${prev}`);
    if (si.listLen[list] !== n) fail(`${name}: list ${list} length ${si.listLen[list]} != ${n}`);
  }
  const map = si.swapMap;
  let inuse = 0;
  let cached = 0;
  for (let ci = 0; ci < si.nrClusters; ci++) {
    const flag = si.ciFlags[ci]!;
    const fname = CLUSTER_FLAG_NAMES[flag] ?? String(flag);
    const want = expectedList(si, ci, geo.nrOrders);
    if (want < 0) fail(`${name}: cluster ${ci} has flag ${fname} between operations`);
    if (si.ciList[ci] !== want) fail(`${name}: cluster ${ci} flag ${fname} but on list ${si.ciList[ci]}`);
    if (spinIsLockedAt(si.ciLock, ci)) fail(`${name}: cluster ${ci} lock held by CPU ${si.ciLock.ownerCpu[ci]}`);
    const start = ci * C;
    const end = Math.min(si.max, start + C);
    let used = start + C - end; // tail past max
    let alloc = 0;
    const table = si.ciTable[ci];
    for (let off = start; off < end; off++) {
      const b = map[off]!;
      const tb = table === null || table === undefined ? 0 : table[off - start]!;
      if (b !== 0) used++;
      if (b !== 0 && b !== SWAP_MAP_BAD) alloc++;
      if (b === SWAP_MAP_BAD && off !== 0 && tb !== 0) fail(`${name}: bad slot ${off} has a table entry`);
      if ((b & COUNT_CONTINUED) !== 0 && b !== SWAP_MAP_SHMEM && (b & ~SWAP_HAS_CACHE) !== SWAP_MAP_SHMEM) {
        if (!si.cont.has(off >>> swap.machine.topology.pageShift))
          fail(`${name}: slot ${off} COUNT_CONTINUED without continuation`);
      }
      if (swpTbIsFolio(tb)) {
        if ((b & SWAP_HAS_CACHE) === 0)
          fail(`${name}: slot ${off} caches folio ${swpTbToFolio(tb)} but swap_map is 0x${b.toString(16)}`);
        const folio = swpTbToFolio(tb);
        const f = swap.folios;
        const nr = 1 << f.folioOrder(folio);
        const first = off - ((off - start) % nr);
        if (!f.folioTestSwapcache(folio) || f.folioSwap(folio) !== mkSwpEntry(si.type, first)) {
          fail(`${name}: slot ${off} caches folio ${folio}, which is not in the swap cache at ${first}`);
        }
        if (off === first) cached += nr;
      } else if ((b & SWAP_HAS_CACHE) !== 0 && !claims && !slotCached.has(mkSwpEntry(si.type, off))) {
        fail(`${name}: slot ${off} has SWAP_HAS_CACHE (0x${b.toString(16)}) but no folio in the swap cache`);
      }
      if (swpTbIsShadow(tb) && (b & ~SWAP_HAS_CACHE) === 0)
        fail(`${name}: slot ${off} keeps a shadow but has no reference`);
    }
    if (used !== si.ciCount[ci]) fail(`${name}: cluster ${ci} count ${si.ciCount[ci]} != ${used} used slots`);
    inuse += alloc;
    if (flag === CLUSTER_FLAG_FREE) {
      if (si.ciCount[ci] !== 0 || si.ciOrder[ci] !== 0)
        fail(`${name}: free cluster ${ci} count ${si.ciCount[ci]} order ${si.ciOrder[ci]}`);
      if (table !== null) fail(`${name}: free cluster ${ci} keeps its swap table`);
    } else if (table === null) {
      fail(`${name}: ${fname} cluster ${ci} has no swap table`);
    }
    if (flag === CLUSTER_FLAG_FULL && si.ciCount[ci] !== C) fail(`${name}: full cluster ${ci} count ${si.ciCount[ci]}`);
    if (flag === CLUSTER_FLAG_FRAG && (si.ciCount[ci] === 0 || si.ciCount[ci] === C)) {
      fail(`${name}: frag cluster ${ci} count ${si.ciCount[ci]}`);
    }
    if (flag === CLUSTER_FLAG_NONFULL && si.ciCount[ci] === 0) fail(`${name}: nonfull cluster ${ci} is empty`);
    if (flag === CLUSTER_FLAG_DISCARD && si.ciCount[ci] !== 0)
      fail(`${name}: discard cluster ${ci} count ${si.ciCount[ci]}`);
  }
  if (inuse !== si.inusePages) fail(`${name}: inuse_pages ${si.inusePages} != ${inuse} allocated slots`);
  if (si.inusePages > si.pages) fail(`${name}: inuse_pages ${si.inusePages} > pages ${si.pages}`);
  const shouldAvail = (si.flags & SWP_WRITEOK) !== 0 && si.inusePages < si.pages;
  if (si.onAvail !== shouldAvail) fail(`${name}: on available list ${si.onAvail}, expected ${shouldAvail}`);
  if (spinIsLocked(si.lock) || spinIsLocked(si.globalClusterLock) || spinIsLocked(si.contLock))
    fail(`${name}: a device lock is held`);
  return cached;
}

/**
 * Check every invariant of the swap subsystem.
 * @throws MmBugError naming the first violation.
 */
export function swapValidate(swap: Swap, opts: SwapValidateOptions = {}): void {
  const claims = opts.allowClaims === true;
  const slotCached = new Set(slotCacheEntries(swap));
  let free = 0;
  let total = 0;
  let cached = 0;
  for (let t = 0; t < swap.swapInfo.length; t++) {
    const si = swap.swapInfo[t];
    if (si === null || si === undefined) continue;
    if (si.type !== t) fail(`swap_info[${t}] has type ${si.type}`);
    cached += validateDevice(swap, si, claims, slotCached);
    if (swap.active.includes(si)) {
      free += si.pages - si.inusePages;
      total += si.pages;
    }
  }
  if (free !== swap.nrSwapPages) fail(`nr_swap_pages ${swap.nrSwapPages} != ${free}`);
  if (total !== swap.totalSwapPages) fail(`total_swap_pages ${swap.totalSwapPages} != ${total}`);
  if (cached !== swap.nrSwapcache) fail(`NR_SWAPCACHE ${swap.nrSwapcache} != ${cached} cached pages`);
  for (let i = 1; i < swap.active.length; i++) {
    if (swap.active[i - 1]!.prio < swap.active[i]!.prio) fail('swap_active_head is not in priority order');
  }
  for (let nid = 0; nid < swap.availHeads.length; nid++) {
    const list = swap.availHeads[nid]!;
    const want = swap.swapInfo.filter((s) => s?.onAvail).length;
    if (list.length !== want) fail(`node ${nid}: ${list.length} devices on the available list, ${want} available`);
    for (let i = 0; i < list.length; i++) {
      if (!list[i]!.onAvail) fail(`node ${nid}: ${list[i]!.name} on the available list but not available`);
      if (i > 0 && list[i - 1]!.availPrio[nid]! > list[i]!.availPrio[nid]!)
        fail(`node ${nid}: available list out of order`);
    }
  }
  const n = swap.nrOrders;
  for (let i = 0; i < swap.pcpSi.length; i++) {
    const t = swap.pcpSi[i]!;
    if (t < 0) continue;
    const si = swap.swapInfo[t];
    if (si === null || si === undefined)
      fail(`CPU ${Math.floor(i / n)} order ${i % n}: per-CPU cluster on swapped-off type ${t}`);
    if ((si.flags & SWP_SOLIDSTATE) === 0) fail(`CPU ${Math.floor(i / n)}: per-CPU cluster on rotational ${si.name}`);
    const off = swap.pcpOffset[i]!;
    if (off !== SWAP_ENTRY_INVALID && off >= si.max)
      fail(`CPU ${Math.floor(i / n)}: per-CPU offset ${off} past ${si.name}`);
  }
  const pcpHolder = localLockHeldAnywhere(swap.pcpLock);
  if (pcpHolder >= 0) fail(`percpu_swap_cluster.lock is held on CPU ${pcpHolder}`);
  if (spinIsLocked(swap.swapAvailLock) || spinIsLocked(swap.swapLock)) fail('swap_lock or swap_avail_lock is held');
}
