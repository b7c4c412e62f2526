// The buddy allocator's documented behaviour: zone layout, claim vs steal
// fallback, highatomic reserves, watermarks, pcp batching, zonelists,
// __GFP_THISNODE, hooks, compound pages, bad frees, fault injection.
import { describe, expect, it } from 'vitest';
import {
  __GFP_ACCOUNT,
  __GFP_COMP,
  __GFP_DIRECT_RECLAIM,
  __GFP_HIGH,
  __GFP_MEMALLOC,
  __GFP_NOFAIL,
  __GFP_NORETRY,
  __GFP_NOWARN,
  __GFP_THISNODE,
  __GFP_ZERO,
  BadPageError,
  createMachine,
  ENOMEM,
  formatVmstat,
  GFP_ATOMIC,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_NOWAIT,
  MAX_NR_ZONES,
  type Machine,
  MIGRATE_HIGHATOMIC,
  MIGRATE_MOVABLE,
  MIGRATE_UNMOVABLE,
  MmBugError,
  MmError,
  memStateJson,
  NR_FREE_PAGES,
  NUMA_FOREIGN,
  NUMA_HIT,
  NUMA_MISS,
  PG_head,
  PG_lru,
  PGTY_slab,
  PGTY_table,
  WMARK_LOW,
  WMARK_MIN,
  ZONE_DMA32,
  ZONE_MOVABLE,
  ZONE_NORMAL,
} from '../src/index.js';
import { freeAreaEmpty, pageAllocCpuDead, unreserveHighatomicPageblock } from '../src/internal.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Everything observable about the allocator, for "nothing changed" checks. */
function snapshot(m: Machine): string {
  const pa = m.mem;
  return JSON.stringify({
    state: memStateJson(pa),
    zoneDiff: Array.from(pa.vmstat.zoneDiff),
    zoneStat: Array.from(pa.vmstat.zoneStat),
    heads: Array.from(pa.zones.freeHead),
    tails: Array.from(pa.zones.freeTail),
    pcpHead: Array.from(pa.pcp.head),
    pcpCount: Array.from(pa.pcp.count),
    pageblocks: Array.from(pa.pageblock.migratetype),
  });
}

/** Allocate order-`order` blocks with `gfp` until the allocator says no. */
function exhaust(m: Machine, gfp: number, order: number): number[] {
  const out: number[] = [];
  for (;;) {
    const pfn = m.mem.allocPages(gfp | __GFP_NOWARN, order);
    if (pfn < 0) return out;
    out.push(pfn);
  }
}

describe('zone layout and zonelists', () => {
  it('puts the first 4 GiB in DMA32 and the rest in Normal, per node', () => {
    const m = createMachine({ preset: 'server2s' });
    const z = m.mem.zones;
    expect(z.spanned[0 * MAX_NR_ZONES + ZONE_DMA32]).toBe((4 * GiB) / 4096);
    expect(z.spanned[0 * MAX_NR_ZONES + ZONE_NORMAL]).toBe((28 * GiB) / 4096);
    expect(z.startPfn[0 * MAX_NR_ZONES + ZONE_NORMAL]).toBe((4 * GiB) / 4096);
    expect(z.spanned[1 * MAX_NR_ZONES + ZONE_DMA32]).toBe(0);
    expect(z.spanned[1 * MAX_NR_ZONES + ZONE_NORMAL]).toBe((32 * GiB) / 4096);
    // Node 0 falls back Normal → DMA32 → node 1 Normal.
    expect(Array.from(z.zonelistFallback[0] as Int32Array)).toEqual([1, 0, 4]);
    expect(Array.from(z.zonelistFallback[1] as Int32Array)).toEqual([4, 1, 0]);
    expect(Array.from(z.zonelistNofallback[1] as Int32Array)).toEqual([4]);
  });

  it('orders the large preset zonelist by node distance', () => {
    const m = createMachine({ preset: 'large' });
    const nodes = Array.from(m.mem.zones.zonelistFallback[5] as Int32Array).map((zone) => m.mem.zones.nid[zone]);
    const firstOfEach = nodes.filter((n, i) => nodes.indexOf(n) === i);
    expect(firstOfEach).toEqual([5, 4, 6, 7, 0, 1, 2, 3]);
  });

  it('carves ZONE_MOVABLE from the top of each node and keeps kernel allocations out of it', () => {
    const m = createMachine({ nodes: [{ memoryBytes: 512 * MiB, cpus: 2 }], mem: { movablecorePercent: 50 } });
    const pa = m.mem;
    expect(pa.zones.spanned[ZONE_MOVABLE]).toBe((256 * MiB) / 4096);
    expect(pa.zones.startPfn[ZONE_MOVABLE]).toBe((256 * MiB) / 4096);
    for (const pfn of exhaust(m, GFP_KERNEL, 6)) expect(pa.pageZone(pfn)).toBe(ZONE_DMA32);
    const movable = pa.allocPages(GFP_HIGHUSER_MOVABLE, 0);
    expect(pa.pageZone(movable)).toBe(ZONE_MOVABLE);
    m.validate();
  });

  it('rejects a bad movablecore share with a typed configuration error', () => {
    expect(() => createMachine({ mem: { movablecorePercent: 120 } })).toThrow(/mem\.movablecorePercent/);
  });
});

