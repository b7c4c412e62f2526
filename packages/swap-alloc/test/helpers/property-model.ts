/**
 * DOC: the swap allocator's property model: random sequences of allocation
 * (orders 0..9, several CPUs, several devices of mixed kinds and
 * priorities), duplication (fork) past SWAP_MAP_MAX, frees, swap cache
 * removal, folio_free_swap, free_swap_and_cache_nr, the slot cache switch
 * and swapoff, checked against an oracle of the references each slot holds
 * and of the folios in the swap cache, with swapValidate() after every step.
 * property.test.ts runs it on random sequences, regressions.test.ts on the
 * counterexamples it found. `SWAP_PROP_TRACE=1` prints every step with the
 * devices' usage and the oracle's state.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  folioFreeSwap,
  freeSwapAndCacheNr,
  SWAP_HAS_CACHE,
  SWAP_MAP_BAD,
  setSlotCache,
  slotCacheEntries,
  swapCacheDelFolio,
  swapDuplicate,
  swapFree,
  swapoff,
  swapon,
  swapValidate,
  swpEntry,
  swpOffset,
  swpSwapcount,
  swpType,
  vmSwapFull,
} from '../../src/index.js';
import { allocOn, type Harness, makeHarness } from './harness.js';

/** One step of a property run. */
export type Op =
  | { t: 'alloc'; cpu: number; order: number }
  | { t: 'dup'; k: number; n: number }
  | { t: 'free'; k: number }
  | { t: 'drop'; k: number }
  | { t: 'freeSwap'; k: number }
  | { t: 'zap'; k: number }
  | { t: 'slotCache'; on: boolean }
  | { t: 'swapoff'; k: number }
  | { t: 'swapon'; kind: 'ssd' | 'hdd'; clusters: number; prio: number };

/** Random steps, weighted toward allocation. */
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('alloc' as const),
      cpu: fc.integer({ min: 0, max: 3 }),
      order: fc.oneof(
        { weight: 5, arbitrary: fc.constant(0) },
        { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
        { weight: 1, arbitrary: fc.constant(9) },
      ),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('dup' as const),
      k: fc.nat(),
      n: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 60, max: 200 })),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('free' as const), k: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('drop' as const), k: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('freeSwap' as const), k: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('zap' as const), k: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('slotCache' as const), on: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('swapoff' as const), k: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('swapon' as const),
      kind: fc.constantFrom('ssd' as const, 'hdd' as const),
      clusters: fc.integer({ min: 1, max: 4 }),
      prio: fc.integer({ min: -1, max: 3 }),
    }),
  },
);

/** The oracle: page-table references per slot, and the folios in the swap cache. */
class Oracle {
  /** refs by entry value (slots with at least one reference). */
  readonly refs = new Map<number, number>();
  /** folio → first entry, order (folios in the swap cache). */
  readonly cached = new Map<number, { entry: number; order: number }>();
  /** entry → folio for every cached slot. */
  readonly cachedSlot = new Map<number, number>();

  addFolio(folio: number, entry: number, order: number): void {
    this.cached.set(folio, { entry, order });
    for (let i = 0; i < 1 << order; i++) this.cachedSlot.set(entry + i, folio);
  }

  removeFolio(folio: number): void {
    const c = this.cached.get(folio)!;
    this.cached.delete(folio);
    for (let i = 0; i < 1 << c.order; i++) this.cachedSlot.delete(c.entry + i);
  }

  live(): number[] {
    return [...new Set([...this.refs.keys(), ...this.cachedSlot.keys()])].sort((a, b) => a - b);
  }
}

function unlockedPut(h: Harness, folio: number): void {
  const f = h.swap.folios;
  if (f.folioTestLocked(folio)) f.folioUnlock(folio);
  f.folioPut(folio);
}

function check(h: Harness, o: Oracle): void {
  swapValidate(h.swap);
  const slotCached = new Set(slotCacheEntries(h.swap));
  for (const si of h.swap.swapInfo) {
    if (si === null) continue;
    for (let off = 0; off < si.max; off++) {
      const b = si.swapMap[off]!;
      if (b === SWAP_MAP_BAD) continue;
      const e = swpEntry(si.type, off);
      const refs = o.refs.get(e) ?? 0;
      const cached = o.cachedSlot.has(e) || slotCached.has(e);
      if (((b & SWAP_HAS_CACHE) !== 0) !== cached)
        throw new Error(`slot ${si.type}:${off} cache bit ${b.toString(16)} vs oracle ${cached}`);
      if (swpSwapcount(h.swap, e) !== refs)
        throw new Error(`slot ${si.type}:${off} count ${swpSwapcount(h.swap, e)} vs oracle ${refs}`);
    }
  }
}

