/**
 * DOC: rmap walks of a folio mapped by 64 processes (target ≤ 2 µs host):
 * an anon folio shared by a parent and 63 forked children (64 avcs in one
 * anon_vma tree) and a file folio mapped by 64 processes (64 VMAs in
 * i_mmap). "visit" is `rmapWalk` with an `rmapOne` that only counts VMAs;
 * `folioReferenced` adds, per VMA, a page_vma_mapped_walk through the test
 * page table and the test-and-clear of the accessed bit (PTEs old: the
 * steady state of reclaim). The reference is the floor of the same work in
 * plain JS: 64 objects visited through a callback that tests and clears a
 * bit in a typed array.
 */
import { createMachine, GFP_HIGHUSER_MOVABLE } from '@mm/machine';
import { BenchSuite } from '../../../tools/bench-harness.mjs';
import {
  anonVmaFork,
  anonVmaPrepare,
  createAddressSpace,
  createFolioRmap,
  createRmapMm,
  createRmapVma,
  folioAddFileRmapPte,
  folioAddNewAnonRmap,
  folioAlloc,
  folioRefAdd,
  folioReferenced,
  folioSetMapping,
  folioTryDupAnonRmapPte,
  folioTrylock,
  mmAllocId,
  PTE_PRESENT,
  RMAP_EXCLUSIVE,
  rmapWalk,
  rmapWalkControl,
  VM_READ,
  VM_WRITE,
  vmaLinkFile,
} from '../src/index.js';
import { TestPageTables } from '../test/pt.js';

const suite = new BenchSuite('@mm/folio-rmap: rmap walk of a folio mapped by 64 processes');
const N = 64;
const A = 0x40000000;
const machine = createMachine({ seed: 1 });
machine.lockdep.enabled = false;
const pt = new TestPageTables();
const rm = createFolioRmap(machine, { pgtable: pt });

// Anon: a parent and 63 forked children.
const pv = createRmapVma(createRmapMm(mmAllocId(rm)), A, A + 0x10000, VM_READ | VM_WRITE);
anonVmaPrepare(rm, pv);
const anon = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 0);
folioAddNewAnonRmap(rm, anon, pv, A, RMAP_EXCLUSIVE);
pt.setPte(pv.vmMm, A, PTE_PRESENT, anon, 0);
for (let i = 1; i < N; i++) {
  const v = createRmapVma(createRmapMm(mmAllocId(rm)), A, A + 0x10000, VM_READ | VM_WRITE);
  anonVmaFork(rm, v, pv);
  folioRefAdd(rm, anon, 1);
  folioTryDupAnonRmapPte(rm, anon, anon, v, pv);
  pt.setPte(v.vmMm, A, PTE_PRESENT, anon, 0);
}
folioTrylock(rm, anon);

// File: 64 processes mapping page 7 of a file.
const mapping = createAddressSpace(rm, '/usr/lib/libc.so.6');
const file = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 0);
folioSetMapping(rm, file, mapping, 7);
for (let i = 0; i < N; i++) {
  const v = createRmapVma(createRmapMm(mmAllocId(rm)), A, A + 0x100000, VM_READ, {
    vmPgoff: 0,
    vmFile: { mapping, fMode: 0 },
  });
  vmaLinkFile(rm, v);
  folioRefAdd(rm, file, 1);
  folioAddFileRmapPte(rm, file, file, v);
  pt.setPte(v.vmMm, A + 7 * 4096, PTE_PRESENT, file, 0);
}
folioTrylock(rm, file);

let visited = 0;
const visit = rmapWalkControl(null, () => {
  visited++;
  return true;
});
const R = 100;
let sink = 0;

// The floor: 64 objects, a callback each, a typed-array bit test-and-clear.
const bits = new Int32Array(N);
const objs = Array.from({ length: N }, (_, i) => ({ i, next: null as unknown }));
function testAndClear(o: { i: number }): boolean {
  const b = bits[o.i] as number;
  bits[o.i] = b & ~4;
  return (b & 4) !== 0;
}
const cases: [string, () => void][] = [
  [
    'reference: 64 objects, callback + typed-array bit test-and-clear',
    () => {
      for (let r = 0; r < R; r++) for (let k = 0; k < N; k++) if (testAndClear(objs[k] as { i: number })) sink++;
    },
  ],
  [
    'anon: rmapWalk visiting 64 VMAs',
    () => {
      for (let r = 0; r < R; r++) rmapWalk(rm, anon, visit);
    },
  ],
  [
    'anon: folioReferenced over 64 mappings',
    () => {
      for (let r = 0; r < R; r++) sink += folioReferenced(rm, anon, true);
    },
  ],
  [
    'file: rmapWalk visiting 64 VMAs',
    () => {
      for (let r = 0; r < R; r++) rmapWalk(rm, file, visit);
    },
  ],
  [
    'file: folioReferenced over 64 mappings',
    () => {
      for (let r = 0; r < R; r++) sink += folioReferenced(rm, file, true);
    },
  ],
];
// Two passes: the first warms every path up (the JIT sees all call sites
// before anything is measured); the second pass is recorded.
const timed: { nsPerOp: number }[] = [];
for (let pass = 0; pass < 2; pass++) {
  for (let c = 0; c < cases.length; c++) {
    const [name, fn] = cases[c] as [string, () => void];
    const r = await suite.time(name, fn, { opsPerCall: R });
    if (pass === 1) timed[c] = r;
  }
}
const [floor, anonVisit, anonRef, fileVisit, fileRef] = timed as [
  { nsPerOp: number },
  { nsPerOp: number },
  { nsPerOp: number },
  { nsPerOp: number },
  { nsPerOp: number },
];
if (visited === 0 || sink < 0) throw new Error('bench: nothing visited');

const rec = (name: string, r: { nsPerOp: number }): void => {
  suite.record({
    name,
    value: r.nsPerOp / 1000,
    unit: 'µs',
    reference: 'floor (same run)',
    ratio: r.nsPerOp / floor.nsPerOp,
  });
};
suite.record({ name: 'reference floor: 64 callback visits', value: floor.nsPerOp / 1000, unit: 'µs' });
rec('anon rmap walk, visit only (target <= 2 µs)', anonVisit);
rec('anon folio_referenced (target <= 2 µs)', anonRef);
rec('file rmap walk, visit only (target <= 2 µs)', fileVisit);
rec('file folio_referenced (target <= 2 µs)', fileRef);
suite.finish();