describe('buddy split and merge', () => {
  it('boots with every page free in max-order blocks and no memmap', () => {
    const m = createMachine();
    expect(m.mem.zones.nrFree[m.mem.maxOrder]).toBe(256);
    expect(m.mem.memmap.nrMaterialized).toBe(0);
    m.validate();
  });

  it('splits the first max-order block for an order-0 page and merges it back', () => {
    const m = createMachine();
    const pa = m.mem;
    const pfn = pa.allocPages(GFP_HIGHUSER_MOVABLE, 0);
    expect(pfn).toBe(0);
    // First allocation on a CPU bypasses pcp batching (pcp high starts at 0).
    for (let o = 0; o < pa.maxOrder; o++) expect(pa.zones.nrFree[o]).toBe(1);
    expect(pa.zones.nrFree[pa.maxOrder]).toBe(255);
    pa.freePages(pfn, 0);
    pa.drainAllPages();
    expect(pa.zones.nrFree[pa.maxOrder]).toBe(256);
    m.validate();
  });

  it('hands out aligned blocks with refcount 1 and zeroed content for __GFP_ZERO', () => {
    const m = createMachine();
    const pa = m.mem;
    const pfn = pa.allocPages(GFP_KERNEL, 3);
    pa.sec(pfn).content.fill(7, pfn & pa.memmap.sectionMask, (pfn & pa.memmap.sectionMask) + 8);
    pa.freePages(pfn, 3);
    const again = pa.allocPages(GFP_KERNEL | __GFP_ZERO, 3);
    expect(again % 8).toBe(0);
    expect(pa.memmap.refcount(again)).toBe(1);
    for (let k = 0; k < 8; k++) expect(pa.memmap.content(again + k)).toBe(0);
  });
});

