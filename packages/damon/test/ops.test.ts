/**
 * Operations sets: vaddr's kunit cases (mm/damon/tests/vaddr-kunit.h),
 * paddr over an in-test folio/rmap model, fvaddr keeping the user's ranges.
 */
import { describe, expect, it } from 'vitest';
import {
  DAMOS_FILTER_TYPE_ANON,
  DAMOS_FILTER_TYPE_YOUNG,
  DAMOS_LRU_DEPRIO,
  DAMOS_MIGRATE_COLD,
  DAMOS_PAGEOUT,
  DAMOS_STAT,
  type DamonPaddrView,
  damonAddRegion,
  damonAddScheme,
  damonAddTarget,
  damonFvaddrOps,
  damonNewCtx,
  damonNewRegion,
  damonNewScheme,
  damonNewTarget,
  damonPaddrOps,
  damonRegions,
  damonSetRegions,
  damonValidateTarget,
  damonVaThreeRegions,
  damosAddFilter,
  damosNewFilter,
  damosPatternAll,
  damosQuotaNone,
  damosSetFiltersDefaultReject,
  damosWmarksNone,
  kdamondApplySchemes,
  SyntheticAddressSpace,
  syntheticVaddrEnv,
} from '../src/index.js';

describe('vaddr (kunit cases)', () => {
  it('damon_test_three_regions_in_vmas', () => {
    // 10-20-25, 200-210-220, 300-305, 307-330
    const vmas = [
      [10, 20],
      [20, 25],
      [200, 210],
      [210, 220],
      [300, 305],
      [307, 330],
    ];
    const mm = {
      forEachVma: (fn: (s: number, e: number) => void) => {
        for (const [s, e] of vmas) fn(s!, e!);
      },
    };
    expect(damonVaThreeRegions(mm, 1)).toEqual([
      { start: 10, end: 25 },
      { start: 200, end: 220 },
      { start: 300, end: 330 },
    ]);
    expect(damonVaThreeRegions({ forEachVma: (fn) => fn(0, 10) }, 1)).toBeNull();
  });

  const base = [10, 20, 20, 30, 50, 55, 55, 57, 57, 59, 70, 80, 80, 90, 90, 100];
  it.each([
    // slightly changed three regions
    [
      [
        [5, 27],
        [45, 55],
        [73, 104],
      ],
      [5, 20, 20, 27, 45, 55, 73, 80, 80, 90, 90, 104],
    ],
    // two target regions (50-55, 57-59) removed
    [
      [
        [5, 27],
        [56, 57],
        [65, 104],
      ],
      [5, 20, 20, 27, 56, 57, 65, 80, 80, 90, 90, 104],
    ],
    // the second big region totally freed and mapped elsewhere
    [
      [
        [5, 27],
        [61, 63],
        [65, 104],
      ],
      [5, 20, 20, 27, 61, 63, 65, 80, 80, 90, 90, 104],
    ],
    // second and third big regions freed and mapped elsewhere
    [
      [
        [5, 7],
        [30, 32],
        [65, 68],
      ],
      [5, 7, 30, 32, 65, 68],
    ],
  ])('damon_test_apply_three_regions %#', (three, expected) => {
    const t = damonNewTarget();
    const ranges = [];
    for (let i = 0; i < base.length; i += 2) ranges.push({ start: base[i]!, end: base[i + 1]! });
    expect(damonSetRegions(t, ranges, 1)).toBe(0);
    expect(
      damonSetRegions(
        t,
        three.map(([start, end]) => ({ start: start!, end: end! })),
        1,
      ),
    ).toBe(0);
    expect(damonRegions(t).flatMap((r) => [r.start, r.end])).toEqual(expected);
    expect(damonValidateTarget(t)).toBeNull();
  });

  it('fvaddr monitors the user ranges and never refits them', () => {
    const space = new SyntheticAddressSpace();
    space.map(0x10000, 0x20000, 'a');
    space.map(0x7f0000000000, 0x7f0000100000, 'b');
    const ops = damonFvaddrOps(syntheticVaddrEnv([space]));
    expect(ops.init).toBeUndefined();
    expect(ops.update).toBeUndefined();
    const ctx = damonNewCtx();
    ctx.ops = ops;
    const t = damonNewTarget(space.pid);
    damonSetRegions(t, [{ start: 0x11000, end: 0x13000 }], 4096);
    damonAddTarget(ctx, t);
    space.areas[0]!.paint(1, 2, space.nextSeq()); // page 0x11000
    ops.prepareAccessChecks!(ctx);
    space.areas[0]!.paint(1, 3, space.nextSeq());
    expect(ops.checkAccesses!(ctx)).toBe(1);
  });
});

