// The hardware walker against a naive map, per architecture: random
// map / map-huge / unmap / protect / split sequences through the package's
// table operations, and after every step accesses through @mm/machine's MMU
// (TLBs, walker, fault handler, shootdowns on 4 CPUs) must give exactly the
// frames the oracle has, or fault where it has none or the access is not
// permitted.
import { MMU_EXEC, MMU_READ, MMU_USER, MMU_WRITE } from '@mm/machine';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARCH_DESCRIPTORS, type ArchDescriptor, ptValidate } from '../src/index.js';
import { fuzzRuns } from './fuzz.js';
import { TestKernel } from './harness.js';

const RUNS = fuzzRuns(12);
const DESCS = Object.values(ARCH_DESCRIPTORS).filter((d) => d.machineArch !== null);

type Op =
  | { op: 'map'; region: number; page: number; nr: number; pfn: number; write: boolean; exec: boolean }
  | { op: 'huge'; region: number; pmd: number; pfn: number; write: boolean; exec: boolean }
  | { op: 'unmap'; region: number; page: number; nr: number }
  | { op: 'protect'; region: number; page: number; nr: number; write: boolean; exec: boolean }
  | { op: 'access'; region: number; page: number; cpu: number; kind: number };

function opArb(): fc.Arbitrary<Op> {
  const region = fc.integer({ min: 0, max: 3 });
  const page = fc.integer({ min: 0, max: 1 << 20 });
  const nr = fc.integer({ min: 1, max: 40 });
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        op: fc.constant('map' as const),
        region,
        page,
        nr,
        pfn: fc.integer({ min: 0, max: 1 << 22 }),
        write: fc.boolean(),
        exec: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('huge' as const),
        region,
        pmd: fc.integer({ min: 0, max: 7 }),
        pfn: fc.integer({ min: 0, max: 64 }),
        write: fc.boolean(),
        exec: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('unmap' as const), region, page, nr }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('protect' as const),
        region,
        page,
        nr,
        write: fc.boolean(),
        exec: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('access' as const),
        region,
        page,
        cpu: fc.integer({ min: 0, max: 3 }),
        kind: fc.constantFrom(MMU_READ, MMU_WRITE, MMU_EXEC),
      }),
    },
  );
}

/** Region bases spread over the address space: distinct upper tables. */
function regions(d: ArchDescriptor): number[] {
  const top = Math.min(2 ** d.vaBits, 2 ** 53);
  return [0.13, 0.4, 0.77, 0.93].map((f) => {
    const pmd = 2 ** d.levels[1].shift;
    return Math.floor((top * f) / pmd) * pmd;
  });
}

describe.each(DESCS.map((d) => [d.name, d] as const))('%s: walker vs naive map', (_n, d) => {
  it('random map/unmap/protect/split sequences translate like the oracle', () => {
    fc.assert(
      fc.property(fc.array(opArb(), { minLength: 5, maxLength: 40 }), (ops) => {
        const k = new TestKernel(d);
        const bases = regions(d);
        const ps = k.pageSize;
        const pmdPages = k.pmdSize / ps;
        // Pages span a few PMDs of each region (at most 4 PMDs, 2048 pages with 4K).
        const span = Math.min(4 * pmdPages, 1 << 12);
        // Frames the architecture can address (32-bit x86: 4 GiB).
        const maxPfn = 2 ** (d.physBits - d.pageShift);
        const addrOf = (region: number, page: number): number => bases[region]! + (page % span) * ps;
        const probe = (addr: number, cpu: number, kind: number): void => {
          const got = k.machine.mmu.access(cpu, k.mm.as, addr, kind | MMU_USER);
          expect(got, `${d.name} access ${kind} at 0x${addr.toString(16)} on CPU ${cpu}`).toBe(k.expect(addr, kind));
        };
        for (const o of ops) {
          if (o.op === 'map') {
            const nr = Math.min(o.nr, span - (o.page % span));
            k.map(addrOf(o.region, o.page), nr, o.pfn % (maxPfn - nr), o.write, o.exec);
          } else if (o.op === 'huge') {
            const addr = bases[o.region]! + (o.pmd % Math.max(1, span / pmdPages)) * k.pmdSize;
            if ((d.leafLevels & 2) !== 0) {
              k.unmap(addr, pmdPages);
              k.mapHuge(addr, (o.pfn * pmdPages) % maxPfn, o.write, o.exec);
            }
          } else if (o.op === 'unmap') {
            k.unmap(addrOf(o.region, o.page), Math.min(o.nr, span - (o.page % span)));
          } else if (o.op === 'protect') {
            k.protect(addrOf(o.region, o.page), Math.min(o.nr, span - (o.page % span)), o.write, o.exec);
          } else {
            probe(addrOf(o.region, o.page) + 8, o.cpu, o.kind);
          }
          // A few mapped pages, and their neighbours, on two CPUs.
          let n = 0;
          for (const vpn of k.oracle.keys()) {
            if (n++ > 6) break;
            probe(vpn * ps, n & 3, MMU_READ);
            probe(vpn * ps + ps, (n + 1) & 3, MMU_WRITE);
          }
          ptValidate(k.pt);
        }
        expect(k.machine.warnings).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});