describe('migratetype fallback: claim vs steal', () => {
  it('claims a whole max-order block for the first unmovable allocation', () => {
    const m = createMachine();
    const pa = m.mem;
    const pfn = pa.allocPages(GFP_KERNEL, 0);
    expect(pa.pageblock.get(pfn)).toBe(MIGRATE_UNMOVABLE);
    expect(pa.pageblock.get(pfn + pa.pageblockNrPages)).toBe(MIGRATE_UNMOVABLE);
    expect(pa.pageblock.get(pfn + 2 * pa.pageblockNrPages)).toBe(MIGRATE_MOVABLE);
    m.validate();
  });

  it('steals a small unmovable buddy for a movable page without converting its pageblock', () => {
    const m = createMachine();
    const pa = m.mem;
    const first = pa.allocPages(GFP_KERNEL, 0); // claims a block, leaves orders 0..9 free
    for (let o = 9; o >= 4; o--) expect(pa.allocPages(GFP_KERNEL, o)).toBeGreaterThanOrEqual(0);
    // Use up every movable page (no watermarks thanks to __GFP_MEMALLOC).
    exhaust(m, GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, pa.maxOrder);
    expect(freeAreaEmpty(pa, 0, pa.maxOrder, MIGRATE_MOVABLE)).toBe(true);
    const extfrag = pa.nrExtfrag;
    const stolen = pa.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 0);
    expect(stolen).toBeGreaterThanOrEqual(0);
    expect(pa.nrExtfrag).toBe(extfrag + 1);
    // Orders below pageblock_order / 2 are too small to claim: just taken.
    expect(pa.pageblock.get(stolen)).toBe(MIGRATE_UNMOVABLE);
    expect(Math.floor(stolen / pa.pageblockNrPages)).toBe(Math.floor(first / pa.pageblockNrPages));
    m.validate();
  });

  // Pageblock P = [X+512, X+1024) of a max-order block X: the order-9 half
  // below it is allocated, then orders 8 (and 7) inside P, leaving one free
  // buddy in P.
  function partlyUsedPageblock(leaveOrder7: boolean, lru: boolean): { m: Machine; p: number } {
    const m = createMachine();
    const pa = m.mem;
    const all = exhaust(m, GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, pa.maxOrder);
    const x = all.pop() as number;
    pa.freePages(x, pa.maxOrder);
    const used = [
      pa.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 9),
      pa.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 8),
    ];
    if (leaveOrder7) used.push(pa.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_MEMALLOC, 7));
    for (const u of used) {
      expect(u).toBeGreaterThanOrEqual(x);
      if (!lru) continue;
      const order = pa.memmap.sectionOf(u)?.order[u & pa.memmap.sectionMask] as number;
      for (let k = 0; k < 2 ** order; k++) {
        const f = pa.sec(u + k).flags;
        const i = (u + k) & pa.memmap.sectionMask;
        f[i] = (f[i] as number) | (1 << PG_lru);
      }
    }
    return { m, p: x + pa.pageblockNrPages };
  }

  it('claims a partly used movable pageblock for an unmovable page when half of it is free or alike', () => {
    const { m, p } = partlyUsedPageblock(true, false);
    const pa = m.mem;
    expect(pa.pageblock.get(p)).toBe(MIGRATE_MOVABLE);
    const u = pa.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0);
    expect(u).toBeGreaterThanOrEqual(p);
    // 128 free + 384 allocated non-movable-looking pages: claimed.
    expect(pa.pageblock.get(p)).toBe(MIGRATE_UNMOVABLE);
    // A sub-pageblock claim boosts the watermark by one pageblock.
    expect(pa.zones.watermarkBoost[0]).toBe(pa.pageblockNrPages);
    m.validate();
  });

  it('only steals when too little of the pageblock is free or alike', () => {
    const { m, p } = partlyUsedPageblock(true, true);
    const pa = m.mem;
    const u = pa.allocPages(GFP_KERNEL | __GFP_MEMALLOC, 0);
    expect(u).toBeGreaterThanOrEqual(p);
    // 128 free, 384 on the LRU (movable): not claimed, the page is just taken.
    expect(pa.pageblock.get(p)).toBe(MIGRATE_MOVABLE);
    m.validate();
  });
});

describe('highatomic reserves', () => {
  it('reserves a pageblock for a high-order atomic allocation under pressure and gives it back', () => {
    const m = createMachine();
    const pa = m.mem;
    const movable = exhaust(m, GFP_HIGHUSER_MOVABLE, pa.maxOrder);
    expect(movable.length).toBeGreaterThan(200);
    const atomic = pa.allocPages(GFP_ATOMIC, 1);
    expect(atomic).toBeGreaterThanOrEqual(0);
    expect(pa.zones.nrReservedHighatomic[0]).toBe(pa.pageblockNrPages);
    expect(pa.pageblock.get(atomic)).toBe(MIGRATE_HIGHATOMIC);
    m.validate();
    pa.freePages(atomic, 1);
    for (const pfn of movable) pa.freePages(pfn, pa.maxOrder);
    pa.drainAllPages();
    m.validate();
    expect(pa.zones.nrFreeHighatomic[0]).toBe(pa.pageblockNrPages);
    // Highatomic pageblocks do not merge with normal neighbours.
    expect(pa.zones.nrFree[pa.maxOrder]).toBe(255);
    expect(unreserveHighatomicPageblock(pa, true)).toBe(true);
    expect(pa.zones.nrReservedHighatomic[0]).toBe(0);
    expect(m.warnings).toEqual([]);
  });

  it('warns on nr_reserved_highatomic underflow', () => {
    const m = createMachine();
    const pa = m.mem;
    const movable = exhaust(m, GFP_HIGHUSER_MOVABLE, pa.maxOrder);
    const atomic = pa.allocPages(GFP_ATOMIC, 1);
    pa.freePages(atomic, 1);
    pa.drainAllPages();
    pa.zones.nrReservedHighatomic[0] = 0; // a lost update
    unreserveHighatomicPageblock(pa, true);
    expect(m.warnings.map((w) => w.message).join()).toMatch(/nr_reserved_highatomic underflow/);
    expect(pa.zones.nrReservedHighatomic[0]).toBe(0);
    for (const pfn of movable) pa.freePages(pfn, pa.maxOrder);
  });
});

