/**
 * DOC: rmap batching (seed 001): PTE-mapping all 512 pages of a PMD-mapped
 * THP with one `folioAddAnonRmapPtes(…, 512, …)` against 512
 * `folioAddAnonRmapPte` calls — what splitting a PMD mapping does — in both
 * mapcount modes. Only the adds are timed (the removals that reset the
 * folios run outside the timed region). Figures: ns per page and the
 * batched speed-up (target ≥ 10× per page).
 */
import { createMachine, GFP_HIGHUSER_MOVABLE } from '@mm/machine';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  anonVmaPrepare,
  createFolioRmap,
  createRmapMm,
  createRmapVma,
  folioAddAnonRmapPte,
  folioAddAnonRmapPtes,
  folioAddNewAnonRmap,
  folioAlloc,
  folioRemoveRmapPtes,
  mmAllocId,
  RMAP_EXCLUSIVE,
  VM_READ,
  VM_WRITE,
} from '../src/index.js';

const suite = new BenchSuite('@mm/folio-rmap: rmap batching');
const NF = 32; // folios per round
const ROUNDS = Number(process.env.MM_BENCH_ROUNDS ?? 40);
const A = 0x40000000;
const PMD = 0x200000;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

for (const pageMapcount of [true, false]) {
  const mode = pageMapcount ? 'PAGE_MAPCOUNT' : 'NO_PAGE_MAPCOUNT';
  const machine = createMachine({ seed: 1 });
  machine.lockdep.enabled = false; // a production kernel
  const rm = createFolioRmap(machine, { pageMapcount });
  const vma = createRmapVma(createRmapMm(mmAllocId(rm)), A, A + NF * PMD, VM_READ | VM_WRITE);
  anonVmaPrepare(rm, vma);
  const folios: number[] = [];
  for (let i = 0; i < NF; i++) {
    const f = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 9);
    folioAddNewAnonRmap(rm, f, vma, A + i * PMD, RMAP_EXCLUSIVE); // PMD-mapped
    folios.push(f);
  }
  const batched: number[] = [];
  const single: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = performance.now();
    for (let i = 0; i < NF; i++) {
      const f = folios[i] as number;
      folioAddAnonRmapPtes(rm, f, f, 512, vma, A + i * PMD, RMAP_EXCLUSIVE);
    }
    let t1 = performance.now();
    for (let i = 0; i < NF; i++) folioRemoveRmapPtes(rm, folios[i] as number, folios[i] as number, 512, vma);
    if (r > 3) batched.push(((t1 - t0) * 1e6) / (NF * 512));
    t0 = performance.now();
    for (let i = 0; i < NF; i++) {
      const f = folios[i] as number;
      const a = A + i * PMD;
      for (let k = 0; k < 512; k++) folioAddAnonRmapPte(rm, f, f + k, vma, a + k * 4096, RMAP_EXCLUSIVE);
    }
    t1 = performance.now();
    for (let i = 0; i < NF; i++) folioRemoveRmapPtes(rm, folios[i] as number, folios[i] as number, 512, vma);
    if (r > 3) single.push(((t1 - t0) * 1e6) / (NF * 512));
  }
  const b = median(batched);
  const s = median(single);
  suite.record({ name: `${mode}: folioAddAnonRmapPtes(512), per page`, value: b, unit: 'ns/page' });
  suite.record({
    name: `${mode}: 512 × folioAddAnonRmapPte, per page`,
    value: s,
    unit: 'ns/page',
    reference: 'batched (same run)',
    ratio: s / b,
  });
  suite.record({ name: `${mode}: batched speed-up per page`, value: s / b, unit: 'x', reference: 'target >= 10x' });
}
suite.finish();
