// Many bad calls to every public entry point: each must be rejected with a
// typed error (an MmError, never a TypeError/RangeError from deep inside) or
// a failure return (negative errno, 0, null), leave the allocator's state
// unchanged and keep it valid. The count of handled probes is the figure the
// issue asks for.
import { GFP_KERNEL, MmError } from '@mm/machine';
import { expect, it } from 'vitest';
import {
  createSlabEnv,
  createSlubAllocator,
  KmemCache,
  kfree,
  kfreeRcu,
  kmalloc,
  kmallocNode,
  kmallocSlab,
  kmemCacheAlloc,
  kmemCacheAllocBulk,
  kmemCacheAllocFromSheaf,
  kmemCacheAllocNode,
  kmemCacheCreate,
  kmemCacheDestroy,
  kmemCacheFree,
  kmemCacheFreeBulk,
  kmemCachePrefillSheaf,
  kmemCacheRefillSheaf,
  kmemCacheReturnSheaf,
  kmemCacheSheafSize,
  kmemCacheShrink,
  kmemCacheValidate,
  ksize,
  kvfree,
  readSlabSysfs,
  type SheafRef,
  type SlabSheaf,
  slabAccess,
  slabObjectTracks,
  slabStateJson,
  slabValidate,
  slubCpuDead,
  writeSlabSysfs,
} from '../src/index.js';
import { makeHarness, reserved } from './helpers/harness.js';

// biome-ignore lint/suspicious/noExplicitAny: probes pass values of the wrong type on purpose
type Any = any;

const BAD_INTS: Any[] = [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, 2 ** 53, '1', null, undefined];
/** Optional fields: undefined means the default. */
const BAD_OPT: Any[] = [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, 2 ** 53, '1'];
const BAD_GFP: Any[] = [Number.NaN, -1, 1.5, 'GFP_KERNEL', 2 ** 40, null, undefined, Number.POSITIVE_INFINITY];
const BAD_NODE: Any[] = [Number.NaN, 99, -5, 1.5, '0', null, undefined];
const BAD_ADDR: Any[] = [
  Number.NaN,
  -1,
  1,
  1.5,
  Number.POSITIVE_INFINITY,
  2 ** 60,
  '4096',
  null,
  undefined,
  4096 * 3 + 7,
];

interface Probe {
  name: string;
  run: () => unknown;
}