describe('watermarks', () => {
  it('derives min from min_free_kbytes and the gaps from watermark_scale_factor', () => {
    const m = createMachine();
    const pa = m.mem;
    expect(pa.minFreeKbytes).toBe(4096); // sqrt(1 GiB in KiB * 16)
    expect(pa.zones.wmark[WMARK_MIN]).toBe(1024);
    expect((pa.zones.wmark[WMARK_LOW] as number) - (pa.zones.wmark[WMARK_MIN] as number)).toBe(262);
    pa.setWatermarkScaleFactor(100);
    expect((pa.zones.wmark[WMARK_LOW] as number) - (pa.zones.wmark[WMARK_MIN] as number)).toBe(2621);
    expect(() => pa.setWatermarkScaleFactor(0)).toThrow(MmError);
  });

  it('stops ordinary allocations at the low watermark but lets GFP_ATOMIC dip below min/2', () => {
    const m = createMachine();
    const pa = m.mem;
    exhaust(m, GFP_KERNEL, 0);
    pa.drainAllPages();
    const free = pa.zoneFreePages(0);
    const min = pa.zones.wmark[WMARK_MIN] as number;
    expect(free).toBeLessThanOrEqual((pa.zones.wmark[WMARK_LOW] as number) + 64);
    const atomic = exhaust(m, GFP_ATOMIC, 0);
    pa.drainAllPages();
    expect(atomic.length).toBeGreaterThan(0);
    const after = pa.zoneFreePages(0);
    expect(after).toBeLessThan(min);
    expect(after).toBeGreaterThan(min / 2 - min / 8 - 64);
    m.validate();
  });
});

describe('GFP reserve access', () => {
  it('GFP_NOWAIT neither reclaims nor dips below min; __GFP_HIGH gets half of it', () => {
    const m = createMachine();
    const pa = m.mem;
    exhaust(m, GFP_KERNEL, 0);
    let reclaimCalls = 0;
    pa.setReclaimHook(() => {
      reclaimCalls++;
      return 0;
    });
    const min = pa.zones.wmark[WMARK_MIN] as number;
    const nowait = exhaust(m, GFP_NOWAIT, 0);
    pa.drainAllPages();
    expect(pa.zoneFreePages(0)).toBeGreaterThan(min - 64);
    expect(reclaimCalls).toBe(0);
    // Blocking __GFP_HIGH: half of min (non-blocking callers get a further quarter).
    const high = exhaust(m, __GFP_HIGH | __GFP_DIRECT_RECLAIM | __GFP_NORETRY, 0);
    pa.drainAllPages();
    expect(high.length).toBeGreaterThan(0);
    expect(pa.zoneFreePages(0)).toBeGreaterThan(min / 2 - 64);
    expect(pa.zoneFreePages(0)).toBeLessThan(min);
    expect(nowait.length).toBeGreaterThanOrEqual(0);
    m.validate();
  });
});

describe('per-CPU page lists', () => {
  it('refills in batches and gives back above high', () => {
    const m = createMachine();
    const pa = m.mem;
    const pcp = pa.pcp;
    expect(pcp.batch[0]).toBe(63);
    const a = pa.allocPages(GFP_KERNEL, 0);
    pa.freePages(a, 0); // the first free sets high = high_min
    expect(pcp.high[0]).toBe(pcp.highMin[0]);
    expect(pcp.count[0]).toBe(1);
    const pages: number[] = [];
    for (let i = 0; i < 2; i++) pages.push(pa.allocPages(GFP_KERNEL, 0));
    // The second allocation found the list empty and pulled a batch.
    expect(pcp.count[0]).toBeGreaterThan(0);
    for (let i = 0; i < 2000; i++) pages.push(pa.allocPages(GFP_KERNEL, 0));
    for (const p of pages) pa.freePages(p, 0);
    expect(pcp.count[0]).toBeLessThanOrEqual(pcp.highMax[0] as number);
    m.validate();
    pa.drainAllPages();
    expect(pcp.count[0]).toBe(0);
    m.validate();
  });

  it('keeps each CPU on its own lists', () => {
    const m = createMachine();
    const pa = m.mem;
    m.currentCpu = 2;
    const a = pa.allocPages(GFP_KERNEL, 0);
    pa.freePages(a, 0);
    expect(pa.pcp.count[2 * pa.pcp.nrZones]).toBe(1);
    expect(pa.pcp.count[0]).toBe(0);
    m.validate();
  });
});