function freeSlotsExist(h: Harness, o: Oracle): boolean {
  const slotCached = new Set(slotCacheEntries(h.swap));
  for (const si of h.swap.swapInfo) {
    if (si === null || !si.onAvail) continue;
    for (let off = 1; off < si.max; off++) {
      const e = swpEntry(si.type, off);
      if (si.swapMap[off] !== SWAP_MAP_BAD && !o.refs.has(e) && !o.cachedSlot.has(e) && !slotCached.has(e)) return true;
    }
  }
  return false;
}

/**
 * Folios the model took out of the swap cache on its own. The allocator
 * does that when swap is over half full (vm_swap_full): cluster_scan_range
 * and swap_reclaim_full_clusters call __try_to_reclaim_swap(TTRS_ANYWAY) on
 * slots held only by the swap cache, and it removes any such folio that it
 * can trylock and that is not under writeback (mm/swapfile.c). The test's
 * folios are unlocked and idle between operations, so every folio whose
 * slots hold no page-table reference is fair game for an allocation while
 * swap is over half full, and nothing else is.
 */
function reapReclaimed(h: Harness, o: Oracle, allocWhileFull: boolean, reclaimedPages: number): void {
  const f = h.swap.folios;
  let pages = 0;
  for (const [folio, c] of [...o.cached]) {
    if (f.folioTestSwapcache(folio) && f.folioSwap(folio) === c.entry) continue;
    if (!allocWhileFull) throw new Error(`folio ${folio} left the swap cache without an allocation over vm_swap_full`);
    for (let i = 0; i < 1 << c.order; i++) {
      if (o.refs.has(c.entry + i)) throw new Error(`folio ${folio} reclaimed with a page-table reference on slot ${i}`);
    }
    expect(f.folioTestSwapcache(folio)).toBe(false);
    pages += 1 << c.order;
    o.removeFolio(folio);
    unlockedPut(h, folio);
  }
  expect(pages).toBe(reclaimedPages);
}

function trace(h: Harness, o: Oracle, op: Op): void {
  const fmt = (e: number): string => `${swpType(e)}:${swpOffset(e)}`;
  const devs = h.swap.active.map((si) => `${si.type}(${si.kind} p${si.prio} ${si.inusePages}/${si.pages})`).join(' ');
  const refs = [...o.refs].map(([e, r]) => `${fmt(e)}x${r}`).join(',');
  const cached = [...o.cached].map(([f, c]) => `${f}@${fmt(c.entry)}/${c.order}`).join(',');
  console.log(`${JSON.stringify(op)}\n  devs ${devs}\n  refs ${refs}\n  cached ${cached}`);
}

/**
 * Run `ops` on a fresh machine (seed `seed`, PREEMPT_RT if asked: every swap
 * lock is then a sleeping lock) against the oracle; the harness at the end.
 */
