/** The README example, kept true. */
import { createMachine, GFP_HIGHUSER_MOVABLE } from '@mm/machine';
import { expect, it } from 'vitest';
import {
  anonVmaFork,
  anonVmaPrepare,
  createFolioRmap,
  createRmapMm,
  createRmapVma,
  folioAddNewAnonRmap,
  folioAlloc,
  folioMaybeMappedShared,
  folioPutRefs,
  folioRefAdd,
  folioRemoveRmapPtes,
  folioTryDupAnonRmapPtes,
  mmAllocId,
  RMAP_EXCLUSIVE,
  VM_READ,
  VM_WRITE,
  wpCanReuseAnonFolio,
} from '../src/index.js';

it('README example', () => {
  const rm = createFolioRmap(createMachine(), { pageMapcount: false });
  const parent = createRmapMm(mmAllocId(rm));
  const child = createRmapMm(mmAllocId(rm));
  const pv = createRmapVma(parent, 0x40000000, 0x40100000, VM_READ | VM_WRITE);
  expect(anonVmaPrepare(rm, pv)).toBe(0);
  const folio = folioAlloc(rm, GFP_HIGHUSER_MOVABLE, 4);
  folioAddNewAnonRmap(rm, folio, pv, 0x40000000, RMAP_EXCLUSIVE);
  folioRefAdd(rm, folio, 15);
  const cv = createRmapVma(child, 0x40000000, 0x40100000, VM_READ | VM_WRITE);
  expect(anonVmaFork(rm, cv, pv)).toBe(0);
  folioRefAdd(rm, folio, 16);
  expect(folioTryDupAnonRmapPtes(rm, folio, folio, 16, cv, pv)).toBe(0);
  expect(folioMaybeMappedShared(rm, folio)).toBe(true);
  folioRemoveRmapPtes(rm, folio, folio, 16, cv);
  folioPutRefs(rm, folio, 16);
  expect(folioMaybeMappedShared(rm, folio)).toBe(false);
  expect(wpCanReuseAnonFolio(rm, folio, pv)).toBe(true);
});