describe('NUMA placement', () => {
  function twoNodes(): Machine {
    return createMachine({
      nodes: [
        { memoryBytes: 256 * MiB, cpus: 1 },
        { memoryBytes: 256 * MiB, cpus: 1 },
      ],
    });
  }

  it('allocates on the requested node and counts hits', () => {
    const m = twoNodes();
    const pa = m.mem;
    const pfn = pa.allocPages(GFP_KERNEL, 0, 1);
    expect(pa.pageToNid(pfn)).toBe(1);
    expect(pa.vmstat.zoneNumaEvent(pa.pageZone(pfn), NUMA_HIT)).toBe(1);
  });

  it('falls back to the next node unless __GFP_THISNODE', () => {
    const m = twoNodes();
    const pa = m.mem;
    const held = exhaust(m, GFP_KERNEL | __GFP_THISNODE, 0).length;
    expect(held).toBeGreaterThan(0);
    m.currentCpu = 0;
    expect(pa.allocPages(GFP_KERNEL | __GFP_THISNODE | __GFP_NOWARN, 0, 0)).toBe(-ENOMEM);
    const other = pa.allocPages(GFP_KERNEL, 0, 0);
    expect(pa.pageToNid(other)).toBe(1);
    const z1 = pa.pageZone(other);
    expect(pa.vmstat.zoneNumaEvent(z1, NUMA_MISS)).toBe(1);
    expect(pa.vmstat.zoneNumaEvent(0, NUMA_FOREIGN)).toBe(1);
    m.validate();
  });

  it('asks the node-preference hook when no node is given', () => {
    const m = twoNodes();
    const pa = m.mem;
    pa.setNodePreferenceHook(() => 1);
    expect(pa.pageToNid(pa.allocPages(GFP_KERNEL, 0))).toBe(1);
    pa.setNodePreferenceHook(null);
    expect(pa.pageToNid(pa.allocPages(GFP_KERNEL, 0))).toBe(0);
  });
});

describe('reclaim and kswapd hooks', () => {
  it('calls the reclaim hook below the min watermark and retries', () => {
    const m = createMachine();
    const pa = m.mem;
    const held = exhaust(m, GFP_ATOMIC, 0);
    let calls = 0;
    let kswapd = 0;
    pa.setKswapdHook(() => {
      kswapd++;
    });
    pa.setReclaimHook(() => {
      calls++;
      // Enough to lift the zone back over its min watermark.
      for (let i = 0; i < 1500; i++) pa.freePages(held.pop() as number, 0);
      return 1500;
    });
    const pfn = pa.allocPages(GFP_KERNEL, 0);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(calls).toBeGreaterThan(0);
    expect(kswapd).toBeGreaterThan(0);
    m.validate();
  });

  it('gives up after one reclaim round with __GFP_NORETRY', () => {
    const m = createMachine();
    const pa = m.mem;
    exhaust(m, GFP_ATOMIC, 0);
    let calls = 0;
    pa.setReclaimHook(() => {
      calls++;
      return 0;
    });
    expect(pa.allocPages(GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN, 0)).toBe(-ENOMEM);
    expect(calls).toBe(1);
    expect(m.warnings).toEqual([]);
  });

  it('warns when a __GFP_NOFAIL allocation cannot be satisfied', () => {
    const m = createMachine();
    const pa = m.mem;
    exhaust(m, GFP_ATOMIC | __GFP_MEMALLOC, 0);
    expect(pa.allocPages(GFP_KERNEL | __GFP_NOFAIL, 0)).toBe(-ENOMEM);
    expect(m.warnings.length).toBe(1);
  });

  it('charges __GFP_ACCOUNT pages through the memcg hooks and uncharges on free', () => {
    const m = createMachine();
    const pa = m.mem;
    const charged: number[] = [];
    pa.setMemcgHooks(
      (pfn) => {
        charged.push(pfn);
        return charged.length === 2 ? -ENOMEM : 7;
      },
      (pfn, _order, memcg) => {
        expect(memcg).toBe(7);
        charged.splice(charged.indexOf(pfn), 1);
      },
    );
    const a = pa.allocPages(GFP_KERNEL | __GFP_ACCOUNT, 0);
    expect(pa.allocPages(GFP_KERNEL | __GFP_ACCOUNT, 0)).toBe(-ENOMEM);
    pa.freePages(a, 0);
    expect(charged).toEqual([charged[0]]);
    m.validate();
  });
});

