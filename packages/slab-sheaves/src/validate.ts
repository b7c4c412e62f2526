/**
 * DOC: the invariant validator (`validate_slab_cache()` and more).
 *
 * Walks every slab, freelist, list, per-CPU slab and sheaf of every cache
 * and checks conservation: each object of a live slab is exactly one of
 * free (on a slab or CPU freelist), allocated by a user, in a sheaf (percpu,
 * barn or prefilled), or pending RCU. Throws `MmBugError` naming the cache.
 */
import { MmBugError } from '@mm/machine';
import { type KmemCache, OBJ_ALLOC, OBJ_FREE, OBJ_RCU, OBJ_SHEAF, type SlubAllocator } from './cache.js';
import { checkAllocator, checkCache } from './check.js';
import { LIST_CPU, LIST_CPU_PARTIAL, LIST_PARTIAL } from './partial.js';
import {
  mainOf,
  rcuFreeOf,
  SHEAF_IN_BARN,
  SHEAF_MAIN,
  SHEAF_PREFILLED,
  SHEAF_RCU_FREE,
  SHEAF_SPARE,
  type SlabSheaf,
  spareOf,
} from './sheaf.js';

function fail(s: KmemCache, msg: string): never {
  throw new MmBugError(`slab: validate ${s.name}: ${msg}`);
}

/**
 * Check one cache.
 * @kernel validate_slab_cache (mm/slub.c)
 */