/** A toy physical memory: base-page folios with flags and one mapping each (or none). */
class ToyMemory implements DamonPaddrView {
  readonly pageSize = 4096;
  readonly nrPages: number;
  readonly young: Uint8Array; // PTE accessed bit of the folio's mapping
  readonly idle: Uint8Array;
  readonly pgYoung: Uint8Array;
  readonly mapped: Uint8Array;
  readonly anon: Uint8Array;
  readonly lru: Uint8Array;
  readonly nid: Uint8Array;
  readonly active: Uint8Array;
  reclaimed: number[] = [];
  migrated: [number, number][] = [];

  constructor(nrPages: number) {
    this.nrPages = nrPages;
    this.young = new Uint8Array(nrPages);
    this.idle = new Uint8Array(nrPages);
    this.pgYoung = new Uint8Array(nrPages);
    this.mapped = new Uint8Array(nrPages).fill(1);
    this.anon = new Uint8Array(nrPages).fill(1);
    this.lru = new Uint8Array(nrPages).fill(1);
    this.nid = new Uint8Array(nrPages);
    this.active = new Uint8Array(nrPages);
  }
  access(pfn: number): void {
    if (this.mapped[pfn]) this.young[pfn] = 1;
    else this.idle[pfn] = 0; // unmapped: e.g. a read() through the page cache clears PG_idle
  }
  getFolio(pfn: number): number {
    return pfn >= 0 && pfn < this.nrPages && this.lru[pfn] ? pfn : -1;
  }
  folioSize(): number {
    return 4096;
  }
  folioMapped(f: number): boolean {
    return this.mapped[f] === 1;
  }
  folioTrylock(): boolean {
    return true;
  }
  folioUnlock(): void {}
  folioTestIdle(f: number): boolean {
    return this.idle[f] === 1;
  }
  folioSetIdle(f: number): void {
    this.idle[f] = 1;
  }
  folioSetYoung(f: number): void {
    this.pgYoung[f] = 1;
  }
  rmapTestAndClearYoung(f: number): boolean {
    const y = this.young[f] === 1;
    this.young[f] = 0;
    return y;
  }
  rmapTestYoung(f: number): boolean {
    return this.young[f] === 1;
  }
  folioTestAnon(f: number): boolean {
    return this.anon[f] === 1;
  }
  folioTestActive(f: number): boolean {
    return this.active[f] === 1;
  }
  folioMemcgId(): number {
    return -1;
  }
  folioNid(f: number): number {
    return this.nid[f]!;
  }
  folioClearReferenced(): void {}
  folioTestClearYoung(f: number): boolean {
    const y = this.pgYoung[f] === 1;
    this.pgYoung[f] = 0;
    return y;
  }
  reclaimFolios(folios: readonly number[]): number {
    for (const f of folios) {
      this.reclaimed.push(f);
      this.lru[f] = 0;
    }
    return folios.length;
  }
  folioMarkAccessed(f: number): void {
    this.active[f] = 1;
  }
  folioDeactivate(f: number): void {
    this.active[f] = 0;
  }
  migrateFolios(folios: readonly number[], nid: number): number {
    for (const f of folios) {
      this.migrated.push([f, nid]);
      this.nid[f] = nid;
    }
    return folios.length;
  }
}

function paddrCtx(mem: ToyMemory, regions: [number, number][]) {
  const ctx = damonNewCtx();
  ctx.ops = damonPaddrOps({ view: mem });
  const t = damonNewTarget();
  for (const [s, e] of regions) damonAddRegion(t, damonNewRegion(t, s * 4096, e * 4096));
  damonAddTarget(ctx, t);
  return { ctx, t };
}