describe('compound pages', () => {
  it('marks the head and points tails at it', () => {
    const m = createMachine();
    const pa = m.mem;
    const pfn = pa.allocPages(GFP_KERNEL | __GFP_COMP, 2);
    expect(pa.memmap.flags(pfn) & (1 << PG_head)).not.toBe(0);
    expect(pa.compoundOrder(pfn)).toBe(2);
    for (let k = 1; k < 4; k++) expect(pa.memmap.compoundHead(pfn + k)).toBe(pfn);
    m.validate();
    pa.getPage(pfn + 3); // a tail reference pins the head
    expect(pa.memmap.refcount(pfn)).toBe(2);
    pa.putPage(pfn + 1);
    expect(pa.memmap.refcount(pfn)).toBe(1);
    pa.putPage(pfn);
    expect(pa.memmap.refcount(pfn)).toBe(0);
    expect(() => pa.putPage(pfn)).toThrow(BadPageError);
    m.validate();
  });

  it('frees the rest of a non-compound block when its first page is still referenced', () => {
    const m = createMachine();
    const pa = m.mem;
    const pfn = pa.allocPages(GFP_KERNEL, 2);
    pa.getPage(pfn);
    pa.freePages(pfn, 2);
    expect(pa.memmap.refcount(pfn)).toBe(1);
    m.validate();
    pa.freePages(pfn, 0);
    m.validate();
  });
});

describe('bad frees raise typed errors and change nothing', () => {
  const cases: [string, (m: Machine, pfn: number) => void, RegExp][] = [
    ['double free', (m, pfn) => m.mem.freePages(pfn, 0), /already free|refcount/],
    ['tail page', (m, pfn) => m.mem.freePages(pfn + 1, 0), /tail page/],
    ['wrong order', (m, pfn) => m.mem.freePages(pfn, 1), /wrong order/],
    ['never allocated', (m) => m.mem.freePages(200_000, 0), /already free/],
    ['outside memory', (m) => m.mem.freePages(1 << 30, 0), /outside memory/],
  ];
  it.each(cases)('%s', (_name, bad, reason) => {
    const m = createMachine();
    const pa = m.mem;
    const head = pa.allocPages(GFP_KERNEL | __GFP_COMP, 2);
    const single = pa.allocPages(GFP_KERNEL, 0);
    pa.freePages(single, 0);
    const target = _name === 'double free' ? single : head;
    const before = snapshot(m);
    let err: unknown;
    try {
      bad(m, target);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadPageError);
    expect((err as BadPageError).code).toBe('EINVAL');
    expect((err as BadPageError).message).toMatch(/^page_alloc: Bad page state pfn:/);
    expect((err as BadPageError).reason).toMatch(reason);
    expect(snapshot(m)).toBe(before);
    m.validate();
  });

  it('rejects freeing a mapped page and names its PFN', () => {
    const m = createMachine();
    const pa = m.mem;
    const pfn = pa.allocPages(GFP_KERNEL, 0);
    pa.sec(pfn).mapcount[pfn & pa.memmap.sectionMask] = 0;
    const before = snapshot(m);
    expect(() => pa.freePages(pfn, 0)).toThrow(new RegExp(`pfn:${pfn.toString(16).padStart(5, '0')} nonzero mapcount`));
    expect(snapshot(m)).toBe(before);
  });
});

