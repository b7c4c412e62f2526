// The oracle property test: random sequences of map / unmap / dup (fork) /
// share / PMD map / PMD→PTE remap / pin over anon folios of random orders
// and up to five mms, in both mapcount modes, against an oracle of who maps
// which page: mapcounts exact (total, entire, per page and _nr_pages_mapped
// with CONFIG_PAGE_MAPCOUNT), NR_ANON_MAPPED and NR_ANON_THPS as each mode
// accounts them, PageAnonExclusive, the deferred split queue,
// folioMaybeMappedShared never false when two mms map a folio and exact
// while at most two mms mapped it since it was last unmapped; -EBUSY for
// pinned exclusive pages at fork. The page tables are kept in step and the
// validator (with an rmap walk of every folio) runs after every step.
import { createMachine, EBUSY, NODE_STAT } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  anonVmaFork,
  createFolioRmap,
  createRmapVma,
  ENTIRELY_MAPPED,
  type FolioRmap,
  folioAddAnonRmapPmd,
  folioAddAnonRmapPtes,
  folioAddNewAnonRmap,
  folioEntireMapcount,
  folioMapcount,
  folioMaybeMappedShared,
  folioNrPagesMapped,
  folioOnDeferredList,
  folioPin,
  folioPutRefs,
  folioRefAdd,
  folioRemoveRmapPmd,
  folioRemoveRmapPtes,
  folioRmapValidate,
  folioTryDupAnonRmapPmd,
  folioTryDupAnonRmapPtes,
  folioTryShareAnonRmapPte,
  folioUnpin,
  MMF_HAS_PINNED,
  PTE_NONE,
  PTE_PRESENT,
  PTE_WRITE,
  pageAnonExclusive,
  pageMapcountRaw,
  RMAP_EXCLUSIVE,
  RMAP_NONE,
  type RmapVma,
  VM_READ,
  VM_WRITE,
} from '../src/index.js';
import { alloc, anonVma, fuzzRuns, newMm, nodeStat } from './helpers.js';
import { TestPageTables } from './pt.js';

const PAGE = 4096;
const PMD = 512 * PAGE;
const BASE = 0x40000000;
const NMM = 5;

interface F {
  pfn: number;
  order: number;
  n: number;
  addr: number;
  /** pte[m][k]: mm m maps page k by a PTE. */
  pte: boolean[][];
  /** pmd[m]: mm m maps the folio by a PMD. */
  pmd: boolean[];
  ae: boolean[];
  pins: number;
  queued: boolean;
  /** MMs that mapped the folio since it was last fully unmapped. */
  seen: Set<number>;
}

type Op =
  | { t: 'map'; m: number; f: number; k: number; n: number; excl: boolean }
  | { t: 'unmap'; m: number; f: number; k: number; n: number }
  | { t: 'dup'; from: number; to: number; f: number; k: number; n: number }
  | { t: 'mapPmd'; m: number; f: number }
  | { t: 'dupPmd'; from: number; to: number; f: number }
  | { t: 'unmapPmd'; m: number; f: number }
  | { t: 'remap'; m: number; f: number }
  | { t: 'share'; m: number; f: number; k: number }
  | { t: 'pin'; f: number; on: boolean };

const ORDERS = [0, 1, 2, 4, 9];

const m5 = fc.nat(NMM - 1);
const fi = fc.nat(2);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('map' as const),
      m: m5,
      f: fi,
      k: fc.nat(511),
      n: fc.integer({ min: 1, max: 24 }),
      excl: fc.boolean(),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('unmap' as const),
      m: m5,
      f: fi,
      k: fc.nat(511),
      n: fc.integer({ min: 1, max: 24 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('dup' as const),
      from: m5,
      to: m5,
      f: fi,
      k: fc.nat(511),
      n: fc.integer({ min: 1, max: 512 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('mapPmd' as const), m: m5, f: fi }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('dupPmd' as const), from: m5, to: m5, f: fi }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('unmapPmd' as const), m: m5, f: fi }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('remap' as const), m: m5, f: fi }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('share' as const), m: m5, f: fi, k: fc.nat(511) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('pin' as const), f: fi, on: fc.boolean() }) },
);

function mapped(x: F, m: number): number {
  let c = x.pmd[m] ? 1 : 0;
  for (const p of x.pte[m] as boolean[]) if (p) c++;
  return c;
}

function total(x: F): number {
  let c = 0;
  for (let m = 0; m < NMM; m++) c += mapped(x, m);
  return c;
}

function entire(x: F): number {
  return x.pmd.filter(Boolean).length;
}

