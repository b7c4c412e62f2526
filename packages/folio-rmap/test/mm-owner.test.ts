// MM owner tracking for large folios (seed 000, "mm/rmap: basic MM owner
// tracking for large folios (!hugetlb)"): the two slots, the shared bit, the
// seed's Example 1 and Example 2 for a shmem/file folio, the derived fork
// example, and mm_id allocation.
import { ENOSPC } from '@mm/machine';
import { describe, expect, it } from 'vitest';
import {
  createAddressSpace,
  folioAddFileRmapPte,
  folioAddFileRmapPtes,
  folioAddNewAnonRmap,
  folioMapcount,
  folioMaybeMappedShared,
  folioMmId,
  folioMmIdMapcount,
  folioRemoveRmapPte,
  folioRemoveRmapPtes,
  folioSetMapping,
  folioTestMmIdsShared,
  folioTryDupAnonRmapPtes,
  MM_ID_BITS,
  MM_ID_MAX,
  MmIdAllocator,
  mmAllocId,
  mmFreeId,
  RMAP_EXCLUSIVE,
} from '../src/index.js';
import { alloc, anonVma, fileVma, newMm, setup } from './helpers.js';

const A = 0x40000000;

describe.each([
  ['PAGE_MAPCOUNT', true],
  ['NO_PAGE_MAPCOUNT', false],
])('MM owner tracking (CONFIG_%s)', (_n, pageMapcount) => {
  function shmemFolio() {
    const { rm } = setup(pageMapcount);
    const shm = createAddressSpace(rm, '/dev/shm/x');
    const f = alloc(rm, 4);
    folioSetMapping(rm, f, shm, 0);
    const apps = [newMm(rm), newMm(rm), newMm(rm)];
    const vmas = apps.map((mm) => fileVma(rm, mm, shm, A, 16, 0));
    return { rm, f, apps, vmas };
  }

  it('Example 1: App1 and App2 map, App1 unmaps everything: "mapped exclusively"', () => {
    const { rm, f, apps, vmas } = shmemFolio();
    const [v1, v2] = vmas as [(typeof vmas)[0], (typeof vmas)[0]];
    folioAddFileRmapPtes(rm, f, f, 16, v1); // (1) App1 faults in -> MM0
    expect(folioMmId(rm, f, 0)).toBe(apps[0]?.mmId);
    expect(folioMaybeMappedShared(rm, f)).toBe(false);
    folioAddFileRmapPte(rm, f, f + 3, v2); // (2) App2 faults in a page -> MM1
    expect(folioMmId(rm, f, 1)).toBe(apps[1]?.mmId);
    expect(folioMaybeMappedShared(rm, f)).toBe(true);
    folioRemoveRmapPtes(rm, f, f, 16, v1); // (4) App1 unmaps all folio pages
    expect(folioMapcount(rm, f)).toBe(1);
    expect(folioTestMmIdsShared(rm, f)).toBe(false);
    expect(folioMaybeMappedShared(rm, f)).toBe(false); // "mapped exclusively"
    // ... also when App2 maps more pages later.
    folioAddFileRmapPtes(rm, f, f + 4, 4, v2);
    expect(folioMaybeMappedShared(rm, f)).toBe(false);
  });

  it('Example 2: a third app is untracked; after App1 and App2 unmap: "maybe mapped shared"', () => {
    const { rm, f, vmas } = shmemFolio();
    const [v1, v2, v3] = vmas as [(typeof vmas)[0], (typeof vmas)[0], (typeof vmas)[0]];
    folioAddFileRmapPte(rm, f, f, v1); // (1) -> MM0
    folioAddFileRmapPte(rm, f, f + 1, v2); // (2) -> MM1
    folioAddFileRmapPtes(rm, f, f + 2, 2, v3); // (3) no slot available: "unknown"
    expect(folioMmId(rm, f, 0)).not.toBe(0);
    expect(folioMmId(rm, f, 1)).not.toBe(0);
    expect(folioMmIdMapcount(rm, f, 0) + folioMmIdMapcount(rm, f, 1)).toBe(2);
    expect(folioMapcount(rm, f)).toBe(4);
    folioRemoveRmapPte(rm, f, f, v1); // (4) App1 and App2 unmap all folio pages
    folioRemoveRmapPte(rm, f, f + 1, v2);
    expect(folioMmId(rm, f, 0)).toBe(0);
    expect(folioMmId(rm, f, 1)).toBe(0);
    expect(folioTestMmIdsShared(rm, f)).toBe(true);
    expect(folioMaybeMappedShared(rm, f)).toBe(true); // the false positive of the seed
    // A single remaining mapping implies "mapped exclusively" whatever the bit says.
    folioRemoveRmapPte(rm, f, f + 2, v3);
    expect(folioTestMmIdsShared(rm, f)).toBe(true);
    expect(folioMaybeMappedShared(rm, f)).toBe(false);
    // Once fully unmapped, the bit is cleared (both slots free, -1 == -1).
    folioRemoveRmapPte(rm, f, f + 3, v3);
    expect(folioTestMmIdsShared(rm, f)).toBe(false);
    expect(folioMmIdMapcount(rm, f, 0)).toBe(0);
  });

  it('an untracked MM that takes slot 0 later while others map sets the bit', () => {
    const { rm, f, vmas } = shmemFolio();
    const [v1, v2, v3] = vmas as [(typeof vmas)[0], (typeof vmas)[0], (typeof vmas)[0]];
    folioAddFileRmapPte(rm, f, f, v1);
    folioAddFileRmapPte(rm, f, f + 1, v2);
    folioRemoveRmapPte(rm, f, f, v1); // slot 0 free, slot 1 owns all: exclusive
    expect(folioMaybeMappedShared(rm, f)).toBe(false);
    folioAddFileRmapPte(rm, f, f + 5, v3); // App3 takes the free slot 0 while App2 maps
    expect(folioMmId(rm, f, 0)).toBe(v3.vmMm.mmId);
    expect(folioMaybeMappedShared(rm, f)).toBe(true);
  });

  it('the derived fork example: parent + child of a 16-page mTHP', () => {
    const { rm } = setup(pageMapcount);
    const p = newMm(rm);
    const c = newMm(rm);
    const pv = anonVma(rm, p, A, 16);
    const cv = anonVma(rm, c, A, 16);
    cv.anonVma = pv.anonVma;
    const f = alloc(rm, 4);
    folioAddNewAnonRmap(rm, f, pv, A, RMAP_EXCLUSIVE); // large = 16, slot0 = (P, 15)
    expect([folioMmId(rm, f, 0), folioMmIdMapcount(rm, f, 0)]).toEqual([p.mmId, 16]);
    expect(folioTryDupAnonRmapPtes(rm, f, f, 16, cv, pv)).toBe(0); // slot1 = (C, 15), shared
    expect([folioMmId(rm, f, 1), folioMmIdMapcount(rm, f, 1)]).toEqual([c.mmId, 16]);
    expect(folioTestMmIdsShared(rm, f)).toBe(true);
    folioRemoveRmapPtes(rm, f, f, 16, cv); // C unmaps all: slot0 = total, cleared
    expect(folioTestMmIdsShared(rm, f)).toBe(false);
    expect(folioMaybeMappedShared(rm, f)).toBe(false);
  });
});

describe('mm_id allocation', () => {
  it('hands out the lowest free 31-bit id', () => {
    const { rm } = setup();
    expect(MM_ID_BITS).toBe(31);
    expect(MM_ID_MAX).toBe(2 ** 31 - 1);
    const ids = [mmAllocId(rm), mmAllocId(rm), mmAllocId(rm), mmAllocId(rm)];
    expect(ids).toEqual([1, 2, 3, 4]);
    mmFreeId(rm, 3);
    mmFreeId(rm, 2);
    expect(mmAllocId(rm)).toBe(2);
    expect(mmAllocId(rm)).toBe(3);
    expect(mmAllocId(rm)).toBe(5);
    expect(() => mmFreeId(rm, 9)).toThrow(RangeError);
  });

  it('fails with -ENOSPC when every id is taken', () => {
    const ida = new MmIdAllocator(3);
    expect([ida.alloc(), ida.alloc(), ida.alloc(), ida.alloc()]).toEqual([1, 2, 3, -ENOSPC]);
    ida.free(2);
    expect(ida.alloc()).toBe(2);
    expect(ida.nrInUse).toBe(3);
  });
});