export function run(ops: readonly Op[], seed: number, preemptRt = false): Harness {
  const h = makeHarness({}, { seed, preemptRt });
  const o = new Oracle();
  swapon(h.swap, { pages: 3 * 512, priority: 1 });
  swapon(h.swap, { pages: 2 * 512 + 100, priority: 1, badPages: [700, 1030] });
  swapon(h.swap, { pages: 2 * 512, kind: 'hdd' });
  check(h, o);
  for (const op of ops) {
    const live = o.live();
    if (process.env.SWAP_PROP_TRACE) trace(h, o, op);
    const fullBefore = vmSwapFull(h.swap);
    const reclaimedBefore = h.swap.counters.cacheReclaimed;
    switch (op.t) {
      case 'alloc': {
        const { folio, entry } = allocOn(h, op.cpu, op.order);
        // first what the allocation reclaimed: it may hand out a reclaimed slot
        reapReclaimed(h, o, fullBefore, h.swap.counters.cacheReclaimed - reclaimedBefore);
        if (entry < 0) {
          if (op.order === 0) expect(freeSlotsExist(h, o)).toBe(false);
          break;
        }
        if (process.env.SWAP_PROP_TRACE) console.log(`  -> ${swpType(entry)}:${swpOffset(entry)}`);
        expect(swpOffset(entry) % (1 << op.order)).toBe(0);
        for (let i = 0; i < 1 << op.order; i++) {
          expect(o.refs.has(entry + i) || o.cachedSlot.has(entry + i)).toBe(false);
        }
        o.addFolio(folio, entry, op.order);
        h.swap.folios.folioUnlock(folio);
        break;
      }
      case 'dup': {
        if (live.length === 0) break;
        const e = live[op.k % live.length]!;
        for (let i = 0; i < op.n; i++) expect(swapDuplicate(h.swap, e)).toBe(0);
        o.refs.set(e, (o.refs.get(e) ?? 0) + op.n);
        break;
      }
      case 'free': {
        const withRefs = [...o.refs.keys()];
        if (withRefs.length === 0) break;
        const e = withRefs[op.k % withRefs.length]!;
        swapFree(h.swap, e);
        const r = o.refs.get(e)! - 1;
        if (r === 0) o.refs.delete(e);
        else o.refs.set(e, r);
        break;
      }
      case 'drop': {
        const folios = [...o.cached.keys()];
        if (folios.length === 0) break;
        const folio = folios[op.k % folios.length]!;
        h.swap.folios.folioTrylock(folio);
        swapCacheDelFolio(h.swap, folio);
        o.removeFolio(folio);
        unlockedPut(h, folio);
        break;
      }
      case 'freeSwap': {
        const folios = [...o.cached.keys()];
        if (folios.length === 0) break;
        const folio = folios[op.k % folios.length]!;
        const c = o.cached.get(folio)!;
        let referenced = false;
        for (let i = 0; i < 1 << c.order; i++) if (o.refs.has(c.entry + i)) referenced = true;
        h.swap.folios.folioTrylock(folio);
        expect(folioFreeSwap(h.swap, folio)).toBe(!referenced);
        h.swap.folios.folioUnlock(folio);
        if (!referenced) {
          o.removeFolio(folio);
          unlockedPut(h, folio);
        }
        break;
      }
      case 'zap': {
        const withRefs = [...o.refs.keys()];
        if (withRefs.length === 0) break;
        const e = withRefs[op.k % withRefs.length]!;
        const folio = o.cachedSlot.get(e);
        freeSwapAndCacheNr(h.swap, e, 1);
        const r = o.refs.get(e)! - 1;
        if (r === 0) o.refs.delete(e);
        else o.refs.set(e, r);
        if (folio !== undefined) {
          // reclaimed when no slot of the folio keeps a reference (it is never mapped here)
          const c = o.cached.get(folio)!;
          let referenced = false;
          for (let i = 0; i < 1 << c.order; i++) if (o.refs.has(c.entry + i)) referenced = true;
          expect(h.swap.folios.folioTestSwapcache(folio)).toBe(referenced || h.swap.folios.folioTestSwapcache(folio));
          if (!h.swap.folios.folioTestSwapcache(folio)) {
            expect(referenced).toBe(false);
            o.removeFolio(folio);
            unlockedPut(h, folio);
          }
        }
        break;
      }
      case 'slotCache':
        setSlotCache(h.swap, op.on);
        break;
      case 'swapoff': {
        const types = h.swap.active.map((s) => s.type);
        if (types.length <= 1) break;
        const type = types[op.k % types.length]!;
        const res = swapoff(h.swap, type, {
          unuse: () => {
            // "swap in" every referenced slot of the device: drop the references
            for (const [e, r] of [...o.refs]) {
              if (swpType(e) !== type) continue;
              for (let i = 0; i < r; i++) swapFree(h.swap, e);
              o.refs.delete(e);
            }
            return 0;
          },
        });
        expect(res).toBe(0);
        for (const [folio, c] of [...o.cached]) {
          if (swpType(c.entry) !== type) continue;
          expect(h.swap.folios.folioTestSwapcache(folio)).toBe(false);
          o.removeFolio(folio);
          unlockedPut(h, folio);
        }
        break;
      }
      case 'swapon': {
        if (h.swap.active.length >= 5) break;
        swapon(h.swap, { pages: op.clusters * 512, kind: op.kind, ...(op.prio >= 0 ? { priority: op.prio } : {}) });
        break;
      }
    }
    // nothing but an allocation takes folios out of the swap cache behind the caller's back
    if (op.t !== 'alloc') reapReclaimed(h, o, false, 0);
    check(h, o);
  }
  return h;
}