export function kmemCacheValidate(s: KmemCache): void {
  checkCache(s, 'kmem_cache_validate');
  const a = s.allocator;
  const per = s.objsPerSlab;
  const seen = new Uint8Array(s.nrIds * per);
  let nFree = 0;
  let nAlloc = 0;
  let nSheaf = 0;
  let nRcu = 0;
  const nodeSlabs = new Float64Array(s.env.nrNodes);
  for (let l = 0; l < s.nrIds; l++) {
    if ((s.slabPfn[l] as number) < 0 || s.slabObjects[l] === 0) continue;
    const gid = s.slabGid[l] as number;
    const pfn = s.slabPfn[l] as number;
    for (let i = 0; i < 2 ** (s.slabOrder[l] as number); i++) {
      if (a.pfnLookup(pfn + i) !== gid + 1) fail(s, `pfn ${pfn + i} does not map to slab ${l}`);
    }
    const objects = s.slabObjects[l] as number;
    let free = 0;
    for (let i = s.slabFree[l] as number; i >= 0; i = s.objNext[l * per + i] as number) {
      if (i >= objects) fail(s, `slab ${l} freelist index ${i} out of range`);
      if (seen[l * per + i]) fail(s, `slab ${l} freelist loops or shares object ${i}`);
      seen[l * per + i] = 1;
      if (s.objState[l * per + i] !== OBJ_FREE)
        fail(s, `slab ${l} free object ${i} in state ${s.objState[l * per + i]}`);
      free++;
    }
    if (free !== s.slabFreeCount[l]) fail(s, `slab ${l} free count ${s.slabFreeCount[l]} != ${free}`);
    if ((s.slabInuse[l] as number) + free !== objects)
      fail(s, `slab ${l} inuse ${s.slabInuse[l]} + free ${free} != objects ${objects}`);
    if (s.slabFrozen[l] !== 2) nodeSlabs[s.slabNid[l] as number] = (nodeSlabs[s.slabNid[l] as number] as number) + 1;
    for (let i = 0; i < objects; i++) {
      const st = s.objState[l * per + i] as number;
      if (st === OBJ_FREE) nFree++;
      else if (st === OBJ_ALLOC) nAlloc++;
      else if (st === OBJ_SHEAF) nSheaf++;
      else if (st === OBJ_RCU) nRcu++;
      else fail(s, `slab ${l} object ${i} bad state ${st}`);
    }
  }
  // per-CPU slabs and freelists
  let cpuFree = 0;
  for (let cpu = 0; cpu < s.env.nrCpus; cpu++) {
    const l = s.cpuSlab[cpu] as number;
    if (l >= 0) {
      if (s.slabList[l] !== LIST_CPU || s.slabFrozen[l] !== 1) fail(s, `cpu ${cpu} slab ${l} not frozen on cpu`);
      for (let i = s.cpuFreelist[cpu] as number; i >= 0; i = s.objNext[l * per + i] as number) {
        if (seen[l * per + i]) fail(s, `cpu ${cpu} freelist object ${i} of slab ${l} is on two freelists`);
        seen[l * per + i] = 1;
        if (s.objState[l * per + i] !== OBJ_FREE) fail(s, `cpu ${cpu} free object in state ${s.objState[l * per + i]}`);
        cpuFree++;
      }
    } else if (s.cpuFreelist[cpu] !== -1) fail(s, `cpu ${cpu} has a freelist without a slab`);
    let n = 0;
    for (let p = s.cpuPartialHead[cpu] as number; p >= 0; p = s.slabNext[p] as number) {
      if (s.slabList[p] !== LIST_CPU_PARTIAL) fail(s, `cpu ${cpu} partial slab ${p} wrongly marked`);
      if (++n > s.nrIds) fail(s, `cpu ${cpu} partial list loops`);
    }
    if (n !== s.cpuPartialCount[cpu]) fail(s, `cpu ${cpu} partial count ${s.cpuPartialCount[cpu]} != ${n}`);
  }
  // node partial lists
  for (let nid = 0; nid < s.env.nrNodes; nid++) {
    let n = 0;
    let prev = -1;
    for (let l = s.partialHead[nid] as number; l >= 0; l = s.slabNext[l] as number) {
      if (s.slabList[l] !== LIST_PARTIAL || s.slabNid[l] !== nid)
        fail(s, `node ${nid} partial slab ${l} wrongly marked`);
      if (s.slabPrev[l] !== prev) fail(s, `node ${nid} partial list back link broken at ${l}`);
      if ((s.slabFree[l] as number) < 0) fail(s, `node ${nid} partial slab ${l} has no free object`);
      prev = l;
      if (++n > s.nrIds) fail(s, `node ${nid} partial list loops`);
    }
    if (s.partialTail[nid] !== prev) fail(s, `node ${nid} partial tail wrong`);
    if (n !== s.nrPartial[nid]) fail(s, `node ${nid} nr_partial ${s.nrPartial[nid]} != ${n}`);
    if (nodeSlabs[nid] !== s.nrSlabsNode[nid])
      fail(s, `node ${nid} nr_slabs ${s.nrSlabsNode[nid]} != ${nodeSlabs[nid]}`);
  }
  // sheaves
  let inSheaves = 0;
  let inRcuSheaves = 0;
  const sheaves = new Set<SlabSheaf>();
  const visit = (sh: SlabSheaf, where: number, what: string, state: number): void => {
    if (sheaves.has(sh)) fail(s, `${what} sheaf appears twice`);
    sheaves.add(sh);
    if (where >= 0 && sh.where !== where) fail(s, `${what} sheaf marked ${sh.where}`);
    if (sh.size < 0 || sh.size > sh.capacity) fail(s, `${what} sheaf size ${sh.size} outside 0..${sh.capacity}`);
    for (let i = 0; i < sh.size; i++) {
      const o = sh.objects[i] as number;
      if (o < 0 || o >= s.nrIds * s.objsPerSlab || (s.slabPfn[(o / s.objsPerSlab) | 0] as number) < 0)
        fail(s, `${what} sheaf holds a bad object ${o}`);
      if (s.objState[o] !== state) fail(s, `${what} sheaf object ${o} in state ${s.objState[o]}`);
    }
    if (state === OBJ_SHEAF) inSheaves += sh.size;
    else inRcuSheaves += sh.size;
  };
  const pcs = s.pcs;
  if (pcs !== null) {
    for (let cpu = 0; cpu < s.env.nrCpus; cpu++) {
      visit(mainOf(pcs, cpu), SHEAF_MAIN, `cpu ${cpu} main`, OBJ_SHEAF);
      const sp = spareOf(pcs, cpu);
      if (sp !== null) visit(sp, SHEAF_SPARE, `cpu ${cpu} spare`, OBJ_SHEAF);
      const rf = rcuFreeOf(pcs, cpu);
      if (rf !== null) visit(rf, SHEAF_RCU_FREE, `cpu ${cpu} rcu_free`, OBJ_RCU);
    }
    for (const barn of s.barns) {
      if (barn.nrFull !== barn.sheavesFull.length || barn.nrEmpty !== barn.sheavesEmpty.length)
        fail(s, `barn ${barn.nid} counts wrong`);
      for (const sh of barn.sheavesFull) {
        if (sh.size === 0) fail(s, `barn ${barn.nid} full list holds an empty sheaf`);
        visit(sh, SHEAF_IN_BARN, `barn ${barn.nid} full`, OBJ_SHEAF);
      }
      for (const sh of barn.sheavesEmpty) {
        if (sh.size !== 0) fail(s, `barn ${barn.nid} empty list holds a sheaf of ${sh.size}`);
        visit(sh, SHEAF_IN_BARN, `barn ${barn.nid} empty`, OBJ_SHEAF);
      }
    }
  }
  for (const sh of s.prefilled) visit(sh, SHEAF_PREFILLED, 'prefilled', OBJ_SHEAF);
  // conservation
  let slabFree = 0;
  for (let l = 0; l < s.nrIds; l++)
    if ((s.slabPfn[l] as number) >= 0 && (s.slabObjects[l] as number) > 0) slabFree += s.slabFreeCount[l] as number;
  if (nFree !== slabFree + cpuFree)
    fail(s, `${nFree} free objects but ${slabFree} on slab freelists + ${cpuFree} on cpu freelists`);
  if (nAlloc !== s.nrUserObjects) fail(s, `${nAlloc} allocated objects but ${s.nrUserObjects} held by users`);
  if (nSheaf !== inSheaves) fail(s, `${nSheaf} objects in sheaf state but ${inSheaves} in reachable sheaves`);
  if (nRcu !== s.nrRcuObjects) fail(s, `${nRcu} objects pending RCU but ${s.nrRcuObjects} counted`);
  if (inRcuSheaves > nRcu) fail(s, `${inRcuSheaves} objects in rcu_free sheaves but ${nRcu} pending`);
}

/**
 * Check every cache of the allocator and its page accounting.
 * @kernel validate_slab_cache (mm/slub.c)
 */
export function slabValidate(a: SlubAllocator): void {
  checkAllocator(a, 'slab_validate');
  let pages = 0;
  for (const s of a.caches) {
    kmemCacheValidate(s);
    for (let l = 0; l < s.nrIds; l++)
      if ((s.slabPfn[l] as number) >= 0 && (s.slabObjects[l] as number) > 0) pages += 2 ** (s.slabOrder[l] as number);
  }
  if (pages !== a.nrSlabPages)
    throw new MmBugError(`slab: validate: ${pages} slab pages found, ${a.nrSlabPages} accounted`);
}