it('bad calls to every slab entry point are rejected with typed errors, state unchanged', () => {
  const h = makeHarness();
  const { slab, machine, pages } = h;
  const s = kmemCacheCreate(slab, 'probe', 64, { sheafCapacity: 4 });
  const plain = kmemCacheCreate(slab, 'probe-plain', 96);
  const other = kmemCacheCreate(slab, 'probe-other', 64, { sheafCapacity: 4 });
  const dead = kmemCacheCreate(slab, 'probe-dead', 64);
  kmemCacheDestroy(dead);
  const live = [kmemCacheAlloc(s, GFP_KERNEL), kmemCacheAlloc(s, GFP_KERNEL)];
  const otherObj = kmemCacheAlloc(other, GFP_KERNEL);
  const freed = kmemCacheAlloc(plain, GFP_KERNEL);
  kmemCacheFree(plain, freed);
  const km = kmalloc(slab, 100, GFP_KERNEL);
  const sheaf = kmemCachePrefillSheaf(s, GFP_KERNEL, 2) as SlabSheaf;
  const otherSheaf = kmemCachePrefillSheaf(other, GFP_KERNEL, 2) as SlabSheaf;
  const returned = kmemCachePrefillSheaf(s, GFP_KERNEL, 1) as SlabSheaf;
  kmemCacheReturnSheaf(s, GFP_KERNEL, returned);

  const probes: Probe[] = [];
  const add = (name: string, run: () => unknown): void => {
    probes.push({ name, run });
  };
  // cache creation
  for (const v of [...BAD_INTS, 0, 2 ** 40])
    add(`kmemCacheCreate size ${String(v)}`, () => kmemCacheCreate(slab, 'x', v));
  for (const v of [...BAD_OPT, 3, 0, 8192])
    add(`kmemCacheCreate align ${String(v)}`, () => kmemCacheCreate(slab, 'x', 64, { align: v }));
  for (const v of [...BAD_OPT, 70000])
    add(`kmemCacheCreate sheafCapacity ${String(v)}`, () => kmemCacheCreate(slab, 'x', 64, { sheafCapacity: v }));
  for (const v of [...BAD_OPT, 64])
    add(`kmemCacheCreate rcuHeadOffset ${String(v)}`, () => kmemCacheCreate(slab, 'x', 64, { rcuHeadOffset: v }));
  for (const v of [Number.NaN, -1, 1.5, 2 ** 40, 'x', 0x40000000] as Any[])
    add(`kmemCacheCreate flags ${String(v)}`, () => kmemCacheCreate(slab, 'x', 64, { flags: v }));
  for (const v of [42, 'f', {}] as Any[])
    add(`kmemCacheCreate ctor ${String(v)}`, () => kmemCacheCreate(slab, 'x', 64, { ctor: v }));
  for (const v of [null, 42, undefined, ''] as Any[])
    add(`kmemCacheCreate name ${String(v)}`, () => kmemCacheCreate(slab, v, 64));
  add('kmemCacheCreate args null', () => kmemCacheCreate(slab, 'x', 64, null as Any));
  // allocation
  for (const g of BAD_GFP) add(`kmemCacheAlloc gfp ${String(g)}`, () => kmemCacheAlloc(s, g));
  for (const g of BAD_GFP) add(`kmemCacheAlloc plain gfp ${String(g)}`, () => kmemCacheAlloc(plain, g));
  for (const n of BAD_NODE) add(`kmemCacheAllocNode node ${String(n)}`, () => kmemCacheAllocNode(s, GFP_KERNEL, n));
  for (const g of BAD_GFP) add(`kmemCacheAllocNode gfp ${String(g)}`, () => kmemCacheAllocNode(s, g, 0));
  add('kmemCacheAlloc destroyed', () => kmemCacheAlloc(dead, GFP_KERNEL));
  add('kmemCacheAllocNode destroyed', () => kmemCacheAllocNode(dead, GFP_KERNEL, 0));
  for (const v of [null, undefined, 42, 'cache', {}] as Any[])
    add(`kmemCacheAlloc s ${String(v)}`, () => kmemCacheAlloc(v, GFP_KERNEL));
  // frees
  for (const a of [...BAD_ADDR, otherObj, freed, km]) add(`kmemCacheFree addr ${String(a)}`, () => kmemCacheFree(s, a));
  add('kmemCacheFree destroyed', () => kmemCacheFree(dead, live[0]!));
  for (const v of [null, undefined, 42] as Any[]) add(`kmemCacheFree s ${String(v)}`, () => kmemCacheFree(v, live[0]!));
  // bulk
  for (const n of [...BAD_INTS, 5])
    add(`kmemCacheAllocBulk size ${String(n)}`, () => kmemCacheAllocBulk(s, GFP_KERNEL, n, [0, 0, 0, 0]));
  for (const p of [null, undefined, 42, 'abcd', Object.freeze([0, 0]), new Int32Array(4)] as Any[])
    add(`kmemCacheAllocBulk p ${String(p)}`, () => kmemCacheAllocBulk(s, GFP_KERNEL, 2, p));
  for (const g of BAD_GFP) add(`kmemCacheAllocBulk gfp ${String(g)}`, () => kmemCacheAllocBulk(s, g, 2, [0, 0]));
  add('kmemCacheAllocBulk destroyed', () => kmemCacheAllocBulk(dead, GFP_KERNEL, 1, [0]));
  for (const n of [...BAD_INTS, 5])
    add(`kmemCacheFreeBulk size ${String(n)}`, () => kmemCacheFreeBulk(s, n, [live[0]!, live[1]!]));
  for (const a of BAD_ADDR) add(`kmemCacheFreeBulk addr ${String(a)}`, () => kmemCacheFreeBulk(s, 2, [live[0]!, a]));
  add('kmemCacheFreeBulk duplicate', () => kmemCacheFreeBulk(s, 2, [live[0]!, live[0]!]));
  add('kmemCacheFreeBulk other cache', () => kmemCacheFreeBulk(s, 2, [live[0]!, otherObj]));
  for (const p of [null, undefined, 42] as Any[])
    add(`kmemCacheFreeBulk p ${String(p)}`, () => kmemCacheFreeBulk(s, 1, p));
  add('kmemCacheFreeBulk destroyed', () => kmemCacheFreeBulk(dead, 1, [live[0]!]));
  // lifecycle
  add('kmemCacheDestroy destroyed', () => kmemCacheDestroy(dead));
  add('kmemCacheDestroy busy', () => kmemCacheDestroy(s));
  add('kmemCacheDestroy kmalloc', () => kmemCacheDestroy(kmallocSlab(slab, 64)));
  add('kmemCacheShrink destroyed', () => kmemCacheShrink(dead));
  add('kmemCacheValidate destroyed', () => kmemCacheValidate(dead));
  for (const v of [null, undefined, 42] as Any[]) add(`kmemCacheShrink s ${String(v)}`, () => kmemCacheShrink(v));
  for (const c of [...BAD_INTS, 4, 99]) add(`slubCpuDead cpu ${String(c)}`, () => slubCpuDead(slab, c));
  // kmalloc
  for (const n of [...BAD_INTS, 2 ** 40]) add(`kmalloc size ${String(n)}`, () => kmalloc(slab, n, GFP_KERNEL));
  for (const g of BAD_GFP) add(`kmalloc gfp ${String(g)}`, () => kmalloc(slab, 64, g));
  for (const g of BAD_GFP) add(`kmalloc large gfp ${String(g)}`, () => kmalloc(slab, 1 << 20, g));
  for (const n of BAD_NODE) add(`kmallocNode node ${String(n)}`, () => kmallocNode(slab, 64, GFP_KERNEL, n));
  for (const n of BAD_NODE) add(`kmallocNode large node ${String(n)}`, () => kmallocNode(slab, 1 << 20, GFP_KERNEL, n));
  for (const n of [...BAD_INTS, 2 ** 40]) add(`kmallocSlab size ${String(n)}`, () => kmallocSlab(slab, n));
  for (const a of [...BAD_ADDR, freed]) add(`kfree addr ${String(a)}`, () => kfree(slab, a));
  for (const a of [...BAD_ADDR, freed]) add(`kvfree addr ${String(a)}`, () => kvfree(slab, a));
  for (const a of BAD_ADDR.slice(0, -1)) add(`ksize addr ${String(a)}`, () => ksize(slab, a));
  for (const a of [...BAD_ADDR, freed]) add(`kfreeRcu addr ${String(a)}`, () => kfreeRcu(slab, a));
  for (const v of [null, undefined, 42] as Any[]) add(`kmalloc a ${String(v)}`, () => kmalloc(v, 64, GFP_KERNEL));
  // prefilled sheaves
  for (const n of [...BAD_INTS, 2 ** 31])
    add(`kmemCachePrefillSheaf size ${String(n)}`, () => kmemCachePrefillSheaf(s, GFP_KERNEL, n));
  for (const g of BAD_GFP) add(`kmemCachePrefillSheaf gfp ${String(g)}`, () => kmemCachePrefillSheaf(s, g, 2));
  add('kmemCachePrefillSheaf destroyed', () => kmemCachePrefillSheaf(dead, GFP_KERNEL, 2));
  for (const sh of [returned, otherSheaf, null, undefined, 42, {}] as Any[]) {
    add(`kmemCacheAllocFromSheaf sheaf ${String(sh)}`, () => kmemCacheAllocFromSheaf(s, GFP_KERNEL, sh as Any));
    add(`kmemCacheReturnSheaf sheaf ${String(sh)}`, () => kmemCacheReturnSheaf(s, GFP_KERNEL, sh as Any));
    add(`kmemCacheRefillSheaf sheaf ${String(sh)}`, () =>
      kmemCacheRefillSheaf(s, GFP_KERNEL, { sheaf: sh } as SheafRef, 3),
    );
    if (!(sh instanceof Object && 'cache' in sh))
      add(`kmemCacheSheafSize sheaf ${String(sh)}`, () => kmemCacheSheafSize(sh as Any));
  }
  for (const g of BAD_GFP) add(`kmemCacheAllocFromSheaf gfp ${String(g)}`, () => kmemCacheAllocFromSheaf(s, g, sheaf));
  for (const n of [...BAD_INTS, 2 ** 31])
    add(`kmemCacheRefillSheaf size ${String(n)}`, () => kmemCacheRefillSheaf(s, GFP_KERNEL, { sheaf }, n));
  for (const r of [null, undefined, 42] as Any[])
    add(`kmemCacheRefillSheaf ref ${String(r)}`, () => kmemCacheRefillSheaf(s, GFP_KERNEL, r as Any, 3));
  // debugging and sysfs
  // without KASAN an access to a free object is not checked (slub_debug sees only writes)
  for (const a of BAD_ADDR) add(`slabAccess addr ${String(a)}`, () => slabAccess(slab, a, 0, 8, false));
  for (const o of [Number.NaN, 1.5, Number.POSITIVE_INFINITY, 2 ** 53, '1', null, undefined] as Any[])
    add(`slabAccess offset ${String(o)}`, () => slabAccess(slab, live[0]!, o, 8, false));
  for (const n of BAD_INTS) add(`slabAccess len ${String(n)}`, () => slabAccess(slab, live[0]!, 0, n, true));
  for (const a of [...BAD_ADDR, freed]) add(`slabObjectTracks addr ${String(a)}`, () => slabObjectTracks(slab, a));
  for (const c of ['nope', '', null, undefined] as Any[])
    add(`readSlabSysfs cache ${String(c)}`, () => readSlabSysfs(slab, c as Any, 'objects'));
  for (const f of ['nope', '', '../x', null] as Any[])
    add(`readSlabSysfs file ${String(f)}`, () => readSlabSysfs(slab, 'probe', f as Any));
  for (const f of ['objects', 'nope', null] as Any[])
    add(`writeSlabSysfs file ${String(f)}`, () => writeSlabSysfs(slab, 'probe', f as Any, '1'));
  for (const v of ['0', '', 'x', null, undefined] as Any[])
    add(`writeSlabSysfs validate ${String(v)}`, () => writeSlabSysfs(slab, 'probe', 'validate', v as Any));
  add('writeSlabSysfs cache', () => writeSlabSysfs(slab, 'nope', 'shrink', '1'));
  // allocator configuration
  const cfg: [string, Any[]][] = [
    ['slubMaxOrder', [Number.NaN, -1, 1.5, 99, 'x']],
    ['slubMinOrder', [Number.NaN, -1, 1.5, 99, 'x']],
    ['slubMinObjects', [Number.NaN, -1, 1.5, 40000, 'x']],
    ['kvfreeBulkMaxEntries', [Number.NaN, -1, 1.5, 0, 'x']],
    ['slubDebug', [Number.NaN, -1, 1.5, 1, 'x']],
  ];
  for (const [k, bad] of cfg) {
    for (const v of bad) {
      add(`createSlubAllocator ${k} ${String(v)}`, () => createSlubAllocator(createSlabEnv(machine), { [k]: v }));
    }
  }

  const snapshot = (): string =>
    JSON.stringify({
      state: slabStateJson(slab),
      pages: pages.nrAllocated - reserved(slab),
      live: live.map((a) => ksize(slab, a)),
      sheaves: [sheaf.size, otherSheaf.size],
      caches: slab.caches.length,
    });
  let handled = 0;
  const unhandled: string[] = [];
  for (const p of probes) {
    const before = snapshot();
    let ok: boolean;
    let why = '';
    try {
      const r = p.run();
      // a failure answer, not a success
      ok = r === null || r === 0 || (typeof r === 'number' && r < 0);
      if (r instanceof KmemCache) {
        why = 'created a cache';
        if (!r.destroyed) kmemCacheDestroy(r);
      } else if (!ok) why = `returned ${String(r)}`;
    } catch (e) {
      ok = MmError.isInstance(e);
      if (!ok) why = `threw ${(e as Error).name}: ${(e as Error).message}`;
    }
    if (ok && snapshot() !== before) {
      ok = false;
      why = 'state changed';
    }
    if (ok) {
      try {
        slabValidate(slab);
      } catch (e) {
        ok = false;
        why = `invalid: ${(e as Error).message}`;
      }
    }
    if (ok) handled++;
    else unhandled.push(`${p.name}: ${why}`);
  }
  if (process.env.MM_PROBE_REPORT)
    console.log(`slab probes: ${handled} of ${probes.length} handled\n${unhandled.join('\n')}`);
  expect(unhandled).toEqual([]);
  expect(probes.length).toBeGreaterThan(250);
});
