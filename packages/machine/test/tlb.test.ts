import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TLB_DIRTY, TLB_GLOBAL, TLB_WRITE } from '../src/index.js';
import { TlbArray } from '../src/internal.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';

describe('TlbArray', () => {
  it('derives its geometry', () => {
    const t = new TlbArray(1536, 12, 21, 12);
    expect([t.sets, t.ways, t.setMask, t.pageBytes, t.basePages]).toEqual([128, 12, 127, 2 ** 21, 512]);
    const empty = new TlbArray(0, 4, 12, 12);
    expect(empty.lookup(0, 0)).toBe(-1);
    expect(empty.nrValid).toBe(0);
  });

  it('matches on page and ASID, global entries on page only', () => {
    const t = new TlbArray(8, 2, 12, 12);
    t.fill(5, 1, 100, TLB_WRITE, 0);
    t.fill(5, 2, 200, TLB_WRITE, 0);
    t.fill(10, 3, 300, TLB_GLOBAL, 0); // set 2: pages 5 and 5 fill both ways of set 1
    expect(t.pfn[t.lookup(5, 1)]).toBe(100);
    expect(t.pfn[t.lookup(5, 2)]).toBe(200);
    expect(t.lookup(5, 3)).toBe(-1);
    expect(t.pfn[t.lookup(10, 7)]).toBe(300);
    expect(t.check()).toBeNull();
  });

  it('refilling a page replaces its entry instead of duplicating it', () => {
    const t = new TlbArray(8, 2, 12, 12);
    t.fill(5, 1, 100, TLB_WRITE, 0);
    t.fill(5, 1, 100, TLB_WRITE | TLB_DIRTY, 0);
    expect(t.nrValid).toBe(1);
    expect(t.flags[t.lookup(5, 1)]).toBe(TLB_WRITE | TLB_DIRTY);
    // A global fill over a tagged entry of the same page replaces it too.
    t.fill(5, 2, 500, TLB_GLOBAL, 0);
    expect(t.nrValid).toBe(1);
    expect(t.check()).toBeNull();
  });

  it('invalidates by page, by ASID (sparing globals) and all', () => {
    const t = new TlbArray(16, 4, 12, 12);
    t.fill(1, 1, 10, 0, 0);
    t.fill(2, 1, 20, 0, 0);
    t.fill(3, 2, 30, 0, 0);
    t.fill(4, 1, 40, TLB_GLOBAL, 0);
    expect(t.invalidatePage(1, 2, false)).toBe(0);
    expect(t.invalidatePage(4, 1, false)).toBe(0);
    expect(t.invalidatePage(1, 1, false)).toBe(1);
    expect(t.invalidateAsid(1)).toBe(1); // page 2; the global page 4 stays
    expect(t.lookup(4, 9)).toBeGreaterThanOrEqual(0);
    expect(t.invalidateAll(true)).toBe(1); // page 3
    expect(t.nrValid).toBe(1);
    expect(t.invalidateAll(false)).toBe(1);
    expect(t.nrValid).toBe(0);
    expect(t.check()).toBeNull();
  });

  it('handles page numbers above 2^32', () => {
    const t = new TlbArray(8, 2, 12, 12);
    const vpn = 2 ** 40 + 3;
    t.fill(vpn, 1, 7, 0, 0);
    expect(t.lookup(vpn, 1)).toBeGreaterThanOrEqual(0);
    expect(t.lookup(3, 1)).toBe(-1);
    expect(t.check()).toBeNull();
  });

  // The reference: a Map of (page, asid) -> pfn per set, bounded by the ways with LRU order.
  it('behaves like an LRU set-associative cache (property)', async () => {
    type Op =
      | { op: 'fill'; vpn: number; asid: number; pfn: number; global: boolean }
      | { op: 'lookup'; vpn: number; asid: number }
      | { op: 'invPage'; vpn: number; asid: number; global: boolean }
      | { op: 'invAsid'; asid: number }
      | { op: 'invRange'; first: number; len: number; asid: number; global: boolean }
      | { op: 'invAll'; keepGlobal: boolean };
    const vpnArb = fc.integer({ min: 0, max: 15 });
    const asidArb = fc.integer({ min: 1, max: 3 });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.record({
          op: fc.constant('fill' as const),
          vpn: vpnArb,
          asid: asidArb,
          pfn: fc.nat(1000),
          global: fc.boolean(),
        }),
      },
      { weight: 5, arbitrary: fc.record({ op: fc.constant('lookup' as const), vpn: vpnArb, asid: asidArb }) },
      {
        weight: 1,
        arbitrary: fc.record({ op: fc.constant('invPage' as const), vpn: vpnArb, asid: asidArb, global: fc.boolean() }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('invAsid' as const), asid: asidArb }) },
      {
        weight: 1,
        arbitrary: fc.record({
          op: fc.constant('invRange' as const),
          first: vpnArb,
          len: fc.integer({ min: 1, max: 20 }),
          asid: asidArb,
          global: fc.boolean(),
        }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('invAll' as const), keepGlobal: fc.boolean() }) },
    );
    await fuzzAssert(
      fc.property(
        fc.constantFrom([8, 2], [16, 4], [4, 4]),
        fc.array(opArb, { maxLength: 200, size: 'max' }),
        ([entries, ways], ops) => {
          const t = new TlbArray(entries!, ways!, 12, 12);
          const sets = entries! / ways!;
          // Oracle: per set, entries in LRU order (oldest first).
          type E = { vpn: number; asid: number; pfn: number; global: boolean };
          const oracle: E[][] = Array.from({ length: sets }, () => []);
          const matches = (e: E, vpn: number, asid: number) => e.vpn === vpn && (e.global || e.asid === asid);
          for (const op of ops) {
            switch (op.op) {
              case 'fill': {
                const set = oracle[op.vpn % sets]!;
                const kept = set.filter((e) => !(e.vpn === op.vpn && (op.global || e.global || e.asid === op.asid)));
                if (kept.length === ways) kept.shift();
                kept.push({ vpn: op.vpn, asid: op.asid, pfn: op.pfn, global: op.global });
                oracle[op.vpn % sets] = kept;
                t.fill(op.vpn, op.asid, op.pfn, op.global ? TLB_GLOBAL : 0, 0);
                break;
              }
              case 'lookup': {
                const set = oracle[op.vpn % sets]!;
                const k = set.findIndex((e) => matches(e, op.vpn, op.asid));
                const i = t.lookup(op.vpn, op.asid);
                if (k < 0) {
                  expect(i).toBe(-1);
                } else {
                  expect(t.pfn[i]).toBe(set[k]!.pfn);
                  // A used entry becomes the most recent, as access() does.
                  set.push(set.splice(k, 1)[0]!);
                  t.stamp[i] = ++t.clock;
                }
                break;
              }
              case 'invPage': {
                const s = op.vpn % sets;
                oracle[s] = oracle[s]!.filter(
                  (e) => !(e.vpn === op.vpn && (e.global ? op.global : e.asid === op.asid)),
                );
                t.invalidatePage(op.vpn, op.asid, op.global);
                break;
              }
              case 'invAsid':
                for (let s = 0; s < sets; s++) oracle[s] = oracle[s]!.filter((e) => e.global || e.asid !== op.asid);
                t.invalidateAsid(op.asid);
                break;
              case 'invRange': {
                const last = op.first + op.len - 1;
                for (let s = 0; s < sets; s++) {
                  oracle[s] = oracle[s]!.filter(
                    (e) => !(e.vpn >= op.first && e.vpn <= last && (e.global ? op.global : e.asid === op.asid)),
                  );
                }
                t.invalidateRange(op.first, last, op.asid, op.global);
                break;
              }
              case 'invAll':
                for (let s = 0; s < sets; s++) oracle[s] = oracle[s]!.filter((e) => op.keepGlobal && e.global);
                t.invalidateAll(op.keepGlobal);
                break;
            }
            expect(t.check()).toBeNull();
            expect(t.nrValid).toBe(oracle.reduce((n, s) => n + s.length, 0));
          }
        },
      ),
      fuzzRuns(200),
    );
  });
});