describe('fail_page_alloc', () => {
  it('fails the configured number of times and leaves counters and free lists exactly as before', () => {
    const m = createMachine();
    const pa = m.mem;
    pa.allocPages(GFP_KERNEL, 1); // warm up pcp and memmap
    pa.failPageAlloc.configure({ probability: 100, times: 2, minOrder: 0, ignoreGfpReclaim: false });
    const before = snapshot(m);
    expect(pa.allocPages(GFP_KERNEL, 0)).toBe(-ENOMEM);
    expect(pa.allocPages(GFP_KERNEL, 3)).toBe(-ENOMEM);
    expect(snapshot(m)).toBe(before);
    expect(pa.allocPages(GFP_KERNEL, 0)).toBeGreaterThanOrEqual(0);
    expect(pa.failPageAlloc.nrFailed).toBe(2);
  });

  it('honours the order, reclaim and __GFP_NOFAIL filters and the interval', () => {
    const m = createMachine();
    const pa = m.mem;
    pa.failPageAlloc.configure({ probability: 100, times: -1, interval: 2 });
    expect(pa.allocPages(GFP_KERNEL, 2)).toBeGreaterThanOrEqual(0); // may reclaim: ignored
    expect(pa.allocPages(GFP_ATOMIC, 0)).toBeGreaterThanOrEqual(0); // below min-order 1
    expect(pa.allocPages(GFP_ATOMIC | __GFP_NOFAIL, 2)).toBeGreaterThanOrEqual(0);
    const results = [pa.allocPages(GFP_ATOMIC, 1), pa.allocPages(GFP_ATOMIC, 1), pa.allocPages(GFP_ATOMIC, 1)];
    expect(results.filter((r) => r === -ENOMEM).length).toBe(1);
  });
});

describe('vmstat folding', () => {
  it('keeps NR_FREE_PAGES in per-CPU differentials until the threshold, then folds', () => {
    const m = createMachine();
    const vs = m.mem.vmstat;
    const t = vs.zoneThreshold[0] as number;
    vs.modZonePageState(1, 0, NR_FREE_PAGES, -t);
    expect(vs.zonePageState(0, NR_FREE_PAGES)).toBe(262144);
    expect(vs.zonePageStateSnapshot(0, NR_FREE_PAGES)).toBe(262144 - t);
    vs.modZonePageState(1, 0, NR_FREE_PAGES, -1);
    expect(vs.zonePageState(0, NR_FREE_PAGES)).toBe(262144 - t - 1);
    vs.modZonePageState(1, 0, NR_FREE_PAGES, t + 1);
    m.mem.refreshVmStats();
    expect(vs.zonePageState(0, NR_FREE_PAGES)).toBe(262144);
  });

  it('validate() catches a counter that drifted', () => {
    const m = createMachine();
    m.mem.vmstat.zoneStat[0] = 5;
    expect(() => m.validate()).toThrow(/NR_FREE_PAGES|global zone stat/);
  });
});

describe('boot at scale', () => {
  it('creates the 1 TiB preset without allocating a memmap and validates it', () => {
    const m = createMachine({ preset: 'large' });
    expect(m.mem.memmap.nrMaterialized).toBe(0);
    m.validate();
    const pfn = m.mem.allocPages(GFP_KERNEL, 0, 7);
    expect(m.mem.pageToNid(pfn)).toBe(7);
    expect(m.mem.memmap.nrMaterialized).toBe(1);
    m.validate();
  });

  it('reads the boot state of untouched pages without materializing them', () => {
    const m = createMachine();
    expect(m.mem.memmap.pageType(1024)).toBe(0xf0);
    expect(m.mem.memmap.private(1024)).toBe(10);
    expect(m.mem.memmap.refcount(1025)).toBe(0);
    expect(m.mem.memmap.nrMaterialized).toBe(0);
  });

  it('supports arm64 64K pages (one max-order block per section)', () => {
    const m = createMachine({ arch: 'arm64', pageSize: 65536, nodes: [{ memoryBytes: 1 * GiB, cpus: 2 }] });
    expect(m.mem.maxOrder).toBe(13);
    const pfn = m.mem.allocPages(GFP_KERNEL, 0);
    m.mem.freePages(pfn, 0);
    m.mem.drainAllPages();
    m.validate();
    expect(m.mem.zones.nrFree[m.mem.maxOrder]).toBe(2);
  });
});

