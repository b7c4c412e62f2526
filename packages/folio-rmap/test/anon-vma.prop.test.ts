// anon_vma chains under random fork / exit / split / fault sequences: an
// oracle of which VMA maps which anon folio; an rmap walk of every folio
// must visit every VMA that maps it (the walk may visit more: VMAs forked
// before the folio existed share the anon_vma), the validator (trees, keys,
// num_children, num_active_vmas, refcounts) passes after every step, chains
// stay bounded, and once every VMA is gone no anon_vma, avc or tree node is left.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  anonVmaClone,
  anonVmaFork,
  anonVmaIntervalTreePostUpdateVma,
  anonVmaIntervalTreePreUpdateVma,
  anonVmaLockWrite,
  anonVmaPrepare,
  anonVmaUnlockWrite,
  createRmapVma,
  type FolioRmap,
  folioAddNewAnonRmap,
  folioPut,
  folioRefAdd,
  folioRemoveRmapPte,
  folioRmapValidate,
  folioTryDupAnonRmapPte,
  folioTrylock,
  folioUnlock,
  RMAP_EXCLUSIVE,
  type RmapVma,
  rmapWalk,
  rmapWalkControl,
  unlinkAnonVmas,
  VM_READ,
  VM_WRITE,
  VMA_OP_SPLIT,
} from '../src/index.js';
import { alloc, fuzzRuns, newMm, setup } from './helpers.js';

const PAGE = 4096;
const BASE = 0x40000000;
const PAGES = 32;

type Op =
  | { t: 'fork'; v: number }
  | { t: 'exit'; v: number }
  | { t: 'split'; v: number; at: number }
  | { t: 'fault'; v: number; p: number }
  | { t: 'unmap'; v: number; p: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ t: fc.constant('fork' as const), v: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('exit' as const), v: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('split' as const), v: fc.nat(), at: fc.nat(PAGES - 1) }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('fault' as const), v: fc.nat(), p: fc.nat(PAGES - 1) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('unmap' as const), v: fc.nat(), p: fc.nat(PAGES - 1) }) },
);

/** A live folio and the VMAs that map it (each at the folio's address). */
interface Live {
  pfn: number;
  addr: number;
  vmas: Set<RmapVma>;
}

function visited(rm: FolioRmap, folio: number): Set<RmapVma> {
  const out = new Set<RmapVma>();
  folioTrylock(rm, folio);
  rmapWalk(
    rm,
    folio,
    rmapWalkControl(null, (_r, _f, vma) => {
      out.add(vma);
      return true;
    }),
  );
  folioUnlock(rm, folio);
  return out;
}

function unmapFrom(rm: FolioRmap, live: Live[], x: Live, v: RmapVma): void {
  folioRemoveRmapPte(rm, x.pfn, x.pfn, v);
  folioPut(rm, x.pfn);
  x.vmas.delete(v);
  if (x.vmas.size === 0) live.splice(live.indexOf(x), 1);
}

describe('anon_vma chains (property)', () => {
  it('rmap walks find every mapping VMA; counters and trees stay valid; nothing leaks', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 120, size: 'max' }), (ops) => {
        const { rm } = setup();
        const first = createRmapVma(newMm(rm), BASE, BASE + PAGES * PAGE, VM_READ | VM_WRITE);
        expect(anonVmaPrepare(rm, first)).toBe(0);
        const vmas: RmapVma[] = [first];
        const live: Live[] = [];
        let maxChain = 0;
        for (const op of ops) {
          if (vmas.length === 0) break;
          const v = vmas[op.v % vmas.length] as RmapVma;
          if (op.t === 'fork' && vmas.length < 12) {
            const c = createRmapVma(newMm(rm), v.vmStart, v.vmEnd, v.vmFlags, { vmPgoff: v.vmPgoff });
            // The reuse rule: an anon_vma of the chain with no VMA and at most one child.
            const reusable = v.anonVmaChain
              .map((avc) => avc.anonVma)
              .filter((av) => av.numActiveVmas === 0 && av.numChildren < 2);
            const before = new Set(rm.anonVmas);
            expect(anonVmaFork(rm, c, v)).toBe(0);
            if (v.anonVma !== null) {
              const got = c.anonVma;
              expect(got === null ? false : before.has(got)).toBe(reusable.length > 0);
              if (got !== null && before.has(got)) expect(reusable).toContain(got);
            }
            for (const x of live) {
              if (!x.vmas.has(v)) continue;
              folioRefAdd(rm, x.pfn, 1);
              expect(folioTryDupAnonRmapPte(rm, x.pfn, x.pfn, c, v)).toBe(0);
              x.vmas.add(c);
            }
            vmas.push(c);
          } else if (op.t === 'exit') {
            for (const x of [...live]) if (x.vmas.has(v)) unmapFrom(rm, live, x, v);
            expect(unlinkAnonVmas(rm, v)).toBe(0);
            vmas.splice(vmas.indexOf(v), 1);
          } else if (op.t === 'split') {
            const at = v.vmStart + op.at * PAGE;
            if (at <= v.vmStart || at >= v.vmEnd) continue;
            // __split_vma: the new VMA takes [at, end); both are re-keyed.
            const w = createRmapVma(v.vmMm, at, v.vmEnd, v.vmFlags, { vmPgoff: v.vmPgoff + (at - v.vmStart) / PAGE });
            w.anonVma = v.anonVma;
            expect(anonVmaClone(rm, w, v, VMA_OP_SPLIT)).toBe(0);
            const av = v.anonVma;
            if (av !== null) expect(anonVmaLockWrite(av)).toBe(true);
            anonVmaIntervalTreePreUpdateVma(rm, v);
            v.vmEnd = at;
            anonVmaIntervalTreePostUpdateVma(rm, v);
            if (av !== null) anonVmaUnlockWrite(av);
            for (const x of live) {
              if (x.vmas.has(v) && x.addr >= at) {
                x.vmas.delete(v);
                x.vmas.add(w);
              }
            }
            vmas.push(w);
          } else if (op.t === 'fault') {
            const addr = v.vmStart + op.p * PAGE;
            if (addr >= v.vmEnd || live.some((x) => x.vmas.has(v) && x.addr === addr)) continue;
            // The child's own anon_vma takes its new (CoW) folios.
            const f = alloc(rm, 0);
            folioAddNewAnonRmap(rm, f, v, addr, RMAP_EXCLUSIVE);
            live.push({ pfn: f, addr, vmas: new Set([v]) });
          } else if (op.t === 'unmap') {
            const addr = v.vmStart + op.p * PAGE;
            const x = live.find((y) => y.vmas.has(v) && y.addr === addr);
            if (x !== undefined) unmapFrom(rm, live, x, v);
          }
          for (const x of live) {
            const seen = visited(rm, x.pfn);
            for (const m of x.vmas) expect(seen.has(m)).toBe(true);
          }
          for (const u of vmas) maxChain = Math.max(maxChain, u.anonVmaChain.length);
          folioRmapValidate(rm);
        }
        for (const v of [...vmas]) {
          for (const x of [...live]) if (x.vmas.has(v)) unmapFrom(rm, live, x, v);
          expect(unlinkAnonVmas(rm, v)).toBe(0);
        }
        expect([rm.nrAnonVmas, rm.nrAnonVmaChains, rm.avcTree.nrNodes]).toEqual([0, 0, 0]);
        expect(rm.machine.warnings).toEqual([]);
        expect(maxChain).toBeLessThanOrEqual(13);
      }),
      { numRuns: fuzzRuns(60) },
    );
  });
});
