/**
 * DOC: /proc/slabinfo and /sys/kernel/slab/<cache>/<file> text.
 *
 * Formats follow mm/slab_common.c (`slabinfo_show`, version 2.1, with the
 * SLAB-era tunables printed as zeros like SLUB does) and the sysfs show
 * functions of mm/slub.c: counters print the total and then ` C<cpu>=<n>`
 * for each CPU with a non-zero count; per-node figures print ` N<node>=<n>`.
 */

import type { KmemCache, SlubAllocator } from './cache.js';
import { badArg, checkAllocator } from './check.js';
import { SlabError } from './errors.js';
import { pcsOf } from './sheaf.js';
import { NR_SLUB_STAT_ITEMS, STAT, STAT_NAMES } from './slab-flags.js';
import { kmemCacheShrink } from './slub.js';
import { kmemCacheValidate } from './validate.js';

function partialFree(s: KmemCache, nid: number): number {
  let free = 0;
  for (let l = s.partialHead[nid] as number; l >= 0; l = s.slabNext[l] as number) free += s.slabFreeCount[l] as number;
  return free;
}

/**
 * The text of /proc/slabinfo.
 * @kernel slab_show (mm/slab_common.c)
 */
export function formatSlabinfo(a: SlubAllocator): string {
  const lines = [
    'slabinfo - version: 2.1',
    '# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>',
  ];
  const caches = [...a.caches].reverse();
  for (const s of caches) {
    let nrObjs = 0;
    let nrSlabs = 0;
    let nrFree = 0;
    for (let nid = 0; nid < s.env.nrNodes; nid++) {
      nrObjs += s.totalObjectsNode[nid] as number;
      nrSlabs += s.nrSlabsNode[nid] as number;
      nrFree += partialFree(s, nid);
    }
    const name = s.name.padEnd(17);
    const f = (x: number, w: number): string => String(x).padStart(w);
    lines.push(
      `${name} ${f(nrObjs - nrFree, 6)} ${f(nrObjs, 6)} ${f(s.size, 6)} ${f(s.objsPerSlab, 4)} ${f(2 ** s.order, 4)} : tunables ${f(0, 4)} ${f(0, 4)} ${f(0, 4)} : slabdata ${f(nrSlabs, 6)} ${f(nrSlabs, 6)} ${f(0, 6)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function statFile(s: KmemCache, items: readonly number[]): string {
  const nc = s.env.nrCpus;
  let total = 0;
  const per: string[] = [];
  for (let cpu = 0; cpu < nc; cpu++) {
    let x = 0;
    for (const it of items) x += s.stats[cpu * NR_SLUB_STAT_ITEMS + it] as number;
    total += x;
    if (x !== 0) per.push(` C${cpu}=${x}`);
  }
  return `${total}${per.join('')}\n`;
}

function perNode(s: KmemCache, f: (nid: number) => number): string {
  let total = 0;
  let parts = '';
  for (let nid = 0; nid < s.env.nrNodes; nid++) {
    const x = f(nid);
    total += x;
    if (x !== 0 && s.env.nrNodes > 1) parts += ` N${nid}=${x}`;
  }
  return `${total}${parts}\n`;
}

/**
 * The files of /sys/kernel/slab/<cache>/ this model provides.
 * @kernel slab_attrs (mm/slub.c)
 */
export function slabSysfsFiles(): string[] {
  return [
    'object_size',
    'slab_size',
    'objs_per_slab',
    'order',
    'objects',
    'total_objects',
    'slabs',
    'partial',
    'min_partial',
    'cpu_partial',
    'align',
    'sheaf_capacity',
    'sheaf_flush',
    'shrink',
    'validate',
    ...STAT_NAMES,
  ];
}

/**
 * Read /sys/kernel/slab/<cache>/<file>.
 * @throws SlabError ENOENT for an unknown cache or file.
 * @kernel slab_attr_show (mm/slub.c)
 */
export function readSlabSysfs(a: SlubAllocator, cache: string, file: string): string {
  checkAllocator(a, 'read_slab_sysfs');
  const s = a.caches.find((c) => c.name === cache);
  if (s === undefined) throw new SlabError('ENOENT', cache, `slab: /sys/kernel/slab/${cache}: no such cache`);
  switch (file) {
    case 'object_size':
      return `${s.objectSize}\n`;
    case 'slab_size':
      return `${s.size}\n`;
    case 'objs_per_slab':
      return `${s.objsPerSlab}\n`;
    case 'order':
      return `${s.order}\n`;
    case 'objects':
      return perNode(s, (nid) => (s.totalObjectsNode[nid] as number) - partialFree(s, nid));
    case 'total_objects':
      return perNode(s, (nid) => s.totalObjectsNode[nid] as number);
    case 'slabs':
      return perNode(s, (nid) => s.nrSlabsNode[nid] as number);
    case 'partial':
      return perNode(s, (nid) => s.nrPartial[nid] as number);
    case 'min_partial':
      return `${s.minPartial}\n`;
    case 'cpu_partial':
      return `${s.cpuPartial}\n`;
    case 'align':
      return `${s.align}\n`;
    case 'sheaf_capacity':
      return `${s.sheafCapacity}\n`;
    case 'sheaf_flush':
      return statFile(s, [STAT.SHEAF_FLUSH_MAIN, STAT.SHEAF_FLUSH_OTHER]);
    case 'shrink':
    case 'validate':
      return '';
    default: {
      const i = STAT_NAMES.indexOf(file);
      if (i < 0) throw new SlabError('ENOENT', cache, `slab: /sys/kernel/slab/${cache}/${file}: no such file`);
      return statFile(s, [i]);
    }
  }
}

/**
 * All stat counters of a cache as a plain object (JSON).
 * @kernel show_stat (mm/slub.c)
 */
export function slabStatsJson(s: KmemCache): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < STAT_NAMES.length; i++) out[STAT_NAMES[i] as string] = s.statTotal(i);
  return out;
}

/** Plain JSON of one cache: layout, slab counts, sheaves and barns, statistics. */
export interface SlabCacheJson {
  /** Cache name, as under /sys/kernel/slab/. */
  name: string;
  /** Object size in bytes. */
  objectSize: number;
  /** Object size with metadata and padding. */
  size: number;
  /** Page order of each slab (the `order` sysfs file). */
  order: number;
  /** Objects per slab. */
  objsPerSlab: number;
  /** Sheaf capacity (0: no sheaves). */
  sheafCapacity: number;
  /** Slabs per node. */
  slabs: number[];
  /** Partial slabs per node. */
  partial: number[];
  /** Object capacity per node. */
  totalObjects: number[];
  /** Objects held by users. */
  userObjects: number;
  /** Objects waiting for kfree_rcu. */
  rcuObjects: number;
  /** Sheaf sizes per CPU. */
  cpuSheaves: {
    /** Objects in the main sheaf. */
    main: number;
    /** Objects in the spare sheaf, or null without one. */
    spare: number | null;
    /** Objects in the rcu_free sheaf, or null without one. */
    rcuFree: number | null;
  }[];
  /** Barn contents per node. */
  barns: {
    /** Full sheaves in the barn. */
    full: number;
    /** Empty sheaves in the barn. */
    empty: number;
    /** Barn operations that skipped the lock after a racy check. */
    lockAvoided: number;
    /** Barn lock acquisitions. */
    lockTaken: number;
  }[];
  /** Statistics by sysfs name. */
  stats: Record<string, number>;
}

/** The allocator's state as plain JSON (for the web page and reports). */
export function slabStateJson(a: SlubAllocator): SlabCacheJson[] {
  return a.caches.map((s) => ({
    name: s.name,
    objectSize: s.objectSize,
    size: s.size,
    order: s.order,
    objsPerSlab: s.objsPerSlab,
    sheafCapacity: s.sheafCapacity,
    slabs: Array.from(s.nrSlabsNode),
    partial: Array.from(s.nrPartial),
    totalObjects: Array.from(s.totalObjectsNode),
    userObjects: s.nrUserObjects,
    rcuObjects: s.nrRcuObjects,
    cpuSheaves:
      s.pcs === null
        ? []
        : s.pcs.main.map((m, cpu) => ({
            main: m.size,
            spare: pcsOf(s).spare[cpu]?.size ?? null,
            rcuFree: pcsOf(s).rcuFree[cpu]?.size ?? null,
          })),
    barns: s.barns.map((b) => ({
      full: b.nrFull,
      empty: b.nrEmpty,
      lockAvoided: b.lockAvoided,
      lockTaken: b.lockTaken,
    })),
    stats: slabStatsJson(s),
  }));
}

/**
 * Write /sys/kernel/slab/<cache>/<file>: `shrink` (any value: kmem_cache_shrink)
 * and `validate` ("1": check every slab; throws MmBugError on corruption).
 * @throws SlabError ENOENT for an unknown cache, EINVAL for a read-only file or bad value.
 * @kernel shrink_store, validate_store (mm/slub.c)
 */
export function writeSlabSysfs(a: SlubAllocator, cache: string, file: string, value: string): void {
  checkAllocator(a, 'write_slab_sysfs');
  if (typeof value !== 'string') throw badArg('write_slab_sysfs', 'value', value, 'is not a string', String(cache));
  const s = a.caches.find((c) => c.name === cache);
  if (s === undefined) throw new SlabError('ENOENT', cache, `slab: /sys/kernel/slab/${cache}: no such cache`);
  if (file === 'shrink') {
    kmemCacheShrink(s);
    return;
  }
  if (file === 'validate') {
    if (value.trim() !== '1')
      throw new SlabError('EINVAL', cache, `slab: /sys/kernel/slab/${cache}/validate: write 1, not "${value}"`);
    kmemCacheValidate(s);
    return;
  }
  if (slabSysfsFiles().includes(file))
    throw new SlabError('EINVAL', cache, `slab: /sys/kernel/slab/${cache}/${file} is read-only`);
  throw new SlabError('ENOENT', cache, `slab: /sys/kernel/slab/${cache}/${file}: no such file`);
}