function pageMaps(x: F, k: number): number {
  let c = 0;
  for (let m = 0; m < NMM; m++) if (x.pte[m]?.[k]) c++;
  return c;
}

function mappedPages(x: F): number {
  let c = 0;
  for (let k = 0; k < x.n; k++) if (pageMaps(x, k) > 0) c++;
  return c;
}

function mmsMapping(x: F): number {
  let c = 0;
  for (let m = 0; m < NMM; m++) if (mapped(x, m) > 0) c++;
  return c;
}

function run(pageMapcount: boolean, orders: number[], ops: Op[]): void {
  const machine = createMachine({ seed: 5 });
  const pt = new TestPageTables(PAGE, 512);
  const rm: FolioRmap = createFolioRmap(machine, { pageMapcount, pgtable: pt });
  const mms = [newMm(rm)];
  const vmas: RmapVma[] = [anonVma(rm, mms[0] as (typeof mms)[0], BASE, 3 * 512, VM_READ | VM_WRITE)];
  for (let m = 1; m < NMM; m++) {
    const mm = newMm(rm);
    const v = createRmapVma(mm, BASE, BASE + 3 * PMD, VM_READ | VM_WRITE);
    expect(anonVmaFork(rm, v, vmas[0] as RmapVma)).toBe(0);
    mms.push(mm);
    vmas.push(v);
  }
  const folios: F[] = orders.map((order, i) => {
    const pfn = alloc(rm, order);
    const n = 1 << order;
    const addr = BASE + i * PMD;
    const x: F = {
      pfn,
      order,
      n,
      addr,
      pte: Array.from({ length: NMM }, () => new Array<boolean>(n).fill(false)),
      pmd: new Array<boolean>(NMM).fill(false),
      ae: new Array<boolean>(n).fill(false),
      pins: 0,
      queued: false,
      seen: new Set([0]),
    };
    folioAddNewAnonRmap(rm, pfn, vmas[0] as RmapVma, addr, RMAP_EXCLUSIVE);
    folioRefAdd(rm, pfn, 1); // the test holds a reference: unmapped folios stay
    if (order === 9) {
      x.pmd[0] = true;
      x.ae[0] = true;
      pt.setPmd(mms[0] as (typeof mms)[0], addr, PTE_PRESENT, pfn, PTE_WRITE);
    } else {
      (x.pte[0] as boolean[]).fill(true);
      x.ae.fill(true);
      folioRefAdd(rm, pfn, n - 1);
      pt.mapPtes(mms[0] as (typeof mms)[0], addr, pfn, n, PTE_WRITE);
    }
    return x;
  });
  let expectAnon = 0;
  let expectThps = 0;

  const setPtes = (m: number, x: F, k: number, n: number, on: boolean): void => {
    for (let j = k; j < k + n; j++) {
      (x.pte[m] as boolean[])[j] = on;
      if (on) pt.setPte(mms[m] as (typeof mms)[0], x.addr + j * PAGE, PTE_PRESENT, x.pfn + j, 0);
      else pt.setPte(mms[m] as (typeof mms)[0], x.addr + j * PAGE, PTE_NONE, 0, 0);
    }
  };
  const free = (m: number, x: F, k: number, n: number): boolean =>
    !x.pmd[m] && (x.pte[m] as boolean[]).slice(k, k + n).every((p) => !p);
  const all = (m: number, x: F, k: number, n: number): boolean =>
    (x.pte[m] as boolean[]).slice(k, k + n).every((p) => p);
  /** The kernel's partially-mapped rule per mode, from the oracle's counts after a removal. */
  const afterRemoval = (x: F, pmdRemoval: boolean, lastPmd: boolean, newlyUnmapped: number): void => {
    if (x.order <= 1 || x.queued) return;
    const t = total(x);
    let partial: boolean;
    if (pageMapcount) {
      partial = pmdRemoval
        ? lastPmd && newlyUnmapped > 0 && newlyUnmapped < x.n
        : entire(x) === 0 && newlyUnmapped > 0 && mappedPages(x) > 0;
    } else {
      partial = pmdRemoval ? lastPmd && t > 0 && t < x.n : t > 0 && t < x.n && entire(x) === 0;
    }
    if (partial) x.queued = true;
  };

  for (const op of ops) {
    const x = folios['f' in op ? op.f : 0] as F;
    const before = mappedPages(x);
    const wasPmd = entire(x) > 0;
    switch (op.t) {
      case 'map': {
        const k = op.k % x.n;
        const n = Math.min(op.n, x.n - k);
        if (!free(op.m, x, k, n)) break;
        folioRefAdd(rm, x.pfn, n);
        folioAddAnonRmapPtes(
          rm,
          x.pfn,
          x.pfn + k,
          n,
          vmas[op.m] as RmapVma,
          x.addr + k * PAGE,
          op.excl ? RMAP_EXCLUSIVE : RMAP_NONE,
        );
        setPtes(op.m, x, k, n, true);
        if (op.excl) for (let j = k; j < k + n; j++) x.ae[j] = true;
        x.seen.add(op.m);
        break;
      }
      case 'unmap': {
        const k = op.k % x.n;
        const n = Math.min(op.n, x.n - k);
        if (x.pmd[op.m] || !all(op.m, x, k, n)) break;
        folioRemoveRmapPtes(rm, x.pfn, x.pfn + k, n, vmas[op.m] as RmapVma);
        folioPutRefs(rm, x.pfn, n);
        setPtes(op.m, x, k, n, false);
        afterRemoval(x, false, false, before - mappedPages(x));
        break;
      }
      case 'dup': {
        const k = op.k % x.n;
        const n = Math.min(op.n, x.n - k);
        if (op.from === op.to || x.pmd[op.from] || !all(op.from, x, k, n) || !free(op.to, x, k, n)) break;
        folioRefAdd(rm, x.pfn, n);
        const ret = folioTryDupAnonRmapPtes(rm, x.pfn, x.pfn + k, n, vmas[op.to] as RmapVma, vmas[op.from] as RmapVma);
        const pinnedExcl = x.pins > 0 && x.ae.slice(k, k + n).some(Boolean);
        expect(ret).toBe(pinnedExcl ? -EBUSY : 0);
        if (ret !== 0) {
          folioPutRefs(rm, x.pfn, n);
          break;
        }
        setPtes(op.to, x, k, n, true);
        for (let j = k; j < k + n; j++) x.ae[j] = false;
        x.seen.add(op.to);
        break;
      }
      case 'mapPmd': {
        if (x.order !== 9 || x.pmd[op.m] || !free(op.m, x, 0, 512)) break;
        folioRefAdd(rm, x.pfn, 1);
        folioAddAnonRmapPmd(rm, x.pfn, x.pfn, vmas[op.m] as RmapVma, x.addr, RMAP_NONE);
        x.pmd[op.m] = true;
        pt.setPmd(mms[op.m] as (typeof mms)[0], x.addr, PTE_PRESENT, x.pfn, 0);
        x.seen.add(op.m);
        break;
      }
      case 'dupPmd': {
        if (x.order !== 9 || op.from === op.to || !x.pmd[op.from] || !free(op.to, x, 0, 512)) break;
        folioRefAdd(rm, x.pfn, 1);
        const ret = folioTryDupAnonRmapPmd(rm, x.pfn, x.pfn, vmas[op.to] as RmapVma, vmas[op.from] as RmapVma);
        expect(ret).toBe(x.pins > 0 && x.ae[0] ? -EBUSY : 0);
        if (ret !== 0) {
          folioPutRefs(rm, x.pfn, 1);
          break;
        }
        x.ae[0] = false;
        x.pmd[op.to] = true;
        pt.setPmd(mms[op.to] as (typeof mms)[0], x.addr, PTE_PRESENT, x.pfn, 0);
        x.seen.add(op.to);
        break;
      }
      case 'unmapPmd': {
        if (x.order !== 9 || !x.pmd[op.m]) break;
        folioRemoveRmapPmd(rm, x.pfn, x.pfn, vmas[op.m] as RmapVma);
        folioPutRefs(rm, x.pfn, 1);
        x.pmd[op.m] = false;
        pt.setPmd(mms[op.m] as (typeof mms)[0], x.addr, PTE_NONE, 0, 0);
        const pagesBefore = wasPmd ? x.n : before;
        const pagesAfter = entire(x) > 0 ? x.n : mappedPages(x);
        afterRemoval(x, true, entire(x) === 0, pagesBefore - pagesAfter);
        break;
      }
      case 'remap': {
        // split_huge_pmd: PTE-map all pages, then drop the PMD mapping.
        if (x.order !== 9 || !x.pmd[op.m]) break;
        const excl = x.ae[0] as boolean;
        folioRefAdd(rm, x.pfn, 511);
        folioAddAnonRmapPtes(rm, x.pfn, x.pfn, 512, vmas[op.m] as RmapVma, x.addr, excl ? RMAP_EXCLUSIVE : RMAP_NONE);
        folioRemoveRmapPmd(rm, x.pfn, x.pfn, vmas[op.m] as RmapVma);
        x.pmd[op.m] = false;
        pt.setPmd(mms[op.m] as (typeof mms)[0], x.addr, PTE_NONE, 0, 0);
        pt.pmdPopulateTable(mms[op.m] as (typeof mms)[0], x.addr);
        setPtes(op.m, x, 0, 512, true);
        if (excl) x.ae.fill(true);
        const after = entire(x) > 0 ? x.n : mappedPages(x);
        afterRemoval(x, true, entire(x) === 0, x.n - after);
        break;
      }
      case 'share': {
        const k = op.k % x.n;
        if (!x.ae[k] || !(x.pte[op.m]?.[k] || (x.pmd[op.m] && k === 0))) break;
        if (x.order === 9 && x.pmd[op.m]) break;
        const ret = folioTryShareAnonRmapPte(rm, x.pfn, x.pfn + k);
        expect(ret).toBe(x.pins > 0 ? -EBUSY : 0);
        if (ret === 0) x.ae[k] = false;
        break;
      }
      case 'pin': {
        if (op.on) {
          folioPin(rm, x.pfn, 1, mms[0] as (typeof mms)[0]);
          for (const mm of mms) mm.mmFlags |= MMF_HAS_PINNED;
          x.pins++;
        } else if (x.pins > 0) {
          folioUnpin(rm, x.pfn, 1);
          x.pins--;
        }
        break;
      }
    }
    if (total(x) === 0) x.seen.clear();

    // ---- the oracle
    const ctx = (y: F, what: string): string =>
      `after ${JSON.stringify(op)}: folio ${folios.indexOf(y)} (order ${y.order}) ${what}`;
    expectAnon = 0;
    expectThps = 0;
    for (const y of folios) {
      const t = total(y);
      expect(folioMapcount(rm, y.pfn), ctx(y, 'mapcount')).toBe(t);
      expect(folioEntireMapcount(rm, y.pfn), ctx(y, 'entire mapcount')).toBe(y.order > 0 ? entire(y) : 0);
      if (pageMapcount && y.order > 0) {
        for (let k = 0; k < y.n; k += y.n > 16 ? 37 : 1)
          expect(pageMapcountRaw(rm, y.pfn + k), ctx(y, `page ${k} mapcount`)).toBe(pageMaps(y, k));
        expect(folioNrPagesMapped(rm, y.pfn), ctx(y, 'nr_pages_mapped')).toBe(
          mappedPages(y) + (entire(y) > 0 ? ENTIRELY_MAPPED : 0),
        );
      }
      for (let k = 0; k < y.n; k += y.n > 16 ? 29 : 1) {
        expect(pageAnonExclusive(rm, y.pfn + k), ctx(y, `page ${k} PageAnonExclusive`)).toBe(y.ae[k]);
      }
      const shared = folioMaybeMappedShared(rm, y.pfn);
      const nmm = mmsMapping(y);
      if (nmm >= 2) expect(shared, ctx(y, `maybe shared with ${nmm} mms`)).toBe(true);
      if (y.seen.size <= 2 || y.order === 0)
        expect(shared, ctx(y, `maybe shared, ${nmm} mms, seen ${[...y.seen]}`)).toBe(nmm >= 2);
      if (y.order > 1) expect(folioOnDeferredList(rm, y.pfn), ctx(y, 'queued')).toBe(y.queued);
      if (pageMapcount) expectAnon += entire(y) > 0 ? y.n : mappedPages(y);
      else expectAnon += t > 0 ? y.n : 0;
      if (y.order === 9 && entire(y) > 0) expectThps += 512;
    }
    expect(nodeStat(rm, NODE_STAT.NR_ANON_MAPPED)).toBe(expectAnon);
    expect(nodeStat(rm, NODE_STAT.NR_ANON_THPS)).toBe(expectThps);
    folioRmapValidate(rm, { folios: folios.map((y) => y.pfn), walk: true });
  }
  expect(machine.warnings).toEqual([]);
}

describe.each([
  ['PAGE_MAPCOUNT', true],
  ['NO_PAGE_MAPCOUNT', false],
])('rmap oracle (CONFIG_%s)', (_n, pageMapcount) => {
  it('map/unmap/dup/share/remap/pin over folios of random orders and five mms', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...ORDERS), { minLength: 3, maxLength: 3 }),
        fc.array(opArb, { minLength: 10, maxLength: 120, size: 'max' }),
        (orders, ops) => run(pageMapcount, orders, ops),
      ),
      { numRuns: fuzzRuns(25) },
    );
  });
});