describe('CPU hotplug and THP pcp lists', () => {
  it('drains a dead CPU and moves its events', () => {
    const m = createMachine();
    const pa = m.mem;
    m.currentCpu = 3;
    const a = pa.allocPages(GFP_KERNEL, 0);
    pa.freePages(a, 0);
    expect(pa.pcp.count[3 * pa.pcp.nrZones]).toBe(1);
    m.currentCpu = 0;
    pageAllocCpuDead(pa, 3);
    expect(pa.pcp.count[3 * pa.pcp.nrZones]).toBe(0);
    expect(pa.vmstat.vmEvents[3 * (pa.vmstat.vmEvents.length / 4)]).toBe(0);
    expect(formatVmstatLine(m, 'pgfree')).toBe(1);
    m.validate();
  });

  it('caches THP-order blocks on their own pcp lists', () => {
    // A big zone: pcp high (low watermark / 16 CPUs) holds a 512-page block.
    const m = createMachine({ preset: 'server2s' });
    const pa = m.mem;
    const t = pa.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_COMP, 9);
    expect(pa.pageZone(t)).toBe(ZONE_NORMAL);
    pa.freePages(t, 9);
    expect(pa.pcp.count[ZONE_NORMAL]).toBe(512);
    expect(pa.pcp.head[ZONE_NORMAL * 14 + 13]).toBe(t);
    expect(pa.allocPages(GFP_HIGHUSER_MOVABLE | __GFP_COMP, 9)).toBe(t);
    m.validate();
  });
});

function formatVmstatLine(m: Machine, name: string): number {
  const line = formatVmstat(m.mem)
    .split('\n')
    .find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

describe('page flags and types on owned pages', () => {
  it('sets and clears flags and types, and refuses a typed free', () => {
    const m = createMachine();
    const pa = m.mem;
    const pfn = pa.allocPages(GFP_KERNEL, 0);
    pa.memmap.setPageType(pfn, PGTY_slab);
    expect(() => pa.memmap.setPageType(pfn, PGTY_table)).toThrow(MmBugError);
    expect(() => pa.freePages(pfn, 0)).toThrow(/page type slab still set/);
    pa.memmap.clearPageType(pfn, PGTY_slab);
    pa.memmap.setPageFlag(pfn, PG_lru);
    expect(pa.memmap.testPageFlag(pfn, PG_lru)).toBe(true);
    expect(() => pa.freePages(pfn, 0)).toThrow(/PAGE_FLAGS_CHECK_AT_FREE/);
    pa.memmap.clearPageFlag(pfn, PG_lru);
    pa.freePages(pfn, 0);
    expect(() => pa.memmap.setPageFlag(100_000, PG_lru)).toThrow(MmBugError);
    m.validate();
  });
});

describe('split_page and totals', () => {
  it('splits a non-compound block into order-0 pages freed one by one', () => {
    const m = createMachine();
    const pa = m.mem;
    expect(pa.totalramPages()).toBe(262144);
    expect(pa.nrFreePages()).toBe(262144);
    const pfn = pa.allocPages(GFP_KERNEL, 2);
    expect(() => pa.splitPage(pfn, 1)).toThrow(BadPageError);
    pa.splitPage(pfn, 2);
    m.validate();
    for (let k = 0; k < 4; k++) pa.freePages(pfn + k, 0);
    pa.drainAllPages();
    m.validate();
    pa.refreshVmStats(); // nr_free_pages() reads the folded counter
    expect(pa.nrFreePages()).toBe(262144);
    const comp = pa.allocPages(GFP_KERNEL | __GFP_COMP, 1);
    expect(() => pa.splitPage(comp, 1)).toThrow(/compound/);
  });
});

describe('CPU hotplug wiring', () => {
  it('drains the pcp lists of a CPU taken offline', () => {
    const m = createMachine();
    const pa = m.mem;
    m.cpus.runOn(2, () => {
      const a = pa.allocPages(GFP_KERNEL, 0);
      pa.freePages(a, 0);
    });
    expect(pa.pcp.count[2 * pa.pcp.nrZones]).toBe(1);
    expect(m.hotplug.cpuDown(2)).toBe(0);
    expect(pa.pcp.count[2 * pa.pcp.nrZones]).toBe(0);
    m.validate();
  });
});

describe('allocation context (might_alloc)', () => {
  it('refuses a blocking allocation in hard interrupt context; GFP_ATOMIC is fine there', () => {
    const m = createMachine();
    const pa = m.mem;
    let atomic = -1;
    let err: unknown;
    m.cpus.inHardirq(1, () => {
      atomic = pa.allocPages(GFP_ATOMIC, 0);
      try {
        pa.allocPages(GFP_KERNEL, 0);
      } catch (e) {
        err = e;
      }
    });
    expect(atomic).toBeGreaterThanOrEqual(0);
    expect((err as MmError).code).toBeDefined();
    expect(String(err)).toMatch(/sleeping function called from invalid context \(alloc_pages\)/);
    m.validate();
  });
});
