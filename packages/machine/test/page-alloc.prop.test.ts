// Property tests of the buddy allocator: random alloc/free sequences of mixed
// orders, migratetypes, nodes and CPUs against an oracle of allocated PFNs,
// machine.validate() after every step, and at the end every free block
// merges back to the maximum order.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  __GFP_MOVABLE,
  __GFP_NOWARN,
  __GFP_RECLAIMABLE,
  __GFP_THISNODE,
  __GFP_ZERO,
  ENOMEM,
  GFP_ATOMIC,
  GFP_DMA32,
  GFP_HIGHUSER_MOVABLE,
  GFP_KERNEL,
  GFP_NOWAIT,
  MAX_NR_ZONES,
  type Machine,
  memStateJson,
  NR_FREE_PAGES,
  ZONE_MOVABLE,
} from '../src/index.js';
import { fuzzAssert, fuzzRuns } from './fuzz.js';
import { normalZoneMachine, smallNumaMachine } from './machines.js';

// MM_FUZZ_RUNS=100 multiplies the runs for a long fuzzing session (see fuzz.ts).
const RUNS = fuzzRuns(60);

function snapshot(m: Machine): string {
  const pa = m.mem;
  return JSON.stringify([
    memStateJson(pa),
    Array.from(pa.vmstat.zoneDiff),
    Array.from(pa.zones.freeHead),
    Array.from(pa.zones.freeTail),
    Array.from(pa.pcp.head),
    Array.from(pa.pcp.count),
    Array.from(pa.pcp.allocFactor),
    Array.from(pa.pcp.freeCount),
  ]);
}

const GFPS = [
  GFP_KERNEL | __GFP_NOWARN,
  GFP_KERNEL | __GFP_RECLAIMABLE | __GFP_NOWARN,
  GFP_HIGHUSER_MOVABLE | __GFP_NOWARN,
  GFP_ATOMIC | __GFP_NOWARN,
  GFP_NOWAIT | __GFP_MOVABLE,
  GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN,
  GFP_DMA32 | GFP_KERNEL | __GFP_NOWARN,
];

type Op =
  | { kind: 'alloc'; gfp: number; order: number; nid: number; thisnode: boolean; cpu: number }
  | { kind: 'free'; index: number; cpu: number }
  | { kind: 'inject'; order: number; gfp: number }
  | { kind: 'drain' }
  | { kind: 'refresh' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('alloc' as const),
      gfp: fc.constantFrom(...GFPS),
      order: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) },
        { weight: 3, arbitrary: fc.integer({ min: 4, max: 10 }) },
      ),
      nid: fc.integer({ min: -1, max: 1 }),
      thisnode: fc.boolean(),
      cpu: fc.integer({ min: 0, max: 3 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('free' as const), index: fc.nat(), cpu: fc.integer({ min: 0, max: 3 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('inject' as const),
      order: fc.integer({ min: 0, max: 10 }),
      gfp: fc.constantFrom(...GFPS),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'drain' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'refresh' as const }) },
);

async function checkRandomSequences(makeMachine: () => Machine, runs: number): Promise<void> {
  await fuzzAssert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 120 }), (ops) => {
      const m = makeMachine();
      const pa = m.mem;
      const owned = new Uint8Array(m.topology.totalPages);
      const live: { pfn: number; order: number }[] = [];
      for (const op of ops) {
        if (op.kind === 'alloc') {
          m.currentCpu = op.cpu;
          const gfp = op.gfp | (op.thisnode && op.nid >= 0 ? __GFP_THISNODE : 0);
          const pfn = pa.allocPages(gfp, op.order, op.nid);
          if (pfn >= 0) {
            const n = 2 ** op.order;
            expect(pfn % n).toBe(0);
            for (let k = 0; k < n; k++) {
              expect(owned[pfn + k]).toBe(0);
              owned[pfn + k] = 1;
            }
            const zone = pa.pageZone(pfn);
            if (gfp & GFP_DMA32) expect(zone % MAX_NR_ZONES).toBe(0);
            // Only movable allocations may come from ZONE_MOVABLE.
            if (zone % MAX_NR_ZONES === ZONE_MOVABLE) expect(gfp & __GFP_MOVABLE).not.toBe(0);
            if (op.thisnode && op.nid >= 0) expect(pa.pageToNid(pfn)).toBe(op.nid);
            if (gfp & __GFP_ZERO) for (let k = 0; k < n; k++) expect(pa.memmap.content(pfn + k)).toBe(0);
            // Write a content token so zeroing is observable next time.
            pa.sec(pfn).content[pfn & pa.memmap.sectionMask] = 0xdead;
            live.push({ pfn, order: op.order });
          }
        } else if (op.kind === 'free') {
          if (live.length === 0) continue;
          m.currentCpu = op.cpu;
          const i = op.index % live.length;
          const a = live[i] as { pfn: number; order: number };
          live.splice(i, 1);
          pa.freePages(a.pfn, a.order);
          for (let k = 0; k < 2 ** a.order; k++) owned[a.pfn + k] = 0;
        } else if (op.kind === 'inject') {
          // An injected failure must leave every list and counter untouched.
          pa.failPageAlloc.configure({
            probability: 100,
            times: 1,
            minOrder: 0,
            ignoreGfpReclaim: false,
            ignoreGfpHighmem: false,
          });
          const before = snapshot(m);
          expect(pa.allocPages(op.gfp, op.order)).toBe(-ENOMEM);
          expect(snapshot(m)).toBe(before);
          pa.failPageAlloc.configure({ probability: 0 });
        } else if (op.kind === 'drain') {
          pa.drainAllPages();
        } else {
          pa.refreshVmStats();
        }
        m.validate();
      }
      for (const a of live) pa.freePages(a.pfn, a.order);
      pa.drainAllPages();
      m.validate();
      for (let z = 0; z < pa.zones.nrZones; z++) {
        if (!pa.zones.populated(z)) continue;
        for (let o = 0; o < pa.maxOrder; o++) expect(pa.zones.nrFree[z * pa.nrOrders + o]).toBe(0);
        expect(pa.zones.nrFree[z * pa.nrOrders + pa.maxOrder]).toBe((pa.zones.managed[z] as number) / 2 ** pa.maxOrder);
        expect(pa.vmstat.zonePageStateSnapshot(z, NR_FREE_PAGES)).toBe(pa.zones.managed[z]);
      }
      expect(m.warnings).toEqual([]);
    }),
    runs,
  );
}

describe('buddy allocator properties', () => {
  it(
    'random alloc/free sequences keep the oracle, the validator and full merging',
    async () => {
      await checkRandomSequences(smallNumaMachine, RUNS);
    },
    RUNS * 1000,
  );

  it(
    'the same with Normal zones above DMA32 (nofragment fallback, remote-node retry)',
    async () => {
      await checkRandomSequences(normalZoneMachine, Math.ceil(RUNS / 2));
    },
    RUNS * 1000,
  );
});
