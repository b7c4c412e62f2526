// CoW reuse (mm/memory.c, wp_can_reuse_anon_folio): a small folio whose only
// reference is our mapping, and (v6.15, seed 000) a PTE-mapped large anon
// folio once the child that shared it exits: exclusive per MM owner
// tracking and every reference a mapping.
import { PG_swapcache } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  anonVmaFork,
  createRmapVma,
  folioAddNewAnonRmap,
  folioAnonVma,
  folioGet,
  folioPut,
  folioPutRefs,
  folioRefAdd,
  folioRemoveRmapPte,
  folioRemoveRmapPtes,
  folioSetFlag,
  folioTryDupAnonRmapPte,
  folioTryDupAnonRmapPtes,
  RMAP_EXCLUSIVE,
  unlinkAnonVmas,
  wpCanReuseAnonFolio,
} from '../src/index.js';
import { alloc, anonVma, newMm, setup } from './helpers.js';

const A = 0x40000000;

describe.each([
  ['PAGE_MAPCOUNT', true],
  ['NO_PAGE_MAPCOUNT', false],
])('CoW reuse (CONFIG_%s)', (_n, pageMapcount) => {
  function forked() {
    const { rm } = setup(pageMapcount);
    const pv = anonVma(rm, newMm(rm), A, 64);
    const cv = createRmapVma(newMm(rm), A, A + 64 * 4096, pv.vmFlags);
    expect(anonVmaFork(rm, cv, pv)).toBe(0);
    return { rm, pv, cv };
  }

  it('a large folio is reused by the parent after the child exits', () => {
    const { rm, pv, cv } = forked();
    const f = alloc(rm, 4);
    folioAddNewAnonRmap(rm, f, pv, A, RMAP_EXCLUSIVE);
    folioRefAdd(rm, f, 15); // one reference per mapped page
    expect(wpCanReuseAnonFolio(rm, f, pv)).toBe(true);
    folioRefAdd(rm, f, 16);
    expect(folioTryDupAnonRmapPtes(rm, f, f, 16, cv, pv)).toBe(0);
    expect(wpCanReuseAnonFolio(rm, f, pv)).toBe(false); // maybe mapped shared
    expect(wpCanReuseAnonFolio(rm, f, cv)).toBe(false);
    // The child exits: zap its PTEs.
    folioRemoveRmapPtes(rm, f, f, 16, cv);
    folioPutRefs(rm, f, 16);
    expect(wpCanReuseAnonFolio(rm, f, pv)).toBe(true);
    // An extra reference (GUP, swap cache, migration) blocks reuse.
    folioGet(rm, f);
    expect(wpCanReuseAnonFolio(rm, f, pv)).toBe(false);
    folioPut(rm, f);
    // A single mapped page: better copy and let the big folio be freed.
    folioRemoveRmapPtes(rm, f, f, 15, pv);
    folioPutRefs(rm, f, 15);
    expect(wpCanReuseAnonFolio(rm, f, pv)).toBe(false);
  });

  it('a small folio is reused by the child after the parent exits and moves to its anon_vma', () => {
    const { rm, pv, cv } = forked();
    const f = alloc(rm, 0);
    folioAddNewAnonRmap(rm, f, pv, A + 0x3000, RMAP_EXCLUSIVE);
    expect(folioAnonVma(rm, f)).toBe(pv.anonVma);
    folioGet(rm, f);
    expect(folioTryDupAnonRmapPte(rm, f, f, cv, pv)).toBe(0);
    expect(wpCanReuseAnonFolio(rm, f, cv)).toBe(false); // refcount 2
    folioRemoveRmapPte(rm, f, f, pv);
    folioPut(rm, f);
    expect(unlinkAnonVmas(rm, pv)).toBe(0);
    expect(wpCanReuseAnonFolio(rm, f, cv)).toBe(true);
    expect(folioAnonVma(rm, f)).toBe(cv.anonVma);
    // In the swap cache with one extra reference: still reusable once the cache lets go.
    const g = alloc(rm, 0);
    folioAddNewAnonRmap(rm, g, cv, A + 0x5000, RMAP_EXCLUSIVE);
    folioSetFlag(rm, g, PG_swapcache);
    folioGet(rm, g);
    expect(wpCanReuseAnonFolio(rm, g, cv)).toBe(false); // folio_free_swap hook absent: the reference stays
  });
});