describe('paddr over a folio/rmap view', () => {
  it('finds accesses through rmap for mapped folios and idle tracking for unmapped ones', () => {
    const mem = new ToyMemory(64);
    mem.mapped.fill(0, 32); // pages 32..63 unmapped (page cache)
    const { ctx, t } = paddrCtx(mem, [
      [1, 2],
      [2, 3],
      [32, 33],
      [33, 34],
    ]);
    ctx.ops.prepareAccessChecks!(ctx);
    expect(Array.from(mem.idle.slice(1, 3))).toEqual([1, 1]);
    mem.access(1);
    mem.access(32);
    ctx.ops.checkAccesses!(ctx);
    expect(damonRegions(t).map((r) => r.nrAccesses)).toEqual([1, 0, 1, 0]);
    // every region asks its own folio: the accesses were cleared by the next prepare
    ctx.ops.prepareAccessChecks!(ctx);
    ctx.ops.checkAccesses!(ctx);
    expect(damonRegions(t).map((r) => r.nrAccesses)).toEqual([1, 0, 1, 0]);
  });

  it('pageout spares folios accessed since the check (temporary young filter) and honours the anon filter', () => {
    const mem = new ToyMemory(16);
    mem.anon.fill(0, 8); // pages 8.. are file-backed
    mem.idle.fill(1); // every folio checked once before
    const { ctx, t } = paddrCtx(mem, [[0, 16]]);
    const s = damonNewScheme(damosPatternAll(), DAMOS_PAGEOUT, 0, damosQuotaNone(), damosWmarksNone());
    const anon = damosNewFilter(DAMOS_FILTER_TYPE_ANON, true, false); // reject anon
    damosAddFilter(s, anon);
    damonAddScheme(ctx, s);
    damosSetFiltersDefaultReject(s);
    s.nextApplySis = 0;
    mem.access(9);
    kdamondApplySchemes(ctx);
    expect(mem.reclaimed).toEqual([8, 10, 11, 12, 13, 14, 15]);
    expect(s.stat.szApplied).toBe(7 * 4096);
    expect(s.stat.szOpsFilterPassed).toBe(7 * 4096);
    expect(s.opsFilters.length).toBe(1);
    expect(damonRegions(t)[0]!.age).toBe(0);
  });

  it('a user young filter replaces the temporary one; lru_deprio, migrate_cold and stat', () => {
    const mem = new ToyMemory(8);
    mem.idle.fill(1);
    const { ctx } = paddrCtx(mem, [[0, 8]]);
    const s = damonNewScheme(damosPatternAll(), DAMOS_PAGEOUT, 0, damosQuotaNone(), damosWmarksNone());
    damosAddFilter(s, damosNewFilter(DAMOS_FILTER_TYPE_YOUNG, true, true)); // only young pages
    damonAddScheme(ctx, s);
    damosSetFiltersDefaultReject(s);
    mem.access(3);
    s.nextApplySis = 0;
    kdamondApplySchemes(ctx);
    expect(mem.reclaimed).toEqual([3]);
    // lru_deprio
    const mem2 = new ToyMemory(4);
    mem2.active.fill(1);
    const c2 = paddrCtx(mem2, [[0, 4]]);
    const d = damonNewScheme(damosPatternAll(), DAMOS_LRU_DEPRIO, 0, damosQuotaNone(), damosWmarksNone());
    damonAddScheme(c2.ctx, d);
    d.nextApplySis = 0;
    kdamondApplySchemes(c2.ctx);
    expect(Array.from(mem2.active)).toEqual([0, 0, 0, 0]);
    expect(d.stat.szApplied).toBe(4 * 4096);
    // migrate_cold to node 1, skipping folios already there
    mem2.nid[2] = 1;
    const m = damonNewScheme(damosPatternAll(), DAMOS_MIGRATE_COLD, 0, damosQuotaNone(), damosWmarksNone(), 1);
    c2.ctx.schemes = [];
    damonAddScheme(c2.ctx, m);
    m.nextApplySis = 0;
    kdamondApplySchemes(c2.ctx);
    expect(mem2.migrated).toEqual([
      [0, 1],
      [1, 1],
      [3, 1],
    ]);
    // stat counts filter-passed bytes only when ops filters exist
    const st = damonNewScheme(damosPatternAll(), DAMOS_STAT, 0, damosQuotaNone(), damosWmarksNone());
    c2.ctx.schemes = [];
    damonAddScheme(c2.ctx, st);
    st.nextApplySis = 0;
    kdamondApplySchemes(c2.ctx);
    expect(st.stat.szOpsFilterPassed).toBe(0);
    damosAddFilter(st, damosNewFilter(DAMOS_FILTER_TYPE_ANON, true, true));
    damosSetFiltersDefaultReject(st);
    st.nextApplySis = c2.ctx.passedSampleIntervals;
    st.lastApplied = -1;
    kdamondApplySchemes(c2.ctx);
    expect(st.stat.szOpsFilterPassed).toBe(4 * 4096);
  });
});
